"""Every write of export and import: asking for an archive, building it, importing a CSV.

Both are long-running work kept as states on rows (``models.JobState``). Asking writes the row
and an event in one transaction; the pipeline runs the job after commit (``export.requested``,
``import.requested``). A job claims its row, touches ``heartbeat_at`` as it goes and records
``done``/``total``, so a second delivery of the event does nothing while the first is alive, and
``tend`` restarts a job whose worker died. Imports apply each row through the domain actions
(follow, block, mute, lists, bookmark), so their rules hold: a locked account gets a request.
"""

from __future__ import annotations

import json
import logging
import secrets
import shutil
import zipfile
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.db import transaction
from django.db.models import Q

from rostra.accounts import actions as accounts
from rostra.accounts.models import Account, Block, Follow, Mute
from rostra.core import events
from rostra.core.clock import now
from rostra.core.errors import Conflict, DomainError, NotFound, RateLimited, ValidationError
from rostra.core.mediastore import MediaStore, media_store
from rostra.portability import archive, formats, queries
from rostra.portability.models import Export, Import, ImportKind, ImportMode, JobState
from rostra.posts import actions as posts
from rostra.posts.models import Bookmark, Media, Poll
from rostra.posts.queries import tags_and_mentions, visible_posts
from rostra.timelines import lists
from rostra.timelines.models import List, ListMember

log = logging.getLogger("rostra.portability")

STALE_AFTER = timedelta(minutes=5)  # a running job that has not touched its row for this long is dead
GIVE_UP_AFTER = timedelta(days=1)
PROGRESS_EVERY = 100  # posts (or import rows) between progress updates
INLINE_ROWS = 100  # imports this small run in the request; larger ones in the background
MAX_ISSUES = 1000  # rows listed in an import's summary (all are counted)
COPY_CHUNK = 1024 * 1024
NOT_FEDERATED = "not found — federation is not available yet"


class _Gone(Exception):
    """The job's row was deleted while it ran (the account was deleted, or the export expired)."""


# --- Exports -----------------------------------------------------------------------------------


def request_export(account: Account) -> Export:
    """Queue an archive of everything ``account`` owns; one a day."""
    with transaction.atomic():
        Account.objects.select_for_update().filter(pk=account.pk).first()  # one request at a time per account
        next_at = queries.next_export_at(account)
        if next_at is not None:
            wait = max(1, int((next_at - now()).total_seconds()))
            raise RateLimited(
                f"You can ask for one archive a day. Your next archive can be made at {next_at:%Y-%m-%d %H:%M} UTC.", wait
            )
        created = now()
        export = Export.objects.create(account=account, created_at=created, expires_at=created + queries.EXPORT_KEPT_FOR)
        events.emit("export.requested", export_id=export.pk)
    return export


def _claim(model: type[Export] | type[Import], row_id: int) -> bool:
    """Take a pending job, or a running one whose worker stopped touching it."""
    stale = now() - STALE_AFTER
    claimable = Q(state=JobState.PENDING) | Q(state=JobState.RUNNING, heartbeat_at__lt=stale)
    return bool(model.objects.filter(claimable, pk=row_id).update(state=JobState.RUNNING, heartbeat_at=now()))


def _progress(model: type[Export] | type[Import], row_id: int, **fields: Any) -> None:
    if not model.objects.filter(pk=row_id).update(heartbeat_at=now(), **fields):
        raise _Gone


def build_export(export_id: int) -> None:
    """Write the archive: a ZIP streamed to disk, then renamed into place when complete."""
    if not _claim(Export, export_id):
        return  # done, failed, gone, or another worker is on it
    export = Export.objects.select_related("account").get(pk=export_id)
    folder = queries.account_dir(export.account_id)
    name = f"{secrets.token_hex(16)}.zip"
    part = folder / f"{name}.part"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        size = write_archive(export.account, part, lambda **fields: _export_progress(export_id, fields))
        part.replace(folder / name)
        _progress(Export, export_id, state=JobState.READY, file_name=name, size=size, finished_at=now())
    except _Gone:
        part.unlink(missing_ok=True)
        (folder / name).unlink(missing_ok=True)
    except Exception:
        log.exception("export %s failed", export_id)
        part.unlink(missing_ok=True)
        (folder / name).unlink(missing_ok=True)
        Export.objects.filter(pk=export_id).update(
            state=JobState.FAILED, error="The archive could not be written. Please try again.", finished_at=now()
        )


