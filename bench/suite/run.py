"""The benchmark runner: one command, a table and a JSON file (`make bench`).

    python -m bench.suite.run --profile XS [--database sqlite|postgres] [--out bench/results/XS.json] [--quick]

It makes a fresh data dir (and, for PostgreSQL, drops and re-creates the benchmark database and
empties the benchmark Redis database), migrates, loads the synthetic community in bulk
(bench/suite/graph.py), measures the in-process figures (bench/suite/local.py), starts
``rostra serve`` and the bare-Django ceiling servers (bench/suite/servers.py), runs the HTTP
scenarios (bench/suite/scenarios.py), and prints every result beside its ceiling and as a
percentage of it. Everything it started is stopped at the end, and the data dir removed
(--keep leaves it). See bench/README.md for what each figure means.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import sys
import tempfile
import time
import traceback
import urllib.request
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from bench.suite.context import BenchContext
from bench.suite.graph import PROFILES

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_PG = "postgres://postgres@127.0.0.1:5432/rostra_bench"
DEFAULT_REDIS = "redis://127.0.0.1:6379/4"
HOME = "/api/v1/timelines/home"
REQUIRED = (
    "home_reads_per_s",
    "home_ceiling_reads_per_s",
    "home_p99_ms",
    "celebrity_fanout_100pct_s",
    "posts_per_s",
    "signups_per_s",
    "screener_posts_per_s",
    "idle_rss_mb",
)
# (figure, its ceiling or None, the target as text)
TABLE: list[tuple[str, str | None, str]] = [
    ("home_reads_per_s", "home_ceiling_reads_per_s", ">= 70 % of ceiling"),
    ("home_p99_ms", None, "knee: p99 <= 200 ms"),
    ("mixed_knee_rps", "home_ceiling_reads_per_s", ""),
    ("posts_per_s", "{db}_commits_per_s", ">= 500 (graph M)"),
    ("celebrity_fanout_50pct_s", None, ""),
    ("celebrity_fanout_99pct_s", None, ""),
    ("celebrity_fanout_100pct_s", None, "<= 3 s"),
    ("signups_per_s", "signups_ceiling_per_s", ">= 50"),
    ("screener_posts_per_s", None, ">= 400"),
    ("idle_pss_mb", None, "< 300 MB (shared pages counted once)"),
    ("idle_rss_mb", None, "(RSS summed per process)"),
    ("ceiling_asgi_reads_per_s", "home_ceiling_reads_per_s", "WSGI/ASGI ratio"),
]


class RunError(Exception):
    """A bad argument or an unusable environment, said before anything is half-made."""


_T0 = time.monotonic()


def log(text: str) -> None:
    print(f"[{time.monotonic() - _T0:6.1f} s] {text}", file=sys.stderr, flush=True)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m bench.suite.run", description="Run Rostra's benchmark suite and write a JSON file."
    )
    p.add_argument("--profile", default="XS", choices=sorted(PROFILES), help="the synthetic community (default XS)")
    p.add_argument("--database", default="sqlite", choices=("sqlite", "postgres"))
    p.add_argument(
        "--database-url",
        default=os.environ.get("ROSTRA_BENCH_DATABASE_URL", DEFAULT_PG),
        help=f"with --database postgres: the database to DROP and re-create (default {DEFAULT_PG})",
    )
    p.add_argument(
        "--redis-url",
        default=os.environ.get("ROSTRA_BENCH_REDIS_URL", DEFAULT_REDIS),
        help=f"with --database postgres: the Redis database to empty and use (default {DEFAULT_REDIS})",
    )
    p.add_argument("--out", type=Path, default=None, help="the JSON file (default bench/results/<profile>.json)")
    p.add_argument("--quick", action="store_true", help="the test suite's run: fewest steps, shortest windows")
    p.add_argument("--step-seconds", type=float, default=None, help="each measured step's length (default 5, --quick 1)")
    p.add_argument("--workers", type=int, default=2, help="web worker processes of the server and the ceilings (default 2)")
    p.add_argument("--idle-seconds", type=float, default=None, help="idle time before the RSS is read (default 10, --quick 2)")
    p.add_argument(
        "--data-dir", type=Path, default=None, help="the data dir to create (must not exist or be empty; default a temporary one)"
    )
    p.add_argument("--keep", action="store_true", help="keep the data dir and the server logs")
    p.add_argument("--no-scenarios", action="store_true", help="only load, start and measure the local figures")
    p.add_argument(
        "--only",
        default="",
        metavar="NAMES",
        help="run only these scenarios, comma-separated (home_reads, mixed_knee, posts_per_s, celebrity_fanout, signups)",
    )
    p.add_argument("--load-only", action="store_true", help="only migrate and load the community (prints the load time; no JSON)")
    args = p.parse_args(argv)
    if args.out is None:
        args.out = ROOT / "bench" / "results" / f"{args.profile}.json"
    if args.step_seconds is None:
        args.step_seconds = 1.0 if args.quick else 5.0
    if args.idle_seconds is None:
        args.idle_seconds = 2.0 if args.quick else 10.0
    if not 0.2 <= args.step_seconds <= 600:
        p.error("--step-seconds must be between 0.2 and 600")
    if not 0 <= args.idle_seconds <= 600:
        p.error("--idle-seconds must be between 0 and 600")
    if not 1 <= args.workers <= 64:
        p.error("--workers must be between 1 and 64")
    args.only = [name.strip() for name in args.only.split(",") if name.strip()]
    if args.only:
        known = [name for name, _ in load_scenarios() or []]
        unknown = [name for name in args.only if name not in known]
        if unknown:
            p.error(f"--only: no scenario named {', '.join(unknown)} (the scenarios: {', '.join(known) or 'none could be loaded'})")
    return args


def _check_out(path: Path) -> None:
    if path.exists() and path.is_dir():
        raise RunError(f"--out {path} is a directory; give a file name")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunError(f"--out {path}: cannot create its directory ({exc.strerror})") from None
    if not os.access(path.parent, os.W_OK):
        raise RunError(f"--out {path}: its directory is not writable")


def _data_dir(path: Path | None) -> tuple[Path, bool]:
    if path is None:
        return Path(tempfile.mkdtemp(prefix="rostra-bench-")), True
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise RunError(f"--data-dir {path} exists and is not an empty directory: a benchmark starts from a fresh one")
    path.mkdir(parents=True, exist_ok=True)
    return path, False


def _fresh_postgres(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if parts.scheme not in ("postgres", "postgresql") or not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
        raise RunError(f"--database-url {url!r}: expected postgres://user@host:port/name with a lower-case name")
    admin = parts._replace(path="/postgres").geturl()
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {name}")
    except psycopg.Error as exc:
        raise RunError(f"PostgreSQL at {parts.hostname}:{parts.port or 5432} is not usable: {exc}".strip()) from None


def _fresh_redis(url: str) -> None:
    import redis

    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=5)
        client.flushdb()
        client.close()
    except (redis.RedisError, ValueError) as exc:
        raise RunError(f"--redis-url {url!r} is not usable: {exc}") from None


def server_env(args: argparse.Namespace, data_dir: Path, port: int, streaming_port: int) -> dict[str, str]:
    """The environment of the server under test (and of this process's Django, so both see the same database)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ROSTRA_", "DATABASE_URL", "REDIS_URL", "DJANGO_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="rostra.config.settings",
        ROSTRA_DATA_DIR=str(data_dir),
        ROSTRA_DOMAIN=f"127.0.0.1:{port}",
        ROSTRA_STREAMING_PORT=str(streaming_port),
        ROSTRA_RATE_LIMITS="scale=100000",  # limits must not cap the benchmark
        ROSTRA_LOG_LEVEL="WARNING",
        ROSTRA_WEB_WORKERS=str(args.workers),
    )
    if args.database == "postgres":
        env["DATABASE_URL"] = args.database_url
        env["REDIS_URL"] = args.redis_url
    return env


