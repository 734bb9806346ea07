"""Admission control: a saturated web process says so at once (503 + ``Retry-After``) instead of
answering late, timing out or failing. See docs/operations.md, "Overload and recovery".

``AdmissionMiddleware`` is the first middleware, so a refusal costs little more than parsing the
request. It refuses (``count_shed(reason)`` each time) when:

* ``queue_wait`` — the request waited longer than ``ROSTRA_SHED_QUEUE_MS`` before a thread took it
  up: measured by ``rostra.config.web_worker.AdmissionWorker`` (gunicorn's gthread worker, which
  notes when it queued a connection for its thread pool and when a thread picked it up), and by a
  trusted proxy's ``X-Request-Start: t=<epoch seconds|ms|µs>`` (nginx: ``t=${msec}``), whichever
  is longer. A request that waited that long would likely be answered after its client gave up;
  refusing it quickly is what drains the backlog. Writes are refused at half the budget: under
  overload the many reads keep working, and a write's side effects (fan-out, notifications) are
  what would deepen the backlog.
* ``inflight`` — more than ``ROSTRA_SHED_MAX_INFLIGHT`` requests are in progress in this process
  (0: only the worker threads bound it).
* ``task_backlog`` — a write while the task queue holds more than ``ROSTRA_SHED_TASK_BACKLOG`` tasks
  (read at most once a second per process).

Never refused: ``/health`` (answered here, before anything else), static files, ``/metrics``, and
the writes that keep people safe — reports, blocks and mutes, appeals and jury votes, moderators'
and admins' work, signing out, revoking a token, deleting one's account. Losing one of those to a
surge is worse than the little load they add.

Per-client limits stay with the rate limiter (``rostra.api.throttle``: 429); this module answers
for the process as a whole, hence 503. The database's own exhaustion (PostgreSQL's connection
limit, a pool timeout) is answered 503 with Retry-After by ``rostra.web.middleware.FaultMiddleware``.
"""

from __future__ import annotations

import ipaddress
import json
import math
import random
import re
import threading
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse

from rostra.core.metrics import count_shed

HEALTH_PATH = "/health"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_JSON_PREFIXES = ("/api/", "/oauth/", "/.well-known/", "/nodeinfo/", HEALTH_PATH)
_EXEMPT_EXACT = frozenset({HEALTH_PATH, "/metrics", "/favicon.ico", "/robots.txt"})
# Writes that must never be lost to a surge (the module docstring says why).
_PROTECTED_WRITES = re.compile(
    r"^/(?:"
    r"api/v1/reports/?|report|api/v1/admin/.*|moderation(?:/.*)?|admin/.*"
    r"|api/v1/accounts/[^/]+/(?:un)?(?:block|mute)|@[^/]+/(?:un)?(?:block|mute)|api/v1/domain_blocks"
    r"|notices/[^/]+/(?:appeal|messages)|jury/[^/]+/(?:vote|recuse)"
    r"|logout|oauth/revoke|settings/delete|settings/security/apps/[^/]+/revoke"
    r")$"
)

