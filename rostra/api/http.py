"""What every API endpoint shares: bearer authentication with per-endpoint scopes, Mastodon's
error format, Mastodon's parameters (booleans, numbers, ``key[]`` arrays, ids, nested attributes;
form, multipart or JSON bodies on every method) and Mastodon's pagination
(``max_id``/``since_id``/``min_id``/``limit`` + ``Link``, or ``offset``). Endpoints use these and
keep no readers of their own.

Errors answer ``{"error": "..."}`` with Mastodon's statuses; domain errors map here, in one place:
``ValidationError`` and ``Conflict`` → 422, ``NotFound`` → 404, ``PermissionDenied`` → 403,
``RateLimited`` → 429 with ``Retry-After``.
"""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any
from urllib.parse import parse_qsl, urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from ninja.security import HttpBearer

from rostra.accounts.models import Account
from rostra.api import scopes as scope_rules
from rostra.api.models import AccessToken
from rostra.api.oauth import request_token
from rostra.core.errors import NotFound
from rostra.core.ids import parse_id
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
        row = request_token(request, token)
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


# --- Parameters --------------------------------------------------------------------------------
#
# Mastodon's parameters as clients send them: booleans as "true"/"1"/"false" in forms and query
# strings (or JSON booleans), arrays as ``key[]=`` (or a repeated ``key=``), ids as strings.
# Bad values answer 422 "Validation failed: <name> ..." for a body field and 400 for a query
# parameter that is not a number, with Mastodon's ``{"error": ...}``.

TRUE_STRINGS = frozenset({"true", "1", "t", "on", "yes"})
FALSE_STRINGS = frozenset({"false", "0", "f", "off", "no"})


def parse_bool(value: Any, name: str, *, default: bool | None = None) -> bool | None:
    """A Mastodon boolean: a JSON boolean, a number (0 is false), or (any case) ``true/1/t/on/yes``
    and ``false/0/f/off/no``. Absent (``None``) or empty: ``default``. Anything else answers
    422 "Validation failed: <name> must be true or false" (Rails would read it as true)."""
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value != 0
    text = str(value).strip().lower()
    if text == "":
        return default
    if text in TRUE_STRINGS:
        return True
    if text in FALSE_STRINGS:
        return False
    raise ApiError(422, f"Validation failed: {name} must be true or false")


def flag(request: HttpRequest, name: str) -> bool:
    """A boolean query parameter (``?local=true``); absent is false."""
    return bool(parse_bool(request.GET.get(name), name, default=False))


def _whole(value: Any) -> int | None:
    """An int from a JSON number or a string of digits (with a sign); None if it is not one."""
    if isinstance(value, bool):  # True is an int to Python, never a number here
        return None
    if isinstance(value, int):
        return value
    try:
        return int(str(value).strip())
    except (TypeError, ValueError, OverflowError):
        return None


def body_int(value: Any, name: str, *, unit: str = "") -> int | None:
    """A whole number in a request body (``duration``, ``days``, ``poll[expires_in]``); None when
    absent or empty; 422 "Validation failed: <name> must be a whole number[ of <unit>]" otherwise."""
    if value is None or value == "":
        return None
    number = _whole(value)
    if number is None:
        raise ApiError(422, f"Validation failed: {name} must be a whole number{f' of {unit}' if unit else ''}")
    return number


def query_int(request: HttpRequest, name: str, *, default: int, lo: int | None = None, hi: int | None = None) -> int:
    """A whole-number query parameter (``offset``), clamped to lo..hi; absent or empty: ``default``;
    not a number: 400 "<name> must be a whole number". (``limit`` of cursor-paged lists is
    ``limit_param``, which never refuses, as Mastodon.)"""
    raw = request.GET.get(name)
    if raw is None or raw == "":
        number = default
    else:
        parsed = _whole(raw)
        if parsed is None:
            raise ApiError(400, f"{name} must be a whole number")
        number = parsed
    if lo is not None:
        number = max(lo, number)
    if hi is not None:
        number = min(hi, number)
    return number


def as_list(value: Any) -> list[Any]:
    """A body parameter that Mastodon takes as an array (``media_ids``, ``status_ids``, ``choices``):
    a list as is; one value as a list of it; absent or empty: []."""
    if value is None or value == "":
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def query_list(request: HttpRequest, name: str) -> list[str]:
    """An array query parameter, ``name[]=a&name[]=b`` (or ``name=a``), empty values dropped."""
    return [v for v in (*request.GET.getlist(f"{name}[]"), *request.GET.getlist(name)) if v]


