"""Scheduled statuses: list, show, reschedule and cancel posts waiting to be published.

Scheduling itself is ``POST /api/v1/statuses`` with ``scheduled_at`` (the statuses module calls
``rostra.posts.scheduled.schedule_post`` and renders ``scheduled_status_entity``). A due post is
published by a periodic task through ``create_post`` (so the moderation gate screens it then).
See docs/api-compatibility.md.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.dateparse import parse_datetime
from ninja import Router, Schema

from rostra.api import entities, schemas
from rostra.api.http import ApiError, Scoped, account_of, body_params, form_body_openapi, page_request, paginated
from rostra.posts import scheduled
from rostra.posts.models import ScheduledPost

router = Router(tags=["scheduled"])

DEFAULT_LIMIT = 20  # Mastodon's page of scheduled statuses
MAX_LIMIT = 40


class ScheduledPollParams(Schema):
    options: list[str]
    expires_in: int
    multiple: bool
    hide_totals: bool


class ScheduledParams(Schema):
    text: str
    poll: ScheduledPollParams | None
    media_ids: list[str] | None
    sensitive: bool
    spoiler_text: str | None
    visibility: str
    in_reply_to_id: str | None
    quote_id: str | None
    language: str | None
    idempotency: str | None
    scheduled_at: str | None
    application_id: str | None
    with_rate_limit: bool


class ScheduledStatus(Schema):
    id: str
    scheduled_at: str
    params: ScheduledParams
    media_attachments: list[schemas.MediaAttachment]


class RescheduleIn(Schema):
    scheduled_at: str


def _id(value: Any) -> str | None:
    return None if value is None else str(value)


def scheduled_status_entity(row: ScheduledPost) -> dict[str, Any]:
    """Mastodon's ScheduledStatus for one scheduled post (``POST /api/v1/statuses`` renders it too)."""
    p = row.params
    poll = p.get("poll")
    return {
        "id": str(row.pk),
        "scheduled_at": entities.timestamp(row.scheduled_at),
        "params": {
            "text": p.get("text") or "",
            "poll": {
                "options": list(poll["options"]),
                "expires_in": int(poll["expires_in"]),
                "multiple": bool(poll.get("multiple")),
                "hide_totals": bool(poll.get("hide_totals")),
            } if poll else None,
            "media_ids": [str(m) for m in p["media_ids"]] if p.get("media_ids") else None,
            "sensitive": bool(p.get("sensitive")),
            "spoiler_text": p.get("spoiler_text") or None,
            "visibility": p.get("visibility") or "public",
            "in_reply_to_id": _id(p.get("in_reply_to_id")),
            "quote_id": _id(p.get("quote_of_id")),
            "language": p.get("language") or None,
            "idempotency": p.get("idempotency"),
            "scheduled_at": None,  # Mastodon keeps the request's field here, always null once scheduled
            "application_id": None,
            "with_rate_limit": False,
        },
        "media_attachments": [entities.media_attachment(m, row.account_id) for m in scheduled.media_of(row)],
    }


def _put_params(request: HttpRequest) -> dict[str, Any]:
    """The body of a PUT as a form, multipart form or JSON (Django parses forms of POSTs only);
    Mastodon also reads the query string."""
    if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        method, request.method = request.method, "POST"
        try:
            request._load_post_and_files()  # Django's own form parser
        finally:
            request.method = method
    return {**request.GET.dict(), **body_params(request)}


def parse_scheduled_at(value: Any) -> datetime:
    """An ISO 8601 time with a zone (``2030-01-01T12:00:00Z``); 422 otherwise."""
    parsed = None
    if isinstance(value, str) and value.strip():
        try:
            parsed = parse_datetime(value.strip())
        except ValueError:
            parsed = None
    if parsed is None:
        raise ApiError(422, "Validation failed: scheduled_at must be an ISO 8601 date and time, such as 2030-01-01T12:00:00Z")
    if parsed.tzinfo is None:
        raise ApiError(422, "Validation failed: scheduled_at needs a time zone, such as 2030-01-01T12:00:00Z")
    return parsed


@router.get(
    "/v1/scheduled_statuses",
    response={200: list[ScheduledStatus], 401: schemas.Error, 403: schemas.Error},
    auth=Scoped("read:statuses"),
    summary="Your scheduled statuses, newest first (paginated)",
)
def list_scheduled(request: HttpRequest, response: HttpResponse) -> list[dict[str, Any]]:
    page = scheduled.scheduled_page(account_of(request), page_request(request, default_limit=DEFAULT_LIMIT, max_limit=MAX_LIMIT))
    paginated(request, response, page)
    return [scheduled_status_entity(r) for r in page.items]


@router.get(
    "/v1/scheduled_statuses/{scheduled_id}",
    response={200: ScheduledStatus, 401: schemas.Error, 403: schemas.Error, 404: schemas.Error},
    auth=Scoped("read:statuses"),
    summary="One of your scheduled statuses",
)
def show_scheduled(request: HttpRequest, scheduled_id: str) -> dict[str, Any]:
    return scheduled_status_entity(scheduled.get_scheduled(account_of(request), scheduled_id))


@router.put(
    "/v1/scheduled_statuses/{scheduled_id}",
    response={200: ScheduledStatus, 401: schemas.Error, 403: schemas.Error, 404: schemas.Error, 422: schemas.Error},
    auth=Scoped("write:statuses"),
    summary="Move a scheduled status to another time",
    openapi_extra=form_body_openapi(RescheduleIn),
)
def update_scheduled(request: HttpRequest, scheduled_id: str) -> dict[str, Any]:
    account = account_of(request)
    params = _put_params(request)
    if "scheduled_at" not in params:
        raise ApiError(422, "Validation failed: scheduled_at is missing")
    row = scheduled.reschedule(account, scheduled_id, parse_scheduled_at(params.get("scheduled_at")))
    return scheduled_status_entity(row)


@router.delete(
    "/v1/scheduled_statuses/{scheduled_id}",
    response={200: dict[str, Any], 401: schemas.Error, 403: schemas.Error, 404: schemas.Error},
    auth=Scoped("write:statuses"),
    summary="Cancel a scheduled status",
)
def cancel_scheduled(request: HttpRequest, scheduled_id: str) -> dict[str, Any]:
    scheduled.cancel(account_of(request), scheduled_id)
    return {}
