"""The wire formats of export and import: ActivityStreams for the archive, Mastodon's CSVs.

Other servers read these files, so the shapes follow Mastodon's: an archive holds ``actor.json``
(a Person), ``outbox.json`` (Create and Announce activities), ``likes.json`` and
``bookmarks.json`` (collections of post URLs); the CSVs are Mastodon's import formats, with the
same optional header rows. Parsing checks a whole file before anything is applied, so a bad
file is refused with every bad line named, and nothing is written.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

from rostra.accounts.models import Account
from rostra.core.errors import ValidationError
from rostra.posts.addressing import addressing
from rostra.posts.models import Media, Poll, Post, QuoteState

AS_CONTEXT = "https://www.w3.org/ns/activitystreams"
MEDIA_FOLDER = "media_attachments/files"

MAX_IMPORT_BYTES = 1024 * 1024
MAX_IMPORT_ROWS = 20_000
MAX_LISTED_ERRORS = 50

# Mastodon's headers (app/models/form/import.rb): the first is also the column of headerless files.
HEADERS = {
    "following": ["Account address", "Show boosts", "Notify on new posts", "Languages"],
    "blocks": ["Account address"],
    "mutes": ["Account address", "Hide notifications"],
    "lists": ["List name", "Account address"],
    "bookmarks": ["#uri"],
}
HEADERLESS = {
    "following": ["Account address"],
    "blocks": ["Account address"],
    "mutes": ["Account address"],
    "lists": ["List name", "Account address"],
    "bookmarks": ["#uri"],
}
KNOWN_FIRST_HEADERS = {"Account address", "List name", "#uri", "#domain"}
# The file names Mastodon (and Rostra) give their exports, to catch a file chosen under the wrong type.
FILE_NAME_KINDS = (
    ("following_accounts", "following"),
    ("follows", "following"),
    ("blocked_accounts", "blocks"),
    ("blocks", "blocks"),
    ("muted_accounts", "mutes"),
    ("mutes", "mutes"),
    ("bookmarks", "bookmarks"),
    ("lists", "lists"),
)
KIND_NAMES = {
    "following": "people you follow",
    "blocks": "blocked accounts",
    "mutes": "muted accounts",
    "lists": "lists",
    "bookmarks": "bookmarks",
}

ACCT_RE = re.compile(
    r"^(?P<user>[A-Za-z0-9_][A-Za-z0-9_.-]{0,63})(?:@(?P<domain>[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?(?::[0-9]{1,5})?))?$"
)
LOCAL_POST_PATH = re.compile(r"^/@(?P<user>[A-Za-z0-9_]{1,30})/(?P<id>[0-9]{1,19})/?$")
TRUE = {"true", "1", "t", "yes", "y", "on"}
FALSE = {"false", "0", "f", "no", "n", "off"}
SPREADSHEET_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


# --- Addresses ---------------------------------------------------------------------------------


def base_url() -> str:
    return str(settings.ROSTRA.base_url)


def acct(account: Account) -> str:
    """The account's full address, as other servers write it: ``user@domain``."""
    return f"{account.username}@{account.domain or settings.ROSTRA.domain}"


def actor_url(account: Account) -> str:
    """An account's address: ours for a local one; a remote one's own actor id (federation's
    ``RemoteActor``, the ``remote_actor`` relation), never ``/@name`` here, which names a local
    account of the same name."""
    if not account.is_local:
        remote = getattr(account, "remote_actor", None)  # a missing reverse one-to-one raises AttributeError
        return str(remote.uri) if remote is not None else f"{base_url()}/@{account.acct}"
    return f"{base_url()}/@{account.username}"


def post_url(post: Post) -> str:
    """A post's address for another server: ours for a local post; a remote post's own
    ActivityPub id (federation's ``RemotePost``, the ``remote`` relation), so an archive's
    bookmarks, likes and replies name what any server can resolve."""
    if not post.author.is_local:
        remote = getattr(post, "remote", None)  # a missing reverse one-to-one raises AttributeError
        if remote is not None:
            return str(remote.uri)
        return f"{base_url()}/@{post.author.acct}/{post.pk}"
    return f"{base_url()}/@{post.author.username}/{post.pk}"


def is_local_domain(domain: str) -> bool:
    domain = domain.lower()
    return not domain or domain in {settings.ROSTRA.domain.lower(), settings.ROSTRA.hostname.lower()}


@dataclass(frozen=True)
class Address:
    username: str
    domain: str  # "" for this server

    @property
    def is_local(self) -> bool:
        return self.domain == ""


