"""Lists (Mastodon's ``/api/v1/lists``): a person's own lists of people they follow.

Another person's list answers 404, exactly as a missing one. Members must be followed: adding
an account you do not follow answers 422 (as Mastodon 4.3), an unknown account 404; nothing is
added unless every account can be.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Router, Schema

from rostra.api import entities, schemas
from rostra.api.http import (
    ApiError,
    Scoped,
    account_of,
    body_params,
    form_body_openapi,
    page_request,
    paginated,
    parse_bool,
    query_and_body_params,
)
from rostra.timelines import lists
from rostra.timelines.models import RepliesPolicy

router = Router(tags=["lists"])


class ListIn(Schema):
    title: str
    replies_policy: str = RepliesPolicy.LIST
    exclusive: bool = False


class MembersIn(Schema):
    account_ids: list[str]


def account_ids(data: dict[str, Any]) -> list[Any]:
    ids = data.get("account_ids")
    if ids is None:
        raise ApiError(422, "Validation failed: account_ids is missing")
    if isinstance(ids, str | int):
        ids = [ids]
    if not isinstance(ids, list):
        raise ApiError(422, "Validation failed: account_ids must be a list of ids")
    return ids


@router.get("/v1/lists", response=list[schemas.List], auth=Scoped("read:lists"), summary="Your lists")
def index(request: HttpRequest) -> list[dict[str, Any]]:
    return [entities.list_entity(lst) for lst in lists.lists_of(account_of(request))]


@router.post(
    "/v1/lists",
    response=schemas.List,
    auth=Scoped("write:lists"),
    summary="Create a list (title, replies_policy followed|list|none, exclusive)",
    openapi_extra=form_body_openapi(ListIn),
)
def create(request: HttpRequest) -> dict[str, Any]:
    data = body_params(request)
    draft = lists.ListDraft(
        title=data.get("title", ""),
        replies_policy=data.get("replies_policy") or RepliesPolicy.LIST,
        exclusive=bool(parse_bool(data.get("exclusive"), "exclusive", default=False)),
    )
    return entities.list_entity(lists.create_list(account_of(request), draft))


@router.get("/v1/lists/{list_id}", response=schemas.List, auth=Scoped("read:lists"), summary="One of your lists")
def show(request: HttpRequest, list_id: str) -> dict[str, Any]:
    return entities.list_entity(lists.get_list(account_of(request), list_id))


@router.put(
    "/v1/lists/{list_id}",
    response=schemas.List,
    auth=Scoped("write:lists"),
    summary="Change a list's title, replies policy or exclusivity",
    openapi_extra=form_body_openapi(ListIn),
)
def update(request: HttpRequest, list_id: str) -> dict[str, Any]:
    data = query_and_body_params(request)
    changes: dict[str, Any] = {}
    if "title" in data:
        changes["title"] = data["title"]
    if "replies_policy" in data:
        changes["replies_policy"] = data["replies_policy"]
    if "exclusive" in data:
        changes["exclusive"] = parse_bool(data["exclusive"], "exclusive", default=False)
    return entities.list_entity(lists.update_list(account_of(request), list_id, **changes))


@router.delete("/v1/lists/{list_id}", response=schemas.Empty, auth=Scoped("write:lists"), summary="Delete a list")
def destroy(request: HttpRequest, list_id: str) -> dict[str, Any]:
    lists.delete_list(account_of(request), list_id)
    return {}


@router.get(
    "/v1/lists/{list_id}/accounts",
    response=list[schemas.Account],
    auth=Scoped("read:lists"),
    summary="The accounts in a list (limit 40 by default, at most 80; limit=0: all)",
)
def members(request: HttpRequest, response: HttpResponse, list_id: str) -> list[dict[str, Any]]:
    req = page_request(request, default_limit=40, max_limit=80)
    unlimited = request.GET.get("limit") == "0"
    if unlimited:
        req = dataclasses.replace(req, limit=lists.MAX_MEMBERS)
    page = lists.members_page(account_of(request), list_id, req)
    if not unlimited:
        paginated(request, response, page)
    return [entities.account(a) for a in page.items]


@router.post(
    "/v1/lists/{list_id}/accounts",
    response=schemas.Empty,
    auth=Scoped("write:lists"),
    summary="Add accounts you follow to a list (account_ids[])",
    openapi_extra=form_body_openapi(MembersIn),
)
def add_members(request: HttpRequest, list_id: str) -> dict[str, Any]:
    lists.add_members(account_of(request), list_id, account_ids(query_and_body_params(request)))
    return {}


@router.delete(
    "/v1/lists/{list_id}/accounts",
    response=schemas.Empty,
    auth=Scoped("write:lists"),
    summary="Remove accounts from a list (account_ids[], in the body or the query string)",
)
def remove_members(request: HttpRequest, list_id: str) -> dict[str, Any]:
    lists.remove_members(account_of(request), list_id, account_ids(query_and_body_params(request)))
    return {}

