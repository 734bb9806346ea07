"""The embedded task queue's storage: huey's SQLite queue, committing as the main database does.

Huey's ``SqliteStorage`` leaves SQLite at ``synchronous=FULL``, so every enqueue and every dequeue
waits for the disk (an fsync of the write-ahead log): ~0.3 ms an operation against ~0.05 ms at
``NORMAL`` on this project's 2-core test machines, and each new post is one of each. ``NORMAL`` in WAL mode is what the main database runs with (``rostra.config.settings``): a
crash of the process loses nothing, and a power cut can lose the last transactions but does not
corrupt the file. A queued task lost that way delays its work but does not lose it: the durable
record of each side effect is its ``Event`` row in the main database, and the sweeper runs any
event the queue never delivered (``rostra.pipeline.runner``).
"""

from __future__ import annotations

import sqlite3

from huey import SqliteHuey
from huey.storage import SqliteStorage


class NormalSyncSqliteStorage(SqliteStorage):
    def _create_connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection = super()._create_connection()
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn


class RostraSqliteHuey(SqliteHuey):
    storage_class = NormalSyncSqliteStorage
