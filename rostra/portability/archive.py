"""The account archive as a file: sealed with a manifest when written, checked whole when read.

``manifest.json`` names the format and its version and, for every other file in the ZIP, its
size and SHA-256. ``read_archive`` refuses, with a message saying why and before anything is
written anywhere: a file that is not a ZIP, an archive without a valid manifest, another
format or a newer version, a name outside the known layout (absolute, ``..``, backslashes,
links, duplicates), an encrypted entry, a file whose size or checksum differs from the
manifest, sizes past the limits or compression ratios of a ZIP bomb (checked on the bytes
actually inflated, never on the headers alone), and JSON that is not the expected shape.
"""

from __future__ import annotations

import hashlib
import json
import re
import stat
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from django.conf import settings

from rostra.core import clock
from rostra.core.clock import now
from rostra.core.errors import ValidationError
from rostra.portability import formats

FORMAT = "rostra-account-archive"
VERSION = 1
MANIFEST = "manifest.json"
MAX_ARCHIVE_BYTES = 4 * 1024**3  # the ZIP itself
MAX_TOTAL_BYTES = 8 * 1024**3  # everything in it, inflated
MAX_ENTRIES = 20_000
MAX_JSON_BYTES = 256 * 1024**2  # outbox.json; the other documents are far smaller
MAX_SMALL_JSON_BYTES = 4 * 1024**2
MAX_RATIO = 200  # inflated / compressed, for anything over a megabyte
MAX_POSTS = 200_000
MAX_LISTED = 20
READ_CHUNK = 1024 * 1024

CSV_FILES = {
    "following_accounts.csv": "following",
    "blocked_accounts.csv": "blocks",
    "muted_accounts.csv": "mutes",
    "lists.csv": "lists",
    "bookmarks.csv": "bookmarks",
    "followers_accounts.csv": "",  # informative only
}
JSON_FILES = {"actor.json", "outbox.json", "likes.json", "bookmarks.json"}
PROFILE_IMAGE = re.compile(r"^(avatar|header)\.(png|jpg|jpeg|webp|gif)$")
MEDIA_NAME = re.compile(rf"^{re.escape(formats.MEDIA_FOLDER)}/[A-Za-z0-9_-]{{1,64}}\.(png|jpg|jpeg|webp|gif)$")
FOLDERS = {"media_attachments/", f"{formats.MEDIA_FOLDER}/"}
PUBLIC = {"https://www.w3.org/ns/activitystreams#Public", "as:Public", "Public"}


def _refuse(message: str) -> ValidationError:
    return ValidationError(f"This account archive cannot be restored: {message}", field="archive")


# --- Writing -------------------------------------------------------------------------------------


def _digest(handle: IO[bytes], limit: int | None = None) -> tuple[int, str]:
    sha, size = hashlib.sha256(), 0
    while chunk := handle.read(READ_CHUNK):
        size += len(chunk)
        if limit is not None and size > limit:
            raise _refuse("a file in it is larger than its header says (a ZIP bomb?).")
        sha.update(chunk)
    return size, sha.hexdigest()


def seal(path: Path) -> None:
    """Append ``manifest.json``: the format, its version and every file's size and SHA-256."""
    files: dict[str, dict[str, Any]] = {}
    with zipfile.ZipFile(path, "r") as zf:
        for info in zf.infolist():
            with zf.open(info) as handle:
                size, sha = _digest(handle)
            files[info.filename] = {"size": size, "sha256": sha}
    manifest = {"format": FORMAT, "version": VERSION, "created_at": now().isoformat(), "server": formats.base_url(), "files": files}
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as zf:
        zf.writestr(MANIFEST, json.dumps(manifest, indent=1))


# --- Reading ---------------------------------------------------------------------------------------


@dataclass
class ArchivedPost:
    """One post of ``outbox.json``, checked and normalised."""

    index: int
    old_uri: str
    kind: str  # "note" or "repost"
    published: datetime
    visibility: str
    text: str = ""
    spoiler_text: str = ""
    sensitive: bool = False
    language: str = ""
    updated: datetime | None = None
    in_reply_to: str = ""
    quote_of: str = ""
    media: list[dict[str, Any]] = field(default_factory=list)  # {"name": archive name, "description", "focus"}
    poll_options: list[str] = field(default_factory=list)
    poll_multiple: bool = False
    poll_ends_at: datetime | None = None
    moderation: str = ""  # "removed", "held" or "limited" when the old server's moderators said so


