"""What the metrics and request-log middleware adds to each request, and what a scrape costs.

    .venv/bin/python -m bench.metrics [--requests 20000]

Calls ``ObservabilityMiddleware`` around a view that does nothing (so only the middleware is
timed) and the same view bare, in one process with in-memory figures and again in a child process
with prometheus_client's multiprocess files (as under ``rostra serve``); each with the request
log line off (level WARNING) and on (JSON lines to /dev/null). Then times a scrape of /metrics.
Prints microseconds per request; asserts nothing.
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path


def _setup(multiprocess: bool) -> None:
    data = Path(tempfile.mkdtemp(prefix="rostra-bench-metrics-"))
    os.environ.setdefault("ROSTRA_DATA_DIR", str(data))
    os.environ["DJANGO_SETTINGS_MODULE"] = "rostra.config.settings"
    import django

    django.setup()
    if multiprocess:
        from rostra.core import metrics

        metrics.use_directory(data / "metrics", "web")


def _run(n: int, multiprocess: bool) -> None:
    _setup(multiprocess)
    from django.http import HttpRequest, HttpResponse
    from django.test import RequestFactory
    from django.urls import resolve

    from rostra.core import logs, metrics
    from rostra.core.observability import ObservabilityMiddleware

    match = resolve("/about")

    def view(request: HttpRequest) -> HttpResponse:
        request.resolver_match = match
        return HttpResponse(b"ok")

    factory = RequestFactory()
    middleware = ObservabilityMiddleware(view)
    requests = [factory.get("/about") for _ in range(n)]

    def timed(handler: Callable[[HttpRequest], HttpResponse]) -> float:
        started = time.perf_counter()
        for r in requests:
            handler(r)
        return (time.perf_counter() - started) / n * 1e6

    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    mode = "multiprocess files" if multiprocess else "in-memory"
    timed(middleware)  # warm up: label children, file pages
    bare = timed(view)
    root.setLevel(logging.WARNING)
    quiet = timed(middleware)
    devnull = open(os.devnull, "w")  # noqa: SIM115 - closed below
    handler = logging.StreamHandler(devnull)
    handler.setFormatter(logs.JsonFormatter())
    handler.addFilter(logs.ContextFilter())
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    logged = timed(middleware)
    root.removeHandler(handler)
    devnull.close()
    print(
        f"{mode:19s} bare view {bare:6.1f} µs | + metrics {quiet - bare:6.1f} µs/request | + metrics and a JSON log line {logged - bare:6.1f} µs/request"
    )
    # A scrape: the figures above plus a hundred more routes (without the database-backed readers).
    for i in range(100):
        metrics.observe_request("GET", f"route_{i}", 200, 0.01)
    metrics.SCRAPE_READERS.clear()
    started = time.perf_counter()
    for _ in range(20):
        body = metrics.render()
    print(f"{mode:19s} one scrape of /metrics: {(time.perf_counter() - started) / 20 * 1000:.1f} ms ({len(body)} bytes)")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--multiprocess", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.multiprocess:
        _run(args.requests, multiprocess=True)
        return 0
    print(f"{args.requests} requests through ObservabilityMiddleware around an empty view")
    _run(args.requests, multiprocess=False)
    sys.stdout.flush()
    return subprocess.call([sys.executable, "-m", "bench.metrics", "--multiprocess", "--requests", str(args.requests)])


if __name__ == "__main__":
    raise SystemExit(main())