def query_ids(request: HttpRequest, name: str = "id", *, at_most: int | None = None) -> list[int]:
    """``id[]=1&id[]=2`` (or ``id=1``) as ids, in order, each once; values that are not ids are
    skipped (so they match nothing); with ``at_most``, more distinct values answer 422."""
    raw = list(dict.fromkeys(query_list(request, name)))
    if at_most is not None and len(raw) > at_most:
        raise ApiError(422, f"Validation failed: at most {at_most} {name}[] at once")
    return [pid for pid in (parse_id(v) for v in raw) if pid is not None]


def optional_id(raw: Any) -> int | None:
    """An id that narrows a request (``in_reply_to_id``, ``account_id``): None when absent or empty;
    0 (never an id, so it finds nothing and answers "not found") when present but malformed."""
    if raw is None or raw == "":
        return None
    return parse_id(raw) or 0


def path_id(raw: Any) -> int:
    """An id from the path (or the body) of a request about one record; a malformed one answers
    404 "Record not found", exactly as a missing record."""
    pid = parse_id(raw)
    if pid is None:
        raise NotFound("Record not found")
    return pid


# --- Pagination ------------------------------------------------------------------------------

PAGE_PARAMS = ("max_id", "since_id", "min_id")


def limit_param(request: HttpRequest, *, default: int = 20, max_limit: int = MAX_LIMIT) -> int:
    """``?limit=``, clamped to 1..max_limit; a value that is not a number means the default
    (Mastodon reads it with ``to_i`` and never refuses a request over it)."""
    try:
        limit = int(request.GET.get("limit", default))
    except (TypeError, ValueError, OverflowError):
        limit = default
    return max(1, min(max_limit, limit))


def page_request(request: HttpRequest, *, default_limit: int = 20, max_limit: int = MAX_LIMIT) -> PageRequest:
    """Mastodon's paging parameters; a limit outside 1..max_limit is clamped, as Mastodon does."""
    req = PageRequest.from_params(request.GET, default_limit=default_limit)
    return dataclasses.replace(req, limit=limit_param(request, default=default_limit, max_limit=max_limit))


def _links(request: HttpRequest, drop: tuple[str, ...], cursors: list[tuple[str, str, int | None]]) -> str | None:
    """A ``Link`` header value: for each ``(rel, param, value)`` whose value is not None, this URL
    with the other query parameters kept (filters, limit), ``drop`` removed and ``param=value``."""
    kept = [(k, v) for k, values in request.GET.lists() if k not in drop for v in values]
    base = f"{settings.ROSTRA.base_url}{request.path}"
    links = [f'<{base}?{urlencode([*kept, (param, str(value))])}>; rel="{rel}"' for rel, param, value in cursors if value is not None]
    return ", ".join(links) or None


def link_header(request: HttpRequest, page: Page[Any]) -> str | None:
    """``<...?max_id=N>; rel="next", <...?min_id=M>; rel="prev"`` for the page, keeping the other
    query parameters (filters, limit) and dropping the old cursors."""
    return _links(request, PAGE_PARAMS, [("next", "max_id", page.next_max_id), ("prev", "min_id", page.prev_min_id)])


def paginated(request: HttpRequest, response: HttpResponse, page: Page[Any]) -> None:
    """Set the ``Link`` header of a list endpoint's response (ninja's temporal response)."""
    link = link_header(request, page)
    if link:
        response["Link"] = link


def prebuilt(response: HttpResponse, data: list[dict[str, Any]] | dict[str, Any]) -> HttpResponse:
    """Send entities built by ``rostra.api.entities`` as they are, on ninja's temporal response
    (its status and headers, e.g. ``Link``), without ninja validating them again against the
    endpoint's declared schema: for a page of twenty statuses that validation costs a seventh of a
    home read. The entities are the wire format already; tests/api/test_prebuilt.py checks that
    what the timelines send is exactly what ninja would have sent."""
    response.content = json.dumps(data, ensure_ascii=False).encode()
    response["Content-Type"] = "application/json; charset=utf-8"
    return response


