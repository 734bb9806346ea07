"""G3 overload: drive a server at several times its capacity, then watch it recover.

    python -m bench.overload                          # its own `rostra serve` on profile XS (SQLite, temp dir)
    python -m bench.overload --profile tiny --seconds 5
    python -m bench.overload --target http://127.0.0.1:8000 --token T [--token T2 ...]

Steps: (1) capacity: closed loop, ``--concurrency`` clients for ``--capacity-seconds``, of the mix
(``--write-share`` of POST /api/v1/statuses, the rest GET /api/v1/timelines/home); (2) overload: an
open loop (arrivals on a fixed schedule, latency from the scheduled time) at ``--multiple`` x that
capacity for ``--seconds``; (3) recovery: once the schedule ends, one probe read every 0.2 s; the
service "answers normally again" at the first of 5 probes in a row answered 2xx within
max(250 ms, 3 x the unloaded p99).

Printed: the share of answers that were 429/503 with Retry-After, every other kind of error (a
503 without Retry-After, a 500, a timeout, a refused connection: should be 0), p50/p99 of the
accepted (2xx) requests, and the recovery time (target <= 60 s). Figures only, no assertions.

The client is a small asyncio HTTP/1.1 keep-alive client of its own (not bench/suite/loadgen.py)
because the figures need each answer's Retry-After header.

Its own server (no --target) runs with ``ROSTRA_RATE_LIMITS=scale=1000``, so what is measured is
the process's admission control rather than the per-token limits (tested elsewhere), and with
whatever ``DATABASE_URL``/``REDIS_URL`` this environment has (the database must be empty).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
RBIN = str(Path(sys.executable).parent / "rostra")
HOME = "/api/v1/timelines/home?limit=20"
POST = "/api/v1/statuses"


# --- A small HTTP/1.1 keep-alive client ------------------------------------------------------


@dataclass
class Answer:
    status: int  # 0: no answer
    retry_after: bool
    latency_s: float  # from the scheduled (open loop) or sending (closed loop) time
    kind: str  # "read" or "write"
    error: str = ""  # "timeout", "connect", "closed"


class _Conn:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    def close(self) -> None:
        self.writer.close()


class Client:
    """Keep-alive connections to one host, at most ``max_connections`` at a time."""

    def __init__(self, base_url: str, max_connections: int = 256, timeout: float = 30.0) -> None:
        parts = urlsplit(base_url)
        if parts.scheme != "http" or not parts.hostname:
            raise SystemExit(f"bench.overload: {base_url!r} is not an http:// URL")
        self.host, self.port = parts.hostname, parts.port or 80
        self.hostheader = parts.netloc
        self.timeout = timeout
        self.idle: list[_Conn] = []
        self.slots = asyncio.Semaphore(max_connections)

    async def _connect(self) -> _Conn:
        reader, writer = await asyncio.open_connection(self.host, self.port, limit=1 << 22)
        return _Conn(reader, writer)

    async def request(self, method: str, path: str, token: str | None, body: bytes | None) -> tuple[int, dict[str, str], bytes]:
        async with self.slots:
            reused = bool(self.idle)
            conn = self.idle.pop() if reused else await self._connect()
            deadline = time.monotonic() + self.timeout
            try:
                status, headers, data = await asyncio.wait_for(self._exchange(conn, method, path, token, body), self.timeout)
            except (asyncio.IncompleteReadError, ConnectionResetError, BrokenPipeError):
                conn.close()
                if not reused:
                    raise
                # The server closed an idle kept-alive connection (its keep-alive timeout) as we
                # reused it: what every HTTP client does, retry once on a fresh connection.
                conn = await self._connect()
                try:
                    status, headers, data = await asyncio.wait_for(
                        self._exchange(conn, method, path, token, body), max(0.001, deadline - time.monotonic())
                    )
                except BaseException:
                    conn.close()
                    raise
            except BaseException:
                conn.close()
                raise
            if headers.get("connection", "").lower() == "close":
                conn.close()
            else:
                self.idle.append(conn)
            return status, headers, data

    async def _exchange(
        self, conn: _Conn, method: str, path: str, token: str | None, body: bytes | None
    ) -> tuple[int, dict[str, str], bytes]:
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.hostheader}", "Accept: application/json"]
        if token:
            lines.append(f"Authorization: Bearer {token}")
        if body is not None:
            lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
        conn.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b""))
        head = await conn.reader.readuntil(b"\r\n\r\n")
        first, *rest = head.decode("latin-1").split("\r\n")
        status = int(first.split(" ", 2)[1])
        headers = {}
        for line in rest:
            if ":" in line:
                k, v = line.split(":", 1)
                headers[k.strip().lower()] = v.strip()
        if "content-length" in headers:
            data = await conn.reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int((await conn.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                chunks.append(await conn.reader.readexactly(size + 2))
                if size == 0:
                    break
            data = b"".join(c[:-2] for c in chunks)
        else:
            data = await conn.reader.read()
            headers["connection"] = "close"
        return status, headers, data

    def close(self) -> None:
        for conn in self.idle:
            conn.close()
        self.idle.clear()


@dataclass
class Mix:
    """What to send: reads of the home timeline, and posts (``write_share`` of them)."""

    tokens: list[str]
    write_share: float = 0.2
    read_path: str = HOME
    seed: int = 1
    rng: random.Random = field(init=False)
    counter: int = 0

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def next(self) -> tuple[str, str, str | None, bytes | None, str]:
        self.counter += 1
        token = self.tokens[self.counter % len(self.tokens)] if self.tokens else None
        if token and self.rng.random() < self.write_share:
            body = json.dumps({"status": f"overload bench post {self.counter} {self.rng.random():.6f}", "visibility": "public"})
            return "POST", POST, token, body.encode(), "write"
        return "GET", self.read_path, token, None, "read"


async def _one(client: Client, mix: Mix, started: float) -> Answer:
    method, path, token, body, kind = mix.next()
    try:
        status, headers, _ = await client.request(method, path, token, body)
    except TimeoutError:
        return Answer(0, False, time.monotonic() - started, kind, "timeout")
    except (ConnectionError, OSError, asyncio.IncompleteReadError) as exc:
        return Answer(
            0, False, time.monotonic() - started, kind, "closed" if isinstance(exc, asyncio.IncompleteReadError) else "connect"
        )
    return Answer(status, "retry-after" in headers, time.monotonic() - started, kind)


async def closed_loop(base_url: str, mix: Mix, concurrency: int, seconds: float) -> list[Answer]:
    client = Client(base_url, max_connections=concurrency)
    answers: list[Answer] = []
    stop = time.monotonic() + seconds

    async def worker() -> None:
        while time.monotonic() < stop:
            answers.append(await _one(client, mix, time.monotonic()))

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    client.close()
    return answers


async def open_loop(
    base_url: str, mix: Mix, rate: float, seconds: float, *, max_connections: int = 256
) -> tuple[list[Answer], float]:
    """Requests at ``rate``/s for ``seconds`` whatever the answers; returns the answers and the
    monotonic time the schedule ended."""
    client = Client(base_url, max_connections=max_connections)
    answers: list[Answer] = []
    tasks: set[asyncio.Task[None]] = set()
    t0 = time.monotonic()
    total = int(rate * seconds)

    async def send(scheduled: float) -> None:
        answers.append(await _one(client, mix, scheduled))

    for i in range(total):
        scheduled = t0 + i / rate
        delay = scheduled - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(send(scheduled))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    ended = time.monotonic()
    if tasks:
        await asyncio.gather(*list(tasks))
    client.close()
    return answers, ended


async def recovery(base_url: str, mix: Mix, since: float, normal_s: float, *, give_up_s: float = 120.0) -> float | None:
    """Seconds from ``since`` until 5 probe reads in a row are 2xx within ``normal_s``; None if never."""
    client = Client(base_url, max_connections=1, timeout=10)
    streak, first_good = 0, 0.0
    try:
        while time.monotonic() - since < give_up_s:
            sent = time.monotonic()
            token = mix.next()[2]
            try:
                status, _, _ = await client.request("GET", mix.read_path, token, None)
            except (TimeoutError, ConnectionError, OSError, asyncio.IncompleteReadError):
                status = 0
            took = time.monotonic() - sent
            if 200 <= status < 300 and took <= normal_s:
                if streak == 0:
                    first_good = sent
                streak += 1
                if streak >= 5:
                    return max(0.0, first_good - since)
            else:
                streak = 0
            await asyncio.sleep(0.2)
    finally:
        client.close()
    return None


# --- Figures ----------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def is_shed(a: Answer) -> bool:
    return a.status in (429, 503) and a.retry_after


def summarise(answers: Sequence[Answer]) -> dict[str, Any]:
    """Accepted (2xx), shed (429/503 with Retry-After) and every other outcome, with latencies."""
    total = len(answers)
    accepted = [a for a in answers if 200 <= a.status < 300]
    shed = [a for a in answers if is_shed(a)]
    others: Counter[str] = Counter()
    for a in answers:
        if a.status == 0:
            others[a.error] += 1
        elif not (200 <= a.status < 300) and not is_shed(a):
            others[f"{a.status} without Retry-After" if a.status in (429, 503) else str(a.status)] += 1
    # Client errors that are the request's fault (400/401/404/422) are not the server failing;
    # they are reported, but only 5xx, timeouts and broken connections count as "other errors".
    failures = sum(n for k, n in others.items() if not k.startswith("4") or "Retry-After" in k)
    out: dict[str, Any] = {
        "requests": total,
        "accepted": len(accepted),
        "shed": len(shed),
        "shed_share": round(len(shed) / total, 4) if total else 0.0,
        "shed_429": sum(1 for a in shed if a.status == 429),
        "shed_503": sum(1 for a in shed if a.status == 503),
        "other_errors": failures,
        "other_outcomes": dict(others),
        "accepted_p50_ms": round(percentile([a.latency_s for a in accepted], 50) * 1000, 1),
        "accepted_p99_ms": round(percentile([a.latency_s for a in accepted], 99) * 1000, 1),
        "shed_p99_ms": round(percentile([a.latency_s for a in shed], 99) * 1000, 1),
    }
    for kind in ("read", "write"):
        mine = [a for a in answers if a.kind == kind]
        if mine:
            out[f"{kind}s_shed_share"] = round(sum(1 for a in mine if is_shed(a)) / len(mine), 4)
    return out


# --- Its own server ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    url: str
    tokens: list[str]
    pid: int
    env: dict[str, str]
    data_dir: Path


def _setup_django(env: dict[str, str]) -> None:
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "rostra.config.settings")
    import django

    django.setup()


@contextmanager
def own_server(
    profile: str, workers: int, extra_env: dict[str, str] | None = None, log: Callable[[str], None] = print
) -> Iterator[Server]:
    """A fresh data dir with the profile's community, and `rostra serve` on it (SQLite unless this
    environment sets DATABASE_URL/REDIS_URL)."""
    from bench.suite.graph import PROFILES, build_graph, load_community

    if profile not in PROFILES:
        raise SystemExit(f"bench.overload: unknown profile {profile!r}; known: {', '.join(PROFILES)}")
    with tempfile.TemporaryDirectory(prefix="rostra-overload-") as tmp:
        data = Path(tmp)
        port, streaming_port = free_port(), free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ROSTRA_", "DJANGO_"))}
        env.update(
            ROSTRA_DATA_DIR=str(data),
            ROSTRA_DOMAIN=f"127.0.0.1:{port}",
            ROSTRA_WEB_WORKERS=str(workers),
            ROSTRA_STREAMING_PORT=str(streaming_port),
            ROSTRA_RATE_LIMITS="scale=1000",
            ROSTRA_LOG_LEVEL="WARNING",
            ROSTRA_REGISTRATIONS="open",
        )
        env.update(extra_env or {})
        _setup_django(env)
        from django.core.management import call_command

        call_command("migrate", interactive=False, verbosity=0)
        t0 = time.monotonic()
        community = load_community(build_graph(PROFILES[profile]), log=lambda line: None)
        log(
            f"loaded profile {profile}: {len(community.account_ids)} accounts, {community.posts} posts ({time.monotonic() - t0:.1f} s)"
        )
        out = open(data / "server.log", "w")  # noqa: SIM115 - closed below
        proc = subprocess.Popen(
            [RBIN, "serve", "--no-migrate", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            start_new_session=True,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 90
            while True:
                try:
                    urllib.request.urlopen(url + "/health", timeout=2).close()  # noqa: S310 - our own loopback server
                    break
                except OSError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise SystemExit(
                            "bench.overload: rostra serve did not start:\n" + (data / "server.log").read_text()[-3000:]
                        ) from None
                    time.sleep(0.3)
            yield Server(url, list(community.reader_tokens), proc.pid, env, data)
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            out.close()


# --- The run ------------------------------------------------------------------------------------


def run(url: str, tokens: list[str], args: argparse.Namespace, log: Callable[[str], None] = print) -> dict[str, Any]:
    mix = Mix(
        tokens, write_share=args.write_share if tokens else 0.0, read_path=HOME if tokens else "/api/v1/timelines/public?limit=20"
    )
    log(f"capacity: closed loop, {args.concurrency} clients, {args.capacity_seconds:g} s ...")
    base = asyncio.run(closed_loop(url, mix, args.concurrency, args.capacity_seconds))
    good = [a for a in base if 200 <= a.status < 300]
    capacity = len(good) / args.capacity_seconds
    if capacity <= 0:
        raise SystemExit(
            f"bench.overload: no request succeeded while measuring capacity: {Counter(a.status or a.error for a in base)}"
        )
    unloaded = asyncio.run(closed_loop(url, mix, 1, min(3.0, args.capacity_seconds)))
    unloaded_p99 = percentile([a.latency_s for a in unloaded if 200 <= a.status < 300], 99)
    normal_s = max(0.25, 3 * unloaded_p99) if not math.isnan(unloaded_p99) else 0.25
    rate = capacity * args.multiple
    log(f"capacity {capacity:.0f} req/s; overload: open loop at {rate:.0f} req/s ({args.multiple:g}x) for {args.seconds:g} s ...")

    async def overload_then_recover() -> tuple[list[Answer], float | None, float]:
        answers, ended = await open_loop(url, mix, rate, args.seconds, max_connections=args.max_connections)
        drained = time.monotonic() - ended  # the last outstanding answers arrived this long after the schedule ended
        return answers, await recovery(url, mix, ended, normal_s), drained

    answers, recovered, drained = asyncio.run(overload_then_recover())
    figures = {
        "capacity_rps": round(capacity, 1),
        "capacity_p99_ms": round(percentile([a.latency_s for a in good], 99) * 1000, 1),
        "unloaded_p99_ms": round(unloaded_p99 * 1000, 1),
        "offered_rps": round(rate, 1),
        "overload_seconds": args.seconds,
        **summarise(answers),
        "outstanding_drained_s": round(drained, 2),
        "recovery_s": round(recovered, 2) if recovered is not None else None,
        "normal_latency_bound_ms": round(normal_s * 1000),
    }
    return figures


def table(figures: dict[str, Any]) -> str:
    width = max(len(k) for k in figures)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in figures.items())


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m bench.overload", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--target", help="a running server's base URL (default: start one on --profile)")
    p.add_argument(
        "--token",
        action="append",
        default=[],
        help="a bearer token for --target (repeatable); none: anonymous public-timeline reads",
    )
    p.add_argument("--profile", default="XS", help="the community for its own server (tiny, XS, S, M; default XS)")
    p.add_argument("--workers", type=int, default=2, help="web workers of its own server (default 2)")
    p.add_argument("--multiple", type=float, default=5.0, help="offered load as a multiple of the measured capacity (default 5)")
    p.add_argument("--seconds", type=float, default=20.0, help="how long the overload lasts (default 20)")
    p.add_argument("--capacity-seconds", type=float, default=5.0)
    p.add_argument("--concurrency", type=int, default=16, help="clients while measuring capacity (default 16)")
    p.add_argument("--max-connections", type=int, default=256, help="open connections at most during the overload")
    p.add_argument("--write-share", type=float, default=0.2, help="share of posts among the requests (default 0.2)")
    p.add_argument(
        "--server-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a setting for its own server (repeatable), e.g. ROSTRA_SHED_MAX_INFLIGHT=2",
    )
    p.add_argument("--json", metavar="FILE", help="also write the figures to this JSON file")
    return p


def server_env(pairs: Sequence[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name.startswith(("ROSTRA_", "DATABASE_URL", "REDIS_URL")):
            raise ValueError(f"--server-env {pair!r} is not ROSTRA_NAME=VALUE")
        out[name] = value
    return out


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if (
        args.multiple <= 0
        or args.seconds <= 0
        or args.capacity_seconds <= 0
        or args.concurrency < 1
        or not 0 <= args.write_share <= 1
    ):
        print(
            "bench.overload: --multiple, --seconds and --capacity-seconds must be positive, --concurrency at least 1, --write-share 0..1",
            file=sys.stderr,
        )
        return 2
    try:
        extra = server_env(args.server_env)
    except ValueError as exc:
        print(f"bench.overload: {exc}", file=sys.stderr)
        return 2
    if args.target:
        figures = run(args.target.rstrip("/"), args.token, args)
    else:
        with own_server(args.profile, args.workers, extra) as server:
            figures = run(server.url, server.tokens, args)
            figures["profile"] = args.profile
    print(table(figures))
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
