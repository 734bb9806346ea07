"""Every write to a remote post's attachments (attach them, store a fetched file, drop it again),
and the one read the surfaces need of them (``origins``: where each came from).

A remote attachment is an ordinary ``Media`` row owned by the remote account and attached to its
post, so the door, the surfaces, post deletion and account purges treat it like any other. Until
its file is fetched it names none (``Media.awaiting_file``); where it came from, and whether it
was fetched, is federation's business (``rostra.federation.media``), which calls these actions.
The file goes through the same intake as a local upload (``rostra.core.images.store_image``):
decoded, bounded, re-encoded without metadata, thumbnailed.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

from rostra.core.errors import ValidationError
from rostra.core.images import delete_files, store_image
from rostra.core.mediastore import media_store
from rostra.posts.models import REMOTE_PLACEHOLDER, Media, Post

MAX_REMOTE_MEDIA = 4  # as for a local post; further attachments are not kept
MAX_ALT_TEXT = 1500
MAX_CONTENT_TYPE = 32


@dataclass(frozen=True)
class Origin:
    """Where a remote attachment lives, for the surfaces: Mastodon's ``remote_url``, ``blurhash``
    and ``type`` (image, video, audio, unknown)."""

    url: str
    kind: str
    blurhash: str


def origins(media_ids: Sequence[int]) -> dict[int, Origin]:
    """The origins of the given media (those that have one), in one query.

    The origin is kept beside the row by federation (``federation.RemoteMedia``, the ``remote``
    relation of ``Media``); it is read here by that relation's name so that the API and the web,
    which never import federation, can show a remote attachment that has no file here yet."""
    ids = [i for i in media_ids if i is not None]
    if not ids:
        return {}
    rows = Media.objects.filter(pk__in=ids, remote__isnull=False).values_list("pk", "remote__remote_url", "remote__kind", "remote__blurhash")
    return {pk: Origin(url=url, kind=kind, blurhash=blurhash) for pk, url, kind, blurhash in rows}


@dataclass(frozen=True)
class RemoteAttachment:
    """What a remote post says of one attachment (already checked by federation)."""

    content_type: str
    description: str = ""
    width: int = 0
    height: int = 0
    focus: tuple[float, float] = (0.0, 0.0)


def _placeholder() -> str:
    return f"{REMOTE_PLACEHOLDER}{secrets.token_hex(16)}"


def attach_remote_media(post: Post, attachments: Sequence[RemoteAttachment]) -> list[Media]:
    """The attachments of a remote post, with no file yet (at most ``MAX_REMOTE_MEDIA``)."""
    if post.author.is_local:
        raise ValidationError("Only remote posts get remote attachments.", field="media")
    rows = []
    for position, item in enumerate(attachments[:MAX_REMOTE_MEDIA]):
        x, y = item.focus
        rows.append(
            Media(
                owner_id=post.author_id,
                post=post,
                position=position,
                file=_placeholder(),
                content_type=item.content_type[:MAX_CONTENT_TYPE],
                width=max(0, item.width),
                height=max(0, item.height),
                description=item.description[:MAX_ALT_TEXT],
                focus_x=x if -1.0 <= x <= 1.0 else 0.0,
                focus_y=y if -1.0 <= y <= 1.0 else 0.0,
            )
        )
    return Media.objects.bulk_create(rows)


def store_remote_file(media_id: int, data: bytes) -> Media | None:
    """Process fetched bytes exactly as an upload and attach the result to the media row.

    Raises ValidationError (nothing stored) when the bytes are not an image Rostra accepts or are
    over the limits. Returns None, keeping nothing, when the row was deleted meanwhile (its post
    or account went while the file was being fetched)."""
    cfg = settings.ROSTRA
    stored = store_image(media_store(), data, max_bytes=cfg.media_max_bytes, max_pixels=cfg.media_max_pixels)
    new_files = [stored.file, stored.thumbnail]
    try:
        with transaction.atomic():
            media = Media.objects.select_for_update().filter(pk=media_id, post__isnull=False).first()
            if media is None:
                delete_files(media_store(), new_files)
                return None
            old = [] if media.awaiting_file else [media.file, media.thumbnail]
            media.file, media.thumbnail = stored.file, stored.thumbnail
            media.content_type, media.size = stored.content_type, stored.size
            media.width, media.height = stored.width, stored.height
            media.save(update_fields=["file", "thumbnail", "content_type", "size", "width", "height"])
            transaction.on_commit(lambda: delete_files(media_store(), old))
    except Exception:
        delete_files(media_store(), new_files)
        raise
    return media


def drop_remote_files(media_ids: Sequence[int]) -> int:
    """Forget the stored files of remote attachments (the rows stay, shown from their origin
    again); returns how many rows had a file. The files go once the change commits."""
    with transaction.atomic():
        remote = Media.objects.select_for_update().filter(pk__in=list(media_ids)).exclude(owner__domain="")
        rows = [m for m in remote if not m.awaiting_file]
        files = [f for m in rows for f in (m.file, m.thumbnail)]
        for m in rows:
            m.file, m.thumbnail, m.size = _placeholder(), "", 0
            m.save(update_fields=["file", "thumbnail", "size"])
        transaction.on_commit(lambda: delete_files(media_store(), files))
    return len(rows)