def machine_info(database: str) -> dict[str, Any]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cores": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "db": database,
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def capture_home_body(base_url: str, token: str, dest: Path) -> int:
    """Save one real 20-post home response (the ceiling view answers with these bytes); its post count."""
    req = urllib.request.Request(f"{base_url}{HOME}?limit=20", headers={"Authorization": f"Bearer {token}"})  # noqa: S310 - http://127.0.0.1
    with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310
        body = resp.read()
    doc = json.loads(body)
    if not isinstance(doc, list):
        raise RunError(f"GET {HOME} did not answer a list: {body[:200]!r}")
    dest.write_bytes(body)
    return len(doc)


SETTLE_S = 60.0


def settle(limit_s: float = SETTLE_S) -> float | None:
    """Wait until the server's pipeline has no pending event: work a scenario left behind (the
    posts/s step past the knee queues fan-out) would otherwise compete with the next scenario for
    the same cores. The seconds waited, or None if events were still pending after ``limit_s``."""
    from django.db import connections

    from rostra.core.models import Event

    started = time.perf_counter()
    while Event.objects.filter(done_at__isnull=True).exists():
        if time.perf_counter() - started > limit_s:
            return None
        time.sleep(0.2)
    connections.close_all()
    return time.perf_counter() - started


def closed_best(url: str, tokens: list[str], levels: Sequence[int], seconds: float) -> float:
    """The best home-read rate over closed-loop runs at those concurrencies (loadgen's client)."""
    from bench.suite.loadgen import Request, run_closed

    best = 0.0
    for n in levels:
        result = run_closed(url, lambda i: Request("GET", HOME, tokens[i % len(tokens)], tag="home"), n, seconds)
        best = max(best, float(result.figures("home")["achieved_rps"]))
    return round(best, 1)


