# Placeholder, filled in by the work that owns it (kept so parallel work has fixed numbers).
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("federation", "0007_authorized_fetch")]

    operations: list = []
