# The lifeboat: posts restored from an account archive, by their old address.
import django.db.models.deletion
from django.db import migrations, models

import rostra.core.ids


class Migration(migrations.Migration):
    dependencies = [
        ("portability", "0001_initial"),
        ("accounts", "0010_moved_and_aliases"),
        ("posts", "0007_idempotency_keys"),
    ]

    operations = [
        migrations.CreateModel(
            name="ImportedPost",
            fields=[
                ("id", models.BigIntegerField(default=rostra.core.ids.new_id, editable=False, primary_key=True, serialize=False)),
                ("old_uri", models.CharField(max_length=2048, unique=True)),
                ("created_at", models.DateTimeField()),
                (
                    "account",
                    models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="imported_posts", to="accounts.account"),
                ),
                ("post", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="+", to="posts.post")),
            ],
        ),
    ]
