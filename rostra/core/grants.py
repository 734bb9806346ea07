"""Media grants: links to a stored file that carry who may open it.

Apps show images with plain ``<img src>`` requests that carry no token and no cookie, so a post's
image URL in the client API cannot rely on a session to pass the visibility door. Instead the
API signs each URL for the viewer it renders for: ``?g=<viewer id>.<expiry>.<signature>``. The
media view checks the signature and then asks the door again *for that viewer*, so a grant never
opens more than the viewer could see at the moment the file is fetched (a post deleted, held or
hidden since, or a block made since, closes it). Expiry is rounded to whole days so a URL stays
the same for a day and clients' caches keep working; a grant lives one to two days.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

from django.conf import settings

DAY_S = 86_400
_SALT = b"rostra.media-grant.v1"


def _signature(file_name: str, viewer_id: int, expires: int) -> str:
    key = hashlib.sha256(_SALT + settings.SECRET_KEY.encode()).digest()
    mac = hmac.new(key, f"{file_name}\n{viewer_id}\n{expires}".encode(), hashlib.sha256).digest()[:18]
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def grant(file_name: str, viewer_id: int, *, now: float | None = None) -> str:
    """The ``g`` parameter that lets ``viewer_id`` open ``file_name`` (through the door) for a day or two."""
    today = int((time.time() if now is None else now) // DAY_S)
    expires = (today + 2) * DAY_S
    return f"{viewer_id}.{expires}.{_signature(file_name, viewer_id, expires)}"


def check(file_name: str, value: str, *, now: float | None = None) -> int | None:
    """The viewer id a valid, unexpired grant names; None for anything else."""
    try:
        viewer, expires_s, sig = value.split(".", 2)
        viewer_id, expires = int(viewer), int(expires_s)
    except (ValueError, AttributeError):
        return None
    if expires < (time.time() if now is None else now):
        return None
    if not hmac.compare_digest(sig, _signature(file_name, viewer_id, expires)):
        return None
    return viewer_id


def file_url(file_name: str, viewer_id: int | None = None, *, base: str = "") -> str:
    """Where a stored file is fetched. On the separate media origin when ``ROSTRA_MEDIA_URL`` is
    set; else under ``base`` (the instance URL for documents read elsewhere, "" for this site's
    own pages). With ``viewer_id`` the URL carries that viewer's grant: needed wherever the
    request will carry no session (apps, and pages whose media live on the other origin)."""
    url = f"{settings.ROSTRA.media_url or base}/media/{file_name}"
    return f"{url}?g={grant(file_name, viewer_id)}" if viewer_id is not None else url
