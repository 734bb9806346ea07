"""The profile directory: GET /api/v1/directory. See docs/api-compatibility.md (Accounts)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Router

from rostra.accounts import queries as account_queries
from rostra.api import entities, schemas
from rostra.api.http import ApiError, MaybeScoped, flag, offset_paginated, query_int, viewer_of

router = Router(tags=["directory"])

DEFAULT_LIMIT = 40
MAX_LIMIT = 80
@router.get(
    "/v1/directory",
    response=list[schemas.Account],
    auth=MaybeScoped(),
    summary="The profile directory: discoverable local people (public)",
)
def directory(request: HttpRequest, response: HttpResponse) -> list[dict[str, Any]]:
    order = request.GET.get("order") or "active"
    if order not in account_queries.DIRECTORY_ORDERS:
        raise ApiError(422, "order must be active or new")
    flag(request, "local")  # validated only: see below
    offset = query_int(request, "offset", default=0, lo=0)
    limit = query_int(request, "limit", default=DEFAULT_LIMIT, lo=1, hi=MAX_LIMIT)
    # ``local`` filters nothing: without federation every account in the directory is local.
    accounts = account_queries.directory(viewer_of(request), order=order, offset=offset, limit=limit)
    offset_paginated(request, response, limit=limit, offset=offset, full=len(accounts) == limit)
    return [entities.account(a) for a in accounts]
