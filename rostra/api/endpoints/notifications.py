"""Notifications (Mastodon's ``/api/v1/notifications``).

Rostra's kinds map onto Mastodon's types (``entities.NOTIFICATION_TYPES``): a reply is a
``mention``, an appeal decision or a jury summons is a ``moderation_warning``. Filtering by type
works on Mastodon's names, so ``types[]=mention`` returns mentions and replies. The viewer's
filters in the ``notifications`` context apply: ``hide`` drops the notification, ``warn`` adds
``filtered`` to its status; the ``Link`` header comes from the page before filtering.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Router, Schema

from rostra.accounts.models import Account
from rostra.api import entities, schemas
from rostra.api.http import Scoped, account_of, limit_param, optional_id, page_request, paginated, query_list
from rostra.notifications import actions
from rostra.notifications import queries as notification_queries
from rostra.notifications.models import Notification
from rostra.timelines.filters import FilterResult, apply_filters

router = Router(tags=["notifications"])

# Mastodon's type → Rostra's kinds (the inverse of the mapping the entities use).
KINDS_OF_TYPE: dict[str, list[str]] = {}
for _kind, _type in entities.NOTIFICATION_TYPES.items():
    KINDS_OF_TYPE.setdefault(_type, []).append(_kind)


class UnreadCount(Schema):
    count: int


def kinds_of(types: list[str]) -> list[str]:
    """Rostra's kinds for Mastodon types; types Rostra never sends (``status``, ``update``,
    ``admin.sign_up``, ...) match nothing."""
    return sorted({k for t in types for k in KINDS_OF_TYPE.get(t, [])})


def type_filters(request: HttpRequest) -> dict[str, Any]:
    types = query_list(request, "types")
    excluded = query_list(request, "exclude_types")
    actor_id = optional_id(request.GET.get("account_id"))  # an id that is no account: nothing matches
    return {"kinds": kinds_of(types) if types else None, "exclude": kinds_of(excluded), "actor_id": actor_id}


@router.get(
    "/v1/notifications",
    response=list[schemas.Notification],
    auth=Scoped("read:notifications"),
    summary="Your notifications (types[], exclude_types[], account_id; limit 40 by default, at most 80)",
    exclude_unset=True,
)
def index(request: HttpRequest, response: HttpResponse) -> list[dict[str, Any]]:
    viewer = account_of(request)
    rows, warnings = filtered_page(request, response, viewer)
    return entities.notifications(rows, viewer, filtered=warnings)


def filtered_page(request: HttpRequest, response: HttpResponse, viewer: Account) -> tuple[list[Notification], dict[int, list[FilterResult]]]:
    """A page of notifications minus those a ``hide`` filter matched, and the ``warn`` results."""
    page = notification_queries.notifications_for(viewer, page_request(request, default_limit=40, max_limit=80), **type_filters(request))
    paginated(request, response, page)  # from the unfiltered page: paging goes on past hidden ones
    posts = [n.post for n in page.items if n.post is not None]
    kept, warnings = apply_filters(viewer, posts, "notifications")
    kept_ids = {p.pk for p in kept}
    return [n for n in page.items if n.post_id is None or n.post_id in kept_ids], warnings


@router.get(
    "/v1/notifications/unread_count",
    response=UnreadCount,
    auth=Scoped("read:notifications"),
    summary="How many notifications are newer than your notifications marker (limit 100 by default, at most 1000)",
)
def unread_count(request: HttpRequest) -> dict[str, Any]:
    limit = limit_param(request, default=100, max_limit=1000)
    return {"count": notification_queries.unread_since_marker(account_of(request), limit=limit, **type_filters(request))}


@router.post("/v1/notifications/clear", response=schemas.Empty, auth=Scoped("write:notifications"), summary="Dismiss all your notifications")
def clear(request: HttpRequest) -> dict[str, Any]:
    actions.clear(account_of(request))
    return {}


@router.get(
    "/v1/notifications/{notification_id}",
    response=schemas.Notification,
    auth=Scoped("read:notifications"),
    summary="One notification",
    exclude_unset=True,
)
def show(request: HttpRequest, notification_id: str) -> dict[str, Any]:
    viewer = account_of(request)
    return entities.notifications([notification_queries.get_notification(viewer, notification_id)], viewer)[0]


@router.post(
    "/v1/notifications/{notification_id}/dismiss",
    response=schemas.Empty,
    auth=Scoped("write:notifications"),
    summary="Dismiss one notification",
)
def dismiss(request: HttpRequest, notification_id: str) -> dict[str, Any]:
    viewer = account_of(request)
    found = notification_queries.get_notification(viewer, notification_id)
    actions.dismiss(viewer, found.pk)
    return {}


# --- Grouped notifications (Mastodon 4.3's /api/v2/notifications) ----------------------------------
# Group keys come from ONE function, ``notification_queries.group_key``; the per-group endpoints
# find a group's rows from its key with ``notification_queries.group_rows``.


class NotificationGroup(Schema):
    group_key: str
    notifications_count: int
    type: str
    most_recent_notification_id: str
    page_min_id: str | None = None
    page_max_id: str | None = None
    latest_page_notification_at: str | None = None
    sample_account_ids: list[str]
    status_id: str | None = None
    moderation_warning: schemas.AccountWarning | None = None


class PartialAccount(Schema):
    id: str
    acct: str
    locked: bool
    bot: bool
    url: str
    avatar: str
    avatar_static: str


class GroupedNotifications(Schema):
    accounts: list[schemas.Account]
    partial_accounts: list[PartialAccount] | None = None
    statuses: list[schemas.Status]
    notification_groups: list[NotificationGroup]


def grouped_kinds(request: HttpRequest) -> tuple[str, ...]:
    """``grouped_types[]`` as Rostra's groupable kinds (all of them when absent)."""
    asked = query_list(request, "grouped_types")
    if not asked:
        return notification_queries.GROUPABLE_KINDS
    return tuple(k for k in kinds_of(asked) if k in notification_queries.GROUPABLE_KINDS)


