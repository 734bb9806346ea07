"""Restoring an account archive (the lifeboat): the whole account, from one file, on any Rostra.

1. Check the whole archive first (``archive.read_archive``): a bad one is refused with the
   reason, and nothing is written.
2. In one transaction: the profile (avatar and header through the normal image processing),
   every post in date order through the moderation gate (``posts.history``: original dates and
   audiences kept, held ones held, refused ones left out and listed; nothing fanned out or
   notified), their media (re-processed like any upload), replies and quotes re-linked to the
   restored posts, then follows, lists, blocks, mutes and bookmarks through the domain actions
   (follows of remote accounts this server knows go out as Follows and are delivered).
3. If anything fails, the transaction rolls back and the image files written are deleted.

Restoring is idempotent: each restored post is remembered by its old address
(``ImportedPost``), so the same archive restored twice does not duplicate anything.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction

from rostra.accounts import actions as accounts
from rostra.accounts.models import Account
from rostra.core.clock import now
from rostra.core.errors import DomainError, PermissionDenied, ValidationError
from rostra.core.images import delete_files, process_image
from rostra.core.mediastore import media_store
from rostra.portability import actions as portability
from rostra.portability import archive as archives
from rostra.portability import formats
from rostra.portability.archive import Archive, ArchivedPost
from rostra.portability.models import ImportedPost, ImportKind
from rostra.posts import actions as posts
from rostra.posts.history import HistoricDraft, Refused, check_historic, import_post
from rostra.posts.models import Media, ModerationState, Post
from rostra.posts.policies import can_quote
from rostra.posts.queries import visible_post

log = logging.getLogger("rostra.portability")
MAX_ISSUES = 200


@dataclass
class RestoreReport:
    """What a restore did: counts by outcome, and what could not be restored, with the reason."""

    counts: dict[str, int] = field(default_factory=dict)
    issues: list[str] = field(default_factory=list)

    def add(self, key: str, issue: str = "") -> None:
        self.counts[key] = self.counts.get(key, 0) + 1
        if issue and len(self.issues) < MAX_ISSUES:
            self.issues.append(issue)

    def summary(self) -> str:
        c = self.counts
        return (
            f"{c.get('posts_restored', 0)} posts restored ({c.get('posts_held', 0)} held for review), "
            f"{c.get('posts_already', 0)} already here, {c.get('posts_skipped', 0)} left out; "
            f"{c.get('media', 0)} images; {c.get('following_applied', 0)} follows, "
            f"{c.get('following_requested', 0)} follow requests; {c.get('lists_applied', 0)} list members, "
            f"{c.get('blocks_applied', 0)} blocks, {c.get('mutes_applied', 0)} mutes, {c.get('bookmarks_applied', 0)} bookmarks."
        )


def own_posts_not_imported(account: Account) -> bool:
    """Whether the account has posts of its own that did not come from an archive."""
    imported = ImportedPost.objects.filter(account_id=account.pk).values("post_id")
    return Post.objects.filter(author_id=account.pk).exclude(pk__in=imported).exists()


def restore_account(account: Account, path: Path) -> RestoreReport:
    """Check ``path`` whole, then restore it into ``account`` in one transaction (see the module)."""
    if not account.is_local or account.user_id is None:
        raise ValidationError("An archive can only be restored into a local account.", field="username")
    if account.suspended_at is not None:
        raise PermissionDenied("This account is suspended.")
    if account.moved_to_id is not None:
        raise PermissionDenied("This account has moved: restore the archive into the account it moved to.")
    archive = archives.read_archive(path)
    stored: list[str] = []  # image files written, deleted again if the restore fails
    report = RestoreReport()
    try:
        images = _profile_images(archive)  # checked now; stored once the rest has committed
        with transaction.atomic():
            _profile(account, archive)
            account.refresh_from_db()
            mapping = _posts(account, archive, stored, report)
            _graph(account, archive, mapping, report)
    except BaseException:
        delete_files(media_store(), stored)
        archive.close()
        raise
    archive.close()
    if images:
        # After the commit, so a failed restore never leaves profile images behind (update_profile
        # writes both sizes and removes the unused one only on commit). They were checked above.
        try:
            accounts.update_profile(account, accounts.ProfileUpdate(avatar=images.get("avatar"), header=images.get("header")))
        except ValidationError as exc:
            report.add("profile_images_failed", f"avatar and header: {exc.message}")
    log.info("restored an archive into @%s: %s", account.username, report.summary())
    return report


# --- Profile ---------------------------------------------------------------------------------------


def _profile_images(archive: Archive) -> dict[str, bytes]:
    """The avatar and header, each checked by the image intake without storing anything."""
    cfg = settings.ROSTRA
    images: dict[str, bytes] = {}
    for kind in ("avatar", "header"):
        name = archives.profile_image(archive, kind)
        if name:
            data = archive.read(name)
            try:
                process_image(data, max_bytes=cfg.media_max_bytes, max_pixels=cfg.media_max_pixels, field=kind)
            except ValidationError as exc:
                raise ValidationError(f"This account archive cannot be restored: {name}: {exc.message}", field="archive") from None
            images[kind] = data
    return images


def _profile(account: Account, archive: Archive) -> None:
    actor = archive.actor
    source: dict[str, Any] = actor["source"] if isinstance(actor.get("source"), dict) else {}
    raw_fields: list[Any] = source["fields"] if isinstance(source.get("fields"), list) else []
    fields = [(str(f.get("name", "")), str(f.get("value", ""))) for f in raw_fields if isinstance(f, dict)]
    change = accounts.ProfileUpdate(
        display_name=str(actor.get("name") or ""),
        note=str(source.get("note") or ""),
        fields=fields,
        locked=actor.get("manuallyApprovesFollowers") is True,
        discoverable=actor.get("discoverable") is not False,
        bot=actor.get("type") == "Service" or source.get("bot") is True,
    )
    accounts.update_profile(account, change)


# --- Posts ---------------------------------------------------------------------------------------------


def _local_post(account: Account, url: str, mapping: dict[str, Post]) -> Post | None:
    """A post the old address names: one restored from this archive (now or before), or one of this
    server's posts the account may see; None otherwise (remote parents are not fetched)."""
    if url in mapping:
        return mapping[url]
    earlier = ImportedPost.objects.filter(old_uri=url, account_id=account.pk).select_related("post").first()
    if earlier is not None:
        return earlier.post
    address = formats.parse_post_url(url)
    if address is None or address.post_id is None:
        return None
    return visible_post(account, address.post_id, original_only=True)


