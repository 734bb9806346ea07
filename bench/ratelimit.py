"""How many rate-limit checks a second each backend counts.

    .venv/bin/python -m bench.ratelimit [--checks 5000] [--redis redis://127.0.0.1:6379/14]

On a fresh SQLite data dir (or DATABASE_URL): ``Limiter.hit`` in a loop over a spread of
identities (as many clients would), once with the database backend and once with Redis (when
reachable), and prints checks/s and p50/p99 latency for each. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time


def _pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--checks", type=int, default=5000)
    parser.add_argument("--identities", type=int, default=500)
    parser.add_argument("--redis", default=os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/14")
    args = parser.parse_args()

    os.environ.setdefault("ROSTRA_DATA_DIR", tempfile.mkdtemp(prefix="rostra-bench-"))
    os.environ["DJANGO_SETTINGS_MODULE"] = "rostra.config.settings"
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from rostra.core.ratelimit import Limiter, Rule

    call_command("migrate", verbosity=0)
    rule = Rule("api_ip", 300, 300)
    print(f"database: {connection.vendor}; {args.checks} checks over {args.identities} identities")

    def run(name: str, limiter: Limiter) -> None:
        limiter.reset()
        latencies: list[float] = []
        started = time.perf_counter()
        for i in range(args.checks):
            t = time.perf_counter()
            limiter.hit(rule, f"198.51.{(i % args.identities) // 256}.{i % 256}")
            latencies.append((time.perf_counter() - t) * 1000)
        elapsed = time.perf_counter() - started
        used = limiter.backend_name
        print(
            f"{name:9s} ({used}): {args.checks / elapsed:9.0f} checks/s   "
            f"p50 {statistics.median(latencies):.3f} ms   p99 {_pct(latencies, 0.99):.3f} ms"
        )
        limiter.reset()

    run("database", Limiter(None))
    redis_limiter = Limiter(args.redis)
    try:
        assert redis_limiter.redis is not None
        redis_limiter.redis.client.ping()
    except Exception as exc:  # noqa: BLE001 - no Redis: say so and skip it
        print(f"redis    : not reachable at {args.redis} ({exc}); skipped")
        return 0
    run("redis", redis_limiter)
    return 0


if __name__ == "__main__":
    sys.exit(main())
