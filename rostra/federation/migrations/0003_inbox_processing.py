import django.db.models.deletion
from django.db import migrations, models

import rostra.core.ids


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0009_user_sessions"),
        ("federation", "0002_remote_actors_and_posts"),
    ]

    operations: list[migrations.operations.base.Operation] = [
        migrations.AlterField(
            model_name="inboxitem",
            name="state",
            field=models.CharField(
                choices=[
                    ("pending", "Received, not yet processed"),
                    ("processed", "Processed"),
                    ("failed", "Processing failed"),
                    ("ignored", "Not an activity Rostra processes"),
                ],
                default="pending",
                max_length=16,
            ),
        ),
        migrations.AddField(
            model_name="inboxitem",
            name="outcome",
            field=models.CharField(blank=True, default="", max_length=500),
        ),
        migrations.CreateModel(
            name="InboundFollow",
            fields=[
                ("id", models.BigIntegerField(default=rostra.core.ids.new_id, editable=False, primary_key=True, serialize=False)),
                ("activity_id", models.CharField(max_length=2048)),
                ("received_at", models.DateTimeField()),
                (
                    "follower",
                    models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="+", to="accounts.account"),
                ),
                (
                    "target",
                    models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="+", to="accounts.account"),
                ),
            ],
            options={
                "constraints": [models.UniqueConstraint(fields=("follower", "target"), name="inbound_follow_unique")],
            },
        ),
    ]