def _export_progress(export_id: int, fields: dict[str, Any]) -> None:
    if "done" in fields:
        _progress(Export, export_id, **fields)  # touches the heartbeat; notices a deleted row
    else:
        Export.objects.filter(pk=export_id).update(**fields)  # the total, before the first post


def export_account(account: Account, path: Path) -> int:
    """The account archive written straight to ``path`` (``rostra export-account``); its size."""
    part = path.with_name(f"{path.name}.part")
    try:
        size = write_archive(account, part, lambda **fields: None)
        part.replace(path)
    finally:
        part.unlink(missing_ok=True)
    return size


def write_archive(account: Account, path: Path, progress: Callable[..., None]) -> int:
    """Everything the account owns in one ZIP, sealed by ``manifest.json`` (archive.py).

    Every post the author wrote is in ``outbox.json`` whatever its visibility (public, unlisted,
    followers-only and direct: it is their own history, and a restore keeps each one's audience)."""
    own = visible_posts(account).filter(author_id=account.pk)
    progress(total=own.count())
    store = media_store()
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as zf:
        _write_json(zf, "actor.json", formats.actor(account))
        _write_outbox(zf, progress, own)
        _write_url_collection(zf, "likes.json", queries.like_urls(account))
        _write_url_collection(zf, "bookmarks.json", queries.bookmark_urls(account))
        # The served, re-encoded files (their metadata was dropped at upload; no original is kept).
        attached = Media.objects.filter(owner_id=account.pk, post__author_id=account.pk).order_by("id")
        for media in attached.iterator(chunk_size=500):
            _copy(zf, store, media.file, f"{formats.MEDIA_FOLDER}/{media.file}")
        for kind in ("avatar", "header"):
            file_name = getattr(account, kind)
            if file_name:
                _copy(zf, store, file_name, formats.archive_name(kind, file_name))
        for kind in queries.CSV_KINDS:
            _write_lines(zf, f"{kind}.csv", queries.csv_document(account, kind))
        _write_lines(zf, "followers_accounts.csv", queries.followers_document(account))  # informative: followers move by Move
    archive.seal(path)
    return path.stat().st_size


def _write_json(zf: zipfile.ZipFile, name: str, doc: dict[str, Any]) -> None:
    zf.writestr(name, json.dumps(doc, ensure_ascii=False, indent=1))


def _write_lines(zf: zipfile.ZipFile, name: str, lines: Any) -> None:
    with zf.open(name, "w", force_zip64=True) as out:
        for line in lines:
            out.write(line.encode())


def _write_outbox(zf: zipfile.ZipFile, progress: Callable[..., None], own: Any) -> None:
    rows = own.select_related("author", "in_reply_to__author", "repost_of__author", "quote_of__author").order_by("id")
    count = 0
    with zf.open("outbox.json", "w", force_zip64=True) as out:
        out.write(formats.collection_head("outbox.json").encode())
        for chunk in _chunks(rows.iterator(chunk_size=PROGRESS_EVERY), PROGRESS_EVERY):
            # What hangs off a chunk of posts, in three queries (not Django's per-row prefetch).
            ids = [p.pk for p in chunk]
            tags, mentions = tags_and_mentions(ids)
            media: dict[int, list[Media]] = {}
            for m in Media.objects.filter(post_id__in=ids).order_by("position", "id"):
                media.setdefault(m.post_id or 0, []).append(m)
            polls = {p.post_id: p for p in Poll.objects.filter(post_id__in=ids).prefetch_related("options")}
            for post in chunk:
                item = formats.activity(
                    post,
                    media=media.get(post.pk, []),
                    tags=[t.name for t in tags.get(post.pk, [])],
                    mentions=mentions.get(post.pk, []),
                    poll=polls.get(post.pk),
                )
                out.write(((",\n" if count else "\n") + json.dumps(item, ensure_ascii=False)).encode())
                count += 1
            progress(done=count)
        out.write(formats.collection_tail(count).encode())


