"""The bus between the pipeline workers and the streaming processes.

A message is a small JSON object: ``{"event": "update", "post_id": 1, "users": [...], ...}``
(ids and audiences only, never rendered content: each subscriber's view is rendered by the
streaming process through the visibility door).

* With ``REDIS_URL``: Redis pub/sub on one channel; every streaming process gets every message.
* Without: a SQLite file in the data dir (``streaming.sqlite3``) with an autoincrement table that
  the streaming process polls; rows older than a few minutes are pruned. This serves the embedded
  single-host install (whose task queue is a SQLite file in the same data dir) with no Redis.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from django.conf import settings

log = logging.getLogger("rostra.streaming")

CHANNEL = "rostra:streaming"


def channel() -> str:
    """The Redis channel; the test settings give each parallel test process its own, as they
    share one Redis and must not hear each other's events."""
    from django.conf import settings

    return str(getattr(settings, "STREAMING_BUS_CHANNEL", CHANNEL))
KEEP_S = 300.0  # a streaming process that was down longer than this misses the older messages
POLL_S = 0.05  # an idle poll is one indexed read of a small local file: cheap, and the wait is most of the latency

_local = threading.local()
_redis_lock = threading.Lock()
_redis_client: Any = None
_last_prune = 0.0
_inherited: list[sqlite3.Connection] = []


def _after_fork_in_child() -> None:
    """A forked process (``rostra serve`` forks its servers) opens its own connection: the one it
    inherited is kept referenced, never used or closed (closing would touch the parent's file locks)."""
    conn = getattr(_local, "conn", None)
    if conn is not None:
        _inherited.append(conn)
        _local.conn = None


os.register_at_fork(after_in_child=_after_fork_in_child)


def _path() -> Path:
    return Path(settings.ROSTRA.data_dir) / "streaming.sqlite3"


def _db() -> sqlite3.Connection:
    path = str(_path())
    conn: sqlite3.Connection | None = getattr(_local, "conn", None)
    if conn is None or getattr(_local, "path", None) != path:
        conn = sqlite3.connect(path, timeout=20, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute(
            "CREATE TABLE IF NOT EXISTS message (id INTEGER PRIMARY KEY AUTOINCREMENT, created REAL NOT NULL, body TEXT NOT NULL)"
        )
        _local.conn, _local.path = conn, path
    return conn


def _redis() -> Any:
    global _redis_client
    with _redis_lock:
        if _redis_client is None:
            import redis

            _redis_client = redis.Redis.from_url(str(settings.ROSTRA.redis_url))
        return _redis_client


def publish(message: dict[str, Any]) -> None:
    """Send one message to every streaming process. Never raises: streaming is best effort."""
    global _last_prune
    body = json.dumps(message, separators=(",", ":"))
    try:
        if settings.ROSTRA.redis_url:
            _redis().publish(channel(), body)
            return
        db = _db()
        now = time.time()
        db.execute("INSERT INTO message (created, body) VALUES (?, ?)", (now, body))
        if now - _last_prune > 30:
            _last_prune = now
            db.execute("DELETE FROM message WHERE created < ?", (now - KEEP_S,))
    except Exception:  # a full disk or a Redis outage must not fail the post's pipeline
        log.exception("streaming: could not publish %s", message.get("event"))


async def listen() -> AsyncIterator[dict[str, Any]]:
    """Every message published from now on, for as long as the caller iterates."""
    if settings.ROSTRA.redis_url:
        async for m in _listen_redis(settings.ROSTRA.redis_url):
            yield m
    else:
        async for m in _listen_sqlite():
            yield m


async def _listen_redis(url: str) -> AsyncIterator[dict[str, Any]]:
    import redis.asyncio as aioredis

    while True:
        client = aioredis.Redis.from_url(url)
        try:
            pubsub = client.pubsub()
            await pubsub.subscribe(channel())
            async for item in pubsub.listen():
                if item.get("type") == "message":
                    try:
                        yield json.loads(item["data"])
                    except ValueError:
                        continue
        except (OSError, ConnectionError) as exc:
            log.warning("streaming: Redis listener lost its connection (%s); reconnecting", exc)
            await asyncio.sleep(1)
        finally:
            await client.aclose()


def _read_since(last: int | None) -> tuple[int, list[str]]:
    db = _db()
    if last is None:
        row = db.execute("SELECT COALESCE(MAX(id), 0) FROM message").fetchone()
        return int(row[0]), []
    rows = db.execute("SELECT id, body FROM message WHERE id > ? ORDER BY id LIMIT 1000", (last,)).fetchall()
    if not rows:
        return last, []
    return int(rows[-1][0]), [str(r[1]) for r in rows]


async def _listen_sqlite() -> AsyncIterator[dict[str, Any]]:
    loop = asyncio.get_running_loop()
    last: int | None = None
    while True:
        try:
            last, bodies = await loop.run_in_executor(None, _read_since, last)
        except sqlite3.Error as exc:
            log.warning("streaming: cannot read the bus (%s); retrying", exc)
            await asyncio.sleep(1)
            continue
        for body in bodies:
            try:
                yield json.loads(body)
            except ValueError:
                continue
        if not bodies:
            await asyncio.sleep(POLL_S)
