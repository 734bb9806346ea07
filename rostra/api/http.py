"""What every API endpoint shares: bearer authentication with per-endpoint scopes, Mastodon's
error format, and Mastodon's pagination (``max_id``/``since_id``/``min_id``/``limit`` + ``Link``).

Errors answer ``{"error": "..."}`` with Mastodon's statuses; domain errors map here, in one place:
``ValidationError`` and ``Conflict`` → 422, ``NotFound`` → 404, ``PermissionDenied`` → 403,
``RateLimited`` → 429 with ``Retry-After``.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from ninja.security import HttpBearer

from rostra.accounts.models import Account
from rostra.api import scopes as scope_rules
from rostra.api.models import AccessToken
from rostra.api.oauth import find_token
from rostra.core.pagination import MAX_LIMIT, Page, PageRequest

INVALID_TOKEN = "The access token is invalid"  # noqa: S105 - an error message, not a secret
OUTSIDE_SCOPES = "This action is outside the authorized scopes"


class ApiError(Exception):
    """An answer other than success: ``{"error": message}`` with ``status``."""

    def __init__(self, status: int, message: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def error_response(status: int, message: str, headers: dict[str, str] | None = None, **extra: Any) -> JsonResponse:
    response = JsonResponse({"error": message, **extra}, status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


class Scoped(HttpBearer):
    """``Authorization: Bearer <token>`` whose token grants one of ``any_of`` (parents imply children).

    ``user=True``: the token must belong to a person (not a client-credentials app token).
    Suspended people keep read access (they may read their notices) but every write answers 403.
    """

    def __init__(self, *any_of: str, user: bool = True) -> None:
        super().__init__()
        for s in any_of:
            scope_rules.parse(s)  # a typo in a declaration fails at import, not at request time
        self.any_of = any_of
        self.user = user

    def authenticate(self, request: HttpRequest, token: str) -> AccessToken | None:
        row = find_token(token)
        if row is None:
            return None
        granted = row.scope_set
        if self.any_of and not any(scope_rules.covers(granted, s) for s in self.any_of):
            raise ApiError(403, OUTSIDE_SCOPES)
        if self.user and row.user is None:
            raise ApiError(422, "This method requires an authenticated user")
        if row.user is not None and request.method not in ("GET", "HEAD", "OPTIONS"):
            account = getattr(row.user, "account", None)
            if account is not None and account.suspended_at is not None:
                raise ApiError(403, "Your login is currently disabled")
        return row


def token_of(request: HttpRequest) -> AccessToken:
    token = request.auth  # type: ignore[attr-defined]
    assert isinstance(token, AccessToken)
    return token


def account_of(request: HttpRequest) -> Account:
    """The account behind a user token (endpoints declared with ``Scoped(..., user=True)``)."""
    token = token_of(request)
    account = getattr(token.user, "account", None)
    if account is None:
        raise ApiError(422, "This login has no public account")
    return account


# --- Pagination ------------------------------------------------------------------------------

PAGE_PARAMS = ("max_id", "since_id", "min_id")


def page_request(request: HttpRequest, *, default_limit: int = 20, max_limit: int = MAX_LIMIT) -> PageRequest:
    """Mastodon's paging parameters; a limit outside 1..max_limit is clamped, as Mastodon does."""
    req = PageRequest.from_params(request.GET, default_limit=default_limit)
    try:
        limit = int(request.GET.get("limit", default_limit))
    except (TypeError, ValueError, OverflowError):
        limit = default_limit
    return dataclasses.replace(req, limit=max(1, min(max_limit, limit)))


def link_header(request: HttpRequest, page: Page[Any]) -> str | None:
    """``<...?max_id=N>; rel="next", <...?min_id=M>; rel="prev"`` for the page, keeping the other
    query parameters (filters, limit) and dropping the old cursors."""
    kept = [(k, v) for k, values in request.GET.lists() if k not in PAGE_PARAMS for v in values]
    base = f"{settings.ROSTRA.base_url}{request.path}"
    links = []
    if page.next_max_id is not None:
        links.append(f'<{base}?{urlencode([*kept, ("max_id", str(page.next_max_id))])}>; rel="next"')
    if page.prev_min_id is not None:
        links.append(f'<{base}?{urlencode([*kept, ("min_id", str(page.prev_min_id))])}>; rel="prev"')
    return ", ".join(links) or None


def paginated(request: HttpRequest, response: HttpResponse, page: Page[Any]) -> None:
    """Set the ``Link`` header of a list endpoint's response (ninja's temporal response)."""
    link = link_header(request, page)
    if link:
        response["Link"] = link


# --- Request bodies ----------------------------------------------------------------------------


def body_params(request: HttpRequest) -> dict[str, Any]:
    """Mastodon accepts a form, a multipart form or a JSON object on every write; so do we.
    Form keys ending in ``[]`` (Rails style) become lists under the bare name."""
    if request.content_type == "application/json":
        try:
            data = json.loads(request.body or b"{}")
        except ValueError:
            raise ApiError(400, "The request body is not valid JSON") from None
        if not isinstance(data, dict):
            raise ApiError(400, "The request body must be a JSON object")
        return data
    out: dict[str, Any] = {}
    for key, values in request.POST.lists():
        if key.endswith("[]"):
            out[key[:-2]] = values
        else:
            out[key] = values[-1]
    return out


def form_body_openapi(schema: type[Any]) -> dict[str, Any]:
    """An ``openapi_extra`` saying the body is ``schema`` as JSON or as a form."""
    json_schema = schema.model_json_schema()
    content = {
        t: {"schema": json_schema} for t in ("application/json", "application/x-www-form-urlencoded", "multipart/form-data")
    }
    return {"requestBody": {"required": True, "content": content}}
