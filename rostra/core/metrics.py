"""Prometheus metrics (``/metrics``): the one place every part of Rostra records a figure.

Interface used across the code base (keep these signatures; the bodies are the metrics work):

* ``observe_request(method, route, status, seconds)`` — by the request middleware.
* ``observe_fanout(post_age_seconds, recipients, seconds)`` — by ``timelines`` after a post's
  fan-out completes: how long after the post was written its last follower could see it (the lag),
  how many home timelines it reached, and how long the fan-out itself took.
* ``count_screener_decision(action, source)`` — by ``moderation.gate`` for every decision
  (action: publish, label, limit, hold, refuse; source: create, edit, deep, remote).
* ``count_shed(reason)`` — a request answered 429/503 by load shedding or surge mode.
* Queue depth is read at scrape time, not recorded.

Several processes, one scrape: ``rostra serve`` (and ``rostra worker``/``rostra streaming`` run on
their own) call ``use_directory(<data dir>/metrics, kind)`` before anything is recorded. Every
process then keeps its figures in its own memory-mapped file there (prometheus_client's
multiprocess mode), and ``/metrics`` of any web process on the machine adds them up: the gunicorn
workers', the task worker's and the streaming process's. Files are named by host and pid, so
processes in containers sharing one data volume never write to the same file. Without
``use_directory`` (tests, one-off commands) the figures live in this process only.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import re
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics, generate_latest, values
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

log = logging.getLogger("rostra.metrics")
disable_created_metrics()  # the *_created samples add nothing Rostra's dashboards use

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
ENV = "PROMETHEUS_MULTIPROC_DIR"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_LABEL_RE = re.compile(r"[^A-Za-z0-9_.:/<>-]")
_RSS_EVERY_S = 10.0
_PIPELINE_MAX_ATTEMPTS = 12  # rostra.pipeline.runner.MAX_ATTEMPTS (core may not import the pipeline)

_lock = threading.Lock()
_state: dict[str, Any] = {"dir": None, "kind": "web", "metrics": None, "sampler": None, "ident": None}


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9.-]", "-", socket.gethostname())[:60] or "host"


def _ident() -> str:
    """This process's name in the metrics files: host and pid (no underscore: prometheus_client splits file names on it)."""
    return f"{_host()}-{os.getpid()}"


# --- Setting up a process ---------------------------------------------------------------------


def use_directory(path: Path, kind: str = "web", *, clean: bool = True) -> Path:
    """Keep this process's figures in ``path`` (and tell child processes to, through the
    environment), as ``kind`` (web, worker, streaming). Call before anything is recorded. With
    ``clean`` (a server command starting), files left by processes of this host that no longer run
    are removed first. Returns the directory."""
    path = Path(os.environ.get(ENV) or path)
    path.mkdir(parents=True, exist_ok=True)
    os.environ[ENV] = str(path)
    with _lock:
        if _state["metrics"] is not None and _state["dir"] != path:
            raise RuntimeError("metrics were recorded before use_directory(): call it at process start")
        _state["dir"], _state["kind"] = path, kind
        values.ValueClass = values.MultiProcessValue(_ident)
    if clean:
        remove_dead_files(path)
    return path


def set_kind(kind: str) -> None:
    """Name this process (web, worker, streaming) in the RSS figure."""
    _state["kind"] = kind


def directory() -> Path | None:
    """The shared directory when this process writes its figures there, else None."""
    d = _state["dir"]
    if d is None and os.environ.get(ENV):
        # A child started with the environment of `rostra serve` (a gunicorn worker): join in,
        # leaving the files of workers gunicorn replaced (their counts stay in the totals).
        d = use_directory(Path(os.environ[ENV]), _state["kind"], clean=False)
    return d


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _files_of_dead_processes(path: Path, only_live_gauges: bool) -> Iterator[Path]:
    prefix = _host() + "-"
    for f in path.glob("*.db"):
        ident = f.stem.rsplit("_", 1)[-1]
        if not ident.startswith(prefix) or not ident[len(prefix) :].isdigit():
            continue  # another machine's process (a shared volume): not ours to judge
        if only_live_gauges and not f.name.startswith("gauge_live"):
            continue
        if not _alive(int(ident[len(prefix) :])):
            yield f