@dataclass
class Archive:
    """A checked archive, still open: call ``read`` for a file's bytes, ``close`` when done."""

    zf: zipfile.ZipFile
    manifest: dict[str, Any]
    actor: dict[str, Any]
    posts: list[ArchivedPost]
    csv: dict[str, bytes]  # kind → the file (kinds of formats.parse_import)
    old_actor: str

    def read(self, name: str) -> bytes:
        expected = self.manifest["files"][name]
        with self.zf.open(name) as handle:
            data = handle.read(expected["size"] + 1)
        if len(data) != expected["size"] or hashlib.sha256(data).hexdigest() != expected["sha256"]:
            raise _refuse(f"{name} changed while it was being read.")
        return data

    def close(self) -> None:
        self.zf.close()


def _check_name(info: zipfile.ZipInfo) -> str:
    name = info.filename
    if "\\" in name or name.startswith("/") or re.match(r"^[A-Za-z]:", name) or any(p in ("..", ".", "") for p in name.rstrip("/").split("/")):
        raise _refuse(f"it holds a file with an unsafe name ({name[:80]!r}).")
    if stat.S_ISLNK(info.external_attr >> 16):
        raise _refuse(f"it holds a link ({name[:80]!r}); archives hold plain files only.")
    if info.flag_bits & 0x1:
        raise _refuse(f"{name[:80]} is encrypted.")
    if info.is_dir():
        if name not in FOLDERS:
            raise _refuse(f"it holds an unexpected folder ({name[:80]!r}).")
        return "folder"
    if name == MANIFEST or name in JSON_FILES or name in CSV_FILES:
        return "document"
    if PROFILE_IMAGE.match(name) or MEDIA_NAME.match(name):
        return "image"
    raise _refuse(f"it holds an unexpected file ({name[:80]!r}); is this a Rostra account archive?")


def _limit_for(name: str) -> int:
    if name == "outbox.json":
        return MAX_JSON_BYTES
    if name in CSV_FILES:
        return formats.MAX_IMPORT_BYTES
    if name.endswith(".json"):
        return MAX_SMALL_JSON_BYTES
    return int(settings.ROSTRA.media_max_bytes)


def _entries(zf: zipfile.ZipFile) -> dict[str, zipfile.ZipInfo]:
    infos = zf.infolist()
    if len(infos) > MAX_ENTRIES:
        raise _refuse(f"it holds more than {MAX_ENTRIES:,} files.")
    found: dict[str, zipfile.ZipInfo] = {}
    total = 0
    for info in infos:
        if info.filename in found:
            raise _refuse(f"{info.filename[:80]} appears twice.")
        if _check_name(info) == "folder":
            continue
        found[info.filename] = info
        if info.file_size > _limit_for(info.filename):
            raise _refuse(f"{info.filename[:80]} is too large ({info.file_size:,} bytes; the limit is {_limit_for(info.filename):,}).")
        if info.file_size > 1024 * 1024 and info.file_size > MAX_RATIO * max(1, info.compress_size):
            raise _refuse(f"{info.filename[:80]} inflates {info.file_size // max(1, info.compress_size):,} times (a ZIP bomb?).")
        total += info.file_size
    if total > MAX_TOTAL_BYTES:
        raise _refuse(f"its files add up to more than {MAX_TOTAL_BYTES // 1024**3} GB.")
    if MANIFEST not in found:
        raise _refuse("it has no manifest.json (only archives made by Rostra's account export can be restored).")
    return found


def _load_json(zf: zipfile.ZipFile, name: str, limit: int) -> Any:
    with zf.open(name) as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise _refuse(f"{name} is too large.")
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise _refuse(f"{name} is not valid JSON.") from None


