"""PostgreSQL: index the text with its punctuation turned into spaces (see rostra/search/schema.py).

Without it, "example.org/cycling/956" or "4-3" were single tokens that no search for their words
could match. SQLite's FTS5 table already cut text that way: nothing changes there.
"""

from django.db import migrations

from rostra.search import schema


def forwards(apps, schema_editor):
    schema.reinstall_pg_index(schema_editor, apps.get_model("posts", "Post"))


class Migration(migrations.Migration):
    dependencies = [("search", "0001_full_text")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop, elidable=False)]
