from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("federation", "0003_inbox_processing")]

    operations: list[migrations.operations.base.Operation] = []