def parse_acct(raw: str) -> Address | None:
    """``user``, ``@user``, ``user@domain`` or ``@user@domain``; None if it is none of these."""
    m = ACCT_RE.match(raw.strip().removeprefix("@"))
    if m is None:
        return None
    domain = m.group("domain") or ""
    return Address(m.group("user"), "" if is_local_domain(domain) else domain.lower())


@dataclass(frozen=True)
class PostAddress:
    url: str
    username: str | None  # set for this server's posts
    post_id: int | None


def parse_post_url(raw: str) -> PostAddress | None:
    """An http(s) URL; for this server's post pages, the author and id it names."""
    url = raw.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc or any(c.isspace() for c in url):
        return None
    if not is_local_domain(parts.netloc):
        return PostAddress(url, None, None)
    m = LOCAL_POST_PATH.match(parts.path)
    if m is None:
        return PostAddress(url, "", None)  # ours, but not a post's address
    return PostAddress(url, m.group("user"), int(m.group("id")))


# --- The archive: ActivityStreams --------------------------------------------------------------


def _image(kind: str, name: str, arc_name: str) -> dict[str, Any] | None:
    if not name:
        return None
    ext = name.rsplit(".", 1)[-1]
    media_type = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp"}.get(ext, "application/octet-stream")
    return {"type": "Image", "mediaType": media_type, "url": arc_name, "name": kind}


def archive_name(kind: str, file_name: str) -> str:
    """``avatar.png`` / ``header.webp``: the profile images' names inside the archive."""
    return f"{kind}.{file_name.rsplit('.', 1)[-1]}" if file_name else ""


def actor(account: Account) -> dict[str, Any]:
    """The account as an ActivityStreams Person, pointing at the archive's own files."""
    url = actor_url(account)
    doc: dict[str, Any] = {
        "@context": [
            AS_CONTEXT,
            {
                "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
                "discoverable": "toot:discoverable",
                "toot": "http://joinmastodon.org/ns#",
                "PropertyValue": "schema:PropertyValue",
                "schema": "http://schema.org#",
                "value": "schema:value",
            },
        ],
        "id": url,
        "type": "Service" if account.bot else "Person",
        "preferredUsername": account.username,
        "name": account.display_name,
        "summary": account.note_html,
        "url": url,
        "published": account.created_at.isoformat(),
        "manuallyApprovesFollowers": account.locked,
        "discoverable": account.discoverable,
        "followers": f"{url}/followers",
        "following": f"{url}/following",
        "outbox": "outbox.json",
        "likes": "likes.json",
        "bookmarks": "bookmarks.json",
        "attachment": [
            {"type": "PropertyValue", "name": f.get("name", ""), "value": f.get("value_html") or f.get("value", "")}
            for f in (account.fields or [])
        ],
    }
    # The profile as typed, for a Rostra restoring it (the HTML above is what others read).
    doc["source"] = {
        "note": account.note,
        "fields": [{"name": f.get("name", ""), "value": f.get("value", "")} for f in (account.fields or [])],
        "bot": account.bot,
    }
    icon = _image("avatar", account.avatar, archive_name("avatar", account.avatar))
    header = _image("header", account.header, archive_name("header", account.header))
    if icon:
        doc["icon"] = icon
    if header:
        doc["image"] = header
    return doc


def _audience(post: Post, mentions: list[Account]) -> tuple[list[str], list[str]]:
    return addressing(post.visibility, f"{actor_url(post.author)}/followers", [actor_url(a) for a in mentions])


def attachment(media: Media) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "type": "Document",
        "mediaType": media.content_type,
        "url": f"{MEDIA_FOLDER}/{media.file}",
        "name": media.description or None,
        "width": media.width,
        "height": media.height,
    }
    if media.focus_x or media.focus_y:
        doc["focalPoint"] = [media.focus_x, media.focus_y]
    return doc


def _poll_fields(poll: Poll) -> dict[str, Any]:
    """A poll as Mastodon writes a Question's options (``oneOf``/``anyOf``) and end."""
    options = [
        {"type": "Note", "name": o.title, "replies": {"type": "Collection", "totalItems": o.votes_count}}
        for o in poll.options.all()
    ]
    return {"anyOf" if poll.multiple else "oneOf": options, "endTime": poll.expires_at.isoformat(), "votersCount": poll.voters_count}


