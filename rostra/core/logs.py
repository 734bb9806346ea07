"""Structured logs: ``ROSTRA_LOG_FORMAT=text|json`` for the web, worker and streaming processes.

Every line says when, how grave, which logger and what; a line written while a request (or a
task) is being handled also carries that request's fields: its request id, method, route (the URL
pattern's name, never the path: no ids, no usernames), status, duration and the signed-in account.
Nothing here writes an IP address, a query string, a cookie or a token.

JSON lines have these keys (absent when unknown): ``time`` (UTC, ISO 8601 with milliseconds),
``level``, ``logger``, ``message``, ``process`` (web, worker, streaming), ``request_id``,
``method``, ``route``, ``status``, ``duration_ms``, ``account_id``, ``user_id``, ``task``,
``task_id``, ``exc`` (a traceback).
"""

from __future__ import annotations

import contextvars
import datetime as dt
import ipaddress
import json
import logging
import re
import secrets
from collections.abc import Iterable, Mapping
from typing import Any

FORMATS = ("text", "json")
FIELDS = ("request_id", "method", "route", "status", "duration_ms", "account_id", "user_id", "task", "task_id")
_REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._:@/+=-]{1,128}$")

_context: contextvars.ContextVar[Mapping[str, Any] | None] = contextvars.ContextVar("rostra_log_context", default=None)
_process = {"kind": "web"}


def set_process(kind: str) -> None:
    """Name this process (web, worker, streaming) in every line it writes."""
    _process["kind"] = kind


def bind(**fields: Any) -> contextvars.Token[Mapping[str, Any] | None]:
    """Add fields to every line logged in this context (a request, a task) until ``unbind``."""
    current = _context.get() or {}
    return _context.set({**current, **{k: v for k, v in fields.items() if v is not None}})


def unbind(token: contextvars.Token[Mapping[str, Any] | None]) -> None:
    _context.reset(token)


def context() -> Mapping[str, Any]:
    return _context.get() or {}


def new_request_id() -> str:
    return secrets.token_hex(16)


def request_id(meta: Mapping[str, Any], trusted_proxies: Iterable[str]) -> str:
    """X-Request-Id as a trusted proxy sent it (ROSTRA_TRUSTED_PROXIES), else a new one: a client
    cannot choose the id that names its request in the logs."""
    given = str(meta.get("HTTP_X_REQUEST_ID", "")).strip()
    if (
        given
        and _REQUEST_ID_RE.match(given)
        and trusted_proxies
        and _is_trusted(str(meta.get("REMOTE_ADDR", "")), trusted_proxies)
    ):
        return given
    return new_request_id()


def _is_trusted(remote: str, trusted_proxies: Iterable[str]) -> bool:
    try:
        addr = ipaddress.ip_address(remote.strip("[]").split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    for net in trusted_proxies:
        n = ipaddress.ip_network(net, strict=False)
        if n.version == addr.version and addr in n:
            return True
    return False


class ContextFilter(logging.Filter):
    """Copies the current request's (or task's) fields onto each record."""

    def filter(self, record: logging.LogRecord) -> bool:
        ctx = _context.get()
        if ctx:
            for key, value in ctx.items():
                if not hasattr(record, key):
                    setattr(record, key, value)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, tz=dt.UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "process": _process["kind"],
        }
        for key in FIELDS:
            value = getattr(record, key, None)
            if value is not None:
                out[key] = value
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            out["exc"] = record.exc_text
        return json.dumps(out, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """The plain format, with the request id (and route/status on request lines) when known."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extra = " ".join(f"{k}={getattr(record, k)}" for k in FIELDS if getattr(record, k, None) is not None)
        return f"{line} [{extra}]" if extra else line


def logging_config(fmt: str, level: str) -> dict[str, Any]:
    """Django's LOGGING for ``ROSTRA_LOG_FORMAT``: one console handler for every logger."""
    formatter = "json" if fmt == "json" else "text"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": "rostra.core.logs.ContextFilter"}},
        "formatters": {"text": {"()": "rostra.core.logs.TextFormatter"}, "json": {"()": "rostra.core.logs.JsonFormatter"}},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": formatter, "filters": ["context"]}},
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "huey": {"handlers": ["console"], "level": level, "propagate": False},
            # Django's own request logger repeats what rostra.request says (4xx/5xx): errors only.
            "django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False},
        },
    }


def install_task_context(huey: Any) -> None:
    """The task worker: lines logged while a task runs carry its name and id."""
    from huey.signals import SIGNAL_CANCELED, SIGNAL_COMPLETE, SIGNAL_ERROR, SIGNAL_EXECUTING, SIGNAL_INTERRUPTED, SIGNAL_LOCKED

    tokens: dict[str, contextvars.Token[Mapping[str, Any] | None]] = {}

    @huey.signal(SIGNAL_EXECUTING)
    def _start(signal: str, task: Any, *args: Any) -> None:
        tokens[task.id] = bind(task=task.name, task_id=task.id)

    @huey.signal(SIGNAL_COMPLETE, SIGNAL_ERROR, SIGNAL_CANCELED, SIGNAL_INTERRUPTED, SIGNAL_LOCKED)
    def _end(signal: str, task: Any, *args: Any) -> None:
        token = tokens.pop(task.id, None)
        if token is not None:
            try:
                unbind(token)
            except ValueError:  # set in another context (should not happen: huey signals run in the task's thread)
                _context.set(None)
