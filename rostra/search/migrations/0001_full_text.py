"""The full-text index: SQLite FTS5 table and triggers, or a PostgreSQL GIN index.

Written by hand: neither is a model. See rostra/search/schema.py for what each one is.
"""

from django.db import migrations

from rostra.search import schema


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor in ("sqlite", "postgresql"):
        schema.install(schema_editor, apps.get_model("posts", "Post"))


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor in ("sqlite", "postgresql"):
        schema.uninstall(schema_editor, apps.get_model("posts", "Post"))


class Migration(migrations.Migration):
    dependencies = [("posts", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