def _check_manifest(zf: zipfile.ZipFile, entries: dict[str, zipfile.ZipInfo]) -> dict[str, Any]:
    manifest = _load_json(zf, MANIFEST, MAX_SMALL_JSON_BYTES)
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise _refuse("its manifest.json is not a Rostra account archive's.")
    version = manifest.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise _refuse("its manifest.json has no valid format version.")
    if version > VERSION:
        raise _refuse(f"it was made by a newer Rostra (format version {version}; this server reads version {VERSION}). Upgrade this server first.")
    files = manifest.get("files")
    if not isinstance(files, dict):
        raise _refuse("its manifest.json lists no files.")
    listed = set(files)
    present = set(entries) - {MANIFEST}
    if present - listed:
        raise _refuse(f"{sorted(present - listed)[0][:80]} is not in the manifest.")
    if listed - present:
        raise _refuse(f"{sorted(listed - present)[0][:80]} is in the manifest but missing from the archive.")
    for name in ("actor.json", "outbox.json"):
        if name not in listed:
            raise _refuse(f"it has no {name}.")
    for name, expected in files.items():
        if not isinstance(expected, dict) or not isinstance(expected.get("size"), int) or not re.fullmatch(r"[0-9a-f]{64}", str(expected.get("sha256", ""))):
            raise _refuse(f"the manifest's entry for {name[:80]} is not a size and a SHA-256.")
        info = entries[name]
        if info.file_size != expected["size"]:
            raise _refuse(f"{name[:80]} is not the size the manifest says (damaged or altered).")
        with zf.open(info) as handle:
            size, sha = _digest(handle, limit=info.file_size)
        if size != expected["size"] or sha != expected["sha256"]:
            raise _refuse(f"{name[:80]} does not match its checksum in the manifest (damaged or altered).")
    return manifest


def _when(raw: Any, what: str) -> datetime:
    if not isinstance(raw, str):
        raise ValueError(f"{what} is missing")
    value = clock.parse_iso(raw)
    if value is None:
        raise ValueError(f"{what} is not a date with a time zone")
    return value


def _url(raw: Any, what: str, *, required: bool = False) -> str:
    if raw is None and not required:
        return ""
    if isinstance(raw, dict):
        raw = raw.get("id")
    if not isinstance(raw, str) or len(raw) > 2048 or not re.match(r"^https?://[^\s]+$", raw):
        raise ValueError(f"{what} is not an http(s) address")
    return raw


def _visibility(doc: dict[str, Any], actor: str) -> str:
    to, cc = doc.get("to") or [], doc.get("cc") or []
    to = [to] if isinstance(to, str) else to
    cc = [cc] if isinstance(cc, str) else cc
    if not isinstance(to, list) or not isinstance(cc, list):
        raise ValueError("to/cc are not lists")
    if PUBLIC & set(map(str, to)):
        return "public"
    if PUBLIC & set(map(str, cc)):
        return "unlisted"
    if f"{actor}/followers" in to or f"{actor}/followers" in cc:
        return "private"
    return "direct"


def _text(value: Any, what: str, limit: int) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > limit:
        raise ValueError(f"{what} is not text of at most {limit:,} characters")
    return value


def _post(index: int, item: Any, actor: str, media_names: set[str]) -> ArchivedPost:
    if not isinstance(item, dict):
        raise ValueError("not an object")
    kind = item.get("type")
    if kind == "Announce":
        return ArchivedPost(index, _url(item.get("id"), "id", required=True), "repost", _when(item.get("published"), "published"), _visibility(item, actor), quote_of=_url(item.get("object"), "object", required=True))
    if kind != "Create":
        raise ValueError(f"{str(kind)[:40]!r} is neither Create nor Announce")
    note = item.get("object")
    if not isinstance(note, dict) or note.get("type") not in ("Note", "Question"):
        raise ValueError("its object is not a Note")
    if note.get("attributedTo") not in (None, actor):
        raise ValueError("it was written by someone else")
    source = note.get("source")
    if not isinstance(source, dict) or not isinstance(source.get("content"), str):
        raise ValueError("it has no source text (made by another kind of server?)")
    post = ArchivedPost(
        index,
        _url(note.get("id"), "id", required=True),
        "note",
        _when(note.get("published") or item.get("published"), "published"),
        _visibility(note, actor),
        text=_text(source["content"], "source", 100_000),
        spoiler_text=_text(note.get("summary"), "summary", 10_000),
        sensitive=note.get("sensitive") is True,
        in_reply_to=_url(note.get("inReplyTo"), "inReplyTo"),
        quote_of=_url(note.get("quoteUri") or note.get("quoteUrl"), "quoteUri"),
        moderation=str(source.get("rostra:moderation") or "")[:16],
    )
    languages = note.get("contentMap")
    if isinstance(languages, dict) and languages:
        post.language = str(next(iter(languages)))[:16]
    if note.get("updated") is not None:
        post.updated = _when(note.get("updated"), "updated")
    attachments = note.get("attachment") or []
    if not isinstance(attachments, list) or len(attachments) > 16:
        raise ValueError("attachment is not a list of at most 16")
    for att in attachments:
        if not isinstance(att, dict) or att.get("url") not in media_names:
            raise ValueError("an attachment's file is not in the archive")
        focus = att.get("focalPoint") or [0.0, 0.0]
        if not (isinstance(focus, list) and len(focus) == 2 and all(isinstance(f, int | float) and -1 <= f <= 1 for f in focus)):
            raise ValueError("an attachment's focalPoint is not two numbers from -1 to 1")
        post.media.append({"name": att["url"], "description": _text(att.get("name"), "alt text", 10_000), "focus": (float(focus[0]), float(focus[1]))})
    if note.get("type") == "Question":
        options = note.get("anyOf") if "anyOf" in note else note.get("oneOf")
        if not isinstance(options, list) or not all(isinstance(o, dict) for o in options):
            raise ValueError("its poll has no options")
        post.poll_options = [_text(o.get("name"), "a poll option", 1000) for o in options]
        post.poll_multiple = "anyOf" in note
        post.poll_ends_at = _when(note.get("endTime"), "endTime")
    return post


