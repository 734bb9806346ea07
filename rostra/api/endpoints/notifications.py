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

GROUPABLE = ("favourite", "reblog", "follow")
GROUP_SPAN = 12 * 3600  # seconds: Mastodon groups over at most 12 hours


class NotificationGroup(Schema):
    group_key: str
    notifications_count: int
    type: str
    most_recent_notification_id: str
    page_min_id: str
    page_max_id: str
    latest_page_notification_at: str
    sample_account_ids: list[str]
    status_id: str | None = None
    moderation_warning: schemas.AccountWarning | None = None


class GroupedNotifications(Schema):
    accounts: list[schemas.Account]
    statuses: list[schemas.Status]
    notification_groups: list[NotificationGroup]


def group_key(n: Notification, kind: str, grouped: set[str]) -> str:
    """``favourite``/``reblog`` group by status, ``follow`` by type, each within 12-hour windows;
    everything else stays alone (``ungrouped-<id>``), as in Mastodon."""
    if kind not in grouped:
        return f"ungrouped-{n.pk}"
    prefix = f"{kind}-{n.post_id}" if kind in ("favourite", "reblog") else kind
    return f"{prefix}-{int(n.created_at.timestamp()) // GROUP_SPAN}"


def grouped(rows: list[Notification], viewer: Account, warnings: dict[int, list[FilterResult]], grouped_types: set[str]) -> dict[str, Any]:
    """Group one page of notifications (newest first); accounts and statuses are listed once."""
    rendered = entities.notifications(rows, viewer, filtered=warnings)
    groups: dict[str, dict[str, Any]] = {}
    accounts: dict[str, dict[str, Any]] = {}
    statuses: dict[str, dict[str, Any]] = {}
    for n, out in zip(rows, rendered, strict=True):
        key = group_key(n, out["type"], grouped_types)
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
                "page_min_id": out["id"],
                "page_max_id": out["id"],
                "latest_page_notification_at": out["created_at"],
                "sample_account_ids": [],
            }
            if status is not None:
                group["status_id"] = status["id"]
            if out.get("moderation_warning") is not None:
                group["moderation_warning"] = out["moderation_warning"]
        group["notifications_count"] += 1
        group["page_min_id"] = out["id"]  # rows are newest first
        if out["account"]["id"] not in group["sample_account_ids"] and len(group["sample_account_ids"]) < 8:
            group["sample_account_ids"].append(out["account"]["id"])
    return {"accounts": list(accounts.values()), "statuses": list(statuses.values()), "notification_groups": list(groups.values())}


@router.get(
    "/v2/notifications",
    response=GroupedNotifications,
    auth=Scoped("read:notifications"),
    summary="Your notifications, grouped within the page (types[], exclude_types[], account_id, grouped_types[])",
    exclude_unset=True,
)
def index_grouped(request: HttpRequest, response: HttpResponse) -> dict[str, Any]:
    viewer = account_of(request)
    asked = query_list(request, "grouped_types")
    grouped_types = {t for t in asked if t in GROUPABLE} if asked else set(GROUPABLE)
    rows, warnings = filtered_page(request, response, viewer)
    return grouped(rows, viewer, warnings, grouped_types)