def _quotable(account: Account, post: Post | None) -> Post | None:
    """The quoted post, if the quote policy lets this account quote it (as for a new post)."""
    return post if post is not None and can_quote(account, post) else None


def _posts(account: Account, archive: Archive, stored: list[str], report: RestoreReport) -> dict[str, Post]:
    mapping: dict[str, Post] = {}
    # Only this account's own earlier restores count: another account's mapping of the same old
    # address must not stop the real owner (an archive can be forged; see ImportedPost).
    already = set(ImportedPost.objects.filter(account_id=account.pk, old_uri__in=[p.old_uri for p in archive.posts]).values_list("old_uri", flat=True))
    for item in sorted(archive.posts, key=lambda p: (p.published, p.index)):
        if item.kind == "repost":
            report.add("reposts_skipped")
            continue
        if item.old_uri in already:
            report.add("posts_already")
            continue
        post = _restore_post(account, archive, item, mapping, stored, report)
        if post is not None:
            mapping[item.old_uri] = post
            ImportedPost.objects.create(account=account, old_uri=item.old_uri, old_actor=archive.old_actor[:2048], post=post, created_at=now())
    return mapping


def _restore_post(
    account: Account, archive: Archive, item: ArchivedPost, mapping: dict[str, Post], stored: list[str], report: RestoreReport
) -> Post | None:
    draft = HistoricDraft(
        text=item.text,
        created_at=item.published,
        visibility=item.visibility,
        spoiler_text=item.spoiler_text,
        sensitive=item.sensitive,
        language=item.language,
        edited_at=item.updated,
        in_reply_to=_local_post(account, item.in_reply_to, mapping) if item.in_reply_to else None,
        quote_of=_quotable(account, _local_post(account, item.quote_of, mapping)) if item.quote_of else None,
        poll_options=item.poll_options,
        poll_multiple=item.poll_multiple,
        poll_ends_at=item.poll_ends_at,
    )
    draft.limited = item.moderation == ModerationState.LIMITED
    reason = check_historic(draft, media_count=len(item.media))
    if item.moderation in (ModerationState.REMOVED, ModerationState.HELD):
        reason = "removed by the old server's moderators" if item.moderation == ModerationState.REMOVED else "held for review on the old server"
    if reason:
        report.add("posts_skipped", f"{item.old_uri}: {reason}")
        return None
    media: list[Media] = []
    for att in item.media:
        try:
            m = posts.upload_media(account, archive.read(att["name"]), description=att["description"][: posts.MAX_ALT_TEXT], focus=att["focus"])
        except ValidationError as exc:  # not an image this server takes (a decompression bomb, a fake): the archive is bad
            raise ValidationError(f"This account archive cannot be restored: {att['name']}: {exc.message}", field="archive") from None
        stored += [m.file, m.thumbnail]
        media.append(m)
    draft.media = media
    try:
        with transaction.atomic():  # a refused post gives its media back, the rest goes on
            post = import_post(account, draft)
    except Refused as exc:
        posts.discard_media(account, [m.pk for m in media])
        report.add("posts_skipped", f"{item.old_uri}: refused by this server's rules ({exc})")
        return None
    report.add("posts_restored")
    report.counts["media"] = report.counts.get("media", 0) + len(media)
    if post.moderation_state == ModerationState.HELD:
        report.add("posts_held")
    return post


