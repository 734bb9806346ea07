from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("federation", "0002_remote_actors_and_posts")]

    operations: list[migrations.operations.base.Operation] = []