def offset_paginated(request: HttpRequest, response: HttpResponse, *, limit: int, offset: int, full: bool) -> None:
    """The ``Link`` header of a list Mastodon pages by ``offset`` (directory, trends): ``rel="next"``
    while the page came back full (``full``), ``rel="prev"`` after the first page."""
    prev = max(0, offset - limit) if offset > 0 else None
    link = _links(request, ("offset",), [("next", "offset", offset + limit if full else None), ("prev", "offset", prev)])
    if link:
        response["Link"] = link


# --- Request bodies ----------------------------------------------------------------------------


FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def load_form(request: HttpRequest) -> None:
    """Parse a form or multipart body into ``request.POST``/``request.FILES`` whatever the method.

    Django parses form bodies of POST requests only, and Mastodon clients send PUT (edits, media
    descriptions), PATCH (``update_credentials``, with images) and DELETE as forms too. Safe to call
    twice: a multipart body whose stream was already read keeps what was parsed then."""
    if request.method == "POST" or request.content_type not in FORM_TYPES:
        return
    if getattr(request, "_read_started", False) and not hasattr(request, "_body"):
        return  # parsed already (the stream is gone); parsing again would lose it
    for attr in ("_post", "_files"):
        if hasattr(request, attr):
            delattr(request, attr)
    method = request.method
    request.method = "POST"
    try:
        request._load_post_and_files()  # Django's own form parser
    finally:
        request.method = method


def _form_dict(form: QueryDict) -> dict[str, Any]:
    """Rails style: keys ending in ``[]`` become lists under the bare name; others keep their last value."""
    return {key[:-2] if key.endswith("[]") else key: values if key.endswith("[]") else values[-1] for key, values in form.lists()}


def body_params(request: HttpRequest) -> dict[str, Any]:
    """Mastodon accepts a form, a multipart form or a JSON object on every write, whatever the
    method (POST, PUT, PATCH, DELETE); so do we. Form keys ending in ``[]`` (Rails style) become
    lists under the bare name. Files stay in ``request.FILES``."""
    if request.content_type == "application/json":
        try:
            data = json.loads(request.body or b"{}")
        except ValueError:
            raise ApiError(400, "The request body is not valid JSON") from None
        if not isinstance(data, dict):
            raise ApiError(400, "The request body must be a JSON object")
        return data
    load_form(request)
    return _form_dict(request.POST)


def form_pairs(request: HttpRequest) -> list[tuple[str, Any]] | None:
    """A form body's fields in the order they were sent, repeats kept (None for a JSON body):
    what Rails' nested ``name[][field]=`` parameters need, since ``request.POST`` groups by key."""
    if request.content_type == "application/json":
        return None
    if request.content_type == "application/x-www-form-urlencoded":
        return parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True)
    load_form(request)
    return [(k, v) for k, values in request.POST.lists() for v in values]


_NESTED_KEY = re.compile(r"^(\w+)\[(\d*)\]\[(\w+)\]$")


def nested_attributes(request: HttpRequest, data: dict[str, Any], name: str) -> list[dict[str, Any]] | None:
    """Rails' nested attributes (``fields_attributes``, ``keywords_attributes``, ``media_attributes``)
    as a list of objects; None when absent.

    JSON: an array of objects, or an object keyed by index. Forms: ``name[0][field]=`` (sorted by
    index) and ``name[][field]=``, where a field seen again starts the next object; when every field
    of the unindexed form comes the same number of times they pair up by position (some encoders
    send all the first field's values, then all the second's). Anything else answers 422."""
    pairs = form_pairs(request)
    if pairs is None:
        raw = data.get(name)
        if raw is None:
            return None
        if isinstance(raw, dict):
            keys = list(raw)
            raw = [raw[k] for k in (sorted(keys, key=int) if all(str(k).isdigit() for k in keys) else keys)]
        if not isinstance(raw, list) or not all(isinstance(r, dict) for r in raw):
            raise ApiError(422, f"Validation failed: {name} must be a list of objects")
        return raw
    indexed: dict[int, dict[str, Any]] = {}
    unindexed: list[dict[str, Any]] = []
    columns: dict[str, list[Any]] = {}
    for key, value in pairs:
        m = _NESTED_KEY.match(key)
        if m is None or m.group(1) != name:
            continue
        index, field = m.group(2), m.group(3)
        if index:
            indexed.setdefault(int(index), {})[field] = value
            continue
        if not unindexed or field in unindexed[-1]:
            unindexed.append({})
        unindexed[-1][field] = value
        columns.setdefault(field, []).append(value)
    sizes = {len(v) for v in columns.values()}
    if len(sizes) == 1 and len(unindexed) != next(iter(sizes)):
        n = next(iter(sizes))
        unindexed = [{field: values[i] for field, values in columns.items()} for i in range(n)]
    if not indexed and not unindexed:
        return None
    return [indexed[i] for i in sorted(indexed)] + unindexed


