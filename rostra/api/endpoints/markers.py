"""Markers (Mastodon's ``/api/v1/markers``): where you stopped reading home and notifications,
shared between your apps. Setting a marker overwrites it and bumps its ``version``."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema

from rostra.api import entities
from rostra.api.http import ApiError, Scoped, account_of, body_params, form_body_openapi, query_list
from rostra.timelines import markers
from rostra.timelines.models import Marker

router = Router(tags=["markers"])


class MarkerEntity(Schema):
    last_read_id: str
    version: int
    updated_at: str


class Markers(Schema):
    home: MarkerEntity | None = None
    notifications: MarkerEntity | None = None


class Position(Schema):
    last_read_id: str


class MarkersIn(Schema):
    home: Position | None = None
    notifications: Position | None = None


def marker_entity(m: Marker) -> dict[str, Any]:
    return {"last_read_id": str(m.last_read_id), "version": m.version, "updated_at": entities.timestamp(m.updated_at)}


def rendered(found: dict[str, Marker]) -> dict[str, Any]:
    return {timeline: marker_entity(m) for timeline, m in found.items()}


@router.get(
    "/v1/markers",
    response=Markers,
    auth=Scoped("read:statuses"),
    summary="Your markers (timeline[]=home, timeline[]=notifications); only those that are set",
    exclude_unset=True,
)
def index(request: HttpRequest) -> dict[str, Any]:
    wanted = query_list(request, "timeline")
    return rendered(markers.get_markers(account_of(request), wanted))


def positions(data: dict[str, Any]) -> dict[str, Any]:
    """``home[last_read_id]=1`` (a form) or ``{"home": {"last_read_id": "1"}}`` (JSON).
    Other parameters are ignored, as Mastodon ignores them."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key.endswith("[last_read_id]") and key[: -len("[last_read_id]")] in markers.TIMELINES:
            out[key[: -len("[last_read_id]")]] = value
        elif key in markers.TIMELINES:
            if not isinstance(value, dict) or "last_read_id" not in value:
                raise ApiError(422, f"Validation failed: {key}[last_read_id] is missing")
            out[key] = value["last_read_id"]
    return out


@router.post(
    "/v1/markers",
    response=Markers,
    auth=Scoped("write:statuses"),
    summary="Set markers (home[last_read_id], notifications[last_read_id])",
    openapi_extra=form_body_openapi(MarkersIn),
    exclude_unset=True,
)
def save(request: HttpRequest) -> dict[str, Any]:
    return rendered(markers.set_markers(account_of(request), positions(body_params(request))))
