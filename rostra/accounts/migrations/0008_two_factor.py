# Two-factor authentication: the authenticator app (TOTP) and the single-use recovery codes.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

import rostra.core.ids


class Migration(migrations.Migration):
    dependencies = [("accounts", "0007_user_credentials_changed_at")]

    operations = [
        migrations.CreateModel(
            name="TwoFactor",
            fields=[
                ("id", models.BigIntegerField(default=rostra.core.ids.new_id, editable=False, primary_key=True, serialize=False)),
                ("secret", models.CharField(max_length=255)),
                ("confirmed_at", models.DateTimeField(blank=True, null=True)),
                ("last_used_step", models.BigIntegerField(default=0)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "user",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE, related_name="two_factor", to=settings.AUTH_USER_MODEL
                    ),
                ),
            ],
            options={"abstract": False},
        ),
        migrations.CreateModel(
            name="RecoveryCode",
            fields=[
                ("id", models.BigIntegerField(default=rostra.core.ids.new_id, editable=False, primary_key=True, serialize=False)),
                ("code_hash", models.CharField(max_length=64)),
                ("used_at", models.DateTimeField(blank=True, null=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="recovery_codes", to=settings.AUTH_USER_MODEL
                    ),
                ),
            ],
            options={"constraints": [models.UniqueConstraint(fields=("user", "code_hash"), name="recovery_code_unique")]},
        ),
    ]
