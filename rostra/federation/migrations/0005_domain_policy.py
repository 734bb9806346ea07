# Instance policy: domain blocks and the allow-list (rostra.federation.policy).
import django.db.models.deletion
from django.db import migrations, models

import rostra.core.ids


class Migration(migrations.Migration):
    dependencies = [("accounts", "0009_user_sessions"), ("federation", "0004_delivery")]

    operations = [
        migrations.CreateModel(
            name="DomainAllow",
            fields=[
                ("id", models.BigIntegerField(default=rostra.core.ids.new_id, editable=False, primary_key=True, serialize=False)),
                ("domain", models.CharField(max_length=255, unique=True)),
                ("created_at", models.DateTimeField()),
                (
                    "created_by",
                    models.ForeignKey(
                        blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+", to="accounts.account"
                    ),
                ),
            ],
            options={"abstract": False},
        ),
        migrations.CreateModel(
            name="DomainBlock",
            fields=[
                ("id", models.BigIntegerField(default=rostra.core.ids.new_id, editable=False, primary_key=True, serialize=False)),
                ("domain", models.CharField(max_length=255, unique=True)),
                (
                    "severity",
                    models.CharField(
                        choices=[
                            ("silence", "Silence: off public timelines, follows need approval"),
                            ("suspend", "Suspend: nothing exchanged, its accounts and posts hidden"),
                            ("noop", "None: only the media or report options below"),
                        ],
                        default="silence",
                        max_length=16,
                    ),
                ),
                ("reject_media", models.BooleanField(default=False)),
                ("reject_reports", models.BooleanField(default=False)),
                ("private_comment", models.TextField(blank=True, default="")),
                ("public_comment", models.TextField(blank=True, default="")),
                ("obfuscate", models.BooleanField(default=False)),
                ("created_at", models.DateTimeField()),
                ("updated_at", models.DateTimeField()),
                (
                    "created_by",
                    models.ForeignKey(
                        blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+", to="accounts.account"
                    ),
                ),
            ],
            options={"abstract": False},
        ),
    ]
