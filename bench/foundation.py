"""Foundation figures: password hashing, posting with fan-out, and home-timeline reads.

    .venv/bin/python -m bench.foundation [--accounts 500] [--posts 2000] [--reads 500]

Runs on a fresh SQLite data dir (or DATABASE_URL) and prints a table; no assertions. The full
benchmark suite (open-loop load, graph profiles XS/S/M) is issue 7's `make bench`.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, default=500)
    parser.add_argument("--posts", type=int, default=2000)
    parser.add_argument("--reads", type=int, default=500)
    args = parser.parse_args()

    os.environ.setdefault("ROSTRA_DATA_DIR", tempfile.mkdtemp(prefix="rostra-bench-"))
    os.environ["DJANGO_SETTINGS_MODULE"] = "rostra.config.settings"
    import django

    django.setup()
    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command
    from django.test import Client

    from rostra.accounts.models import Account, Follow, User
    from rostra.core.pagination import PageRequest
    from rostra.pipeline import runner
    from rostra.posts.actions import Draft, create_post
    from rostra.timelines.queries import home

    call_command("migrate", verbosity=0)
    rows: list[tuple[str, str]] = []

    t = time.perf_counter()
    for _ in range(10):
        make_password("correct horse battery staple")
    hash_ms = (time.perf_counter() - t) / 10 * 1000
    rows.append(("argon2id hash (m=19MiB,t=2,p=1)", f"{hash_ms:.1f} ms"))

    rng = random.Random(7)
    pw = make_password("bench-password-123")
    users = User.objects.bulk_create([User(username=f"u{i}", email=f"u{i}@example.org", password=pw) for i in range(args.accounts)])
    accounts = Account.objects.bulk_create([Account(user=u, username=u.username) for u in users])
    follows = []
    for a in accounts:
        for b in rng.sample(accounts, k=min(len(accounts) - 1, 35)):
            if a.pk != b.pk:
                follows.append(Follow(follower=a, target=b))
    Follow.objects.bulk_create(follows, ignore_conflicts=True)

    t = time.perf_counter()
    latencies = []
    for i in range(args.posts):
        s = time.perf_counter()
        create_post(rng.choice(accounts), Draft(text=f"post {i} about #topic{i % 20} and more words"))
        latencies.append((time.perf_counter() - s) * 1000)
    create_s = time.perf_counter() - t
    t = time.perf_counter()
    runner.sweep(older_than_s=-1, limit=10**9)
    fan_s = time.perf_counter() - t
    rows.append(("create_post (validate+gate+commit)", f"{args.posts / create_s:.0f} posts/s, p95 {statistics.quantiles(latencies, n=20)[-1]:.1f} ms"))
    rows.append(("fan-out (~35 followers each)", f"{args.posts / fan_s:.0f} posts/s"))

    viewer = accounts[0]
    t = time.perf_counter()
    for _ in range(args.reads):
        page = home(viewer, PageRequest(limit=20))
        for p in page.items:
            _ = (p.author.username, list(p.media.all()))
    rows.append(("home query (20 posts, domain)", f"{args.reads / (time.perf_counter() - t):.0f} reads/s"))

    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(viewer.user)
    n = max(50, args.reads // 5)
    t = time.perf_counter()
    for _ in range(n):
        r = client.get("/home")
        assert r.status_code == 200, r.status_code
    rows.append(("GET /home page (rendered, in-process)", f"{n / (time.perf_counter() - t):.0f} pages/s"))

    width = max(len(k) for k, _ in rows)
    print(f"Rostra foundation bench: {args.accounts} accounts, {args.posts} posts, {django.db.connection.vendor}")
    for k, v in rows:
        print(f"  {k:<{width}}  {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
