"""Search: ``GET /api/v2/search`` (accounts, statuses, hashtags); see docs/api-compatibility.md.

Statuses are found by full text (``rostra.search.queries.search_posts``: SQLite FTS5 or a
PostgreSQL GIN index), always through the visibility door. A profile or post URL, or an
``@user@domain`` handle, resolves to that account or post (another server's only with
``resolve=true``, for signed-in people: ``rostra.search.remote``).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema

from rostra.api import entities, schemas
from rostra.api.endpoints.trends import tags_with_history
from rostra.api.http import ApiError, MaybeScoped, flag, optional_id, page_request, query_int, viewer_of
from rostra.search import queries as search

router = Router(tags=["search"])

TYPES = ("accounts", "hashtags", "statuses")
DEFAULT_LIMIT = 20
MAX_LIMIT = 40
MAX_OFFSET = 10_000


class SearchResults(Schema):
    accounts: list[schemas.Account]
    statuses: list[schemas.Status]
    hashtags: list[schemas.Tag]


@router.get(
    "/v2/search",
    response=SearchResults,
    auth=MaybeScoped("read", "read:search"),
    summary="Search for accounts, statuses and hashtags",
)
def search_v2(request: HttpRequest) -> dict[str, Any]:
    params = request.GET
    q = (params.get("q") or "").strip()
    if not q:
        raise ApiError(400, "param is missing or the value is empty: q")
    kind = params.get("type") or ""
    if kind and kind not in TYPES:
        raise ApiError(422, f"type must be one of {', '.join(TYPES)}")
    viewer = viewer_of(request)
    resolve = flag(request, "resolve")
    offset = query_int(request, "offset", default=0, lo=0, hi=MAX_OFFSET)
    if viewer is None and params.get("offset"):
        raise ApiError(401, "Search queries pagination is not supported without authentication")
    if viewer is None and resolve:
        raise ApiError(401, "Search queries that resolve remote resources are not supported without authentication")
    limit = query_int(request, "limit", default=DEFAULT_LIMIT, lo=1, hi=MAX_LIMIT)
    out: dict[str, Any] = {"accounts": [], "statuses": [], "hashtags": []}

    # A pasted URL or a handle names one thing: answer with it alone, as Mastodon does. With
    # resolve=true another server's URL or handle is fetched (rate-limited; nothing found on failure).
    found = search.resolve(viewer, q, remote=resolve)
    if found.account is not None or found.post is not None or search.is_url(q):
        if found.account is not None and kind in ("", "accounts"):
            out["accounts"] = [entities.account(found.account)]
        if found.post is not None and kind in ("", "statuses"):
            out["statuses"] = entities.statuses([found.post], viewer)
        return out

    if kind in ("", "accounts"):
        following = flag(request, "following")
        out["accounts"] = [entities.account(a) for a in search.search_accounts(viewer, q, limit, offset=offset, following=following)]
    if kind in ("", "hashtags"):
        out["hashtags"] = tags_with_history(search.search_hashtags(q, limit, offset=offset), viewer)
    if kind in ("", "statuses") and viewer is not None:  # Mastodon searches statuses for signed-in people only
        account_id = optional_id(params.get("account_id"))
        if account_id == 0:  # not an account id: no account's statuses match
            return out
        req = dataclasses.replace(page_request(request, default_limit=DEFAULT_LIMIT, max_limit=MAX_LIMIT), limit=limit)
        page = search.search_posts(viewer, q, req, account_id=account_id, offset=offset)
        out["statuses"] = entities.statuses(page.items, viewer)
    return out