def load_scenarios() -> list[tuple[str, Callable[[BenchContext], None]]] | None:
    try:
        from bench.suite.scenarios import SCENARIOS
    except ImportError as exc:
        log(f"bench: the HTTP scenarios are not available ({exc}); continuing without them")
        return None
    return list(SCENARIOS)


def fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) >= 10 else f"{value:,.3g}"
    return str(value)


def table(results: dict[str, Any], database: str) -> str:
    rows = [("figure", "result", "ceiling", "% of ceiling", "target")]
    shown = set()
    for name, ceiling_name, target in TABLE:
        ceiling_key = ceiling_name.format(db=database) if ceiling_name else None
        value = results.get(name)
        ceiling = results.get(ceiling_key) if ceiling_key else None
        pct = (
            f"{100 * value / ceiling:.0f} %"
            if isinstance(value, int | float) and isinstance(ceiling, int | float) and ceiling
            else ""
        )
        rows.append((name, fmt(value), f"{fmt(ceiling)} ({ceiling_key})" if ceiling_key else "", pct, target))
        shown.add(name)
    for name in sorted(results):
        if name not in shown:
            rows.append((name, fmt(results[name]), "", "", ""))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(c.ljust(w) if i in (0, 2, 4) else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))).rstrip()
        for r in rows
    ]
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def write_json(path: Path, doc: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(doc, indent=2, sort_keys=False) + "\n")
    tmp.replace(path)


