"""Trends (hashtags, statuses, links) and hashtags: see docs/api-compatibility.md.

Trends come from local activity only (``rostra.search.trends``): hashtags by how many people
used them in public posts over the last week, statuses by recent reposts, likes and replies with
a time decay. Rostra has no link previews yet, so link trends are empty.

Followed hashtags (``rostra.timelines.tags``): follow and unfollow a hashtag, list the ones you
follow. Tag entities carry ``following`` for a signed-in viewer, as Mastodon's do.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, time
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from ninja import Router

from rostra.accounts.models import Account
from rostra.api import entities, schemas
from rostra.api.http import ApiError, MaybeScoped, Scoped, account_of, page_request, paginated, viewer_of
from rostra.posts.models import Hashtag
from rostra.search import trends
from rostra.timelines import tags as followed

router = Router(tags=["trends"])


def tags_with_history(tags: Sequence[Hashtag], viewer: Account | None = None) -> list[dict[str, Any]]:
    """Tag entities with Mastodon's ``history`` (seven days, today first), in one query; with a
    signed-in ``viewer``, also ``following`` (one more query)."""
    history = trends.tag_history(list(tags))
    following = followed.followed_among(viewer, tags) if viewer is not None else None
    out = []
    for t in tags:
        entity = entities.tag(t, following=None if following is None else t.pk in following)
        entity["history"] = [
            {"day": str(int(datetime.combine(d.day, time.min, tzinfo=UTC).timestamp())), "uses": str(d.uses), "accounts": str(d.accounts)} for d in history.get(t.pk, [])
        ]
        out.append(entity)
    return out


def _window(request: HttpRequest, default: int, maximum: int) -> tuple[int, int]:
    try:
        limit = int(request.GET.get("limit", default))
        offset = int(request.GET.get("offset", 0))
    except (TypeError, ValueError, OverflowError):
        raise ApiError(400, "limit and offset must be whole numbers") from None
    return max(1, min(maximum, limit)), max(0, min(trends.MAX_OFFSET, offset))


def _offset_link(request: HttpRequest, response: HttpResponse, limit: int, offset: int, got: int) -> None:
    """Mastodon pages trends by offset: ``rel="next"`` while a page came back full, ``rel="prev"`` after the first."""
    kept = [(k, v) for k, values in request.GET.lists() if k != "offset" for v in values]
    base = f"{settings.ROSTRA.base_url}{request.path}"
    links = []
    if got == limit:
        links.append(f'<{base}?{urlencode([*kept, ("offset", str(offset + limit))])}>; rel="next"')
    if offset > 0:
        links.append(f'<{base}?{urlencode([*kept, ("offset", str(max(0, offset - limit)))])}>; rel="prev"')
    if links:
        response["Link"] = ", ".join(links)


@router.get("/v1/trends/tags", response=list[schemas.Tag], auth=MaybeScoped(), summary="Trending hashtags (local activity)", exclude_none=True)
def trending_tags(request: HttpRequest, response: HttpResponse) -> list[dict[str, Any]]:
    limit, offset = _window(request, 10, 20)
    tags = trends.trending_tags(limit, offset)
    _offset_link(request, response, limit, offset, len(tags))
    return tags_with_history(tags, viewer_of(request))


@router.get("/v1/trends", response=list[schemas.Tag], auth=MaybeScoped(), summary="Trending hashtags (the path before Mastodon 3.5)", exclude_none=True)
def trending_tags_v1(request: HttpRequest, response: HttpResponse) -> list[dict[str, Any]]:
    return trending_tags(request, response)


@router.get("/v1/trends/statuses", response=list[schemas.Status], auth=MaybeScoped(), summary="Trending statuses (local activity)")
def trending_statuses(request: HttpRequest, response: HttpResponse) -> list[dict[str, Any]]:
    limit, offset = _window(request, 20, 40)
    viewer = viewer_of(request)
    posts = trends.trending_posts(viewer, limit, offset)
    _offset_link(request, response, limit, offset, len(posts))
    return entities.statuses(posts, viewer)


@router.get("/v1/trends/links", response=list[dict[str, Any]], auth=MaybeScoped(), summary="Trending links (Rostra has no link previews: always [])")
def trending_links(request: HttpRequest) -> list[dict[str, Any]]:
    _window(request, 10, 20)
    return []


@router.get("/v1/tags/{name}", response=schemas.Tag, auth=MaybeScoped(), summary="A hashtag, with its usage history (and following, for a signed-in viewer)", exclude_none=True)
def get_tag(request: HttpRequest, name: str) -> dict[str, Any]:
    return tags_with_history([trends.get_tag(name)], viewer_of(request))[0]


@router.post(
    "/v1/tags/{name}/follow",
    response=schemas.Tag,
    auth=Scoped("write:follows"),
    summary="Follow a hashtag: its new public posts reach your home timeline (creates a hashtag nobody used yet)",
)
def follow_tag(request: HttpRequest, name: str) -> dict[str, Any]:
    account = account_of(request)
    return tags_with_history([followed.follow_tag(account, name)], account)[0]


@router.post(
    "/v1/tags/{name}/unfollow",
    response=schemas.Tag,
    auth=Scoped("write:follows"),
    summary="Stop following a hashtag (posts already delivered stay in your home timeline)",
)
def unfollow_tag(request: HttpRequest, name: str) -> dict[str, Any]:
    account = account_of(request)
    return tags_with_history([followed.unfollow_tag(account, name)], account)[0]


@router.get(
    "/v1/followed_tags",
    response=list[schemas.Tag],
    auth=Scoped("read:follows"),
    summary="The hashtags you follow, most recently followed first (limit 100 by default, at most 200)",
)
def followed_tags(request: HttpRequest, response: HttpResponse) -> list[dict[str, Any]]:
    account = account_of(request)
    page = followed.followed_tags(account, page_request(request, default_limit=100, max_limit=200))
    paginated(request, response, page)
    return tags_with_history(page.items, account)
