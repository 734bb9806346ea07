"""The embedded task queue (huey on SQLite) commits as the main database does: WAL with
synchronous=NORMAL, not huey's default FULL (an fsync per enqueue and per dequeue)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from rostra.pipeline.queue import RostraSqliteHuey

ROOT = Path(__file__).resolve().parents[2]


def test_the_queue_file_is_wal_with_normal_sync_and_still_a_queue(tmp_path):
    huey = RostraSqliteHuey("rostra-queue-test", filename=str(tmp_path / "tasks.sqlite3"))
    conn = huey.storage.conn
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    huey.storage.enqueue(b"first", 0)
    huey.storage.enqueue(b"urgent", 50)
    assert huey.storage.queue_size() == 2
    assert bytes(huey.storage.dequeue()) == b"urgent"  # priorities are kept
    assert bytes(huey.storage.dequeue()) == b"first"
    assert huey.storage.dequeue() is None
    huey.storage.close()


def test_the_settings_use_it_without_redis_and_huey_on_redis_with_it(tmp_path):
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("ROSTRA_", "DATABASE_", "REDIS_URL", "DJANGO_"))}
    clean.update(ROSTRA_DATA_DIR=str(tmp_path), ROSTRA_SECRET_KEY="x" * 50)
    code = "from rostra.config import settings; print(settings.HUEY['huey_class'])"

    def huey_class(**env: str) -> str:
        out = subprocess.run([sys.executable, "-c", code], env={**clean, **env}, cwd=ROOT, capture_output=True, text=True, timeout=60, check=True)
        return out.stdout.strip().splitlines()[-1]

    assert huey_class() == "rostra.pipeline.queue.RostraSqliteHuey"
    assert huey_class(DATABASE_URL="postgres://rostra@db.example:5432/rostra", REDIS_URL="redis://127.0.0.1:6379/0") == "huey.PriorityRedisHuey"
