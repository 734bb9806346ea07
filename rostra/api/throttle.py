"""The rate-limit middleware: every /api/ request, sign-in, sign-up, uploads and deletions.

The counting is ``rostra.core.ratelimit``; this module decides, by path, which rules a request
falls under and answers like Mastodon: ``X-RateLimit-Limit``/``-Remaining``/``-Reset`` on every
/api/ response, and 429 ``{"error": "Too many requests"}`` with ``Retry-After`` over a limit.
Web pages get a short HTML page instead. See docs/api-compatibility.md, "Rate limits".
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.html import escape

from rostra.api.http import refuse_anonymous
from rostra.api.oauth import request_token
from rostra.core import ratelimit
from rostra.core.ratelimit import LimiterUnavailable, Verdict

TOO_MANY = "Too many requests"
UNAVAILABLE_RETRY_S = 30

_SIGN_UP_PATHS = frozenset({"/signup", "/api/v1/accounts"})
_MEDIA_PATHS = frozenset({"/api/v1/media", "/api/v2/media"})
_API_DELETE = re.compile(r"^/api/v1/statuses/[^/]+/?$")
_API_UNREBLOG = re.compile(r"^/api/v1/statuses/[^/]+/unreblog/?$")
_WEB_DELETE = re.compile(r"^/posts/[^/]+/delete/?$")

_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Slow down</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head><body style="font-family:sans-serif;max-width:34em;margin:3em auto;padding:0 1em">
<h1>Slow down a little</h1><p>{message}</p><p>Please try again in {wait}.</p><p><a href="/">Back to the front page</a></p></body></html>"""


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _wait_words(seconds: int) -> str:
    if seconds < 90:
        return f"{seconds} seconds"
    return f"{(seconds + 59) // 60} minutes"


def _headers(response: HttpResponse, verdict: Verdict) -> None:
    response["X-RateLimit-Limit"] = str(verdict.rule.limit)
    response["X-RateLimit-Remaining"] = str(verdict.remaining)
    response["X-RateLimit-Reset"] = _iso(verdict.reset_at)


def _wants_json(request: HttpRequest) -> bool:
    return request.path.startswith(("/api/", "/oauth/"))


def _too_many(request: HttpRequest, verdict: Verdict, message: str = TOO_MANY) -> HttpResponse:
    wait = verdict.retry_after()
    response: HttpResponse
    if _wants_json(request):
        response = JsonResponse({"error": message}, status=429)
    else:
        text = "You have done that too often for now." if message == TOO_MANY else message
        response = HttpResponse(_PAGE.format(message=escape(text), wait=_wait_words(wait)), status=429, content_type="text/html; charset=utf-8")
    response["Retry-After"] = str(wait)
    _headers(response, verdict)
    return response


def _unavailable(request: HttpRequest) -> HttpResponse:
    message = "Signing in is briefly unavailable; please try again shortly."
    response: HttpResponse
    if _wants_json(request):
        response = JsonResponse({"error": message}, status=503)
    else:
        response = HttpResponse(_PAGE.format(message=escape(message), wait=_wait_words(UNAVAILABLE_RETRY_S)), status=503, content_type="text/html; charset=utf-8")
    response["Retry-After"] = str(UNAVAILABLE_RETRY_S)
    return response


def _params(request: HttpRequest) -> dict[str, str]:
    """The form or JSON body's top-level strings (sign-in needs ``grant_type`` and ``username``)."""
    if request.content_type == "application/json":
        try:
            data = json.loads(request.body or b"{}")
        except ValueError:
            return {}
        return {k: v for k, v in data.items() if isinstance(v, str)} if isinstance(data, dict) else {}
    return {k: request.POST.get(k, "") for k in ("grant_type", "username")}


def _bearer(request: HttpRequest) -> str:
    header = request.headers.get("Authorization", "")
    return header[7:].strip() if header[:7].lower() == "bearer " else ""


