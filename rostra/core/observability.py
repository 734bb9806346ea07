"""The outermost middleware: request ids, one log line and one latency figure per request, and
``/metrics`` for Prometheus.

``/metrics`` is answered here, before any other middleware, so it is never rate-limited, shed,
redirected to https or refused for its Host header; and it is not public: it answers only

* a request from a loopback address or from ``ROSTRA_METRICS_ALLOW`` (networks) — the address
  is the connection's, or the client's through ``ROSTRA_TRUSTED_PROXIES``; a request that came
  through a proxy Rostra does not trust (it carries X-Forwarded-For, Forwarded or X-Real-IP) is
  not taken for a local one;
* or a request with ``Authorization: Bearer <ROSTRA_METRICS_TOKEN>``.

Anyone else's request goes on like any other, to the site's ordinary 404: as if there were no
such page.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve
from django.utils.functional import empty

from rostra.core import logs, metrics, ratelimit

access_log = logging.getLogger("rostra.request")

PATH = "/metrics"
_FORWARDING_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED", "HTTP_X_REAL_IP")


def _address(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        addr = ipaddress.ip_address(value.strip().strip("[]").split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    return addr


def _in(addr: ipaddress.IPv4Address | ipaddress.IPv6Address, networks: Iterable[str]) -> bool:
    for net in networks:
        n = ipaddress.ip_network(net, strict=False)
        if n.version == addr.version and addr in n:
            return True
    return False


def metrics_allowed(meta: Mapping[str, Any], *, token: str | None, allow: Iterable[str], trusted_proxies: Iterable[str]) -> bool:
    """May this request read /metrics? (See the module's docstring.)"""
    if token:
        auth = str(meta.get("HTTP_AUTHORIZATION", ""))
        scheme, _, given = auth.partition(" ")
        if scheme.lower() == "bearer" and given and hmac.compare_digest(given.strip().encode(), token.encode()):
            return True
    proxies = tuple(trusted_proxies)
    remote = _address(str(meta.get("REMOTE_ADDR", "")))
    if remote is None:
        return False
    if any(meta.get(h) for h in _FORWARDING_HEADERS):
        if not (proxies and _in(remote, proxies)):
            return False  # forwarded by a proxy we do not trust: who is really asking is unknown
        client = _address(ratelimit.client_ip(meta, proxies))
        if client is None:
            return False
        remote = client
    return remote.is_loopback or _in(remote, allow)


def route_of(request: HttpRequest) -> str:
    """The URL pattern's name (``api:get_status``, ``profile``), never the path."""
    match = getattr(request, "resolver_match", None)
    if match is not None:
        return str(match.view_name or match.route or "unnamed")
    static = str(getattr(settings, "STATIC_URL", "/static/") or "/static/")
    if request.path_info.startswith(static if static.startswith("/") else "/" + static):
        return "static"
    # Answered before the URL was resolved (shed by admission control, a redirect, a refusal of
    # an earlier middleware): name the pattern it was meant for, so shed requests show their route.
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return "unmatched"
    return str(match.view_name or match.route or "unnamed")


def account_fields(request: HttpRequest) -> dict[str, int]:
    """The signed-in account, if this request already knew it (no query is made to find out)."""
    user: Any = None
    auth = getattr(request, "auth", None)  # the client API's token
    if auth is not None and hasattr(auth, "_state") and "user" in auth._state.fields_cache:
        user = auth._state.fields_cache["user"]
    if user is None:
        lazy = request.__dict__.get("user")
        if lazy is None:
            return {}
        wrapped = getattr(lazy, "_wrapped", lazy)
        if wrapped is empty:
            return {}  # nothing asked who this is: the session was never read
        user = wrapped
    if user is None or not getattr(user, "is_authenticated", False):
        return {}
    account = user._state.fields_cache.get("account") if hasattr(user, "_state") else None
    if account is not None:
        return {"account_id": int(account.pk)}
    return {"user_id": int(user.pk)}


class ObservabilityMiddleware:
    """First in MIDDLEWARE: it sees every request, including those answered by later middleware."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        cfg = settings.ROSTRA
        self.trusted = tuple(cfg.trusted_proxies)
        self.allow = tuple(getattr(cfg, "metrics_allow", ()) or ())
        self.token = getattr(cfg, "metrics_token", None)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if (
            request.path_info == PATH
            and request.method in ("GET", "HEAD")
            and metrics_allowed(
                request.META,
                token=self.token,
                allow=self.allow,
                trusted_proxies=self.trusted,
            )
        ):
            return HttpResponse(metrics.render(), content_type=metrics.CONTENT_TYPE)
        start = time.perf_counter()
        rid = logs.request_id(request.META, self.trusted)
        token = logs.bind(request_id=rid)
        try:
            response = self.get_response(request)
            seconds = time.perf_counter() - start
            route = route_of(request)
            method = (request.method or "GET")[:16]
            metrics.observe_request(method, route, response.status_code, seconds)
            response["X-Request-Id"] = rid
            # A 503 is load shedding or an outage already logged where it happened: a warning, not an error per request.
            status = response.status_code
            level = logging.INFO if status < 500 else (logging.WARNING if status == 503 else logging.ERROR)
            if access_log.isEnabledFor(level):
                access_log.log(
                    level,
                    "%s %s %s",
                    method,
                    route,
                    response.status_code,
                    extra={
                        "method": method,
                        "route": route,
                        "status": response.status_code,
                        "duration_ms": round(seconds * 1000, 2),
                        **account_fields(request),
                    },
                )
            return response
        finally:
            logs.unbind(token)
