"""Announcements: the instance's moderation-policy changes, with per-account read state.
See docs/api-compatibility.md (Accounts)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils.html import escape
from ninja import Router, Schema

from rostra.api import entities, schemas
from rostra.api.http import ApiError, Scoped, account_of, path_id
from rostra.moderation import announcements as announcement_queries

router = Router(tags=["announcements"])

REACTIONS_UNSUPPORTED = "Reactions are not supported"


class Announcement(Schema):
    id: str
    content: str
    starts_at: str | None
    ends_at: str | None
    all_day: bool
    published_at: str
    updated_at: str
    read: bool
    mentions: list[dict[str, Any]]
    statuses: list[dict[str, Any]]
    tags: list[dict[str, Any]]
    emojis: list[dict[str, Any]]
    reactions: list[dict[str, Any]]


def _content(a: announcement_queries.Announcement) -> str:
    rules = entities.absolute("/about/rules")
    parts = [f"<p>The rules of {escape(settings.ROSTRA.instance_name)} have changed (policy version {a.id}).</p>"]
    if a.note:
        parts.append(f"<p>{escape(a.note)}</p>")
    parts.append(f'<p><a href="{escape(rules)}" rel="noopener" target="_blank">Read the community guidelines</a></p>')
    return "".join(parts)


def _announcement(a: announcement_queries.Announcement) -> dict[str, Any]:
    published = entities.timestamp(a.published_at)
    return {
        "id": str(a.id),
        "content": _content(a),
        "starts_at": None,
        "ends_at": None,
        "all_day": False,
        "published_at": published,
        "updated_at": published,
        "read": a.read,
        "mentions": [],
        "statuses": [],
        "tags": [],
        "emojis": [],
        "reactions": [],
    }


@router.get("/v1/announcements", response=list[Announcement], auth=Scoped(), summary="Current announcements (policy changes)")
def list_announcements(request: HttpRequest) -> list[dict[str, Any]]:
    return [_announcement(a) for a in announcement_queries.announcements(account_of(request))]


@router.post(
    "/v1/announcements/{announcement_id}/dismiss",
    response=schemas.Empty,
    auth=Scoped("write:accounts"),
    summary="Mark an announcement as read",
)
def dismiss(request: HttpRequest, announcement_id: str) -> dict[str, Any]:
    announcement_queries.dismiss(account_of(request), path_id(announcement_id))
    return {}


@router.put(
    "/v1/announcements/{announcement_id}/reactions/{name}",
    response={422: schemas.Error},
    auth=Scoped("write:favourites"),
    summary="React to an announcement (not supported: 422)",
)
def add_reaction(request: HttpRequest, announcement_id: str, name: str) -> Any:
    raise ApiError(422, REACTIONS_UNSUPPORTED)


@router.delete(
    "/v1/announcements/{announcement_id}/reactions/{name}",
    response={422: schemas.Error},
    auth=Scoped("write:favourites"),
    summary="Remove a reaction from an announcement (not supported: 422)",
)
def remove_reaction(request: HttpRequest, announcement_id: str, name: str) -> Any:
    raise ApiError(422, REACTIONS_UNSUPPORTED)