class RateLimitMiddleware:
    """Counts requests and refuses the ones over a limit before the view runs."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path, method = request.path, request.method or "GET"
        is_api = path.startswith("/api/")
        is_sign_in = method == "POST" and path in {"/login", "/oauth/token"}
        if not (is_api or is_sign_in or (method == "POST" and (path in _SIGN_UP_PATHS or _WEB_DELETE.match(path)))):
            return self.get_response(request)

        rules = ratelimit.rules()
        lim = ratelimit.limiter()
        ip = ratelimit.ip_group(ratelimit.client_ip(request.META, settings.ROSTRA.trusted_proxies))
        user_id: int | None = None
        shown: Verdict | None = None
        token = request_token(request, _bearer(request)) if is_api and _bearer(request) else None

        try:
            if is_api:
                if token is not None:
                    verdicts = [lim.hit(rules["api_token"], str(token.pk))]
                    if token.user_id is not None:
                        user_id = int(token.user_id)
                        verdicts.append(lim.hit(rules["api_user"], str(user_id)))
                else:
                    verdicts = [lim.hit(rules["api_ip"], ip)]
                refused = [v for v in verdicts if not v.allowed]
                if refused:
                    return _too_many(request, max(refused, key=lambda v: v.reset_at))
                shown = min(verdicts, key=lambda v: v.remaining)
            elif request.user.is_authenticated:
                user_id = int(request.user.pk)
        except LimiterUnavailable:
            pass  # the general API limit fails open; sign-in below fails closed
        if is_api:
            # Counted above, so that a flood of anonymous requests is still limited; refused
            # whether or not the limiter is up.
            closed = refuse_anonymous(request, token)
            if closed is not None:
                if shown is not None:
                    _headers(closed, shown)
                return closed

        account_key = ""
        if is_sign_in:
            params = _params(request)
            if path == "/oauth/token" and params.get("grant_type") != "password":
                is_sign_in = False
            else:
                account_key = params.get("username", "").strip().lower()[:200]
        try:
            endpoint = self._endpoint_limit(request, rules, lim, ip, user_id, is_sign_in, account_key)
        except LimiterUnavailable:
            if is_sign_in:
                return _unavailable(request)  # authentication fails closed
            endpoint = None
        if endpoint is not None:
            return endpoint

        response = self.get_response(request)
        if is_sign_in and account_key and not self._signed_in(path, response):
            try:
                lim.hit(rules["login_account"], account_key)
            except LimiterUnavailable:
                pass  # the attempt already failed; nothing to protect
        if shown is not None and is_api:
            _headers(response, shown)
        return response

    @staticmethod
    def _signed_in(path: str, response: HttpResponse) -> bool:
        return response.status_code == 302 if path == "/login" else response.status_code == 200

    @staticmethod
    def _endpoint_limit(
        request: HttpRequest,
        rules: dict[str, ratelimit.Rule],
        lim: ratelimit.Limiter,
        ip: str,
        user_id: int | None,
        is_sign_in: bool,
        account_key: str,
    ) -> HttpResponse | None:
        path, method = request.path, request.method
        if is_sign_in:
            verdict = lim.hit(rules["login_ip"], ip)
            if not verdict.allowed:
                return _too_many(request, verdict, "Too many sign-in attempts from your network. Please wait before trying again.")
            if account_key:
                failures = lim.peek(rules["login_account"], account_key)
                if not failures.allowed or failures.remaining == 0:
                    return _too_many(request, failures, "Too many failed sign-ins to this account. Please wait before trying again.")
            return None
        if method == "POST" and path in _SIGN_UP_PATHS:
            verdict = lim.hit(rules["signup_ip"], ip)
            return None if verdict.allowed else _too_many(request, verdict, "Too many sign-ups from your network. Please try again later.")
        if user_id is None:
            return None
        rule = None
        if method == "POST" and path in _MEDIA_PATHS:
            rule = rules["media"]
        elif (method == "DELETE" and _API_DELETE.match(path)) or (method == "POST" and (_API_UNREBLOG.match(path) or _WEB_DELETE.match(path))):
            rule = rules["delete"]
        if rule is None:
            return None
        verdict = lim.hit(rule, str(user_id))
        return None if verdict.allowed else _too_many(request, verdict)