def remove_dead_files(path: Path) -> int:
    """At a server's start: forget the files of this host's processes that have ended (their
    counters start again from zero, which Prometheus reads as a restart)."""
    n = 0
    for f in list(_files_of_dead_processes(path, only_live_gauges=False)):
        with contextlib.suppress(FileNotFoundError):
            f.unlink()
            n += 1
    return n


def _forget_live_gauges(path: Path) -> None:
    """Live gauges (memory, connections) of ended processes stop counting; counters stay."""
    for f in list(_files_of_dead_processes(path, only_live_gauges=True)):
        with contextlib.suppress(FileNotFoundError):
            f.unlink()


def _at_exit() -> None:
    d = _state["dir"]
    if d is not None:
        for f in Path(d).glob(f"gauge_live*_{_ident()}.db"):
            with contextlib.suppress(FileNotFoundError):
                f.unlink()


# --- The metrics --------------------------------------------------------------------------------


class _Metrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Histogram(
            "rostra_http_request_duration_seconds",
            "Time to answer a request, by method, route (URL pattern name) and status class.",
            ["method", "route", "status"],
            registry=registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1.0, 2.5, 5.0, 10.0),
        )
        self.shed = Counter(
            "rostra_http_requests_shed",
            "Requests answered 429/503 by load shedding or surge mode, by reason.",
            ["reason"],
            registry=registry,
        )
        self.fanout_lag = Histogram(
            "rostra_fanout_lag_seconds",
            "From a post's creation until its fan-out completed (its last follower could see it).",
            registry=registry,
            buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0),
        )
        self.fanout_size = Histogram(
            "rostra_fanout_recipients",
            "How many home timelines one post's fan-out reached.",
            registry=registry,
            buckets=(1, 10, 100, 1_000, 10_000, 100_000, 1_000_000),
        )
        self.fanout_duration = Histogram(
            "rostra_fanout_duration_seconds",
            "How long one post's fan-out itself took.",
            registry=registry,
            buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 30.0),
        )
        self.screener = Counter(
            "rostra_screener_decisions",
            "Decisions of the moderation gate, by action and source.",
            ["action", "source"],
            registry=registry,
        )
        self.streams = Gauge(
            "rostra_streaming_connections",
            "Open streaming connections (WebSocket and server-sent events).",
            registry=registry,
            multiprocess_mode="livesum",
        )
        self.rss = Gauge(
            "rostra_process_resident_memory_bytes",
            "Resident memory of Rostra's processes, summed by kind (web, worker, streaming).",
            ["kind"],
            registry=registry,
            multiprocess_mode="livesum",
        )


_single_registry = CollectorRegistry()


def _m() -> _Metrics:
    m = _state["metrics"]
    if m is not None:
        return m
    directory()  # a gunicorn worker started by `rostra serve` joins the shared directory first
    with _lock:
        if _state["metrics"] is None:
            _state["metrics"] = _Metrics(_single_registry)
            if _state["dir"] is not None:
                atexit.register(_at_exit)
                _start_sampler()
    return _state["metrics"]


def start() -> None:
    """Create this process's figures now (a worker shows its memory before it records anything)."""
    _m()


def _status_class(status: int) -> str:
    return f"{status // 100}xx" if 100 <= status <= 599 else "other"


def _label(value: str, default: str) -> str:
    value = _LABEL_RE.sub("_", value)[:100]
    return value or default


# --- The interface ------------------------------------------------------------------------------


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    m = method.upper()
    _m().requests.labels(m if m in _METHODS else "other", _label(route, "unmatched"), _status_class(status)).observe(
        max(seconds, 0.0)
    )


def observe_fanout(post_age_seconds: float, recipients: int, seconds: float) -> None:
    mm = _m()
    mm.fanout_lag.observe(max(post_age_seconds, 0.0))
    mm.fanout_size.observe(max(recipients, 0))
    mm.fanout_duration.observe(max(seconds, 0.0))


