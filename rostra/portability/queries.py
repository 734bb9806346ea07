"""Reads of a person's exports, imports and social graph, for their owner only.

Another person's export or import answers exactly like a missing one (``NotFound``): the archive
is served only to the account it belongs to. The graph rows come out as Mastodon's CSV rows,
read lazily so a large account streams in flat memory.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from django.conf import settings

from rostra.accounts.models import Account, Block, Follow, Mute
from rostra.core.clock import now
from rostra.core.errors import NotFound
from rostra.core.ids import parse_id
from rostra.portability import formats
from rostra.portability.models import Export, Import, ImportedPost, JobState
from rostra.posts.models import Post
from rostra.posts.queries import bookmarked_posts, get_post, liked_posts
from rostra.timelines.models import ListMember

EXPORT_EVERY = timedelta(hours=24)
EXPORT_KEPT_FOR = timedelta(days=7)
CSV_KINDS = ("following_accounts", "blocked_accounts", "muted_accounts", "lists", "bookmarks")


def exports_dir() -> Path:
    return Path(settings.ROSTRA.data_dir) / "exports"


def account_dir(account_id: int) -> Path:
    return exports_dir() / str(account_id)


def export_path(export: Export) -> Path:
    return account_dir(export.account_id) / export.file_name


# --- Exports and imports --------------------------------------------------------------------------


def exports_of(owner: Account, limit: int = 5) -> list[Export]:
    """The owner's archives that are still kept, newest first."""
    return list(Export.objects.filter(account_id=owner.pk, expires_at__gt=now()).order_by("-created_at")[:limit])


def get_export(owner: Account, export_id: Any) -> Export:
    eid = parse_id(export_id)
    found = Export.objects.filter(pk=eid, account_id=owner.pk).first() if eid is not None else None
    if found is None:
        raise NotFound("No such archive.")
    return found


def ready_archive(owner: Account, export_id: Any) -> tuple[Export, Path]:
    """The owner's finished, unexpired archive and its file; NotFound for anything else."""
    export = get_export(owner, export_id)
    path = export_path(export)
    if export.state != JobState.READY or export.expires_at <= now() or not export.file_name or not path.is_file():
        raise NotFound("No such archive.")
    return export, path