def _posts(doc: Any, actor: str, media_names: set[str]) -> list[ArchivedPost]:
    items = doc.get("orderedItems") if isinstance(doc, dict) else None
    if not isinstance(items, list):
        raise _refuse("outbox.json is not an OrderedCollection of posts.")
    if len(items) > MAX_POSTS:
        raise _refuse(f"it holds more than {MAX_POSTS:,} posts.")
    posts: list[ArchivedPost] = []
    bad: list[str] = []
    seen: set[str] = set()
    for index, item in enumerate(items, start=1):
        try:
            post = _post(index, item, actor, media_names)
            if post.old_uri in seen:
                raise ValueError("the same post appears twice")
            seen.add(post.old_uri)
            posts.append(post)
        except ValueError as exc:
            bad.append(f"outbox.json item {index}: {exc}")
    if bad:
        summary = f"{len(bad)} post{'s' if len(bad) != 1 else ''} in outbox.json cannot be read; nothing was restored."
        raise ValidationError(f"This account archive cannot be restored: {summary}", errors={"archive": [summary], "lines": bad[:MAX_LISTED]})
    return posts


def _actor(doc: Any) -> tuple[dict[str, Any], str]:
    if not isinstance(doc, dict) or doc.get("type") not in ("Person", "Service") or not isinstance(doc.get("preferredUsername"), str):
        raise _refuse("actor.json is not a Person.")
    try:
        old = _url(doc.get("id"), "id", required=True)
    except ValueError:
        raise _refuse("actor.json has no valid id.") from None
    return doc, old


def read_archive(path: Path) -> Archive:
    """Open and check the whole archive (see the module's docstring); ValidationError if it is bad."""
    try:
        size = path.stat().st_size
    except OSError:
        raise _refuse("the file cannot be read.") from None
    if size > MAX_ARCHIVE_BYTES:
        raise _refuse(f"it is larger than {MAX_ARCHIVE_BYTES // 1024**3} GB.")
    try:
        zf = zipfile.ZipFile(path, "r")
    except (zipfile.BadZipFile, OSError, ValueError):
        raise _refuse("it is not a ZIP file.") from None
    try:
        entries = _entries(zf)
        manifest = _check_manifest(zf, entries)
        actor, old_actor = _actor(_load_json(zf, "actor.json", MAX_SMALL_JSON_BYTES))
        media_names = {n for n in entries if MEDIA_NAME.match(n)}
        posts = _posts(_load_json(zf, "outbox.json", MAX_JSON_BYTES), old_actor, media_names)
        csv = {kind: zf.read(name) for name, kind in CSV_FILES.items() if kind and name in entries}
    except (zipfile.BadZipFile, EOFError, OSError, RuntimeError, NotImplementedError, ValueError) as exc:
        zf.close()
        if isinstance(exc, ValidationError):
            raise
        raise _refuse(f"it is damaged ({str(exc)[:120]}).") from None
    except BaseException:
        zf.close()
        raise
    return Archive(zf, manifest, actor, posts, csv, old_actor)


def profile_image(archive: Archive, kind: str) -> str:
    """The archive name of the avatar or header actor.json points at, or ""."""
    image = archive.actor.get("icon" if kind == "avatar" else "image")
    name = image.get("url") if isinstance(image, dict) else None
    return name if isinstance(name, str) and PROFILE_IMAGE.match(name) and name.startswith(kind) and name in archive.manifest["files"] else ""
