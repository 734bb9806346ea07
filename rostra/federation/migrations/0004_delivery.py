import django.db.models.deletion
from django.db import migrations, models

import rostra.core.ids


class Migration(migrations.Migration):
    dependencies = [("federation", "0003_inbox_processing")]

    operations = [
        migrations.CreateModel(
            name="OutboxActivity",
            fields=[
                ("id", models.BigIntegerField(default=rostra.core.ids.new_id, editable=False, primary_key=True, serialize=False)),
                ("activity_id", models.CharField(max_length=2048, unique=True)),
                ("activity_type", models.CharField(max_length=32)),
                ("subject", models.CharField(blank=True, db_index=True, default="", max_length=2048)),
                ("body", models.JSONField()),
                ("created_at", models.DateTimeField()),
                (
                    "sender",
                    models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="+", to="accounts.account"),
                ),
            ],
            options={"abstract": False},
        ),
        migrations.CreateModel(
            name="Delivery",
            fields=[
                ("id", models.BigIntegerField(default=rostra.core.ids.new_id, editable=False, primary_key=True, serialize=False)),
                ("inbox", models.CharField(max_length=2048)),
                ("domain", models.CharField(max_length=255)),
                (
                    "state",
                    models.CharField(
                        choices=[
                            ("pending", "Waiting to be sent (or retried)"),
                            ("done", "Accepted by the remote (2xx)"),
                            ("failed", "Given up: refused for good, or out of retries"),
                        ],
                        default="pending",
                        max_length=16,
                    ),
                ),
                ("attempts", models.PositiveIntegerField(default=0)),
                ("next_attempt_at", models.DateTimeField()),
                ("last_status", models.PositiveIntegerField(blank=True, null=True)),
                ("last_error", models.CharField(blank=True, default="", max_length=500)),
                ("created_at", models.DateTimeField()),
                ("finished_at", models.DateTimeField(blank=True, null=True)),
                (
                    "activity",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="deliveries", to="federation.outboxactivity"
                    ),
                ),
            ],
            options={
                "indexes": [models.Index(fields=["state", "next_attempt_at"], name="delivery_due_idx")],
                "constraints": [models.UniqueConstraint(fields=("activity", "inbox"), name="delivery_activity_inbox_unique")],
            },
        ),
        migrations.CreateModel(
            name="DomainHealth",
            fields=[
                ("id", models.BigIntegerField(default=rostra.core.ids.new_id, editable=False, primary_key=True, serialize=False)),
                ("domain", models.CharField(max_length=255, unique=True)),
                ("consecutive_failures", models.PositiveIntegerField(default=0)),
                ("failing_since", models.DateTimeField(blank=True, null=True)),
                ("paused_until", models.DateTimeField(blank=True, null=True)),
                ("pauses", models.PositiveIntegerField(default=0)),
            ],
            options={"abstract": False},
        ),
    ]
