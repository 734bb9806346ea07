"""Featured hashtags (Mastodon's FeaturedTag): ``/api/v1/featured_tags`` for one's own, and the
FeaturedTag entity that ``GET /api/v1/accounts/:id/featured_tags`` renders too.

The domain is ``rostra.posts.featured_tags`` (names, the limit of ten, the counts through the
visibility door). See docs/api-compatibility.md (Featured hashtags).
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema

from rostra.api import entities, schemas
from rostra.api.endpoints.trends import tags_with_history
from rostra.api.http import Scoped, account_of, body_params, form_body_openapi, path_id
from rostra.posts import featured_tags as featured

router = Router(tags=["featured_tags"])


class FeaturedTagSchema(Schema):
    id: str
    name: str
    url: str
    statuses_count: str
    last_status_at: str | None


class FeatureIn(Schema):
    name: str


def featured_tag_entity(f: featured.Featured) -> dict[str, Any]:
    """Mastodon's FeaturedTag: ``statuses_count`` as a string and ``last_status_at`` as a date
    (``2025-03-04``) or null, as Mastodon serialises them."""
    last = f.last_status_at.astimezone(UTC).date().isoformat() if f.last_status_at is not None else None
    return {
        "id": str(f.row.pk),
        "name": f.hashtag.display_name or f.hashtag.name,
        "url": entities.absolute(f"/tags/{f.hashtag.name}"),
        "statuses_count": str(f.statuses_count),
        "last_status_at": last,
    }


@router.get(
    "/v1/featured_tags",
    response=list[FeaturedTagSchema],
    auth=Scoped("read:accounts"),
    summary="The hashtags you feature on your profile, most recently featured first",
)
def list_featured_tags(request: HttpRequest) -> list[dict[str, Any]]:
    account = account_of(request)
    return [featured_tag_entity(f) for f in featured.featured_of(account, account)]


@router.post(
    "/v1/featured_tags",
    response={200: FeaturedTagSchema, 422: schemas.Error},
    auth=Scoped("write:accounts"),
    summary="Feature a hashtag on your profile (at most 10)",
    openapi_extra=form_body_openapi(FeatureIn),
)
def feature_tag(request: HttpRequest) -> dict[str, Any]:
    account = account_of(request)
    name = body_params(request).get("name")
    return featured_tag_entity(featured.feature(account, "" if name is None else str(name)))


@router.get(
    "/v1/featured_tags/suggestions",
    response=list[schemas.Tag],
    auth=Scoped("read:accounts"),
    summary="Hashtags you used most in your latest posts and do not feature yet (up to 10)",
)
def suggestions(request: HttpRequest) -> list[dict[str, Any]]:
    account = account_of(request)
    return tags_with_history(featured.suggestions(account), account)


@router.delete(
    "/v1/featured_tags/{featured_tag_id}",
    response={200: dict[str, Any], 404: schemas.Error},
    auth=Scoped("write:accounts"),
    summary="Stop featuring a hashtag (answers {})",
)
def unfeature_tag(request: HttpRequest, featured_tag_id: str) -> dict[str, Any]:
    account = account_of(request)
    featured.unfeature(account, path_id(featured_tag_id))
    return {}
