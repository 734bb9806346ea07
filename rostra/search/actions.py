"""Upkeep of the full-text index. Normal writes need none of this: triggers keep it in step.

``optimize_index`` matters for deletion on SQLite older than 3.44: deleting a post removes its
text and its index entry at once, but FTS5 leaves the deleted words themselves inside old index
segments until they are merged. Running it (daily is plenty) rewrites the index without them.
"""

from __future__ import annotations

from django.db import connection, transaction

from rostra.search import schema


def optimize_index() -> None:
    """Merge the SQLite index into one segment, leaving nothing of deleted posts behind."""
    if connection.vendor != "sqlite":
        return  # PostgreSQL: VACUUM (autovacuum) clears deleted entries from the GIN index
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(schema.OPTIMIZE_SQL)


def rebuild_index() -> None:
    """Rebuild the SQLite index from the posts table (after a restore, or to be sure)."""
    if connection.vendor != "sqlite":
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(schema.CLEAR_SQL)
        cursor.execute(schema.FILL_SQL)