def query_and_body_params(request: HttpRequest) -> dict[str, Any]:
    """The query string's parameters overlaid with the body's (``body_params``), as Rails merges
    them: for writes whose parameters clients put in the URL too (``DELETE /lists/:id/accounts``)."""
    return {**_form_dict(request.GET), **body_params(request)}


BODY_TYPES = ("application/json", *FORM_TYPES)


def form_body_openapi(schema: type[Any], *, content_types: tuple[str, ...] = BODY_TYPES) -> dict[str, Any]:
    """An ``openapi_extra`` saying the body is ``schema`` as JSON or as a form (or only as
    ``content_types``, e.g. multipart for an upload)."""
    json_schema = schema.model_json_schema()
    content = {t: {"schema": json_schema} for t in content_types}
    return {"requestBody": {"required": True, "content": content}}


class _Anonymous:
    """The auth result of a request with no token on an endpoint that allows anonymous readers."""

    def __bool__(self) -> bool:  # ninja treats a falsy auth result as a failure, so stay truthy
        return True


ANONYMOUS = _Anonymous()


class MaybeScoped(Scoped):
    """Like ``Scoped`` but anonymous readers are let in (public statuses, profiles, timelines).

    No ``Authorization`` header: anonymous. A header with an unknown or revoked token: 401, as
    Mastodon answers (a client that thinks it is signed in must learn that it is not)."""

    def __init__(self, *any_of: str) -> None:
        super().__init__(*any_of, user=True)

    def __call__(self, request: HttpRequest) -> Any:
        if not request.headers.get(self.header):
            return ANONYMOUS
        return super().__call__(request)


def viewer_of(request: HttpRequest) -> Account | None:
    """The signed-in account, or None for an anonymous reader (endpoints using ``MaybeScoped``)."""
    auth = getattr(request, "auth", None)
    if auth is None or auth is ANONYMOUS:
        return None
    return account_of(request)


# --- Closing the API to anonymous clients (ROSTRA_API_REQUIRE_AUTH) ---------------------------
#
# Mastodon's DISALLOW_UNAUTHENTICATED_API_ACCESS: an instance may refuse its client API to anyone
# without a user's token, so that nothing can be read or walked anonymously. An app still needs a
# few endpoints before anyone signs in: the instance documents (to show the server), registering
# itself (``/apps``, then ``/oauth/*`` and nodeinfo, outside /api/v1|v2), custom emojis, and
# sign-up (``POST /api/v1/accounts`` with the app's own token). Everything else answers 401.
# Checked by path in one place (the API middleware), so an endpoint added later is closed too.

REQUIRES_USER = "This method requires an authenticated user"
_CLIENT_API = re.compile(r"^/api/v[12]/")
_OPEN_BEFORE_SIGN_IN = re.compile(r"^/api/v[12]/(instance|apps|custom_emojis)(/.*)?$")
_SIGN_UP = re.compile(r"^/api/v1/accounts/?$")


def open_before_sign_in(method: str, path: str) -> bool:
    """Whether ``path`` stays open to anonymous clients while the API requires sign-in."""
    if not _CLIENT_API.match(path) or _OPEN_BEFORE_SIGN_IN.match(path):
        return True
    return method == "POST" and bool(_SIGN_UP.match(path))


def refuse_anonymous(request: HttpRequest, token: AccessToken | None) -> JsonResponse | None:
    """401 for a request without a user's token when the instance requires sign-in (None: let it through)."""
    if not settings.ROSTRA.api_require_auth or (token is not None and token.user_id is not None):
        return None
    if open_before_sign_in(request.method or "GET", request.path):
        return None
    return error_response(401, REQUIRES_USER)
