"""An open-loop HTTP/1.1 load generator for the Mastodon client API (and a closed-loop mode).

Open loop: request i is *scheduled* at ``start + i / rate`` (or at Poisson arrival times) whatever
happened to the requests before it, and its latency is measured from that scheduled time, so a
server that stalls is charged for the whole queue it built (no coordinated omission). When every
connection is busy a request waits for one, and that wait counts too.

Closed loop: N clients, each sending its next request as soon as the previous answer arrived
(throughput at a given concurrency).

The client is a small HTTP/1.1 keep-alive implementation over asyncio streams (Content-Length and
chunked bodies), because it is 3-5x cheaper per request than a general client library, and the
generator shares the machine with the server under test. ``processes`` splits the load over
several processes when one core is not enough.

    python -m bench.suite.loadgen --target http://127.0.0.1:8000 --token T \\
        [--path /api/v1/timelines/home] [--rate 200 | --concurrency 16] [--seconds 10] [--poisson]
    python -m bench.suite.loadgen --self-ceiling      # the generator's own ceiling on a trivial server
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import multiprocessing
import os
import random
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit


class LoadgenError(Exception):
    """A bad argument or an unusable target (said clearly, before any load is sent)."""


@dataclass(frozen=True)
class Request:
    method: str
    path: str  # path and query, starting with "/"
    token: str | None = None  # bearer token
    body: Any = None  # JSON-encoded when not None (dict/list), or raw bytes
    tag: str = "request"  # the row this request is counted in


@dataclass
class Response:
    status: int  # 0: no answer (connection refused or closed, timeout)
    body: bytes
    error: str = ""  # why there is no answer


# A source makes request number i (called at its scheduled time, so it may use earlier answers);
# on_response, when given, hears every answer (e.g. to remember the ids of created posts).
Source = Callable[[int], Request]
OnResponse = Callable[[Request, Response], None]


@dataclass
class TagStats:
    sent: int = 0
    completed: int = 0  # answered with 2xx
    errors: Counter[str] = field(default_factory=Counter)  # "429", "500", "timeout", "connect"...
    latencies_ms: list[float] = field(default_factory=list)  # of every answer (errors too), from the scheduled time
    samples: dict[str, bytes] = field(default_factory=dict)  # the first body (or reason) of each error kind

    def merge(self, other: TagStats) -> None:
        self.sent += other.sent
        self.completed += other.completed
        self.errors.update(other.errors)
        self.latencies_ms.extend(other.latencies_ms)
        for k, v in other.samples.items():
            self.samples.setdefault(k, v)


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100); 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


@dataclass
class Result:
    mode: str  # "open" or "closed"
    target_rate: float  # open loop: requests/s scheduled; closed loop: 0
    concurrency: int  # closed loop: clients; open loop: the connection limit
    duration_s: float  # the scheduling window (open) or the measuring window (closed)
    elapsed_s: float = 0.0  # until the last answer (or timeout)
    by_tag: dict[str, TagStats] = field(default_factory=dict)

    def tag(self, name: str) -> TagStats:
        return self.by_tag.setdefault(name, TagStats())

    def total(self) -> TagStats:
        out = TagStats()
        for s in self.by_tag.values():
            out.merge(s)
        return out

    def figures(self, tag: str | None = None) -> dict[str, Any]:
        s = self.total() if tag is None else self.by_tag.get(tag, TagStats())
        lat = s.latencies_ms
        window = self.duration_s if self.duration_s > 0 else self.elapsed_s
        errors = sum(s.errors.values())
        return {
            "sent": s.sent,
            "completed": s.completed,
            "errors": dict(sorted(s.errors.items())),
            "error_rate": errors / s.sent if s.sent else 0.0,
            "achieved_rps": s.completed / window if window > 0 else 0.0,
            "p50_ms": percentile(lat, 50),
            "p90_ms": percentile(lat, 90),
            "p99_ms": percentile(lat, 99),
            "max_ms": max(lat) if lat else 0.0,
        }

    def merge(self, other: Result) -> None:
        self.elapsed_s = max(self.elapsed_s, other.elapsed_s)
        for name, s in other.by_tag.items():
            self.tag(name).merge(s)

    def table(self) -> str:
        rows = [("tag", "sent", "ok", "errors", "rate/s", "p50 ms", "p90 ms", "p99 ms", "max ms")]
        names = sorted(self.by_tag)
        for name in [*names, None] if len(names) > 1 else names:
            f = self.figures(name)
            errs = ",".join(f"{k}:{v}" for k, v in f["errors"].items()) or "0"
            rows.append(
                (
                    name or "all",
                    str(f["sent"]),
                    str(f["completed"]),
                    errs,
                    f"{f['achieved_rps']:.1f}",
                    f"{f['p50_ms']:.1f}",
                    f"{f['p90_ms']:.1f}",
                    f"{f['p99_ms']:.1f}",
                    f"{f['max_ms']:.1f}",
                )
            )
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        return "\n".join(
            "  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))) for r in rows
        )


def _parse_base(base_url: str) -> tuple[str, int, str]:
    parts = urlsplit(base_url)
    if parts.scheme != "http" or not parts.hostname:
        raise LoadgenError(
            f"target {base_url!r} must be an http:// URL with a host (TLS is the reverse proxy's job, not measured here)"
        )
    try:
        port = parts.port or 80
    except ValueError as exc:
        raise LoadgenError(f"target {base_url!r} has a bad port") from exc
    return parts.hostname, port, parts.path.rstrip("/")


class _Conn:
    """One keep-alive HTTP/1.1 connection."""

    def __init__(self, host: str, port: int, prefix: str) -> None:
        self.host, self.port, self.prefix = host, port, prefix
        self.hostheader = f"{host}:{port}".encode()
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def _open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def send(self, req: Request) -> Response:
        body: bytes = b""
        ctype = b""
        if req.body is not None:
            if isinstance(req.body, bytes):
                body, ctype = req.body, b"application/x-www-form-urlencoded"
            else:
                body, ctype = json.dumps(req.body).encode(), b"application/json"
        head = [
            f"{req.method} {self.prefix}{req.path} HTTP/1.1".encode(),
            b"Host: " + self.hostheader,
            b"Accept: application/json",
        ]
        if req.token:
            head.append(f"Authorization: Bearer {req.token}".encode())
        if req.body is not None or req.method in ("POST", "PUT", "PATCH"):
            head.append(b"Content-Length: " + str(len(body)).encode())
            if ctype:
                head.append(b"Content-Type: " + ctype)
        data = b"\r\n".join(head) + b"\r\n\r\n" + body
        for attempt in (0, 1):  # a keep-alive connection the server closed meanwhile: reopen once
            fresh = self.writer is None
            if fresh:
                await self._open()
            assert self.reader is not None and self.writer is not None
            try:
                self.writer.write(data)
                return await self._read()
            except (ConnectionError, asyncio.IncompleteReadError) as exc:
                self.close()
                if fresh or attempt:
                    return Response(0, b"", f"connection: {exc.__class__.__name__}")
        raise AssertionError("unreachable")

    async def _read(self) -> Response:
        assert self.reader is not None
        line = await self.reader.readuntil(b"\r\n")
        try:
            status = int(line.split(b" ", 2)[1])
        except (IndexError, ValueError):
            self.close()
            return Response(0, b"", f"bad status line {line[:60]!r}")
        length = -1
        chunked = False
        keep = True
        while True:
            h = await self.reader.readuntil(b"\r\n")
            if h == b"\r\n":
                break
            name, _, value = h.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value.strip())
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
            elif name == b"connection" and b"close" in value.lower():
                keep = False
        if chunked:
            parts = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0].strip(), 16)
                if size == 0:
                    while await self.reader.readuntil(b"\r\n") != b"\r\n":
                        pass
                    break
                parts.append(await self.reader.readexactly(size + 2))
            body = b"".join(p[:-2] for p in parts)
        elif length >= 0:
            body = await self.reader.readexactly(length)
        else:
            body = await self.reader.read()
            keep = False
        if not keep:
            self.close()
        return Response(status, body)


def _record(result: Result, req: Request, resp: Response, latency_ms: float) -> None:
    s = result.tag(req.tag)
    s.latencies_ms.append(latency_ms)
    if 200 <= resp.status < 300:
        s.completed += 1
    else:
        kind = str(resp.status) if resp.status else (resp.error.split(":")[0] or "error")
        s.errors[kind] += 1
        s.samples.setdefault(kind, resp.body[:300] if resp.status else resp.error.encode())


def _check(rate: float | None, concurrency: int | None, duration: float, timeout: float) -> None:
    if rate is not None and not (rate > 0 and math.isfinite(rate)):
        raise LoadgenError(f"rate {rate!r} must be a positive number of requests per second")
    if concurrency is not None and concurrency < 1:
        raise LoadgenError(f"concurrency {concurrency!r} must be at least 1")
    if not (duration > 0 and math.isfinite(duration)):
        raise LoadgenError(f"duration {duration!r} must be a positive number of seconds")
    if not timeout > 0:
        raise LoadgenError(f"timeout {timeout!r} must be positive")


async def run_open_async(
    base_url: str,
    source: Source,
    rate: float,
    duration: float,
    *,
    poisson: bool = False,
    max_connections: int = 512,
    timeout: float = 10.0,
    on_response: OnResponse | None = None,
    seed: int = 1,
    offset: int = 0,
    stride: int = 1,
) -> Result:
    """Open loop: schedule ``rate`` requests/s for ``duration`` seconds; each latency from its scheduled time.
    Requests still unanswered ``timeout`` seconds after their scheduled time count as "timeout"."""
    _check(rate, None, duration, timeout)
    host, port, prefix = _parse_base(base_url)
    result = Result("open", rate, max_connections, duration)
    idle: list[_Conn] = []
    opened = 0
    freed = asyncio.Condition()
    rng = random.Random(seed)
    loop = asyncio.get_running_loop()
    tasks: set[asyncio.Task[None]] = set()

    async def one(i: int, scheduled: float) -> None:
        nonlocal opened
        req = source(i)
        result.tag(req.tag).sent += 1
        conn: _Conn | None = None
        try:
            async with asyncio.timeout_at(scheduled + timeout):
                async with freed:
                    while not idle and opened >= max_connections:
                        await freed.wait()
                    if idle:
                        conn = idle.pop()
                    else:
                        opened += 1
                        conn = _Conn(host, port, prefix)
                try:
                    resp = await conn.send(req)
                except OSError as exc:
                    resp = Response(0, b"", f"connect: {exc.__class__.__name__}")
        except TimeoutError:
            resp = Response(0, b"", "timeout")
            if conn is not None:
                conn.close()  # a late answer would be read as the next request's
        done = loop.time()
        _record(result, req, resp, (done - scheduled) * 1000)
        if on_response is not None:
            on_response(req, resp)
        if conn is not None:
            async with freed:
                idle.append(conn)
                freed.notify()

    start = loop.time() + 0.05
    t = 0.0
    i = 0
    while True:
        t = t + rng.expovariate(rate) if poisson else i / rate
        if t >= duration:
            break
        scheduled = start + t
        delay = scheduled - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(one(offset + i * stride, scheduled))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        i += 1
    if tasks:
        await asyncio.gather(*list(tasks))
    result.elapsed_s = loop.time() - start
    for c in idle:
        c.close()
    return result


async def run_closed_async(
    base_url: str,
    source: Source,
    concurrency: int,
    duration: float,
    *,
    timeout: float = 10.0,
    on_response: OnResponse | None = None,
    offset: int = 0,
    stride: int = 1,
) -> Result:
    """Closed loop: ``concurrency`` clients, each on its own connection, for ``duration`` seconds.
    Only answers that arrive within the window are counted."""
    _check(None, concurrency, duration, timeout)
    host, port, prefix = _parse_base(base_url)
    result = Result("closed", 0.0, concurrency, duration)
    loop = asyncio.get_running_loop()
    counter = 0
    start = loop.time()
    end = start + duration

    async def client() -> None:
        nonlocal counter
        conn = _Conn(host, port, prefix)
        while loop.time() < end:
            req = source(offset + counter * stride)
            counter += 1
            sent = loop.time()
            try:
                async with asyncio.timeout(timeout):
                    resp = await conn.send(req)
            except TimeoutError:
                conn.close()
                resp = Response(0, b"", "timeout")
            except OSError as exc:
                resp = Response(0, b"", f"connect: {exc.__class__.__name__}")
            done = loop.time()
            if done > end and resp.status:
                break  # answered after the window: not counted
            result.tag(req.tag).sent += 1
            _record(result, req, resp, (done - sent) * 1000)
            if on_response is not None:
                on_response(req, resp)
            if not resp.status and not resp.error.startswith("timeout"):
                await asyncio.sleep(0.01)  # refused: don't spin
        conn.close()

    await asyncio.gather(*(client() for _ in range(concurrency)))
    result.elapsed_s = loop.time() - start
    return result


def _child(q: Any, kind: str, kwargs: dict[str, Any]) -> None:
    fn = run_open_async if kind == "open" else run_closed_async
    try:
        q.put(asyncio.run(fn(**kwargs)))
    except BaseException as exc:  # noqa: BLE001 - handed to the parent
        q.put(exc)


def _spread(kind: str, kwargs: dict[str, Any], processes: int) -> Result:
    if processes < 1:
        raise LoadgenError(f"processes {processes!r} must be at least 1")
    if processes == 1:
        fn = run_open_async if kind == "open" else run_closed_async
        return asyncio.run(fn(**kwargs))
    ctx = multiprocessing.get_context("fork")  # the source and callbacks are inherited, never pickled
    q = ctx.Queue()
    procs = []
    for p in range(processes):
        part = dict(kwargs, offset=p, stride=processes)
        if kind == "open":
            part["rate"] = kwargs["rate"] / processes
            part["seed"] = kwargs.get("seed", 1) * 1000 + p
            part["max_connections"] = max(1, kwargs.get("max_connections", 512) // processes)
        else:
            part["concurrency"] = kwargs["concurrency"] // processes + (1 if p < kwargs["concurrency"] % processes else 0)
            if part["concurrency"] == 0:
                continue
        proc = ctx.Process(target=_child, args=(q, kind, part), daemon=True)
        proc.start()
        procs.append(proc)
    parts = [q.get() for _ in procs]
    for proc in procs:
        proc.join()
    for part_result in parts:
        if isinstance(part_result, BaseException):
            raise part_result
    merged = parts[0]
    if kind == "open":
        merged.target_rate = kwargs["rate"]
        merged.concurrency = kwargs.get("max_connections", 512)
    else:
        merged.concurrency = kwargs["concurrency"]
    for other in parts[1:]:
        merged.merge(other)
    return merged


def run_open(base_url: str, source: Source, rate: float, duration: float, *, processes: int = 1, **kw: Any) -> Result:
    """Blocking open-loop run (see run_open_async); ``processes`` > 1 forks that many generators,
    each scheduling rate/processes (a source's state is then per process)."""
    _check(rate, None, duration, kw.get("timeout", 10.0))
    return _spread("open", dict(base_url=base_url, source=source, rate=rate, duration=duration, **kw), processes)


def run_closed(base_url: str, source: Source, concurrency: int, duration: float, *, processes: int = 1, **kw: Any) -> Result:
    """Blocking closed-loop run (see run_closed_async)."""
    _check(None, concurrency, duration, kw.get("timeout", 10.0))
    return _spread("closed", dict(base_url=base_url, source=source, concurrency=concurrency, duration=duration, **kw), processes)


def call(base_url: str, req: Request, timeout: float = 30.0) -> Response:
    """One request, outside any load run (setting a scenario up, creating the celebrity's post)."""
    host, port, prefix = _parse_base(base_url)

    async def go() -> Response:
        conn = _Conn(host, port, prefix)
        try:
            async with asyncio.timeout(timeout):
                return await conn.send(req)
        except TimeoutError:
            return Response(0, b"", "timeout")
        except OSError as exc:
            return Response(0, b"", f"connect: {exc.__class__.__name__}")
        finally:
            conn.close()

    return asyncio.run(go())


def constant(req: Request) -> Source:
    return lambda _i: req


def mix(choices: Sequence[tuple[float, Source]], seed: int = 1) -> Source:
    """A weighted mix of sources (weights need not sum to 1), deterministic for a seed."""
    if not choices or any(w < 0 for w, _ in choices) or sum(w for w, _ in choices) <= 0:
        raise LoadgenError("a mix needs at least one source and positive weights")
    rng = random.Random(seed)
    weights = [w for w, _ in choices]
    sources = [s for _, s in choices]

    def pick(i: int) -> Request:
        return rng.choices(sources, weights)[0](i)

    return pick


# --- the generator's own ceiling: a trivial asyncio HTTP server in a process of its own -------------------------

_TRIVIAL = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n[]"


async def _trivial_server(port: int, ready: Any) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        await reader.readexactly(int(line.split(b":")[1]))
                writer.write(_TRIVIAL)
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=1024)
    ready.set()
    async with server:
        await server.serve_forever()