# --- Follows, lists, blocks, mutes, bookmarks -----------------------------------------------------------


def _known_account(acct: str) -> tuple[Account | None, str]:
    """A local account, or a remote one this server already knows (followed through federation)."""
    address = formats.parse_acct(acct)
    if address is None:
        return None, "not an account address"
    found = Account.objects.filter(username__iexact=address.username, domain=address.domain, suspended_at__isnull=True).first()
    if found is not None:
        return found, ""
    return None, "not found: no such account here" if address.is_local else "not known to this server yet (follow it by its address)"


_ACTS: dict[str, Callable[[Account, Account, dict[str, Any]], str]] = {
    ImportKind.FOLLOWING: portability._follow,
    ImportKind.BLOCKS: portability._block,
    ImportKind.MUTES: portability._mute,
    ImportKind.LISTS: portability._list_member,
}


def _apply_row(account: Account, kind: str, row: dict[str, Any], mapping: dict[str, Post]) -> tuple[str, str]:
    if kind == ImportKind.BOOKMARKS:
        restored = mapping.get(row["url"]) or _local_post(account, row["url"], mapping)
        if restored is None:
            return "not_found", "not found, or not visible to you"
        posts.bookmark(account, restored.pk)
        return "applied", ""
    target, reason = _known_account(row["acct"])
    if target is None:
        return "not_found", reason
    if target.pk == account.pk:
        return "failed", "that is you"
    try:
        return _ACTS[kind](account, target, row), ""
    except DomainError as exc:
        return "failed", exc.message


def _graph(account: Account, archive: Archive, mapping: dict[str, Post], report: RestoreReport) -> None:
    # Follows first: list members must be followed.
    for kind in (ImportKind.FOLLOWING, ImportKind.LISTS, ImportKind.BLOCKS, ImportKind.MUTES, ImportKind.BOOKMARKS):
        data = archive.csv.get(kind)
        if not data or not data.strip():
            continue
        try:
            parsed = formats.parse_import(kind, data, f"{kind}.csv")
        except ValidationError as exc:
            if exc.message.startswith("The file is empty"):
                continue  # a header row and nothing else
            raise ValidationError(f"This account archive cannot be restored: its {kind} file is not valid. {exc.message}", field="archive") from None
        for row in parsed.rows:
            result, reason = _apply_row(account, kind, row, mapping)
            report.add(f"{kind}_{result}", f"{kind} {row.get('acct') or row.get('url', '')}: {reason}" if reason and result != "requested" else "")
