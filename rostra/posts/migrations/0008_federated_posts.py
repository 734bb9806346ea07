# Polls from other servers: their option titles may be longer than the 50 characters local polls allow.
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("posts", "0007_idempotency_keys")]

    operations = [
        migrations.AlterField(model_name="polloption", name="title", field=models.CharField(max_length=200)),
    ]
