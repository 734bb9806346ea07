# Remote media: where a remote post's attachments came from, and the sources of remote avatars and
# headers (rostra.federation.media).
import django.db.models.deletion
from django.db import migrations, models

import rostra.core.ids


class Migration(migrations.Migration):
    dependencies = [("posts", "0007_idempotency_keys"), ("federation", "0005_domain_policy")]

    operations = [
        migrations.AddField(
            model_name="remoteactor",
            name="avatar_url",
            field=models.CharField(blank=True, default="", max_length=2048),
        ),
        migrations.AddField(
            model_name="remoteactor",
            name="header_url",
            field=models.CharField(blank=True, default="", max_length=2048),
        ),
        migrations.AddField(
            model_name="remoteactor",
            name="avatar_cached_from",
            field=models.CharField(blank=True, default="", max_length=2048),
        ),
        migrations.AddField(
            model_name="remoteactor",
            name="header_cached_from",
            field=models.CharField(blank=True, default="", max_length=2048),
        ),
        migrations.CreateModel(
            name="RemoteMedia",
            fields=[
                ("id", models.BigIntegerField(default=rostra.core.ids.new_id, editable=False, primary_key=True, serialize=False)),
                ("remote_url", models.CharField(max_length=2048)),
                ("kind", models.CharField(default="image", max_length=16)),
                ("blurhash", models.CharField(blank=True, default="", max_length=100)),
                (
                    "state",
                    models.CharField(
                        choices=[
                            ("pending", "Waiting to be fetched"),
                            ("cached", "Fetched, processed and stored here"),
                            ("failed", "Fetching or processing failed; shown from its origin"),
                            ("remote", "Not fetched (video, audio or unknown kind); shown from its origin"),
                            ("rejected", "Not fetched: the instance policy rejects media from its domain"),
                            ("pruned", "Was cached, removed by the cache's retention; shown from its origin"),
                        ],
                        default="pending",
                        max_length=16,
                    ),
                ),
                ("error", models.CharField(blank=True, default="", max_length=300)),
                ("created_at", models.DateTimeField()),
                ("fetched_at", models.DateTimeField(blank=True, null=True)),
                (
                    "media",
                    models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name="remote", to="posts.media"),
                ),
            ],
            options={
                "indexes": [models.Index(fields=["state", "fetched_at"], name="remote_media_state_idx")],
            },
        ),
    ]