def partial_avatars(request: HttpRequest) -> bool:
    """``expand_accounts=partial_avatars``; anything else (``full``, the default) means full accounts."""
    return request.GET.get("expand_accounts") == "partial_avatars"


def grouped(
    rows: list[Notification],
    viewer: Account,
    warnings: dict[int, list[FilterResult]],
    kinds: tuple[str, ...],
    *,
    partial: bool = False,
    counts: dict[str, int] | None = None,
) -> dict[str, Any]:
    """Group notifications (newest first); accounts and statuses are listed once. Without
    ``counts`` this is a page (``page_min_id``...); with it, whole groups of those sizes."""
    rendered = entities.notifications(rows, viewer, filtered=warnings)
    groups: dict[str, dict[str, Any]] = {}
    accounts: dict[str, dict[str, Any]] = {}
    statuses: dict[str, dict[str, Any]] = {}
    for n, out in zip(rows, rendered, strict=True):
        key = notification_queries.group_key(n, kinds)
        accounts.setdefault(out["account"]["id"], out["account"])
        status = out.get("status")
        if status is not None:
            statuses.setdefault(status["id"], status)
        group = groups.get(key)
        if group is None:
            group = groups[key] = {
                "group_key": key,
                "notifications_count": 0,
                "type": out["type"],
                "most_recent_notification_id": out["id"],
                "sample_account_ids": [],
            }
            if counts is None:
                group.update(page_min_id=out["id"], page_max_id=out["id"], latest_page_notification_at=out["created_at"])
            if status is not None:
                group["status_id"] = status["id"]
            if out.get("moderation_warning") is not None:
                group["moderation_warning"] = out["moderation_warning"]
        group["notifications_count"] += 1
        if counts is None:
            group["page_min_id"] = out["id"]  # rows are newest first
        else:
            group["notifications_count"] = counts[key]
        samples = group["sample_account_ids"]
        if out["account"]["id"] not in samples and len(samples) < notification_queries.GROUP_SAMPLE:
            samples.append(out["account"]["id"])
    body: dict[str, Any] = {"statuses": list(statuses.values()), "notification_groups": list(groups.values())}
    if not partial:
        body["accounts"] = list(accounts.values())
        return body
    # As Mastodon: full accounts for each group's newest, the other sampled ones partially.
    full = {g["sample_account_ids"][0] for g in groups.values()}
    body["accounts"] = [a for aid, a in accounts.items() if aid in full]
    body["partial_accounts"] = [
        {f: a[f] for f in ("id", "acct", "locked", "bot", "url", "avatar", "avatar_static")} for aid, a in accounts.items() if aid not in full
    ]
    return body


@router.get(
    "/v2/notifications",
    response=GroupedNotifications,
    auth=Scoped("read:notifications"),
    summary="Your notifications, grouped within the page (types[], exclude_types[], account_id, grouped_types[], expand_accounts, include_filtered)",
    exclude_unset=True,
)
def index_grouped(request: HttpRequest, response: HttpResponse) -> dict[str, Any]:
    viewer = account_of(request)
    # include_filtered is accepted: Rostra has no notification requests, so nothing is ever held back.
    rows, warnings = filtered_page(request, response, viewer)
    return grouped(rows, viewer, warnings, grouped_kinds(request), partial=partial_avatars(request))


@router.get(
    "/v2/notifications/unread_count",
    response=UnreadCount,
    auth=Scoped("read:notifications"),
    summary="How many notification groups are newer than your notifications marker (limit 100 by default, at most 1000)",
)
def unread_count_grouped(request: HttpRequest) -> dict[str, Any]:
    limit = limit_param(request, default=100, max_limit=1000)
    count = notification_queries.unread_groups_since_marker(account_of(request), limit=limit, grouped_kinds=grouped_kinds(request), **type_filters(request))
    return {"count": count}


@router.get(
    "/v2/notifications/{group_key}",
    response=GroupedNotifications,
    auth=Scoped("read:notifications"),
    summary="One notification group",
    exclude_unset=True,
)
def show_group(request: HttpRequest, group_key: str) -> dict[str, Any]:
    viewer = account_of(request)
    group = notification_queries.get_group(viewer, group_key)
    kinds = notification_queries.GROUPABLE_KINDS if not group_key.startswith("ungrouped-") else ()
    return grouped(group.latest, viewer, {}, kinds, partial=partial_avatars(request), counts={group.key: group.count})


@router.get(
    "/v2/notifications/{group_key}/accounts",
    response=list[schemas.Account],
    auth=Scoped("read:notifications"),
    summary="The accounts in a notification group, newest first (limit 40 by default, at most 80)",
)
def group_accounts(request: HttpRequest, response: HttpResponse, group_key: str) -> list[dict[str, Any]]:
    viewer = account_of(request)
    page = notification_queries.group_accounts(viewer, group_key, page_request(request, default_limit=40, max_limit=80))
    paginated(request, response, page)
    return [entities.account(n.actor) for n in page.items]


@router.post(
    "/v2/notifications/{group_key}/dismiss",
    response=schemas.Empty,
    auth=Scoped("write:notifications"),
    summary="Dismiss every notification in a group",
)
def dismiss_group(request: HttpRequest, group_key: str) -> dict[str, Any]:
    actions.dismiss_group(account_of(request), group_key)
    return {}
