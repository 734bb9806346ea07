# Polls as Question: when a local poll's new counts were last sent to other servers.
# A deleted account's farewell (Delete of its actor) outlives its sender, with a sealed copy of its key.
import django.db.models.deletion
from django.db import migrations, models

import rostra.core.ids


class Migration(migrations.Migration):
    dependencies = [("federation", "0008_moves"), ("posts", "0008_federated_posts"), ("accounts", "0010_moved_and_aliases")]

    operations = [
        migrations.CreateModel(
            name="QuestionSync",
            fields=[
                ("id", models.BigIntegerField(default=rostra.core.ids.new_id, editable=False, primary_key=True, serialize=False)),
                ("dirty", models.BooleanField(default=False)),
                ("sent_at", models.DateTimeField(blank=True, null=True)),
                (
                    "poll",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to="posts.poll"
                    ),
                ),
            ],
            options={"abstract": False},
        ),
        migrations.AddField(model_name="outboxactivity", name="sealed_key", field=models.TextField(blank=True, default="")),
        migrations.AlterField(
            model_name="outboxactivity",
            name="sender",
            field=models.ForeignKey(
                blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+", to="accounts.account"
            ),
        ),
    ]
