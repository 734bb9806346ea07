from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("timelines", "0004_followed_tag")]

    operations: list[migrations.operations.base.Operation] = [
        migrations.RemoveIndex(model_name="homeentry", name="home_owner_post_idx"),
        migrations.CreateModel(
            name="FanoutBatch",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("post_id", models.BigIntegerField()),
                ("lo", models.BigIntegerField()),
            ],
            options={"constraints": [models.UniqueConstraint(fields=("post_id", "lo"), name="fanout_batch_unique")]},
        ),
    ]
