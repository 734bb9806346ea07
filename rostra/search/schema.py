"""The full-text index, built into the database: SQLite FTS5 or a PostgreSQL GIN index.

SQLite: ``search_post_fts`` is an FTS5 table holding each original post's text and content
warning, keyed by rowid = post id. Triggers on ``posts_post`` keep it in step inside the same
transaction as the write, so there is no queue to lag or lose an update, and a deleted post's
text leaves the index when the post does. Reposts carry no text of their own and are not indexed.

PostgreSQL: a GIN index over ``search_vector()`` (the same expression the queries use, so the
planner can use the index); nothing else to keep in sync. PostgreSQL's parser keeps URLs, host
names, paths, versions and signed numbers as single tokens ("example.org/cycling/956", "7/8",
"-3"), while a search is cut into plain words (see ``rostra.search.queries``), so the indexed
text has its ASCII punctuation turned into spaces first: both sides then see the same words, as
SQLite's unicode61 tokenizer does.

Django's SQLite schema editor rebuilds a table (new table, copy, drop, rename) for many
``ALTER``s, and dropping the old ``posts_post`` drops its triggers with it. ``ensure`` runs after
every ``migrate`` (see ``apps.py``) and puts back whatever such a rebuild took away.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper

FTS_TABLE = "search_post_fts"
PG_INDEX = "search_post_tsv_idx"
TRIGGERS = ("search_post_fts_ai", "search_post_fts_au", "search_post_fts_ad")

# The SQL is spelled out (not formatted from FTS_TABLE) so that what runs is what you read.
_CREATE_TABLE = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS search_post_fts "
    "USING fts5(text, spoiler_text, tokenize = 'unicode61 remove_diacritics 2')"
)
_CREATE_TRIGGERS = (
    """CREATE TRIGGER IF NOT EXISTS search_post_fts_ai AFTER INSERT ON posts_post
    WHEN new.repost_of_id IS NULL
    BEGIN
        INSERT INTO search_post_fts(rowid, text, spoiler_text) VALUES (new.id, new.text, new.spoiler_text);
    END""",
    # Every save() of a post names these columns; only a real change rewrites the index entry.
    """CREATE TRIGGER IF NOT EXISTS search_post_fts_au AFTER UPDATE OF text, spoiler_text ON posts_post
    WHEN new.repost_of_id IS NULL AND (old.text IS NOT new.text OR old.spoiler_text IS NOT new.spoiler_text)
    BEGIN
        DELETE FROM search_post_fts WHERE rowid = old.id;
        INSERT INTO search_post_fts(rowid, text, spoiler_text) VALUES (new.id, new.text, new.spoiler_text);
    END""",
    """CREATE TRIGGER IF NOT EXISTS search_post_fts_ad AFTER DELETE ON posts_post
    BEGIN
        DELETE FROM search_post_fts WHERE rowid = old.id;
    END""",
)
_DROP_TRIGGERS = (
    "DROP TRIGGER IF EXISTS search_post_fts_ai",
    "DROP TRIGGER IF EXISTS search_post_fts_au",
    "DROP TRIGGER IF EXISTS search_post_fts_ad",
)
CLEAR_SQL = "DELETE FROM search_post_fts"
OPTIMIZE_SQL = "INSERT INTO search_post_fts(search_post_fts) VALUES ('optimize')"
FILL_SQL = "INSERT INTO search_post_fts(rowid, text, spoiler_text) SELECT id, text, spoiler_text FROM posts_post WHERE repost_of_id IS NULL"


# Every ASCII punctuation mark, and as many spaces: translate() maps one to the other.
_PUNCTUATION = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"


def _words_only(column: str) -> Any:
    from django.db.models import F, Func, TextField, Value

    return Func(F(column), Value(_PUNCTUATION), Value(" " * len(_PUNCTUATION)), function="translate", output_field=TextField())


def search_vector() -> Any:
    """The indexed expression. Queries must use exactly this for PostgreSQL to use the index."""
    from django.contrib.postgres.search import SearchVector

    return SearchVector(_words_only("text"), _words_only("spoiler_text"), config="simple")


def _pg_index() -> Any:
    from django.contrib.postgres.indexes import GinIndex

    return GinIndex(search_vector(), name=PG_INDEX)


def install(schema_editor: Any, post_model: Any) -> None:
    """Create the index for the database in use (called by the search app's migration)."""
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(_CREATE_TABLE)
            cursor.execute(CLEAR_SQL)
            cursor.execute(FILL_SQL)
            for sql in _CREATE_TRIGGERS:
                cursor.execute(sql)
            # SQLite 3.44+ can erase a deleted post's words from the index pages at once;
            # older versions leave them until ``optimize`` (see rostra.search.actions).
            if sqlite3.sqlite_version_info >= (3, 44, 0):
                cursor.execute("INSERT INTO search_post_fts(search_post_fts, rank) VALUES ('secure-delete', 1)")
    elif vendor == "postgresql":
        schema_editor.add_index(post_model, _pg_index())


def reinstall_pg_index(schema_editor: Any, post_model: Any) -> None:
    """Rebuild the PostgreSQL index after ``search_vector()`` changed (a migration calls it)."""
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {PG_INDEX}")
        schema_editor.add_index(post_model, _pg_index())


def uninstall(schema_editor: Any, post_model: Any) -> None:
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        with schema_editor.connection.cursor() as cursor:
            for sql in _DROP_TRIGGERS:
                cursor.execute(sql)
            cursor.execute("DROP TABLE IF EXISTS search_post_fts")
    elif vendor == "postgresql":
        schema_editor.remove_index(post_model, _pg_index())


def ensure(connection: BaseDatabaseWrapper) -> bool:
    """Put back triggers a table rebuild dropped, and refill the index. True if it had to."""
    if connection.vendor != "sqlite":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name IN (%s, %s)", [FTS_TABLE, "posts_post"])
        tables = {row[0] for row in cursor.fetchall()}
        if tables != {FTS_TABLE, "posts_post"}:
            return False  # not migrated this far (or migrated back): nothing to keep
        cursor.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'posts_post' AND name IN (%s, %s, %s)",
            list(TRIGGERS),
        )
        if len(cursor.fetchall()) == len(TRIGGERS):
            return False
        # Writes made while a trigger was missing did not reach the index: rebuild it whole.
        cursor.execute(CLEAR_SQL)
        cursor.execute(FILL_SQL)
        for sql in _CREATE_TRIGGERS:
            cursor.execute(sql)
    return True