def count_screener_decision(action: str, source: str) -> None:
    # Both come from code constants (Decision.action, Decision.Source: create, edit, deep, remote), never from input.
    _m().screener.labels(_label(action, "other")[:32], _label(source, "other")[:32]).inc()


def count_shed(reason: str) -> None:
    _m().shed.labels(_label(reason, "other")).inc()


def streaming_connections(n: int) -> None:
    """The streaming process's open connections (set whenever the number changes)."""
    _m().streams.set(max(n, 0))


# --- Memory -------------------------------------------------------------------------------------


def rss_bytes() -> int:
    """This process's resident memory now (Linux /proc; elsewhere the peak, from getrusage)."""
    try:
        with open("/proc/self/statm", "rb") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        import resource

        return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def _sample_rss() -> None:
    m = _state["metrics"]
    if m is not None:
        m.rss.labels(_state["kind"]).set(rss_bytes())


def _forget_sampler() -> None:
    """A forked child has none of its parent's threads: it starts its own sampler when it needs one."""
    _state["sampler"] = None


os.register_at_fork(after_in_child=_forget_sampler)


def _start_sampler() -> None:
    if _state["sampler"] is not None:
        return

    def loop() -> None:
        while True:
            with contextlib.suppress(Exception):
                _sample_rss()
            time.sleep(_RSS_EVERY_S)

    t = threading.Thread(target=loop, name="rostra-metrics-rss", daemon=True)
    _state["sampler"] = t
    t.start()


# --- Scrape-time figures ------------------------------------------------------------------------


class _AtScrape(Collector):
    """What is read when Prometheus asks: the task queue's and the pipeline's backlog."""

    def __init__(self, readers: Iterable[tuple[str, str, Callable[[], float]]]) -> None:
        self.readers = list(readers)

    def collect(self) -> Iterator[Metric]:
        for name, doc, read in self.readers:
            try:
                value = float(read())
            except Exception:  # a database or Redis outage must not break the whole scrape
                log.warning("metrics: could not read %s", name, exc_info=True)
                continue
            yield GaugeMetricFamily(name, doc, value=value)


def _queue_depth() -> float:
    from huey.contrib.djhuey import HUEY

    return float(HUEY.pending_count())


def _queue_scheduled() -> float:
    from huey.contrib.djhuey import HUEY

    return float(HUEY.scheduled_count())


def _events_pending() -> float:
    from rostra.core.models import Event

    return float(Event.objects.filter(done_at__isnull=True, attempts__lt=_PIPELINE_MAX_ATTEMPTS).count())


def _events_failed() -> float:
    from rostra.core.models import Event

    return float(Event.objects.filter(done_at__isnull=True, attempts__gte=_PIPELINE_MAX_ATTEMPTS).count())


SCRAPE_READERS: list[tuple[str, str, Callable[[], float]]] = [
    (
        "rostra_task_queue_depth",
        "Tasks waiting in the task queue (Huey's storage: SQLite or Redis), read at scrape time.",
        _queue_depth,
    ),
    ("rostra_task_queue_scheduled", "Tasks scheduled for later (retries, delayed work), read at scrape time.", _queue_scheduled),
    (
        "rostra_pipeline_events_pending",
        "Pipeline events written but not yet run (the sweeper retries them), read at scrape time.",
        _events_pending,
    ),
    (
        "rostra_pipeline_events_failed",
        "Pipeline events that failed every attempt and wait for an operator, read at scrape time.",
        _events_failed,
    ),
]


def render() -> bytes:
    """The Prometheus text exposition of every figure: this machine's processes' and the queues'."""
    _m()
    _sample_rss()
    d = directory()
    if d is None:
        registry = _single_registry
        extra = _AtScrape(SCRAPE_READERS)
        registry.register(extra)
        try:
            return generate_latest(registry)
        finally:
            registry.unregister(extra)
    _forget_live_gauges(d)
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(d))
    registry.register(_AtScrape(SCRAPE_READERS))
    return generate_latest(registry)