def start_trivial_server() -> tuple[str, Callable[[], None]]:
    """A trivial keep-alive server answering ``[]`` to everything, in a child process: (base url, stop)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    ctx = multiprocessing.get_context("fork")
    ready = ctx.Event()
    proc = ctx.Process(target=lambda: asyncio.run(_trivial_server(port, ready)), daemon=True)
    proc.start()
    if not ready.wait(10):
        proc.kill()
        raise LoadgenError("the trivial server did not start")

    def stop() -> None:
        proc.terminate()
        proc.join(5)

    return f"http://127.0.0.1:{port}", stop


def self_ceiling(seconds: float = 3.0, processes: int = 1, concurrency: int = 32) -> float:
    """Requests/s this generator completes (closed loop) against a trivial server: its own ceiling."""
    url, stop = start_trivial_server()
    try:
        req = Request("GET", "/api/v1/timelines/home", token="trivial-token", tag="trivial")  # noqa: S106 - ignored by the server
        r = run_closed(url, constant(req), concurrency, seconds, processes=processes)
    finally:
        stop()
    return float(r.figures()["achieved_rps"])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.suite.loadgen", description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", help="base URL of any Mastodon-API server, e.g. http://127.0.0.1:8000")
    parser.add_argument("--token", help="bearer token (scope read)")
    parser.add_argument("--path", default="/api/v1/timelines/home")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--rate", type=float, help="open loop: requests per second (default 100)")
    mode.add_argument("--concurrency", type=int, help="closed loop: concurrent clients")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--poisson", action="store_true", help="open loop: Poisson arrivals instead of a constant rate")
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=10.0)
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument(
        "--self-ceiling", action="store_true", help="measure the generator's own ceiling against a trivial server"
    )
    args = parser.parse_args(argv)
    try:
        if args.self_ceiling:
            for procs in sorted({1, args.processes, os.cpu_count() or 1}):
                rps = self_ceiling(min(args.seconds, 5.0), processes=procs)
                print(
                    f"generator ceiling, {procs} process(es): {rps:,.0f} requests/s (closed loop, 32 connections, trivial server)"
                )
            return 0
        if not args.target:
            parser.error("--target is required (or --self-ceiling)")
        if not args.path.startswith("/"):
            raise LoadgenError(f"--path {args.path!r} must start with /")
        _parse_base(args.target)
        src = constant(Request("GET", args.path, token=args.token, tag=args.path))
        if args.concurrency is not None:
            r = run_closed(args.target, src, args.concurrency, args.seconds, processes=args.processes, timeout=args.timeout)
        else:
            r = run_open(
                args.target,
                src,
                args.rate if args.rate is not None else 100.0,
                args.seconds,
                processes=args.processes,
                poisson=args.poisson,
                timeout=args.timeout,
            )
    except LoadgenError as exc:
        print(f"loadgen: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps({"mode": r.mode, "target_rate": r.target_rate, "concurrency": r.concurrency, **r.figures()}, indent=2))
    else:
        what = f"open loop {r.target_rate:g}/s" if r.mode == "open" else f"closed loop, {r.concurrency} clients"
        print(f"{what} for {r.duration_s:g} s against {args.target}{args.path}")
        print(r.table())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
