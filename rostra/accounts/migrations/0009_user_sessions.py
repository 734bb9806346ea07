# Web sign-ins, listed and revocable (Settings → Security).

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

import rostra.core.ids


class Migration(migrations.Migration):
    dependencies = [("accounts", "0008_two_factor")]

    operations = [
        migrations.CreateModel(
            name="UserSession",
            fields=[
                ("id", models.BigIntegerField(default=rostra.core.ids.new_id, editable=False, primary_key=True, serialize=False)),
                ("session_key", models.CharField(max_length=40, unique=True)),
                ("created_at", models.DateTimeField()),
                ("last_seen_at", models.DateTimeField()),
                ("ip", models.CharField(blank=True, default="", max_length=45)),
                ("user_agent", models.CharField(blank=True, default="", max_length=300)),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="web_sessions", to=settings.AUTH_USER_MODEL
                    ),
                ),
            ],
            options={"indexes": [models.Index(fields=["user", "last_seen_at"], name="user_session_user_idx")]},
        ),
    ]