def activity(
    post: Post, *, media: list[Media], tags: list[str], mentions: list[Account], poll: Poll | None = None
) -> dict[str, Any]:
    """A post as Mastodon's archive writes it: a Create of a Note (a Question with a poll), or an
    Announce of a repost. ``source`` keeps the text as typed (the latest edit), so another Rostra
    can restore the post exactly (``rostra import-account``)."""
    url = post_url(post)
    to, cc = _audience(post, mentions)
    published = post.created_at.isoformat()
    if post.repost_of is not None:
        return {
            "id": f"{url}/activity",
            "type": "Announce",
            "actor": actor_url(post.author),
            "published": published,
            "to": to,
            "cc": cc,
            "object": post_url(post.repost_of),
        }
    note: dict[str, Any] = {
        "id": url,
        "type": "Note",
        "summary": post.spoiler_text or None,
        "inReplyTo": post_url(post.in_reply_to) if post.in_reply_to is not None else None,
        "published": published,
        "url": url,
        "attributedTo": actor_url(post.author),
        "to": to,
        "cc": cc,
        "sensitive": post.sensitive,
        "content": post.content_html,
        "attachment": [attachment(m) for m in media],
        "tag": [{"type": "Hashtag", "href": f"{base_url()}/tags/{t}", "name": f"#{t}"} for t in tags]
        + [{"type": "Mention", "href": actor_url(a), "name": f"@{acct(a)}"} for a in mentions],
    }
    note["source"] = {"content": post.text, "mediaType": "text/plain"}
    if post.moderation_state != "published":
        # What the moderators here decided travels with it: a restore never publishes a post that
        # was removed, held for review or limited (rostra.portability.restore).
        note["source"]["rostra:moderation"] = post.moderation_state
    if poll is not None:
        note["type"] = "Question"
        note.update(_poll_fields(poll))
    if post.language:
        note["contentMap"] = {post.language: post.content_html}
    if post.edited_at is not None:
        note["updated"] = post.edited_at.isoformat()
    if post.quote_of is not None and post.quote_state == QuoteState.ACCEPTED:
        note["quoteUri"] = post_url(post.quote_of)
    return {
        "id": f"{url}/activity",
        "type": "Create",
        "actor": actor_url(post.author),
        "published": published,
        "to": to,
        "cc": cc,
        "object": note,
    }


def collection_head(name: str) -> str:
    """The start of an OrderedCollection whose items are written one by one (see ``collection_tail``)."""
    return f'{{"@context": "{AS_CONTEXT}", "id": "{name}", "type": "OrderedCollection", "orderedItems": ['


def collection_tail(count: int) -> str:
    return f'], "totalItems": {count}}}'


# --- CSV out -----------------------------------------------------------------------------------


def _cell(value: str) -> str:
    # A name a spreadsheet would run as a formula is written with a leading apostrophe
    # (and read back without it): lists.csv carries names people typed.
    return f"'{value}" if value.startswith(SPREADSHEET_TRIGGERS) or value.startswith("'") else value


