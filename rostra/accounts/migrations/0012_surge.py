import django.db.models.deletion
import django.db.models.functions.text
from django.conf import settings
from django.db import migrations, models

import rostra.core.ids


class Migration(migrations.Migration):
    dependencies = [("accounts", "0011_last_active")]

    operations: list[migrations.operations.base.Operation] = [
        migrations.CreateModel(
            name="Invite",
            fields=[
                ("id", models.BigIntegerField(default=rostra.core.ids.new_id, editable=False, primary_key=True, serialize=False)),
                ("code", models.CharField(max_length=32, unique=True)),
                ("created_at", models.DateTimeField()),
                ("max_uses", models.PositiveIntegerField(default=1)),
                ("uses", models.PositiveIntegerField(default=0)),
                ("expires_at", models.DateTimeField(blank=True, null=True)),
                ("revoked_at", models.DateTimeField(blank=True, null=True)),
                (
                    "created_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={"abstract": False},
        ),
        migrations.CreateModel(
            name="SurgeState",
            fields=[
                ("id", models.PositiveSmallIntegerField(default=1, primary_key=True, serialize=False)),
                (
                    "mode",
                    models.CharField(choices=[("off", "Off"), ("on", "On"), ("auto", "Automatic")], default="off", max_length=8),
                ),
                ("auto_active", models.BooleanField(default=False)),
                ("below_since", models.DateTimeField(blank=True, null=True)),
                ("message", models.TextField(blank=True, default="")),
                ("changed_at", models.DateTimeField(blank=True, null=True)),
            ],
        ),
        migrations.CreateModel(
            name="WaitlistEntry",
            fields=[
                ("id", models.BigIntegerField(default=rostra.core.ids.new_id, editable=False, primary_key=True, serialize=False)),
                ("email", models.EmailField(max_length=254)),
                ("created_at", models.DateTimeField()),
                ("admitted_at", models.DateTimeField(blank=True, null=True)),
                ("used_at", models.DateTimeField(blank=True, null=True)),
            ],
            options={
                "indexes": [models.Index(fields=["admitted_at", "id"], name="waitlist_queue_idx")],
                "constraints": [
                    models.UniqueConstraint(django.db.models.functions.text.Lower("email"), name="waitlist_email_ci_unique")
                ],
            },
        ),
        migrations.AddIndex(model_name="user", index=models.Index(fields=["created_at"], name="user_created_idx")),
    ]
