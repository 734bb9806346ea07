"""Remote media: a remote post's attachments, and remote actors' avatars and headers.

Incoming. A Note's ``attachment`` list (Document, Image, Video, Audio; at most four) becomes
``posts.Media`` rows of the stored post, with no file yet, and a ``RemoteMedia`` row each saying
where it came from (``attach``, inside the inbox handler's transaction). The files are fetched
afterwards by the ``remote_media.fetch`` event's handler (``fetch_post_media``), never on the
inbox's path: images only, through the guarded outbound client (``rostra.core.outbound``: no
private addresses, time-outs) with ``ROSTRA_MEDIA_MAX_BYTES`` as the cap, and then through the
very intake a local upload takes (``rostra.core.images``: the format sniffed from the bytes, the
declared type never trusted; decoded, bounded, re-encoded without EXIF/GPS, thumbnailed). Until
then, or when fetching fails, or for video and audio (Rostra transcodes neither), the surfaces
show the attachment from its origin (``remote_url``), as Mastodon does for media it has not
downloaded. A domain whose media the instance policy rejects (``policy.rejects_media``) is
never fetched from.

Avatars and headers: ``note_actor_images`` notes the URLs an actor document names each time it
is stored; when one changed, ``refresh_actor_images`` (the ``remote_actor.images`` event) fetches
it and sets it through ``accounts.update_profile``, the same path and intake as a local profile
picture (the old file is deleted).

The cache: ``prune`` (daily) deletes cached copies older than ``ROSTRA_REMOTE_MEDIA_DAYS`` whose
post no local account liked, bookmarked, reposted or replied to; the rows stay and are shown from
their origin again. They are not fetched again when viewed (a page view must never make the
instance fetch from other servers). Deleting the post or the account deletes the files (the
``Media`` rows go, and their files with them, as for local media).
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db.models import Exists, OuterRef

from rostra.accounts import actions as accounts
from rostra.accounts import surge
from rostra.accounts.models import Account
from rostra.core import clock, events, html, outbound
from rostra.core.errors import DomainError
from rostra.core.images import StorageFull
from rostra.federation import policy
from rostra.federation.models import MAX_ID_LENGTH, RemoteActor, RemoteMedia, RemoteMediaState
from rostra.posts import remote_media as posts_media
from rostra.posts.models import Bookmark, Like, Post

log = logging.getLogger(__name__)

MAX_ATTACHMENTS = posts_media.MAX_REMOTE_MEDIA
ATTACHMENT_TYPES = ("Document", "Image", "Video", "Audio")
KIND_OF_TYPE = {"Image": "image", "Video": "video", "Audio": "audio", "Document": "unknown"}
_BLURHASH = re.compile(r"^[0-9A-Za-z#$%*+,\-.:;=?@\[\]^_{|}~]{6,100}$")
_MEDIA_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$")
MAX_DIMENSION = 100_000
PRUNE_BATCH = 500


@dataclass(frozen=True)
class Attachment:
    """One attachment of a Note, as far as Rostra keeps it."""

    url: str
    kind: str  # image, video, audio, unknown
    content_type: str
    description: str
    width: int
    height: int
    focus: tuple[float, float]
    blurhash: str


def host_of(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def _usable_url(value: Any) -> str:
    if not isinstance(value, str) or len(value) > MAX_ID_LENGTH:
        return ""
    try:
        parts = urlsplit(value)
    except ValueError:
        return ""
    return value if parts.scheme in ("http", "https") and parts.hostname else ""


def _href(value: Any) -> tuple[str, str]:
    """(URL, its mediaType) of ``url``: a string, a Link (``href``), or a list of those (the first
    usable one, an image's first)."""
    if isinstance(value, str):
        return _usable_url(value), ""
    if isinstance(value, dict):
        link = value.get("href") if "href" in value else value.get("url")
        media_type = value.get("mediaType")
        return _usable_url(link), media_type if isinstance(media_type, str) else ""
    if isinstance(value, list):
        found = [_href(v) for v in value[:10]]
        usable = [f for f in found if f[0]]
        images = [f for f in usable if f[1].startswith("image/")]
        return (images or usable or [("", "")])[0]
    return "", ""


def _dimension(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_DIMENSION else 0


def _focus(value: Any) -> tuple[float, float]:
    if isinstance(value, list) and len(value) == 2 and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value):
        x, y = float(value[0]), float(value[1])
        if all(math.isfinite(v) and -1.0 <= v <= 1.0 for v in (x, y)):
            return x, y
    return 0.0, 0.0


def parse_attachment(item: Any) -> Attachment | None:
    """One entry of a Note's ``attachment``; None for what is not media (a PropertyValue, a Link
    without a usable URL, something malformed)."""
    if not isinstance(item, dict) or item.get("type") not in ATTACHMENT_TYPES:
        return None
    url, link_type = _href(item.get("url"))
    if not url:
        return None
    declared = item.get("mediaType")
    media_type = (declared if isinstance(declared, str) else link_type).split(";", 1)[0].strip().lower()
    if not _MEDIA_TYPE.match(media_type):
        media_type = ""
    top = media_type.split("/", 1)[0]
    kind = top if top in ("image", "video", "audio") else ("unknown" if media_type else KIND_OF_TYPE[item["type"]])
    name = item.get("name")
    description = html.to_plain_text(html.sanitize(name)).strip() if isinstance(name, str) else ""
    blurhash = item.get("blurhash")
    return Attachment(
        url=url,
        kind=kind,
        content_type=media_type or "application/octet-stream",
        description=description[: posts_media.MAX_ALT_TEXT],
        width=_dimension(item.get("width")),
        height=_dimension(item.get("height")),
        focus=_focus(item.get("focalPoint")),
        blurhash=blurhash if isinstance(blurhash, str) and _BLURHASH.match(blurhash) else "",
    )


def parse_attachments(note: dict[str, Any]) -> list[Attachment]:
    raw = note.get("attachment")
    items = raw if isinstance(raw, list) else [raw] if isinstance(raw, dict) else []
    found = [a for a in (parse_attachment(i) for i in items[:20]) if a is not None]
    return found[:MAX_ATTACHMENTS]


def _rejected(author: Account, url: str) -> bool:
    return policy.rejects_media(author.domain) or policy.rejects_media(host_of(url))


def attach(post: Post, note: dict[str, Any]) -> int:
    """The Note's attachments as the post's media (inside the caller's transaction); their images
    are fetched after commit. Returns how many were attached."""
    found = parse_attachments(note)
    if not found:
        return 0
    rows = posts_media.attach_remote_media(
        post,
        [
            posts_media.RemoteAttachment(
                content_type=a.content_type, description=a.description, width=a.width, height=a.height, focus=a.focus
            )
            for a in found
        ],
    )
    created = clock.now()
    origins = []
    for media, a in zip(rows, found, strict=True):
        if a.kind != "image":
            state = RemoteMediaState.REMOTE
        elif _rejected(post.author, a.url):
            state = RemoteMediaState.REJECTED
        else:
            state = RemoteMediaState.PENDING
        origins.append(RemoteMedia(media=media, remote_url=a.url, kind=a.kind, blurhash=a.blurhash, state=state, created_at=created))
    RemoteMedia.objects.bulk_create(origins)
    if any(o.state == RemoteMediaState.PENDING for o in origins):
        events.emit("remote_media.fetch", post_id=post.pk)
    return len(rows)


class FetchFailed(Exception):
    """The remote file could not be had; the message says why (kept as the row's ``error``)."""


def download(url: str) -> bytes:
    """The bytes at ``url``, through the guarded client, at most ``ROSTRA_MEDIA_MAX_BYTES``. What
    they are is decided by decoding them, never by the Content-Type the remote declared."""
    cap = settings.ROSTRA.media_max_bytes
    try:
        response = outbound.fetch(url, headers={"Accept": "image/*"}, max_bytes=cap)
    except outbound.TooLarge:
        raise FetchFailed(f"The file is over the {cap} bytes allowed (ROSTRA_MEDIA_MAX_BYTES).") from None
    except outbound.OutboundError as exc:
        raise FetchFailed(f"Fetching it failed: {exc}") from None
    if response.status != 200:
        raise FetchFailed(f"The remote answered {response.status}.")
    if not response.body:
        raise FetchFailed("The remote sent an empty file.")
    return response.body


def _finish(row: RemoteMedia, state: str, error: str = "") -> None:
    RemoteMedia.objects.filter(pk=row.pk, state=RemoteMediaState.PENDING).update(
        state=state, error=error[:300], fetched_at=clock.now() if state == RemoteMediaState.CACHED else None
    )


def fetch_one(row: RemoteMedia) -> str:
    """Fetch and store one pending attachment; returns the state it ended in."""
    if _rejected(row.media.owner, row.remote_url):
        _finish(row, RemoteMediaState.REJECTED)
        return RemoteMediaState.REJECTED
    try:
        data = download(row.remote_url)
        stored = posts_media.store_remote_file(row.media_id, data)
    except FetchFailed as exc:
        _finish(row, RemoteMediaState.FAILED, str(exc))
        return RemoteMediaState.FAILED
    except DomainError as exc:  # not an image Rostra reads, too many pixels...
        _finish(row, RemoteMediaState.FAILED, f"Refused: {exc.message}")
        return RemoteMediaState.FAILED
    except StorageFull as exc:
        _finish(row, RemoteMediaState.FAILED, f"Not stored: {exc}")
        return RemoteMediaState.FAILED
    if stored is None:
        return "gone"  # the post went while its file was fetched; nothing was kept
    _finish(row, RemoteMediaState.CACHED)
    return RemoteMediaState.CACHED


def fetch_post_media(post_id: int) -> dict[str, int]:
    """The ``remote_media.fetch`` handler: every pending attachment of the post, once. Failures
    are recorded on the rows, not raised (a retry would fetch the same failure again)."""
    outcome: dict[str, int] = {}
    rows = RemoteMedia.objects.select_related("media__owner").filter(media__post_id=post_id, state=RemoteMediaState.PENDING)
    if surge.shed_optional_fetches():
        # Surge mode sheds optional fetches first: the rows stay pending (the image is shown from
        # its origin meanwhile) and ``fetch_deferred`` caches them once the surge is over.
        return {"deferred": rows.count()}
    for row in rows:
        state = fetch_one(row)
        outcome[state] = outcome.get(state, 0) + 1
    return outcome


def fetch_deferred(*, limit: int = 200) -> int:
    """Cache the pending images a surge left behind, oldest first (a periodic task). Returns how many were tried."""
    if surge.shed_optional_fetches():
        return 0
    rows = list(RemoteMedia.objects.select_related("media__owner").filter(state=RemoteMediaState.PENDING).order_by("created_at")[:limit])
    for row in rows:
        fetch_one(row)
    return len(rows)


# --- Avatars and headers ------------------------------------------------------------------------


def _image_url(value: Any) -> str:
    if isinstance(value, list):
        value = next((v for v in value[:10] if _image_url(v)), None)
    if isinstance(value, dict):
        return _href(value.get("url"))[0]
    return _usable_url(value)


def note_actor_images(row: RemoteActor, doc: dict[str, Any]) -> bool:
    """Keep the avatar (``icon``) and header (``image``) URLs an actor document names on its row
    (not saved here); True when either differs from what the cached files were made from."""
    row.avatar_url = _image_url(doc.get("icon"))
    row.header_url = _image_url(doc.get("image"))
    return row.avatar_url != row.avatar_cached_from or row.header_url != row.header_cached_from


def refresh_actor_images(account_id: int) -> dict[str, str]:
    """The ``remote_actor.images`` handler: fetch what changed and set it like a profile picture
    upload (same intake, old file deleted); an image that went from the document goes here too.
    Failures leave the previous image in place and are not retried until the URL changes."""
    row = RemoteActor.objects.select_related("account").filter(account_id=account_id).first()
    done: dict[str, str] = {}
    if row is None or row.account.suspended_at is not None:
        return done
    if surge.shed_optional_fetches():
        return {"deferred": "surge"}  # nothing marked cached: the next refetch of the actor tries again
    for which in ("avatar", "header"):
        wanted, cached_from = getattr(row, f"{which}_url"), getattr(row, f"{which}_cached_from")
        if wanted == cached_from:
            continue
        change = accounts.ProfileUpdate()
        try:
            if not wanted:
                setattr(change, f"remove_{which}", True)
            elif _rejected(row.account, wanted):
                raise FetchFailed("The instance policy rejects media from this domain.")
            else:
                setattr(change, which, download(wanted))
            accounts.update_profile(row.account, change)
            done[which] = "removed" if not wanted else "cached"
        except (FetchFailed, DomainError, StorageFull) as exc:
            done[which] = f"failed: {exc}"
            log.info("remote %s of account %s not cached: %s", which, account_id, exc)
        RemoteActor.objects.filter(pk=row.pk).update(**{f"{which}_cached_from": wanted})
        row.account.refresh_from_db()
    return done


# --- The cache's retention --------------------------------------------------------------------------


def prune(*, now: datetime | None = None, days: int | None = None) -> int:
    """Delete cached copies of remote images older than ``ROSTRA_REMOTE_MEDIA_DAYS`` whose post no
    local account liked, bookmarked, reposted or replied to. Returns how many were dropped."""
    keep = settings.ROSTRA.remote_media_days if days is None else days
    cutoff = (now or clock.now()) - timedelta(days=keep)
    post = OuterRef("media__post_id")
    local = {"account__domain": ""}
    interacted = (
        Exists(Like.objects.filter(post_id=post, **local))
        | Exists(Bookmark.objects.filter(post_id=post, **local))
        | Exists(Post.objects.filter(repost_of_id=post, author__domain=""))
        | Exists(Post.objects.filter(in_reply_to_id=post, author__domain=""))
    )
    total = 0
    while True:
        batch = list(
            RemoteMedia.objects.filter(state=RemoteMediaState.CACHED, fetched_at__lt=cutoff)
            .exclude(interacted)
            .values_list("pk", "media_id")[:PRUNE_BATCH]
        )
        if not batch:
            return total
        posts_media.drop_remote_files([media_id for _, media_id in batch])
        RemoteMedia.objects.filter(pk__in=[pk for pk, _ in batch]).update(state=RemoteMediaState.PRUNED)
        total += len(batch)