_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Busy</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head><body style="font-family:sans-serif;max-width:34em;margin:3em auto;padding:0 1em">
<h1>Very busy right now</h1><p>So many people are here at once that this page could not be served in time.</p>
<p>Please try again in {wait} seconds. If you were sending something, it was not saved: your browser's back button brings your text back.</p>
<p><a href="">Try again</a></p></body></html>"""
BUSY = "The server is very busy; please try again shortly."

# --- What the gunicorn worker tells us (rostra.config.web_worker), per thread -----------------

_local = threading.local()


def note_queue_wait(seconds: float) -> None:
    """Called by the web worker on the thread that is about to handle a request."""
    _local.waited = max(0.0, seconds)


def _take_queue_wait() -> float:
    waited = float(getattr(_local, "waited", 0.0) or 0.0)
    _local.waited = 0.0
    return waited


def parse_request_start(raw: str, now: float | None = None) -> float | None:
    """Seconds since a proxy's ``X-Request-Start`` (``t=1700000000.123``, or in ms or µs); None if
    unreadable. A proxy clock ahead of ours gives 0, never a negative wait."""
    value = raw.strip()
    if value.startswith("t="):
        value = value[2:]
    try:
        stamp = float(value)
    except ValueError:
        return None
    if math.isnan(stamp) or math.isinf(stamp) or stamp <= 0:
        return None
    if stamp > 1e14:
        stamp /= 1e6
    elif stamp > 1e11:
        stamp /= 1e3
    at = time.time() if now is None else now
    return max(0.0, at - stamp)


# --- The task queue's depth, read at most once a second per process ------------------------


class _Backlog:
    def __init__(self) -> None:
        self.value = 0
        self.read_at = -1e9
        self.lock = threading.Lock()

    def get(self, reader: Callable[[], int]) -> int:
        now = time.monotonic()
        if now - self.read_at >= 1.0 and self.lock.acquire(blocking=False):
            try:
                self.value = reader()
            except Exception:  # noqa: BLE001 - an unreachable queue is not a reason to refuse requests
                self.value = 0
            finally:
                self.read_at = time.monotonic()
                self.lock.release()
        return self.value


_backlog = _Backlog()


def task_backlog() -> int:
    from huey.contrib.djhuey import HUEY

    return int(HUEY.pending_count())


# --- Decisions --------------------------------------------------------------------------------


def is_exempt(path: str) -> bool:
    return path in _EXEMPT_EXACT or path.startswith(str(settings.STATIC_URL or "/static/"))


def is_protected_write(path: str) -> bool:
    return bool(_PROTECTED_WRITES.match(path))


def decide(*, path: str, method: str, waited_s: float, in_flight: int, backlog: Callable[[], int]) -> str | None:
    """The reason to refuse this request now, or None to admit it. ``in_flight`` counts the
    requests already in progress in this process, not this one."""
    if is_exempt(path):
        return None
    write = method.upper() not in SAFE_METHODS
    if write and is_protected_write(path):
        return None
    cfg = settings.ROSTRA
    if cfg.shed_queue_ms:
        budget_s = cfg.shed_queue_ms / 1000 / (2 if write else 1)
        if waited_s > budget_s:
            return "queue_wait"
    if cfg.shed_max_inflight and in_flight >= cfg.shed_max_inflight:
        return "inflight"
    if write and cfg.shed_task_backlog and backlog() > cfg.shed_task_backlog:
        return "task_backlog"
    return None


def wants_json(request: HttpRequest) -> bool:
    if request.path.startswith(_JSON_PREFIXES):
        return True
    accept = request.META.get("HTTP_ACCEPT", "")
    return "json" in accept and "text/html" not in accept


def busy_response(request: HttpRequest, retry_after: int | None = None) -> HttpResponse:
    """503 with Retry-After (the setting, plus up to as much again at random, so refused clients
    do not all come back in the same second)."""
    base = settings.ROSTRA.shed_retry_after if retry_after is None else retry_after
    wait = base + random.randint(0, base)  # noqa: S311 - jitter, not a secret
    response: HttpResponse
    if wants_json(request):
        response = HttpResponse(json.dumps({"error": BUSY}), status=503, content_type="application/json")
    else:
        response = HttpResponse(_PAGE.format(wait=wait), status=503, content_type="text/html; charset=utf-8")
        response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"
    response["Retry-After"] = str(wait)
    response["Cache-Control"] = "no-store"
    response["Content-Length"] = str(len(response.content))  # answered before CommonMiddleware would add it
    # Not an error of the server's: Django would log every refusal as one (a flood of log lines
    # under the very overload being shed). count_shed() records them instead.
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response


def health(request: HttpRequest, in_flight: int) -> HttpResponse:
    """For load balancers: the process answers and its database does (one ``SELECT 1``)."""
    body: dict[str, Any] = {"status": "ok", "database": "ok", "in_flight": in_flight}
    status = 200
    try:
        with connection.cursor() as cur:
            cur.execute("SELECT 1")
            cur.fetchone()
    except DatabaseError:
        body.update(status="unavailable", database="unreachable")
        status = 503
    response = HttpResponse(json.dumps(body), status=status, content_type="application/json")
    response["Cache-Control"] = "no-store"
    if status == 503:
        response["Retry-After"] = str(settings.ROSTRA.shed_retry_after)
    response["Content-Length"] = str(len(response.content))
    if request.method == "HEAD":
        response.content = b""
    return response


class AdmissionMiddleware:
    """First in MIDDLEWARE: answers /health, and refuses what a saturated process cannot serve in time."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.lock = threading.Lock()
        self.in_flight = 0

    def _proxy_wait(self, request: HttpRequest) -> float:
        raw = request.META.get("HTTP_X_REQUEST_START")
        proxies = settings.ROSTRA.trusted_proxies
        # Only a trusted proxy's stamp is believed: anyone else could claim to be fresh.
        if not raw or not proxies or not _from_proxy(request, proxies):
            return 0.0
        return parse_request_start(str(raw)) or 0.0

    def __call__(self, request: HttpRequest) -> HttpResponse:
        waited = _take_queue_wait()
        if request.path == HEALTH_PATH and request.method in ("GET", "HEAD"):
            return health(request, self.in_flight)
        if is_exempt(request.path):
            return self.get_response(request)
        waited = max(waited, self._proxy_wait(request))
        with self.lock:  # reserve a place first, so two requests never both take the last one
            in_flight = self.in_flight
            self.in_flight += 1
        try:
            reason = decide(
                path=request.path,
                method=request.method or "GET",
                waited_s=waited,
                in_flight=in_flight,
                backlog=lambda: _backlog.get(task_backlog),
            )
            if reason is not None:
                count_shed(reason)
                return busy_response(request)
            response = self.get_response(request)
        finally:
            with self.lock:
                self.in_flight -= 1
        return response


def _from_proxy(request: HttpRequest, proxies: tuple[str, ...]) -> bool:
    try:
        addr = ipaddress.ip_address(str(request.META.get("REMOTE_ADDR", "")).split("%", 1)[0])
    except ValueError:
        return False
    return any(addr.version == net.version and addr in net for net in (ipaddress.ip_network(p) for p in proxies))