def _chunks(items: Iterator[Any], size: int) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _write_url_collection(zf: zipfile.ZipFile, name: str, urls: Any) -> None:
    count = 0
    with zf.open(name, "w", force_zip64=True) as out:
        out.write(formats.collection_head(name).encode())
        for url in urls:
            out.write(((",\n" if count else "\n") + json.dumps(url)).encode())
            count += 1
        out.write(formats.collection_tail(count).encode())


def _copy(zf: zipfile.ZipFile, store: MediaStore, file_name: str, arc_name: str) -> None:
    try:
        handle, _ = store.open(file_name)  # closed below; a missing file is skipped, not fatal
    except FileNotFoundError:
        log.warning("export: %s is missing from the media store", file_name)
        return
    with handle, zf.open(arc_name, "w", force_zip64=True) as out:
        while chunk := handle.read(COPY_CHUNK):
            out.write(chunk)


def delete_export_files(account_id: int) -> None:
    """After an account's deletion (its rows went with it): remove its archives from disk."""
    if not Account.objects.filter(pk=account_id).exists():
        shutil.rmtree(queries.account_dir(account_id), ignore_errors=True)


def expire() -> int:
    """Delete archives (file and row) past their seven days, and imports as old; clear leftovers."""
    removed = 0
    for export in Export.objects.filter(expires_at__lte=now()).iterator():
        if export.file_name:
            queries.export_path(export).unlink(missing_ok=True)
        removed += Export.objects.filter(pk=export.pk).delete()[0]
    Import.objects.filter(created_at__lte=now() - queries.EXPORT_KEPT_FOR).delete()
    _clear_leftovers()
    return removed


def _clear_leftovers() -> None:
    root = queries.exports_dir()
    if not root.is_dir():
        return
    day_ago = (now() - timedelta(days=1)).timestamp()
    for folder in root.iterdir():
        if not folder.is_dir() or not folder.name.isdigit():
            continue
        account_id = int(folder.name)
        if not Account.objects.filter(pk=account_id).exists():
            shutil.rmtree(folder, ignore_errors=True)
            continue
        kept = set(Export.objects.filter(account_id=account_id).values_list("file_name", flat=True))
        for file in folder.iterdir():
            if file.name not in kept and file.stat().st_mtime < day_ago:
                file.unlink(missing_ok=True)  # a crashed job's partial file


def tend() -> int:
    """Restart jobs whose worker died (the event ran, the work did not finish)."""
    stale = now() - STALE_AFTER
    dead = Q(state=JobState.PENDING, created_at__lt=stale) | Q(state=JobState.RUNNING, heartbeat_at__lt=stale)
    # A job that keeps dying (for a whole day) is given up, so it cannot be restarted for ever.
    given_up = dead & Q(created_at__lt=now() - GIVE_UP_AFTER)
    Export.objects.filter(given_up).update(
        state=JobState.FAILED, error="The archive could not be made. Please try again.", finished_at=now()
    )
    Import.objects.filter(given_up).update(state=JobState.FAILED, finished_at=now())
    restarted = 0
    for export_id in Export.objects.filter(dead).values_list("pk", flat=True):
        with transaction.atomic():
            events.emit("export.requested", export_id=export_id)
        restarted += 1
    for import_id in Import.objects.filter(dead).values_list("pk", flat=True):
        with transaction.atomic():
            events.emit("import.requested", import_id=import_id)
        restarted += 1
    return restarted


# --- Imports -----------------------------------------------------------------------------------


