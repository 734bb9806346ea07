"""How long one post takes to reach 100,000 followers' home timelines, on each store.

    .venv/bin/python -m bench.fanout [--followers 100000] [--batch 10000]
        [--postgres postgres://postgres@127.0.0.1:5432/rostra_bench_fanout]
        [--redis redis://127.0.0.1:6379/1] [--only sqlite|postgres|redis]

For each store (SQLite; PostgreSQL; PostgreSQL + Redis sorted sets), in a fresh data dir and a
fresh database: the followers are created in bulk (users, accounts, follows; not through the
API), one post is written, and ``fan_out_post`` is timed together with the queued batches it
leaves (``ROSTRA_FANOUT_BATCH``), run one after another in this process, until every follower's
home holds the post (checked). A worker pool shares the batches in production, so this is the
one-worker figure. Prints figures; asserts nothing. The target (issue 7): <= 3 s for 100,000.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from typing import Any


def _one(followers: int) -> dict[str, Any]:
    os.environ["DJANGO_SETTINGS_MODULE"] = "rostra.config.settings"
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    from rostra.accounts.models import Account, Follow, User
    from rostra.core.models import Event
    from rostra.pipeline.runner import run_event
    from rostra.testing.world import make_account, make_post
    from rostra.timelines.actions import fan_out_post
    from rostra.timelines.store import RedisStore, get_store

    store = get_store()
    if isinstance(store, RedisStore):
        store.flush_prefix()
    author = make_account("celebrity")
    t0 = time.perf_counter()
    chunk = 10_000
    for start in range(0, followers, chunk):
        n = range(start, min(followers, start + chunk))
        users = User.objects.bulk_create([User(username=f"f{i}", email=f"f{i}@example.org", password="!") for i in n])  # noqa: S106
        accounts = Account.objects.bulk_create([Account(user=u, username=u.username) for u in users])
        Follow.objects.bulk_create([Follow(follower=a, target=author) for a in accounts])
    load_s = time.perf_counter() - t0
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("ANALYZE")
    post = make_post(author, "hello, everyone")
    Event.objects.filter(done_at__isnull=True).update(done_at=post.created_at)  # the bench runs fan-out itself

    started = time.perf_counter()
    recipients = fan_out_post(post.pk)
    first_s = time.perf_counter() - started
    batches = list(Event.objects.filter(kind="timelines.fanout_batch", done_at__isnull=True).values_list("pk", flat=True))
    for event_id in batches:
        run_event(event_id)
    total_s = time.perf_counter() - started
    followers_ids = list(Follow.objects.filter(target=author).values_list("follower_id", flat=True))
    delivered = len(store.owners_of(post.pk, [*followers_ids, author.pk]))
    if isinstance(store, RedisStore):
        store.flush_prefix()
    return {
        "store": f"{connection.vendor}{' + redis' if settings.ROSTRA.redis_url else ''}",
        "followers": followers,
        "recipients": recipients,
        "delivered": delivered,
        "batches": len(batches) + 1,
        "first_batch_s": round(first_s, 3),
        "fanout_s": round(total_s, 3),
        "per_s": round(delivered / total_s) if total_s else None,
        "load_s": round(load_s, 1),
    }


def _postgres_db(url: str) -> None:
    """Drop and create the bench database (its name is the URL's path)."""
    import psycopg

    base, name = url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--followers", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432/rostra_bench_fanout")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/1")
    parser.add_argument("--only", choices=("sqlite", "postgres", "redis"))
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_one(args.followers)))
        return 0

    modes = {
        "sqlite": {},
        "postgres": {"DATABASE_URL": args.postgres},
        "redis": {"DATABASE_URL": args.postgres, "REDIS_URL": args.redis},
    }
    results = []
    for mode, extra in modes.items():
        if args.only and mode != args.only:
            continue
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
        env.update(extra)
        env["ROSTRA_DATA_DIR"] = tempfile.mkdtemp(prefix="rostra-bench-fanout-")
        env["ROSTRA_FANOUT_BATCH"] = str(args.batch)
        env["ROSTRA_LOG_LEVEL"] = "WARNING"
        if "DATABASE_URL" in extra:
            try:
                _postgres_db(args.postgres)
            except Exception as exc:  # noqa: BLE001 - no PostgreSQL here: say so and go on
                print(f"{mode}: PostgreSQL not reachable ({exc}); skipped")
                continue
        cmd = [sys.executable, "-m", "bench.fanout", "--child", "--followers", str(args.followers)]
        out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
        if out.returncode != 0:
            print(f"{mode}: failed\n{out.stderr[-2000:]}")
            continue
        results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(f"{'store':20s} {'followers':>9s} {'delivered':>9s} {'batches':>7s} {'first s':>8s} {'all s':>7s} {'homes/s':>9s}")
    for r in results:
        print(
            f"{r['store']:20s} {r['followers']:9d} {r['delivered']:9d} {r['batches']:7d} "
            f"{r['first_batch_s']:8.3f} {r['fanout_s']:7.3f} {r['per_s']:9d}"
        )
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
