"""Uploaded files, served through the visibility door.

Post images: only to those who may see the post (or, before it is attached, to its uploader),
and to moderators for posts they have been asked to review (a case is open or was opened).
Avatars and headers of accounts that are not suspended: to everyone. The client API's URLs carry a
grant for the viewer they were rendered for (``rostra.core.grants``), checked again through the
door at fetch time. Anything else, including every path trick, is a 404.
"""

from __future__ import annotations

import re

from django.http import FileResponse, Http404, HttpRequest
from django.views.decorators.http import require_GET

from rostra.accounts import queries as account_queries
from rostra.accounts.models import Account
from rostra.core import grants
from rostra.core.errors import NotFound
from rostra.core.mediastore import media_store
from rostra.moderation import queries as moderation_queries
from rostra.moderation.policies import is_moderator
from rostra.posts.queries import media_for_viewer
from rostra.web.http import viewer

# store_image names files with 128 random bits in hex and a known extension: nothing else is a file.
FILE_NAME = re.compile(r"^[0-9a-f]{32}\.(jpg|png|webp)$")
TYPES_BY_EXTENSION = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp"}


def _open(file_name: str, content_type: str, cache_control: str) -> FileResponse:
    # Called only after the door said yes. From S3 the object is streamed through this response
    # (the bucket stays private, and these headers apply as for a file on disk).
    try:
        handle, size = media_store().open(file_name)  # FileResponse closes it
    except FileNotFoundError:
        raise Http404 from None
    response = FileResponse(handle, content_type=content_type)
    if size is not None and not response.has_header("Content-Length"):
        response["Content-Length"] = str(size)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = cache_control
    response["Cross-Origin-Resource-Policy"] = "same-origin"  # MediaOriginMiddleware relaxes it on the media origin
    return response


def _granted(request: HttpRequest, file_name: str) -> FileResponse | None:
    """A file opened by an API grant (``?g=``): the door is asked again for the viewer it names.
    Apps load images from other origins (web clients) without cookies, so these may be embedded
    cross-origin; the grant, not the origin, is what opens them."""
    viewer_id = grants.check(file_name, request.GET.get("g", ""))
    if viewer_id is None:
        return None
    # The viewer the grant names, suspended or not: the door decides, as for a signed-in session
    # (a suspended person keeps reading their own posts; a grant must not open more, nor less).
    account = Account.objects.filter(pk=viewer_id).first()
    if account is None:
        return None
    # Moderators' pages on a separate media origin reach their review cases through grants too.
    review = moderation_queries.under_review if account.user is not None and is_moderator(account.user) else None
    try:
        item = media_for_viewer(account, file_name, under_review=review)
    except NotFound:
        return None
    response = _open(file_name, item.content_type, "private, max-age=86400")
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response


@require_GET
def media(request: HttpRequest, file_name: str) -> FileResponse:
    match = FILE_NAME.match(file_name)
    if match is None:
        raise Http404
    if "g" in request.GET:
        granted = _granted(request, file_name)
        if granted is not None:
            return granted
    try:
        review = moderation_queries.under_review if is_moderator(request.user) else None
        item = media_for_viewer(viewer(request), file_name, under_review=review)
    except NotFound:
        pass
    else:
        response = _open(file_name, item.content_type, "private, max-age=3600")
        response["Vary"] = "Cookie"
        return response
    try:
        account_queries.public_profile_image(file_name)
    except NotFound:
        raise Http404 from None
    return _open(file_name, TYPES_BY_EXTENSION[match.group(1)], "public, max-age=86400")