def start_import(account: Account, kind: str, mode: str, data: bytes, file_name: str = "") -> Import:
    """Check the whole file, then record it and apply it: at once when small, else in the background.

    A file refused for any reason writes nothing (``ValidationError`` naming every bad line)."""
    if mode not in ImportMode.values:
        raise ValidationError("Choose merge or overwrite.", field="mode")
    parsed = formats.parse_import(kind, data, file_name)
    with transaction.atomic():
        Account.objects.select_for_update().filter(pk=account.pk).first()
        if Import.objects.filter(account_id=account.pk, state__in=(JobState.PENDING, JobState.RUNNING)).exists():
            raise Conflict("An import is still running; wait for it to finish before starting another.")
        job = Import.objects.create(
            account=account,
            kind=kind,
            mode=mode,
            file_name=file_name[-200:],
            rows=parsed.rows,
            total=len(parsed.rows),
            created_at=now(),
            outcome={"applied": 0, "requested": 0, "not_found": 0, "failed": 0},
        )
        if len(parsed.rows) > INLINE_ROWS:
            events.emit("import.requested", import_id=job.pk)
    if len(parsed.rows) <= INLINE_ROWS:
        run_import(job.pk)
        job.refresh_from_db()
    return job


def run_import(import_id: int) -> None:
    if not _claim(Import, import_id):
        return
    job = Import.objects.select_related("account").get(pk=import_id)
    account = job.account
    try:
        if job.mode == ImportMode.OVERWRITE and not job.overwritten:
            _OVERWRITE[job.kind](account, job.rows)
            _progress(Import, import_id, overwritten=True)
        outcome, issues = dict(job.outcome), list(job.issues)
        apply_row = _APPLY[job.kind]
        for index in range(job.done, len(job.rows)):
            row = job.rows[index]
            result, reason = apply_row(account, row)
            outcome[result] = outcome.get(result, 0) + 1
            if reason and len(issues) < MAX_ISSUES:
                issues.append({"line": row["line"], "value": row.get("acct") or row.get("url", ""), "reason": reason})
            if (index + 1) % PROGRESS_EVERY == 0:
                _progress(Import, import_id, done=index + 1, outcome=outcome, issues=issues)
        _progress(Import, import_id, done=len(job.rows), outcome=outcome, issues=issues, state=JobState.READY, finished_at=now())
    except _Gone:
        return
    except Exception:
        log.exception("import %s failed", import_id)
        Import.objects.filter(pk=import_id).update(state=JobState.FAILED, finished_at=now())


def _local_account(row: dict[str, Any]) -> tuple[Account | None, str]:
    address = formats.parse_acct(row["acct"])
    if address is None:
        return None, "not an account address"
    if not address.is_local:
        return None, NOT_FEDERATED
    target = Account.objects.filter(username__iexact=address.username, domain="", suspended_at__isnull=True).first()
    return (target, "") if target is not None else (None, "not found: no such account here")


def _with_account(act: Callable[[Account, Account, dict[str, Any]], str]) -> Callable[[Account, dict[str, Any]], tuple[str, str]]:
    """Resolve the row's account, run ``act``; a domain error is that row's reason, not the job's end."""

    def apply(account: Account, row: dict[str, Any]) -> tuple[str, str]:
        target, reason = _local_account(row)
        if target is None:
            return "not_found", reason
        if target.pk == account.pk:
            return "failed", "that is you"
        try:
            result = act(account, target, row)
        except DomainError as exc:
            return "failed", exc.message
        return result, "follow requested: this account approves followers" if result == "requested" else ""

    return apply


def _follow(account: Account, target: Account, row: dict[str, Any]) -> str:
    state = accounts.follow(account, target)
    if state == "following":
        accounts.set_follow_options(account, target, show_reposts=row.get("show_reposts", True), notify=row.get("notify", False))
        return "applied"
    return "requested"


def _block(account: Account, target: Account, row: dict[str, Any]) -> str:
    accounts.block(account, target)
    return "applied"


def _mute(account: Account, target: Account, row: dict[str, Any]) -> str:
    accounts.mute(account, target, hide_notifications=row.get("hide_notifications", True))
    return "applied"


