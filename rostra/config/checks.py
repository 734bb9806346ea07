"""``rostra check``: is this instance able to run? Each line says what was checked and how it went."""

from __future__ import annotations

import os
import sys


def run_checks(*, deploy: bool = False) -> int:
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
    media_ok = os.access(cfg.media_dir, os.W_OK)
    report(media_ok, "media store", str(cfg.media_dir))
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
    if deploy:
        try:
            call_command("check", deploy=True, fail_level="WARNING")
            report(True, "deployment checks")
        except Exception as exc:  # noqa: BLE001
            report(False, "deployment checks", str(exc))
    print("all checks passed" if not failures else f"{failures} check(s) failed", file=sys.stderr if failures else sys.stdout)
    return 0 if not failures else 1
