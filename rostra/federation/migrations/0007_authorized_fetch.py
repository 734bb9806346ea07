# Authorised fetch (issue 6, item 2): the instance actor's key, the signature scheme each domain
# accepts, the key-rotation refetch limit, and retries of inbox items that failed transiently.
import rostra.core.ids
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("federation", "0006_remote_media")]

    operations = [
        migrations.CreateModel(
            name="InstanceKey",
            fields=[
                ("id", models.BigIntegerField(default=rostra.core.ids.new_id, editable=False, primary_key=True, serialize=False)),
                ("name", models.CharField(default="instance", max_length=16, unique=True)),
                ("public_key_pem", models.TextField()),
                ("private_key_pem", models.TextField()),
                ("created_at", models.DateTimeField(auto_now_add=True)),
            ],
            options={"abstract": False},
        ),
        migrations.AddField(
            model_name="domainhealth",
            name="signature_scheme",
            field=models.CharField(blank=True, default="", max_length=16),
        ),
        migrations.AddField(
            model_name="domainhealth",
            name="signature_scheme_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="inboxitem",
            name="attempts",
            field=models.PositiveSmallIntegerField(default=0),
        ),
        migrations.AddField(
            model_name="inboxitem",
            name="retry_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="remotekey",
            name="refetched_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