def _list_member(account: Account, target: Account, row: dict[str, Any]) -> str:
    # As Mastodon does: a list member must be followed, so the import follows first.
    lst = List.objects.filter(owner_id=account.pk, title=row["list"]).order_by("id").first()
    if lst is None:
        lst = lists.create_list(account, lists.ListDraft(title=row["list"]))
    if accounts.follow(account, target) == "requested":
        return "requested"
    lists.add_members(account, lst.pk, [target.pk])
    return "applied"


def _bookmark(account: Account, row: dict[str, Any]) -> tuple[str, str]:
    address = formats.parse_post_url(row["url"])
    if address is None:
        return "failed", "not a post's address"
    if address.username is None:
        return "not_found", NOT_FEDERATED
    if address.post_id is None:
        return "not_found", "not found: not a post's address"
    try:
        posts.bookmark(account, address.post_id)
    except NotFound:
        return "not_found", "not found, or not visible to you"
    return "applied", ""


_APPLY: dict[str, Callable[[Account, dict[str, Any]], tuple[str, str]]] = {
    ImportKind.FOLLOWING: _with_account(_follow),
    ImportKind.BLOCKS: _with_account(_block),
    ImportKind.MUTES: _with_account(_mute),
    ImportKind.LISTS: _with_account(_list_member),
    ImportKind.BOOKMARKS: _bookmark,
}


# --- Overwrite: first remove what the file does not name (Mastodon's BulkImportService) ------------


def _named_local_ids(rows: list[dict[str, Any]]) -> set[int]:
    names = {a.username.lower() for a in (formats.parse_acct(r["acct"]) for r in rows) if a is not None and a.is_local}
    found: set[int] = set()
    batch = sorted(names)
    for start in range(0, len(batch), 500):
        q = Q()
        for name in batch[start : start + 500]:
            q |= Q(username__iexact=name)
        found |= set(Account.objects.filter(q, domain="").values_list("pk", flat=True))
    return found


def _targets_not_named(rel: Any, rows: list[dict[str, Any]]) -> list[Account]:
    keep = _named_local_ids(rows)
    return [a for a in Account.objects.filter(pk__in=rel.values("target_id")) if a.pk not in keep]


def _overwrite_following(account: Account, rows: list[dict[str, Any]]) -> None:
    for target in _targets_not_named(Follow.objects.filter(follower_id=account.pk), rows):
        accounts.unfollow(account, target)


def _overwrite_blocks(account: Account, rows: list[dict[str, Any]]) -> None:
    for target in _targets_not_named(Block.objects.filter(account_id=account.pk), rows):
        accounts.unblock(account, target)


def _overwrite_mutes(account: Account, rows: list[dict[str, Any]]) -> None:
    for target in _targets_not_named(Mute.objects.filter(account_id=account.pk), rows):
        accounts.unmute(account, target)


def _overwrite_lists(account: Account, rows: list[dict[str, Any]]) -> None:
    # Lists the file does not name go; the others are emptied and refilled from the file.
    titles = {r["list"] for r in rows}
    for lst in lists.lists_of(account):
        if lst.title not in titles:
            lists.delete_list(account, lst.pk)
        else:
            members = list(ListMember.objects.filter(list_id=lst.pk).values_list("account_id", flat=True))
            lists.remove_members(account, lst.pk, members)


def _overwrite_bookmarks(account: Account, rows: list[dict[str, Any]]) -> None:
    keep = {a.post_id for a in (formats.parse_post_url(r["url"]) for r in rows) if a is not None and a.post_id is not None}
    gone = Bookmark.objects.filter(account_id=account.pk).exclude(post_id__in=keep).values_list("post_id", flat=True)
    for post_id in list(gone):
        posts.unbookmark(account, post_id)


_OVERWRITE: dict[str, Callable[[Account, list[dict[str, Any]]], None]] = {
    ImportKind.FOLLOWING: _overwrite_following,
    ImportKind.BLOCKS: _overwrite_blocks,
    ImportKind.MUTES: _overwrite_mutes,
    ImportKind.LISTS: _overwrite_lists,
    ImportKind.BOOKMARKS: _overwrite_bookmarks,
}

__all__ = ["build_export", "delete_export_files", "expire", "export_account", "request_export", "run_import", "start_import", "tend", "write_archive"]
