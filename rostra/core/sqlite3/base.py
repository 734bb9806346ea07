"""Django's SQLite backend, with one change: the rewrite of each statement's ``%s`` placeholders
into SQLite's ``?`` is remembered per statement text.

Django's SQLite cursor rewrites every statement with a regular expression before running it. A
home page runs about a dozen statements, most of them the same text every time (the prepared
queries of ``rostra.core.prepared``, one of them 10 kB), and the rewriting cost about 5 % of the
page. Statements are remembered by their text, up to ``REMEMBERED_CHARS`` characters of them
(then all are forgotten at once and learned again: statements with ids written into them never
repeat); statements with named parameters are rewritten as Django does.
Everything else (connections, PRAGMAs, transactions, the test database) is Django's.
"""

from __future__ import annotations

from typing import Any

from django.db.backends.sqlite3 import base

REMEMBERED_CHARS = 1_000_000  # per process, about 2 MB with the rewrites
_rewritten: dict[str, str] = {}
_chars = 0


def qmark(query: str) -> str:
    """``query`` with Django's ``%s`` placeholders as SQLite's ``?`` (and ``%%`` as ``%``)."""
    global _chars
    found = _rewritten.get(query)
    if found is None:
        found = base.FORMAT_QMARK_REGEX.sub("?", query).replace("%%", "%")
        if _chars + len(query) > REMEMBERED_CHARS:
            _rewritten.clear()  # threads may race here: the worst is a rewrite done twice
            _chars = 0
        _rewritten[query] = found
        _chars += len(query)
    return found


class SQLiteCursorWrapper(base.SQLiteCursorWrapper):
    def convert_query(self, query: str, *, param_names: Any = None) -> str:
        if param_names is None:
            return qmark(query)
        return super().convert_query(query, param_names=param_names)


class DatabaseWrapper(base.DatabaseWrapper):
    def create_cursor(self, name: Any = None) -> Any:
        return self.connection.cursor(factory=SQLiteCursorWrapper)