def next_export_at(owner: Account) -> datetime | None:
    """When the owner may ask for another archive; None if they may now (one a day)."""
    last = (
        Export.objects.filter(account_id=owner.pk, created_at__gt=now() - EXPORT_EVERY)
        .exclude(state=JobState.FAILED)
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    return last + EXPORT_EVERY if last is not None else None


def imports_of(owner: Account, limit: int = 5) -> list[Import]:
    return list(Import.objects.filter(account_id=owner.pk).defer("rows").order_by("-created_at")[:limit])


def get_import(owner: Account, import_id: Any) -> Import:
    iid = parse_id(import_id)
    found = Import.objects.filter(pk=iid, account_id=owner.pk).defer("rows").first() if iid is not None else None
    if found is None:
        raise NotFound("No such import.")
    return found


# --- The social graph as Mastodon's CSV rows ------------------------------------------------------


def following_rows(owner: Account) -> Iterator[list[str]]:
    rows = Follow.objects.filter(follower_id=owner.pk).select_related("target").order_by("id")
    for f in rows.iterator(chunk_size=500):
        yield formats.following_row(formats.acct(f.target), f.show_reposts, f.notify)


def blocked_rows(owner: Account) -> Iterator[list[str]]:
    for b in Block.objects.filter(account_id=owner.pk).select_related("target").order_by("id").iterator(chunk_size=500):
        yield [formats.acct(b.target)]


def muted_rows(owner: Account) -> Iterator[list[str]]:
    rows = Mute.objects.filter(account_id=owner.pk).select_related("target").order_by("id")
    for m in rows.iterator(chunk_size=500):
        if m.expires_at is None or m.expires_at > now():
            yield formats.muted_row(formats.acct(m.target), m.hide_notifications)


def list_rows(owner: Account) -> Iterator[list[str]]:
    # Members the owner still follows, as the list timeline counts them.
    rows = (
        ListMember.objects.filter(list__owner_id=owner.pk, account__follower_rel__follower_id=owner.pk)
        .select_related("list", "account")
        .order_by("list__title", "list_id", "id")
    )
    for m in rows.iterator(chunk_size=500):
        yield formats.list_row(m.list.title, formats.acct(m.account))


def bookmark_urls(owner: Account) -> Iterator[str]:
    """Bookmarked posts the owner may still see (through the door), oldest post first (by id: two
    posts written in the same millisecond come in either order)."""
    posts = bookmarked_posts(owner).select_related("author", "remote").order_by("id")
    for post in posts.iterator(chunk_size=500):
        yield formats.post_url(post)


def like_urls(owner: Account) -> Iterator[str]:
    posts = liked_posts(owner).select_related("author", "remote").order_by("id")
    for post in posts.iterator(chunk_size=500):
        yield formats.post_url(post)


def followers_document(owner: Account) -> Iterator[str]:
    """Who follows the owner, one address a line: informative in an account archive (followers
    come along by ``Move``, not by import)."""
    rows = Follow.objects.filter(target_id=owner.pk).select_related("follower").order_by("id")
    return formats.csv_lines(([formats.acct(f.follower)] for f in rows.iterator(chunk_size=500)), ["Account address"])


def csv_document(owner: Account, kind: str) -> Iterator[str]:
    """One of Mastodon's export CSVs, line by line. ``kind`` is one of ``CSV_KINDS``."""
    if kind == "following_accounts":
        return formats.csv_lines(following_rows(owner), formats.HEADERS["following"])
    if kind == "blocked_accounts":
        return formats.csv_lines(blocked_rows(owner))
    if kind == "muted_accounts":
        return formats.csv_lines(muted_rows(owner), formats.HEADERS["mutes"])
    if kind == "lists":
        return formats.csv_lines(list_rows(owner))
    if kind == "bookmarks":
        return formats.csv_lines([u] for u in bookmark_urls(owner))
    raise NotFound("No such file.")


# --- Old addresses of moved accounts (docs/federation.md, "Moving an account: your posts come along")


def imported_post(viewer: Account | None, old_uri: str) -> Post:
    """The post restored here from ``old_uri``, through the door; NotFound if unknown or not visible.

    Only a restore into the account the old actor has moved to counts (a local old account's
    ``moved_to``, or a remote one's as its signed Move told this server): anyone can restore a
    forged archive naming someone else's old addresses, and must not capture their redirects."""
    for row in ImportedPost.objects.filter(old_uri=old_uri[:2048]).exclude(old_actor="").order_by("created_at"):
        if _moved_to(row.old_actor) == row.account_id:
            return get_post(viewer, row.post_id)
    raise NotFound("No post was restored here from that address.")


def _moved_to(actor: str) -> int | None:
    """The id of the account the actor ``actor`` moved to, if it is known here and has moved."""
    prefix = f"{formats.base_url()}/@"
    if actor.startswith(prefix) and "/" not in actor[len(prefix) :]:
        old = Account.objects.filter(domain="", username__iexact=actor[len(prefix) :]).values_list("moved_to_id", flat=True).first()
    else:
        # A remote actor's id lives on federation's RemoteActor (reverse relation remote_actor).
        old = Account.objects.exclude(domain="").filter(remote_actor__uri=actor).values_list("moved_to_id", flat=True).first()
    return old


def moved_post_location(post: Post) -> str | None:
    """Where a moved account's old post page now sends people, or None if its author has not moved.

    To the new server's ``/imported?uri=<this post's URL>`` when the new account is on a Rostra
    (here, or a server whose actor ids have Rostra's shape ``<scheme>://<host>/@<user>``); else to
    the new account's profile page."""
    author = post.author
    target = author.moved_to if author.is_local and author.moved_to_id is not None else None
    if target is None:
        return None
    old = quote(formats.post_url(post), safe="")
    if target.is_local:
        return f"{formats.base_url()}/imported?uri={old}"
    remote = getattr(target, "remote_actor", None)  # federation's row, read through the relation
    uri, url = str(getattr(remote, "uri", "") or ""), str(getattr(remote, "url", "") or "")
    parts = urlsplit(uri)
    if parts.scheme in ("http", "https") and re.fullmatch(rf"/@{re.escape(target.username)}", parts.path, re.IGNORECASE):
        return f"{parts.scheme}://{parts.netloc}/imported?uri={old}"
    return url if url.startswith(("https://", "http://")) else f"https://{target.domain}/@{target.username}"
