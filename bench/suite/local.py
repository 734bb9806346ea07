"""Figures measured inside the runner's process: the screener, the sign-up hash, raw insert ceilings, idle RSS.

Each function returns a dict of JSON figures (names as in bench/README.md). They time fixed
amounts of work or fixed windows and never assert anything about speed.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.suite.servers import process_tree_memory, process_tree_rss_mb


def screener_figures(*, quick: bool = False) -> dict[str, float]:
    """Stage 0 + 1 of the moderation screener on bench/screener.py's post mix, in one process."""
    from bench.screener import make_posts, make_rules
    from rostra.moderation.screener import Screener
    from rostra.moderation.screener.stage2 import stage2_bands

    screener = Screener.load(rules=make_rules(200), borderline=stage2_bands() or (0.2, 0.8))
    posts = make_posts(300 if quick else 5_000)
    for p in posts[:100]:  # warm the rule automaton's cache
        screener.screen(p, remember=False)
    started = time.perf_counter()
    for i, p in enumerate(posts):
        screener.screen(p, author_key=f"acct:{i % 300}", now=1_000_000.0 + i * 0.1)
    elapsed = time.perf_counter() - started
    return {"screener_posts_per_s": len(posts) / elapsed}


def signup_hash_figures(*, quick: bool = False) -> dict[str, float]:
    """One Argon2id hash at the OWASP parameters Rostra uses (m=19 MiB, t=2, p=1), and the sign-ups/s
    that hashing alone allows on every core of this machine (the sign-up ceiling)."""
    from rostra.accounts.hashers import RostraArgon2Hasher

    hasher = RostraArgon2Hasher()
    n = 3 if quick else 20
    hasher.encode("warm-up password", hasher.salt())
    started = time.perf_counter()
    for i in range(n):
        hasher.encode(f"correct horse battery staple {i}", hasher.salt())
    per_hash = (time.perf_counter() - started) / n
    return {"signup_hash_ms": per_hash * 1000, "signups_ceiling_per_s": (os.cpu_count() or 1) / per_hash}


def _timed(seconds: float, step: Any) -> float:
    """Run ``step()`` (which returns how many rows it wrote) until ``seconds`` pass; rows per second."""
    rows = 0
    started = time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        rows += step()
    return rows / elapsed


def sqlite_insert_figures(directory: Path, *, seconds: float = 2.0, bulk_rows: int = 200_000) -> dict[str, float]:
    """A fresh SQLite file with Rostra's pragmas (WAL, synchronous=NORMAL): single-row commits/s and bulk rows/s."""
    with tempfile.TemporaryDirectory(dir=directory, prefix="sqlite-ceiling-") as tmp:
        db = sqlite3.connect(Path(tmp) / "ceiling.sqlite3", isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, owner INTEGER NOT NULL, body TEXT NOT NULL)")
            db.execute("CREATE INDEX t_owner ON t (owner, id)")
            counter = iter(range(1, 10**12))

            def one() -> int:
                db.execute("BEGIN")
                db.execute(
                    "INSERT INTO t (owner, body) VALUES (?, ?)",
                    (next(counter) % 1000, "a benchmark row of some sixty characters, like a short post"),
                )
                db.execute("COMMIT")
                return 1

            commits = _timed(seconds, one)
            rows = [(i % 1000, "a benchmark row of some sixty characters, like a short post") for i in range(bulk_rows)]
            started = time.perf_counter()
            db.execute("BEGIN")
            db.executemany("INSERT INTO t (owner, body) VALUES (?, ?)", rows)
            db.execute("COMMIT")
            bulk = bulk_rows / (time.perf_counter() - started)
        finally:
            db.close()
    return {"sqlite_commits_per_s": commits, "sqlite_bulk_rows_per_s": bulk}


def postgres_insert_figures(url: str, *, seconds: float = 2.0, bulk_rows: int = 200_000) -> dict[str, float]:
    """Single-row commits/s and COPY rows/s into an ordinary scratch table, dropped afterwards."""
    import psycopg

    table = f"rostra_bench_ceiling_{os.getpid()}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {table}")
        conn.execute(f"CREATE TABLE {table} (id BIGSERIAL PRIMARY KEY, owner BIGINT NOT NULL, body TEXT NOT NULL)")
        conn.execute(f"CREATE INDEX ON {table} (owner, id)")
        try:
            counter = iter(range(1, 10**12))

            def one() -> int:
                row = (next(counter) % 1000, "a benchmark row of some sixty characters, like a short post")
                conn.execute(f"INSERT INTO {table} (owner, body) VALUES (%s, %s)", row)  # noqa: S608 - our own table name
                return 1

            commits = _timed(seconds, one)
            started = time.perf_counter()
            with conn.transaction(), conn.cursor() as cur, cur.copy(f"COPY {table} (owner, body) FROM STDIN") as copy:
                for i in range(bulk_rows):
                    copy.write_row((i % 1000, "a benchmark row of some sixty characters, like a short post"))
            bulk = bulk_rows / (time.perf_counter() - started)
        finally:
            conn.execute(f"DROP TABLE IF EXISTS {table}")
    return {"postgres_commits_per_s": commits, "postgres_bulk_rows_per_s": bulk}


def redis_figures(url: str, *, seconds: float = 2.0) -> dict[str, float]:
    """ZADD/s one command per round trip, and pipelined in batches of 1,000, on a scratch key (deleted afterwards)."""
    import redis

    client = redis.Redis.from_url(url)
    key = f"rostra:bench:ceiling:{os.getpid()}"
    counter = iter(range(1, 10**12))
    try:

        def one() -> int:
            n = next(counter)
            client.zadd(key, {str(n): n})
            return 1

        single = _timed(seconds, one)

        def batch() -> int:
            pipe = client.pipeline(transaction=False)
            for _ in range(1_000):
                n = next(counter)
                pipe.zadd(key, {str(n): n})
            pipe.execute()
            return 1_000

        piped = _timed(seconds, batch)
    finally:
        client.delete(key)
        client.close()
    return {"redis_zadd_per_s": single, "redis_zadd_pipelined_per_s": piped}


def idle_rss_figures(pid: int, *, idle_seconds: float = 10.0) -> dict[str, float]:
    """The memory of a server's process tree after ``idle_seconds`` without requests: summed RSS
    (``idle_rss_mb``, shared pages counted once per process that maps them), summed PSS
    (``idle_pss_mb``, shared pages divided among their processes: what the tree really occupies)
    and summed USS (``idle_uss_mb``), then RSS and PSS per role (``idle_rss_mb_<role>``,
    ``idle_pss_mb_<role>``: supervisor, web_master, web_workers, task_worker, streaming; the web
    workers summed) and how many processes the tree has (``idle_processes``)."""
    time.sleep(idle_seconds)
    tree = process_tree_memory(pid)
    figures: dict[str, float] = {
        "idle_rss_mb": round(sum(p.rss_mb for p in tree), 1),
        "idle_pss_mb": round(sum(p.pss_mb for p in tree), 1),
        "idle_uss_mb": round(sum(p.uss_mb for p in tree), 1),
        "idle_processes": len(tree),
    }
    if not tree:  # /proc/<pid>/smaps_rollup unreadable (not Linux >= 4.14): RSS alone
        figures["idle_rss_mb"] = round(process_tree_rss_mb(pid), 1)
    for p in tree:
        role = ("web_workers" if p.role == "web worker" else p.role).replace(" ", "_")
        for kind, value in (("rss", p.rss_mb), ("pss", p.pss_mb)):
            key = f"idle_{kind}_mb_{role}"
            figures[key] = round(figures.get(key, 0.0) + value, 1)
    return figures
