"""Rostra's SQLite backend (rostra/core/sqlite3): Django's, with placeholder rewrites remembered."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.backends.sqlite3.base import SQLiteCursorWrapper as DjangoCursor

from rostra.core.sqlite3 import base


@pytest.mark.parametrize(
    "query",
    [
        "SELECT 1",
        "SELECT a FROM t WHERE b = %s AND c IN (%s, %s)",
        "SELECT a FROM t WHERE b LIKE '100%%' AND c = %s",
        "SELECT '%%s' , %s",
        "",
    ],
)
def test_rewrites_are_djangos(query):
    expected = DjangoCursor.convert_query(None, query)  # type: ignore[arg-type]
    assert base.qmark(query) == expected
    assert base.qmark(query) == expected  # and remembered


@pytest.mark.skipif("connection.vendor != 'sqlite'", reason="the SQLite run")
def test_statements_run_and_named_parameters_are_djangos(db):
    with connection.cursor() as cursor:
        assert isinstance(cursor.cursor, base.SQLiteCursorWrapper)
        cursor.execute("SELECT %s, %s, '5%%'", [1, "two"])
        assert cursor.fetchone() == (1, "two", "5%")
        cursor.execute("SELECT %(a)s, %(b)s", {"a": 3, "b": 4})
        assert cursor.fetchone() == (3, 4)


def test_what_is_remembered_is_bounded(monkeypatch):
    monkeypatch.setattr(base, "REMEMBERED_CHARS", 100)
    monkeypatch.setattr(base, "_rewritten", {})
    monkeypatch.setattr(base, "_chars", 0)
    for i in range(50):
        assert base.qmark(f"SELECT {i} WHERE x = %s") == f"SELECT {i} WHERE x = ?"
        assert base._chars <= 100 and sum(map(len, base._rewritten)) == base._chars
