"""G4 soak: half load for a long while; does memory stay flat and do the queues drain?

    python -m bench.soak                        # an hour on its own `rostra serve`, profile XS
    python -m bench.soak --minutes 10 --profile tiny
    python -m bench.soak --minutes 0.2 --sample-seconds 2 --profile tiny     # the test suite's run

Measures the capacity (closed loop, as bench/overload.py does), then runs an open loop at
``--load`` (default 0.5) of it for ``--minutes``, the same mix (home-timeline reads and posts).
Every ``--sample-seconds`` (default 30) it samples the resident memory of the server's whole
process tree (gunicorn and its workers, the task worker, the streaming process) and the queue
depth: tasks waiting in the task queue plus pipeline events not yet done. When the load stops it
waits up to ``--drain-seconds`` for both to reach zero.

Printed: RSS at the start, after warm-up (``--warmup-seconds``, default 5 minutes, at most a quarter
of the run) and at the end, the growth (target <= 10 %), the
largest queue depth seen, whether the queues drained to zero and how long that took. Figures
only, no assertions.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench.overload import Answer, Mix, closed_loop, open_loop, own_server, summarise, table
from bench.suite.servers import process_tree_rss_mb


def queue_depth() -> dict[str, int]:
    """Tasks waiting in the task queue and pipeline events not yet done (Django is set up with the
    server's environment, so this reads the server's own queue and database)."""
    from django.db import close_old_connections
    from huey.contrib.djhuey import HUEY

    from rostra.core.models import Event

    close_old_connections()
    pending_events = Event.objects.filter(done_at__isnull=True).count()
    return {"tasks": int(HUEY.pending_count()), "events": pending_events}


def soak(url: str, pid: int, tokens: list[str], args: argparse.Namespace, log: Callable[[str], None] = print) -> dict[str, Any]:
    mix = Mix(tokens, write_share=args.write_share)
    base = asyncio.run(closed_loop(url, mix, args.concurrency, args.capacity_seconds))
    capacity = sum(1 for a in base if 200 <= a.status < 300) / args.capacity_seconds
    if capacity <= 0:
        raise SystemExit("bench.soak: no request succeeded while measuring capacity")
    rate = capacity * args.load
    seconds = args.minutes * 60
    log(
        f"capacity {capacity:.0f} req/s; soak at {rate:.1f} req/s for {seconds:g} s, a sample every {args.sample_seconds:g} s ..."
    )
    samples: list[dict[str, float]] = []
    t0 = time.monotonic()

    def sample() -> None:
        depth = queue_depth()
        samples.append({"t_s": round(time.monotonic() - t0, 1), "rss_mb": round(process_tree_rss_mb(pid), 1), **depth})
        log(
            f"  t={samples[-1]['t_s']:>7} s  rss {samples[-1]['rss_mb']:>7} MB  tasks {depth['tasks']:>6}  events {depth['events']:>6}"
        )

    async def drive() -> list[Answer]:
        sampler_stop = asyncio.Event()

        async def sampler() -> None:
            while not sampler_stop.is_set():
                await asyncio.to_thread(sample)
                try:
                    await asyncio.wait_for(sampler_stop.wait(), args.sample_seconds)
                except TimeoutError:
                    pass

        task = asyncio.create_task(sampler())
        answers, _ = await open_loop(url, mix, rate, seconds)
        sampler_stop.set()
        await task
        return answers

    answers = asyncio.run(drive())
    sample()
    load_end = time.monotonic()
    drained_s: float | None = None
    while time.monotonic() - load_end < args.drain_seconds:
        depth = queue_depth()
        if depth["tasks"] == 0 and depth["events"] == 0:
            drained_s = time.monotonic() - load_end
            break
        time.sleep(0.5)
    # Warm-up: the processes load what they need on first use (the screener's model, templates,
    # caches), so growth is measured from the first sample after --warmup-seconds (at most a
    # quarter of the run), which is what a leak would show against.
    warmup = min(args.warmup_seconds, seconds / 4)
    start = next((x for x in samples if x["t_s"] >= warmup), samples[0])
    end = samples[-1]
    growth = (end["rss_mb"] - start["rss_mb"]) / start["rss_mb"] if start["rss_mb"] else 0.0
    figures: dict[str, Any] = {
        "capacity_rps": round(capacity, 1),
        "soak_rps": round(rate, 1),
        "soak_seconds": round(seconds, 1),
        **{
            k: v
            for k, v in summarise(answers).items()
            if k in ("requests", "accepted", "shed", "other_errors", "other_outcomes", "accepted_p99_ms")
        },
        "samples": len(samples),
        "rss_first_mb": samples[0]["rss_mb"],
        "warmup_s": round(warmup, 1),
        "rss_start_mb": start["rss_mb"],
        "rss_end_mb": end["rss_mb"],
        "rss_max_mb": max(s["rss_mb"] for s in samples),
        "rss_growth_pct": round(growth * 100, 1),
        "queue_max": int(max(s["tasks"] + s["events"] for s in samples)),
        "queues_drained": drained_s is not None,
        "drain_s": round(drained_s, 1) if drained_s is not None else None,
    }
    figures["_samples"] = samples
    return figures


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m bench.soak", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--minutes", type=float, default=60.0, help="how long the soak lasts (default 60)")
    p.add_argument("--load", type=float, default=0.5, help="the rate as a share of the measured capacity (default 0.5)")
    p.add_argument("--sample-seconds", type=float, default=30.0, help="seconds between samples (default 30)")
    p.add_argument(
        "--warmup-seconds",
        type=float,
        default=300.0,
        help="growth is measured from the first sample after this (default 300; at most a quarter of the run)",
    )
    p.add_argument("--drain-seconds", type=float, default=120.0, help="how long to wait for the queues to drain afterwards")
    p.add_argument("--profile", default="XS", help="the community of its own server (tiny, XS, S, M; default XS)")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--capacity-seconds", type=float, default=5.0)
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--write-share", type=float, default=0.2)
    p.add_argument("--json", metavar="FILE", help="also write the figures (and every sample) to this JSON file")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if (
        args.minutes <= 0
        or args.sample_seconds <= 0
        or not 0 < args.load <= 1
        or args.capacity_seconds <= 0
        or args.concurrency < 1
    ):
        print(
            "bench.soak: --minutes, --sample-seconds and --capacity-seconds must be positive, --load in (0, 1], --concurrency at least 1",
            file=sys.stderr,
        )
        return 2
    with own_server(args.profile, args.workers) as server:
        figures = soak(server.url, server.pid, server.tokens, args)
    samples = figures.pop("_samples")
    figures["profile"] = args.profile
    print(table(figures))
    if args.json:
        Path(args.json).write_text(json.dumps({**figures, "samples": samples}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