def run(args: argparse.Namespace) -> dict[str, Any]:
    from bench.suite.servers import CeilingServer, RostraServer, ServerError, free_port

    _check_out(args.out)
    data_dir, temporary = _data_dir(args.data_dir)
    try:
        if args.database == "postgres":
            _fresh_postgres(args.database_url)
            _fresh_redis(args.redis_url)
    except RunError:
        if temporary:
            shutil.rmtree(data_dir, ignore_errors=True)
        raise
    logs = data_dir / "logs"
    logs.mkdir()
    port, streaming_port, ceiling_port = free_port(), free_port(), free_port()
    env = server_env(args, data_dir, port, streaming_port)
    for key in [k for k in os.environ if k.startswith(("ROSTRA_", "DATABASE_URL", "REDIS_URL", "DJANGO_"))]:
        del os.environ[key]
    os.environ.update(env)
    results: dict[str, Any] = {}
    notes: list[str] = []
    started = time.perf_counter()
    servers: list[Any] = []
    try:
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connections

        from bench.suite import local
        from bench.suite.graph import build_graph, load_community

        t = time.perf_counter()
        call_command("migrate", interactive=False, verbosity=0)
        log(f"bench: migrated a fresh {args.database} database in {time.perf_counter() - t:.1f} s")
        t = time.perf_counter()
        graph = build_graph(PROFILES[args.profile])
        results["graph_build_s"] = round(time.perf_counter() - t, 2)
        t = time.perf_counter()
        community = load_community(graph, log=log)
        results["load_s"] = round(time.perf_counter() - t, 2)
        connections.close_all()
        if args.load_only:
            return {"load_s": results["load_s"], "graph_build_s": results["graph_build_s"]}

        log("bench: local figures (screener, Argon2id, insert ceilings)")
        results.update(local.screener_figures(quick=args.quick))
        results.update(local.signup_hash_figures(quick=args.quick))
        window = 0.5 if args.quick else 2.0
        results.update(local.sqlite_insert_figures(data_dir, seconds=window, bulk_rows=20_000 if args.quick else 200_000))
        if args.database == "postgres":
            results.update(
                local.postgres_insert_figures(args.database_url, seconds=window, bulk_rows=20_000 if args.quick else 200_000)
            )
            results.update(local.redis_figures(args.redis_url, seconds=window))

        log(f"bench: starting rostra serve on {env['ROSTRA_DOMAIN']} ({args.workers} web workers)")
        server = RostraServer(env, logs / "rostra.log", port=port, streaming_port=streaming_port, workers=args.workers)
        servers.append(server)
        server.wait()
        results.update(local.idle_rss_figures(server.pid, idle_seconds=args.idle_seconds))
        body = data_dir / "home-body.json"
        count = capture_home_body(server.base_url, community.reader_tokens[0], body)
        if count < 20:
            notes.append(f"the captured home response holds {count} posts, not 20")
        ceiling = CeilingServer("wsgi", body, logs / "ceiling-wsgi.log", port=ceiling_port, workers=args.workers)
        servers.append(ceiling)
        ceiling.wait()

        ctx = BenchContext(
            profile=args.profile,
            database=args.database,
            base_url=server.base_url,
            ceiling_url=ceiling.base_url,
            env=env,
            data_dir=data_dir,
            community=community,
            step_seconds=args.step_seconds,
            quick=args.quick,
            results=results,
            notes=notes,
        )
        scenarios = None if args.no_scenarios else load_scenarios()
        if scenarios and args.only:
            scenarios = [(name, fn) for name, fn in scenarios if name in args.only]
        for name, fn in scenarios or []:
            waited = settle()
            if waited is None:
                notes.append(f"scenario {name} started with pipeline events still pending after {SETTLE_S:.0f} s")
            elif waited > 0.5:
                log(f"bench: waited {waited:.1f} s for the pipeline to finish the previous scenario's work")
            log(f"bench: scenario {name}")
            t = time.perf_counter()
            try:
                fn(ctx)
            except Exception as exc:  # noqa: BLE001 - one broken scenario must not lose the others' figures
                traceback.print_exc()
                notes.append(f"scenario {name} failed: {exc.__class__.__name__}: {exc}")
            log(f"bench: scenario {name} took {time.perf_counter() - t:.1f} s")
            connections.close_all()

        levels = (4,) if args.quick else (1, 4, 16, 64)
        try:
            if "home_ceiling_reads_per_s" not in results:
                results["home_ceiling_reads_per_s"] = closed_best(
                    ceiling.base_url, community.reader_tokens, levels, args.step_seconds
                )
            ceiling.stop()
            servers.remove(ceiling)
            asgi = CeilingServer("asgi", body, logs / "ceiling-asgi.log", port=free_port(), workers=args.workers)
            servers.append(asgi)
            asgi.wait()
            log("bench: the same bare view under ASGI (uvicorn)")
            results["ceiling_asgi_reads_per_s"] = closed_best(asgi.base_url, community.reader_tokens, levels, args.step_seconds)
            if results["ceiling_asgi_reads_per_s"]:
                results["wsgi_asgi_ratio"] = round(results["home_ceiling_reads_per_s"] / results["ceiling_asgi_reads_per_s"], 2)
        except ImportError as exc:
            notes.append(f"ceilings not measured: the load generator is not available ({exc})")
    except ServerError as exc:
        raise RunError(str(exc)) from None
    finally:
        for s in reversed(servers):
            s.stop()
        if not args.keep and temporary:
            shutil.rmtree(data_dir, ignore_errors=True)
    for key in REQUIRED:
        results.setdefault(key, None)
    return {
        **{k: results[k] for k in REQUIRED},
        **{k: v for k, v in results.items() if k not in REQUIRED},
        "profile": args.profile,
        "database": args.database,
        "machine": machine_info(args.database),
        "community": {
            "accounts": len(community.account_ids),
            "follows": community.follows,
            "posts": community.posts,
            "celebrity_followers": community.celebrity_followers,
            "readers": len(community.reader_tokens),
        },
        "wall_s": round(time.perf_counter() - started, 1),
        "notes": notes,
        "data_dir": str(data_dir) if args.keep or not temporary else None,
    }


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        doc = run(args)
    except RunError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    if args.load_only:
        print(
            f"bench: profile {args.profile} built in {doc['graph_build_s']} s and loaded into {args.database} in {doc['load_s']} s"
        )
        return 0
    write_json(args.out, doc)
    m = doc["machine"]
    print(
        f"Rostra benchmark: profile {doc['profile']} ({doc['community']['accounts']:,} accounts, {doc['community']['follows']:,} follows, "
        f"{doc['community']['posts']:,} posts), {doc['database']}, {m['cores']} cores, Python {m['python']}, {doc['wall_s']} s"
    )
    print(
        table(
            {k: v for k, v in doc.items() if k not in ("data_dir", "wall_s") and (isinstance(v, int | float) or v is None)},
            doc["database"],
        )
    )
    for note in doc["notes"]:
        print(f"  note: {note}")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    # SIGTERM unwinds like Ctrl-C: the servers are stopped and the temporary data dir removed.
    signal.signal(signal.SIGTERM, lambda _sig, _frame: sys.exit(143))
    raise SystemExit(main())