def csv_lines(rows: Iterable[list[str]], header: list[str] | None = None) -> Iterator[str]:
    """CSV text, one line at a time, for streaming."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for row in _with_header(rows, header):
        writer.writerow(row)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


def _with_header(rows: Iterable[list[str]], header: list[str] | None) -> Iterator[list[str]]:
    if header:
        yield header
    yield from rows


def following_row(follow_acct: str, show_reposts: bool, notify: bool) -> list[str]:
    return [follow_acct, "true" if show_reposts else "false", "true" if notify else "false", ""]


def muted_row(muted_acct: str, hide_notifications: bool) -> list[str]:
    return [muted_acct, "true" if hide_notifications else "false"]


def list_row(title: str, member_acct: str) -> list[str]:
    return [_cell(title), member_acct]


# --- CSV in ------------------------------------------------------------------------------------


@dataclass
class ParsedFile:
    kind: str
    rows: list[dict[str, Any]] = field(default_factory=list)


def _decode(data: bytes) -> str:
    if b"\x00" in data:
        raise ValidationError("This is not a CSV file: it contains binary data. Upload a .csv text file.", field="file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError("This is not a CSV file Rostra can read: it is not UTF-8 text.", field="file") from None


def _guess_from_name(file_name: str) -> str | None:
    base = file_name.rsplit("/", 1)[-1].lower()
    for prefix, kind in FILE_NAME_KINDS:
        if base.startswith(prefix):
            return kind
    return None


def _guess_from_header(header: list[str]) -> str | None:
    if "Hide notifications" in header:
        return "mutes"
    if {"Show boosts", "Notify on new posts", "Languages"} & set(header):
        return "following"
    if header[:1] == ["List name"]:
        return "lists"
    if header[:1] == ["#uri"]:
        return "bookmarks"
    if header[:1] == ["#domain"]:
        return "domain blocks"
    return None


def _wrong_type(kind: str, guessed: str, why: str) -> ValidationError:
    named = KIND_NAMES.get(guessed, guessed)
    return ValidationError(
        f"This file looks like {named} ({why}), but you chose to import {KIND_NAMES[kind]}. Choose the matching type.",
        field="file",
    )


def _flag(raw: str | None, default: bool) -> bool | None:
    value = (raw or "").strip().lower()
    if not value:
        return default
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    return None


def _row(kind: str, cells: dict[str, str], extra: bool) -> tuple[dict[str, Any] | None, str]:
    """One row as stored for the job, or the reason it is wrong."""
    if kind == "bookmarks":
        if extra:
            return None, "expected one column: a post's address"
        post = parse_post_url(cells.get("#uri", ""))
        return ({"url": post.url}, "") if post else (None, "not a post's address (an http or https URL)")
    if kind == "lists":
        title = cells.get("List name", "").strip()
        if title.startswith("'") and title[1:].startswith((*SPREADSHEET_TRIGGERS, "'")):
            title = title[1:]
        if not title or len(title) > 100:
            return None, "a list name of 1 to 100 characters is needed"
    elif extra:
        return None, "expected one column: an account address (a lists file? choose the right type)"
    raw_acct = cells.get("Account address", "")
    address = parse_acct(raw_acct)
    if address is None:
        return None, "not an account address (user or user@server)"
    row: dict[str, Any] = {"acct": f"{address.username}@{address.domain}" if address.domain else address.username}
    if kind == "lists":
        row["list"] = title
    elif kind == "following":
        reposts, notify = _flag(cells.get("Show boosts"), True), _flag(cells.get("Notify on new posts"), False)
        if reposts is None or notify is None:
            return None, "Show boosts and Notify on new posts must be true or false"
        row.update(show_reposts=reposts, notify=notify)
    elif kind == "mutes":
        hide = _flag(cells.get("Hide notifications"), True)
        if hide is None:
            return None, "Hide notifications must be true or false"
        row["hide_notifications"] = hide
    return row, ""


def parse_import(kind: str, data: bytes, file_name: str = "") -> ParsedFile:
    """Check a whole uploaded CSV; raise ValidationError naming every bad line (up to 50)."""
    if kind not in HEADERS:
        raise ValidationError("Choose what the file holds: follows, blocks, mutes, lists or bookmarks.", field="kind")
    if len(data) > MAX_IMPORT_BYTES:
        raise ValidationError(f"The file is too large: the limit is {MAX_IMPORT_BYTES // 1024 // 1024} MB.", field="file")
    guessed = _guess_from_name(file_name)
    if guessed and guessed != kind:
        raise _wrong_type(kind, guessed, f"its name is {file_name.rsplit('/', 1)[-1]}")
    reader = csv.reader(io.StringIO(_decode(data), newline=""), strict=True)
    parsed = ParsedFile(kind)
    bad: list[str] = []
    header: list[str] | None = None
    try:
        for cells in reader:
            line = reader.line_num
            if not any(c.strip() for c in cells):
                continue
            if header is None:
                first = cells[0].strip()
                if first in KNOWN_FIRST_HEADERS:
                    header = [c.strip() for c in cells]
                    named = _guess_from_header(header)
                    if named != kind and (named is not None or not all(h in header for h in HEADERS[kind][:1])):
                        raise _wrong_type(kind, named or "another type", "from its header row")
                    continue
                header = HEADERLESS[kind]
            values = dict(zip(header, (c.strip() for c in cells), strict=False))
            extra = len(cells) > len(header) and any(c.strip() for c in cells[len(header) :])
            row, reason = _row(kind, values, extra)
            if row is None:
                bad.append(f"line {line}: {reason}")
                continue
            if len(parsed.rows) >= MAX_IMPORT_ROWS:
                raise ValidationError(f"The file has too many rows: the limit is {MAX_IMPORT_ROWS:,}.", field="file")
            parsed.rows.append({"line": line, **row})
    except csv.Error as exc:
        raise ValidationError(f"This is not a valid CSV file (line {reader.line_num}: {exc}).", field="file") from None
    if bad:
        shown = bad[:MAX_LISTED_ERRORS]
        more = f" …and {len(bad) - len(shown)} more." if len(bad) > len(shown) else ""
        summary = f"{len(bad)} line{'s' if len(bad) != 1 else ''} of the file cannot be read; nothing was imported."
        raise ValidationError(summary, errors={"file": [summary], "lines": [*shown, *([more.strip()] if more else [])]})
    if not parsed.rows:
        raise ValidationError("The file is empty: it names nothing to import.", field="file")
    return parsed
