"""Streaming figures: how many subscribers one streaming process holds, and fan-out latency.

    .venv/bin/python -m bench.streaming [--subscribers 300] [--anonymous 100] [--posts 10]

Starts `rostra streaming` on a fresh SQLite data dir (the SQLite bus; REDIS_URL set: Redis),
connects WebSocket clients to the user stream of followers of one author (and anonymous clients to
the public stream), then posts and runs the pipeline in this process and times how long until
every socket has the post. Prints a table; no assertions.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--subscribers", type=int, default=300, help="followers each holding a user stream")
    parser.add_argument("--anonymous", type=int, default=100, help="anonymous public-stream sockets")
    parser.add_argument("--posts", type=int, default=10)
    args = parser.parse_args()

    os.environ.setdefault("ROSTRA_DATA_DIR", tempfile.mkdtemp(prefix="rostra-bench-"))
    os.environ["DJANGO_SETTINGS_MODULE"] = "rostra.config.settings"
    import django

    django.setup()
    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command

    from rostra.accounts.models import Account, Follow, User
    from rostra.api.models import AccessToken, Application
    from rostra.api.oauth import digest
    from rostra.pipeline import runner
    from rostra.posts.actions import Draft, create_post

    call_command("migrate", verbosity=0)
    pw = make_password("bench-password-123")
    users = User.objects.bulk_create([User(username=f"s{i}", email=f"s{i}@example.org", password=pw) for i in range(args.subscribers + 1)])
    accounts = Account.objects.bulk_create([Account(user=u, username=u.username) for u in users])
    author, followers = accounts[0], accounts[1:]
    Follow.objects.bulk_create([Follow(follower=a, target=author) for a in followers])
    app = Application.objects.create(name="bench", client_id="bench", client_secret_hash=digest("unused"), redirect_uris="urn:ietf:wg:oauth:2.0:oob")
    AccessToken.objects.bulk_create([
        AccessToken(token_hash=digest(f"bench-token-{a.pk}"), application=app, user=a.user, scopes="read") for a in followers
    ])

    port = _free_port()
    env = dict(os.environ, ROSTRA_STREAMING_PORT=str(port), ROSTRA_LOG_LEVEL="warning")
    proc = subprocess.Popen([sys.executable, "-m", "rostra.config.cli", "streaming", "--port", str(port)], env=env)
    rows: list[tuple[str, str]] = []
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/streaming/health", timeout=2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        idle_rss = _rss_mb(proc.pid)
        asyncio.run(_run(args, port, author, followers, proc.pid, rows, create_post, Draft, runner))
        rows.insert(0, ("streaming process RSS, idle", f"{idle_rss:.0f} MB"))
    finally:
        proc.terminate()
        proc.wait(timeout=30)

    width = max(len(k) for k, _ in rows)
    print(f"Rostra streaming bench: {args.subscribers} user streams + {args.anonymous} public streams, {args.posts} posts, {django.db.connection.vendor}")
    for k, v in rows:
        print(f"  {k:<{width}}  {v}")
    return 0


async def _run(args, port, author, followers, pid, rows, create_post, Draft, runner) -> None:  # type: ignore[no-untyped-def]
    from websockets.asyncio.client import connect

    base = f"ws://127.0.0.1:{port}/api/v1/streaming"
    t = time.perf_counter()
    sockets = []
    for a in followers:
        sockets.append(await connect(f"{base}?stream=user&access_token=bench-token-{a.pk}", max_queue=None))
    for _ in range(args.anonymous):
        sockets.append(await connect(f"{base}?stream=public", max_queue=None))
    connect_s = time.perf_counter() - t
    rows.append(("sockets opened", f"{len(sockets)} in {connect_s:.1f} s ({len(sockets) / connect_s:.0f}/s, sequential)"))
    rows.append(("streaming process RSS, all connected", f"{_rss_mb(pid):.0f} MB"))

    firsts: list[float] = []
    lasts: list[float] = []
    pipeline: list[float] = []
    for i in range(args.posts):
        arrived: list[float] = []

        async def wait_one(ws, arrived=arrived) -> None:  # type: ignore[no-untyped-def]
            while True:
                frame = json.loads(await ws.recv())
                if frame.get("event") == "update":
                    arrived.append(time.perf_counter())
                    return

        waiters = [asyncio.create_task(wait_one(ws)) for ws in sockets]

        def publish(i: int = i) -> tuple[float, float]:
            create_post(author, Draft(text=f"Bench post number {i} about the weather."))
            started = time.perf_counter()  # from the pipeline's run (screen, fan-out, publish) to delivery
            runner.sweep(older_than_s=-1, limit=10**6)
            return started, time.perf_counter() - started

        started, pipeline_s = await asyncio.to_thread(publish)
        pipeline.append(pipeline_s * 1000)
        try:
            await asyncio.wait_for(asyncio.gather(*waiters), timeout=120)
        except TimeoutError:
            for w in waiters:
                w.cancel()
        if arrived:
            firsts.append((min(arrived) - started) * 1000)
            lasts.append((max(arrived) - started) * 1000)
        rows.append((f"post {i}: sockets reached", f"{len(arrived)}/{len(sockets)}")) if len(arrived) < len(sockets) else None
    rows.append(("pipeline run per post (screen, fan-out, publish; median)", f"{statistics.median(pipeline):.0f} ms"))
    if firsts:
        rows.append(("fan-out latency, first socket (median)", f"{statistics.median(firsts):.0f} ms"))
        rows.append(("fan-out latency, last socket (median / max)", f"{statistics.median(lasts):.0f} ms / {max(lasts):.0f} ms"))
        rows.append(("renders+sends per second (last socket)", f"{len(sockets) / (statistics.median(lasts) / 1000):.0f}/s"))
    rows.append(("streaming process RSS, after posts", f"{_rss_mb(pid):.0f} MB"))
    for ws in sockets:
        await ws.close()


if __name__ == "__main__":
    sys.exit(main())
