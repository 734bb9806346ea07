"""Media uploads (Mastodon 4.x): upload an image, read, describe and delete one's unattached uploads.

Images only: they are re-encoded (metadata stripped) and thumbnailed inside the request, so the
upload answers 200 with the finished attachment, never 202. See docs/api-compatibility.md.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from ninja import Router, Schema

from rostra.api import entities, schemas
from rostra.api.http import ApiError, Scoped, account_of, body_params, form_body_openapi
from rostra.core.images import read_upload
from rostra.posts import actions
from rostra.posts import queries as post_queries

router = Router(tags=["media"])

NOT_AN_IMAGE = "Only images can be uploaded (JPEG, PNG, WebP or GIF); video and audio are not supported"


class MediaIn(Schema):
    """``multipart/form-data``: ``file`` (required), ``description``, ``focus`` ("x,y", each -1.0..1.0)."""

    file: str
    description: str | None = None
    focus: str | None = None


class MediaUpdateIn(Schema):
    description: str | None = None
    focus: str | None = None


def _focus(raw: Any) -> tuple[float, float] | None:
    if raw is None or raw == "":
        return None
    try:
        x, y = (float(p) for p in str(raw).split(","))
    except ValueError:
        raise ApiError(422, 'focus must be two numbers between -1.0 and 1.0, as "x,y"') from None
    return x, y


_UPLOAD = {
    "auth": Scoped("write:media"),
    "response": schemas.MediaAttachment,
    "openapi_extra": form_body_openapi(MediaIn, content_types=("multipart/form-data",)),
}


def _upload(request: HttpRequest) -> dict[str, Any]:
    account = account_of(request)
    upload = request.FILES.get("file")
    if upload is None:
        raise ApiError(422, "Validation failed: File can't be blank")
    kind = (upload.content_type or "").split("/")[0]
    if kind in ("video", "audio"):
        raise ApiError(422, NOT_AN_IMAGE)
    focus = _focus(request.POST.get("focus"))
    data = read_upload(upload, size=upload.size, max_bytes=settings.ROSTRA.media_max_bytes)
    media = actions.upload_media(account, data, description=request.POST.get("description") or "", focus=focus)
    return entities.media_attachment(media, account.pk)


@router.post("/v2/media", summary="Upload an image (processed at once: 200 with the attachment)", **_UPLOAD)  # type: ignore[arg-type]
def upload_v2(request: HttpRequest) -> dict[str, Any]:
    return _upload(request)


@router.post("/v1/media", summary="Upload an image (the older path; same as /api/v2/media)", **_UPLOAD)  # type: ignore[arg-type]
def upload_v1(request: HttpRequest) -> dict[str, Any]:
    return _upload(request)


@router.get("/v1/media/{media_id}", response=schemas.MediaAttachment, auth=Scoped("write:media"), summary="One of one's uploads not yet in a post")
def get_media(request: HttpRequest, media_id: str) -> dict[str, Any]:
    account = account_of(request)
    return entities.media_attachment(post_queries.own_media(account, media_id, unattached=True), account.pk)


@router.put(
    "/v1/media/{media_id}",
    response=schemas.MediaAttachment,
    auth=Scoped("write:media"),
    summary="Change the alt text or focal point of an upload not yet in a post",
    openapi_extra=form_body_openapi(MediaUpdateIn),
)
def update_media(request: HttpRequest, media_id: str) -> dict[str, Any]:
    account = account_of(request)
    data = body_params(request)
    media = post_queries.own_media(account, media_id, unattached=True)
    description = data.get("description")
    updated = actions.update_media(
        account, media.pk, description=str(description) if description is not None else None, focus=_focus(data.get("focus"))
    )
    return entities.media_attachment(updated, account.pk)


@router.delete("/v1/media/{media_id}", response=schemas.Empty, auth=Scoped("write:media"), summary="Delete an upload no post uses")
def delete_media(request: HttpRequest, media_id: str) -> dict[str, Any]:
    account = account_of(request)
    media = post_queries.own_media(account, media_id)
    if media.post_id is not None:
        raise ApiError(422, "Media attachment is currently used by a status")
    actions.discard_media(account, [media.pk])
    return {}
