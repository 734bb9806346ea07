"""``rostra check``: is this instance able to run? Each line says what was checked and how it went."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import Any


def scale_out_gaps(cfg: Any, environ: Mapping[str, str]) -> list[tuple[bool, str, str]]:
    """What several machines running web processes and workers need, each as (ok, what, detail).

    One machine can run everything from its data dir; several machines must share the database,
    the queue and cache, the media and the signing key, or each would see a different instance."""
    db_ok = bool(cfg.database_url) and not str(cfg.database_url).startswith("sqlite")
    secret = bool(environ.get("ROSTRA_SECRET_KEY", "").strip())
    return [
        (
            db_ok,
            "scale-out: database",
            "PostgreSQL (DATABASE_URL)" if db_ok else "SQLite is a file on one machine: set DATABASE_URL=postgres://...",
        ),
        (
            bool(cfg.redis_url),
            "scale-out: queue, cache, rate limits, streaming bus, spam-wave index",
            "Redis (REDIS_URL)"
            if cfg.redis_url
            else "each machine would keep its own in its data dir or memory: set REDIS_URL=redis://...",
        ),
        (
            secret,
            "scale-out: signing key",
            "ROSTRA_SECRET_KEY is set"
            if secret
            else "generated in this machine's data dir, so sign-ins and media links made on one machine fail on another: "
            "set the same ROSTRA_SECRET_KEY everywhere",
        ),
        (
            bool(cfg.media_s3_url),
            "scale-out: media",
            "S3-compatible bucket (ROSTRA_MEDIA_S3_URL)"
            if cfg.media_s3_url
            else f"{cfg.media_dir} is on this machine only: set ROSTRA_MEDIA_S3_URL (or mount one shared directory as media/ on every machine)",
        ),
        (
            True,
            "scale-out: read replicas",
            f"{len(cfg.database_replica_urls)} (DATABASE_REPLICA_URLS)"
            if cfg.database_replica_urls
            else "none (optional: DATABASE_REPLICA_URLS for timeline and search reads)",
        ),
    ]


def run_checks(*, deploy: bool = False, scale_out: bool = False) -> int:
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    cfg = settings.ROSTRA
    failures = 0

    def report(ok: bool, what: str, detail: str = "") -> None:
        nonlocal failures
        failures += 0 if ok else 1
        print(f"{'ok  ' if ok else 'FAIL'} {what}{': ' + detail if detail else ''}")

    report(True, "settings", f"domain {cfg.domain}, data dir {cfg.data_dir}")
    try:
        with connection.cursor() as cur:
            cur.execute("SELECT 1")
        vendor = connection.vendor
        if vendor == "sqlite":
            with connection.cursor() as cur:
                cur.execute("PRAGMA journal_mode")
                mode = cur.fetchone()[0]
            report(mode == "wal", "database", f"SQLite at {settings.DATABASES['default']['NAME']} (journal {mode})")
        else:
            report(True, "database", f"{vendor} at {settings.DATABASES['default'].get('HOST') or 'socket'}")
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
        report(not plan, "migrations", "up to date" if not plan else f"{len(plan)} to apply: run `rostra migrate`")
    except Exception as exc:  # noqa: BLE001 - report, do not crash
        report(False, "database", str(exc).splitlines()[0])
    from rostra.core.mediastore import media_store

    media_ok, media_where = media_store().writable()
    report(media_ok, "media store", media_where)
    try:
        from huey.contrib.djhuey import HUEY

        HUEY.pending_count()
        report(True, "task queue", type(HUEY).__name__)
    except Exception as exc:  # noqa: BLE001
        report(False, "task queue", str(exc).splitlines()[0])
    if cfg.redis_url:
        try:
            from django.core.cache import cache

            cache.set("rostra:check", "1", 5)
            report(cache.get("rostra:check") == "1", "cache", "Redis")
        except Exception as exc:  # noqa: BLE001
            report(False, "cache", str(exc).splitlines()[0])
    if scale_out:
        for ok, what, detail in scale_out_gaps(cfg, os.environ):
            report(ok, what, detail)
    if deploy:
        try:
            call_command("check", deploy=True, fail_level="WARNING")
            report(True, "deployment checks")
        except Exception as exc:  # noqa: BLE001
            report(False, "deployment checks", str(exc))
    print("all checks passed" if not failures else f"{failures} check(s) failed", file=sys.stderr if failures else sys.stdout)
    return 0 if not failures else 1
