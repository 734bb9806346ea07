"""Mastodon entities built from domain objects. Wire formats live here, never on the models.

Ids are strings; times are ISO 8601 in UTC with milliseconds and ``Z``; dates that Mastodon
rounds (an account's ``created_at``, ``last_status_at``) are rounded the same way.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.templatetags.static import static
from django.utils.html import escape

from rostra.accounts.models import Account, Role, User
from rostra.accounts.queries import Relationship
from rostra.api.models import AccessToken, Application
from rostra.core import grants
from rostra.moderation.models import Notice
from rostra.notifications.models import Notification
from rostra.notifications.queries import group_key
from rostra.posts import queries as post_queries
from rostra.posts import remote_media
from rostra.posts.models import Hashtag, Media, Post, QuoteState
from rostra.posts.queries import PollView
from rostra.timelines.filters import FilterResult
from rostra.timelines.models import Filter, FilterKeyword, FilterStatus, List

DEFAULT_AVATAR = "rostra/api/missing-avatar.png"
DEFAULT_HEADER = "rostra/api/missing-header.png"


def timestamp(value: datetime | None) -> str | None:
    """2025-03-04T05:06:07.123Z"""
    if value is None:
        return None
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def midnight(value: datetime | date | None) -> str | None:
    """Mastodon rounds an account's creation time to midnight UTC (it hides the exact time)."""
    if value is None:
        return None
    day = value.astimezone(UTC).date() if isinstance(value, datetime) else value
    return timestamp(datetime.combine(day, time.min, tzinfo=UTC))


def day(value: datetime | None) -> str | None:
    """``last_status_at`` is a date only (YYYY-MM-DD)."""
    return value.astimezone(UTC).date().isoformat() if value else None


def absolute(path: str) -> str:
    return path if path.startswith(("http://", "https://")) else settings.ROSTRA.base_url + path


def media_url(file_name: str, default_static: str) -> str:
    return grants.file_url(file_name, base=settings.ROSTRA.base_url) if file_name else _default_image(default_static, settings.ROSTRA.base_url)


@functools.lru_cache(maxsize=16)
def _default_image(path: str, base_url: str) -> str:
    """The missing avatar and header: the static files' names do not change while a process runs
    (looking them up costs a manifest read per account on every page)."""
    return absolute(static(path))


def _fields(account: Account) -> list[dict[str, Any]]:
    return [
        # value_html was rendered and sanitised when the field was saved; a row without it (older or
        # imported data) is plain text, so it is escaped, never passed on as HTML.
        {"name": f.get("name", ""), "value": f.get("value_html") or escape(f.get("value", "")), "verified_at": None}
        for f in (account.fields or [])
        if isinstance(f, dict)
    ]


def account(a: Account) -> dict[str, Any]:
    profile = absolute(f"/@{a.username}") if a.is_local else absolute(f"/@{a.acct}")
    avatar = media_url(a.avatar, DEFAULT_AVATAR)
    header = media_url(a.header, DEFAULT_HEADER)
    return {
        "id": str(a.pk),
        "username": a.username,
        "acct": a.acct,
        "display_name": a.display_name,
        "locked": a.locked,
        "bot": a.bot,
        "discoverable": a.discoverable,
        "indexable": a.discoverable,
        "group": False,
        "created_at": midnight(a.created_at),
        "note": a.note_html,
        "url": profile,
        "uri": profile,
        "avatar": avatar,
        "avatar_static": avatar,
        "header": header,
        "header_static": header,
        "followers_count": a.followers_count,
        "following_count": a.following_count,
        "statuses_count": a.posts_count,
        "last_status_at": day(a.last_status_at),
        "hide_collections": False,
        "noindex": False,
        "emojis": [],
        "roles": [],
        "fields": _fields(a),
        **_moved(a),
    }


def _moved(a: Account) -> dict[str, Any]:
    """Mastodon's ``moved``: the account this one moved to (itself without a ``moved`` of its own)."""
    if a.moved_to_id is None or a.moved_to is None:
        return {"moved": None}
    target = account(a.moved_to)
    target["moved"] = None
    return {"moved": target}


ROLE_IDS = {Role.MEMBER: "-99", Role.MODERATOR: "2", Role.ADMIN: "3"}


def role(user: User | None) -> dict[str, Any]:
    r = user.role if user is not None else Role.MEMBER
    # Mastodon's permission bits: 1 administrator, 1<<4 manage reports, 1<<8 manage users.
    permissions = {Role.MEMBER: 0, Role.MODERATOR: (1 << 4) | (1 << 8), Role.ADMIN: 1}[Role(r)]
    name = "" if r == Role.MEMBER else Role(r).label
    return {"id": ROLE_IDS[Role(r)], "name": name, "permissions": str(permissions), "color": "", "highlighted": r != Role.MEMBER}


def credential_account(a: Account, *, follow_requests_count: int) -> dict[str, Any]:
    """The signed-in person's own account, with ``source`` (what they typed) and ``role``."""
    user = a.user
    out = account(a)
    out["source"] = {
        "privacy": user.default_visibility if user else "public",
        "sensitive": bool(user.default_sensitive) if user else False,
        "language": user.default_language if user else "",
        "note": a.note,
        "fields": [
            {"name": f.get("name", ""), "value": f.get("value", ""), "verified_at": None}
            for f in (a.fields or [])
            if isinstance(f, dict)
        ],
        "follow_requests_count": follow_requests_count,
        "hide_collections": False,
        "discoverable": a.discoverable,
        "indexable": a.discoverable,
        "attribution_domains": [],
    }
    out["role"] = role(user)
    return out


def application(app: Application, *, client_secret: str | None = None) -> dict[str, Any]:
    """The Application entity; ``client_id``/``client_secret`` only at registration."""
    uris = app.redirect_uri_list
    out: dict[str, Any] = {
        "id": str(app.pk),
        "name": app.name,
        "website": app.website or None,
        "scopes": app.scopes.split(),
        "redirect_uri": "\n".join(uris),
        "redirect_uris": uris,
        "vapid_key": "",
    }
    if client_secret is not None:
        out.update(client_id=app.client_id, client_secret=client_secret, client_secret_expires_at=0)
    return out


def token(row: AccessToken, value: str) -> dict[str, Any]:
    return {"access_token": value, "token_type": "Bearer", "scope": row.scopes, "created_at": int(row.created_at.timestamp())}


# --- Statuses ---------------------------------------------------------------------------------


def status_url(post: Post) -> str:
    return absolute(f"/@{post.author.username}/{post.pk}")


def _granted(file_name: str, viewer_id: int | None) -> str:
    """The file's URL; for a signed-in viewer with a grant, so apps (whose ``<img>`` requests carry
    no token) can load the images of posts the door lets that viewer see (``rostra.core.grants``)."""
    return grants.file_url(file_name, viewer_id, base=settings.ROSTRA.base_url)


def media_attachment(m: Media, viewer_id: int | None = None, origin: remote_media.Origin | None = None) -> dict[str, Any]:
    """Mastodon's MediaAttachment; with ``viewer_id``, its URLs carry that viewer's grant.

    A remote post's attachment has an ``origin`` (``remote_url``, ``blurhash``); while no file of
    it is stored here (not fetched yet, failed, pruned, or a video or audio file), ``url`` is the
    remote URL, as Mastodon answers for media it has not downloaded."""
    if origin is None and m.awaiting_file:
        origin = remote_media.origins([m.pk]).get(m.pk)
    small = {"width": m.width, "height": m.height, "size": f"{m.width}x{m.height}", "aspect": (m.width / m.height) if m.height else 1.0}
    if m.awaiting_file:
        url = origin.url if origin is not None else ""  # always has one: written with the row
        kind = origin.kind if origin is not None else "unknown"
        preview = url if kind == "image" and url else None
        meta: dict[str, Any] = {"original": small, "small": small} if m.width and m.height else {}
    else:
        url = _granted(m.file, viewer_id)
        preview = _granted(m.thumbnail, viewer_id) if m.thumbnail else url
        kind, meta = "image", {"original": small, "small": small}
    return {
        "id": str(m.pk),
        "type": kind,
        "url": url,
        "preview_url": preview,
        "remote_url": origin.url if origin is not None else None,
        "preview_remote_url": None,
        "text_url": None,
        "meta": {**meta, "focus": {"x": m.focus_x, "y": m.focus_y}},
        "description": m.description or None,
        "blurhash": (origin.blurhash or None) if origin is not None else None,
    }


def poll(view: PollView) -> dict[str, Any]:
    """Mastodon's Poll. While totals are hidden, option counts are null (as Mastodon answers);
    ``voters_count`` is null for single-choice polls (Mastodon: only multiple-choice polls count voters)."""
    return {
        "id": str(view.id),
        "expires_at": timestamp(view.expires_at),
        "expired": view.expired,
        "multiple": view.multiple,
        "votes_count": view.votes_count,
        "voters_count": view.voters_count if view.multiple else None,
        "voted": view.voted,
        "own_votes": view.own_votes,
        "options": [{"title": o.title, "votes_count": o.votes_count} for o in view.options],
        "emojis": [],
    }


def tag(h: Hashtag, *, following: bool | None = None) -> dict[str, Any]:
    return {"id": str(h.pk), "name": h.display_name or h.name, "url": absolute(f"/tags/{h.name}"), "history": [], "following": following}


def mention(a: Account) -> dict[str, Any]:
    return {"id": str(a.pk), "username": a.username, "url": absolute(f"/@{a.acct}"), "acct": a.acct}


def list_entity(lst: List) -> dict[str, Any]:
    """Mastodon's List."""
    return {"id": str(lst.pk), "title": lst.title, "replies_policy": lst.replies_policy, "exclusive": lst.exclusive}


def filter_entity(f: Filter) -> dict[str, Any]:
    """Mastodon's v2 Filter, with its keywords and statuses (prefetched or one query each)."""
    return {
        "id": str(f.pk),
        "title": f.title,
        "context": list(f.context or []),
        "expires_at": timestamp(f.expires_at),
        "filter_action": f.action,
        "keywords": [filter_keyword(k) for k in f.keywords.all()],
        "statuses": [filter_status(s) for s in f.statuses.all()],
    }


def filter_keyword(k: FilterKeyword) -> dict[str, Any]:
    return {"id": str(k.pk), "keyword": k.keyword, "whole_word": k.whole_word}


def filter_status(s: FilterStatus) -> dict[str, Any]:
    return {"id": str(s.pk), "status_id": str(s.post_id)}


def filter_result(r: FilterResult) -> dict[str, Any]:
    return {
        "filter": filter_entity(r.filter),
        "keyword_matches": r.keyword_matches or None,
        "status_matches": [str(i) for i in r.status_matches] or None,
    }


@dataclass
class StatusPage:
    """What a page of statuses needs beyond the posts (each asked once per page, not per post).

    ``pinned``: ids of the viewer's own pinned posts; ``muted_threads``: thread ids the viewer
    muted; ``filtered``: warn-filter results by post id (``apply_filters``)."""

    viewer: Account | None
    tags: dict[int, list[Hashtag]] = field(default_factory=dict)
    mentions: dict[int, list[Account]] = field(default_factory=dict)
    pinned: set[int] = field(default_factory=set)
    muted_threads: set[int] = field(default_factory=set)
    filtered: dict[int, list[FilterResult]] = field(default_factory=dict)
    media_origins: dict[int, remote_media.Origin] = field(default_factory=dict)  # remote attachments' remote_url
    remote_addresses: dict[int, tuple[str, str]] = field(default_factory=dict)  # remote posts: (ActivityPub id, URL)
    accounts: dict[int, dict[str, Any]] = field(default_factory=dict)  # authors' entities, built once per page

    def account(self, a: Account) -> dict[str, Any]:
        """The author's Account entity, built once however many of the page's posts are theirs
        (the same dict in each: entities are never changed once built)."""
        built = self.accounts.get(a.pk)
        if built is None:
            built = self.accounts[a.pk] = account(a)
        return built


def status_page(posts: Sequence[Post], viewer: Account | None, *, filtered: dict[int, list[FilterResult]] | None = None) -> StatusPage:
    """Load what ``status`` needs for all of ``posts`` (and what they repost or quote) at once."""
    ids = post_queries.page_ids_of(posts)
    tags, mentions = post_queries.tags_and_mentions(ids)
    page = StatusPage(viewer=viewer, tags=tags, mentions=mentions, filtered=filtered or {})
    # Remote posts' attachments (their media are prefetched with the page): one query for all.
    shown = [p.repost_of if p.repost_of_id else p for p in posts]
    page.media_origins = remote_media.origins([m.pk for p in shown if p is not None and not p.author.is_local for m in p.media.all()])
    remote_ids = [p.pk for p in shown if p is not None and not p.author.is_local]
    remote_ids += [p.quote_of_id for p in shown if p is not None and p.quote_of_id and p.quote_of is not None and not p.quote_of.author.is_local]
    page.remote_addresses = post_queries.remote_addresses(remote_ids)
    if viewer is not None:
        threads = post_queries.thread_ids_of(posts)
        marks = post_queries.page_marks(viewer, posts)  # asked with the likes when the posts were fetched
        if marks is not None and ids <= marks.page_ids and threads <= marks.thread_ids:
            page.pinned, page.muted_threads = set(marks.pinned & ids), set(marks.muted_threads & threads)
        else:
            page.pinned = post_queries.pinned_ids(viewer, ids)
            page.muted_threads = post_queries.muted_thread_ids(viewer, threads)
    return page


def statuses(posts: Sequence[Post], viewer: Account | None, *, filtered: dict[int, list[FilterResult]] | None = None) -> list[dict[str, Any]]:
    page = status_page(posts, viewer, filtered=filtered)
    return [status(p, page) for p in posts]


def one_status(post: Post, viewer: Account | None) -> dict[str, Any]:
    return statuses([post], viewer)[0]


def _viewer_flag(post: Post, name: str, page: StatusPage) -> bool | None:
    if page.viewer is None:
        return None
    return bool(getattr(post, name, False))


def _quote(post: Post, page: StatusPage) -> dict[str, Any] | None:
    """Mastodon 4.5's Quote: ``state`` and the quoted status when the viewer may see it."""
    if post.quote_of_id is None:
        return None
    if post.quote_state == QuoteState.DETACHED:
        return {"state": "revoked", "quoted_status": None}
    if not post_queries.quote_is_visible(page.viewer, post) or post.quote_of is None:
        return {"state": "unauthorized", "quoted_status": None}
    quoted = post.quote_of
    return {"state": "accepted", "quoted_status": status(quoted, page, nested=True)}


def status(post: Post, page: StatusPage, *, nested: bool = False) -> dict[str, Any]:
    """Mastodon's Status. A repost is a status whose ``reblog`` is the reposted one; the viewer's
    flags (favourited, reblogged, bookmarked) are those of the reposted post, as the door marked."""
    reblog = None
    if post.repost_of_id and post.repost_of is not None:
        inner = post.repost_of
        for flag in ("viewer_liked", "viewer_bookmarked", "viewer_reposted"):
            if hasattr(post, flag):
                setattr(inner, flag, getattr(post, flag))
        if hasattr(post, "repost_quote_visible"):
            inner.quote_visible = post.repost_quote_visible  # type: ignore[attr-defined]
        reblog = status(inner, page, nested=True)
    spoiler = post.spoiler_text
    if post.moderation_label and not spoiler:
        spoiler = post.moderation_label  # the moderators' content warning, as clients show a CW
    view = post_queries.poll_for_post(page.viewer, post) if not post.repost_of_id else None
    results = page.filtered.get(post.pk, [])
    out: dict[str, Any] = {
        "id": str(post.pk),
        # Mastodon's: the ActivityPub id and the page on the author's own server for a remote post
        "uri": page.remote_addresses[post.pk][0] if post.pk in page.remote_addresses else status_url(post),
        "url": page.remote_addresses[post.pk][1] if post.pk in page.remote_addresses else status_url(post),
        "created_at": timestamp(post.created_at),
        "account": page.account(post.author),
        "content": "" if post.repost_of_id else post.content_html,
        "visibility": post.visibility,
        "sensitive": bool(post.sensitive or post.moderation_label),
        "spoiler_text": spoiler,
        "media_attachments": [media_attachment(m, page.viewer.pk if page.viewer else None, page.media_origins.get(m.pk)) for m in post.media.all()] if not post.repost_of_id else [],
        "application": None,
        "mentions": [mention(a) for a in page.mentions.get(post.pk, [])],
        "tags": [tag(h) for h in page.tags.get(post.pk, [])],
        "emojis": [],
        "reblogs_count": post.reposts_count,
        "favourites_count": post.likes_count,
        "replies_count": post.replies_count,
        "quotes_count": post.quotes_count,
        "in_reply_to_id": str(post.in_reply_to_id) if post.in_reply_to_id else None,
        "in_reply_to_account_id": str(post.in_reply_to_account_id) if post.in_reply_to_account_id else None,
        "reblog": reblog,
        "quote": None if post.repost_of_id else _quote(post, page),
        "poll": poll(view) if view is not None else None,
        "card": None,
        "language": post.language or None,
        "text": None,
        "edited_at": timestamp(post.edited_at),
        "filtered": [filter_result(r) for r in results],
    }
    # The viewer's flags; null for an anonymous reader (and ``pinned`` for others' posts), so
    # every status has every field, as the schema declares them.
    out["favourited"] = _viewer_flag(post, "viewer_liked", page)
    out["reblogged"] = _viewer_flag(post, "viewer_reposted", page)
    out["bookmarked"] = _viewer_flag(post, "viewer_bookmarked", page)
    out["muted"] = (post.thread_id or post.pk) in page.muted_threads if page.viewer is not None else None
    out["pinned"] = post.pk in page.pinned if page.viewer is not None and post.author_id == page.viewer.pk and not post.repost_of_id else None
    if nested:
        out["filtered"] = None
    return out


def relationship(target: Account, r: Relationship, *, requested_by: bool = False, muting_notifications: bool | None = None) -> dict[str, Any]:
    return {
        "id": str(target.pk),
        "following": r.following,
        "showing_reblogs": r.following,
        "notifying": False,
        "languages": None,
        "followed_by": r.followed_by,
        "blocking": r.blocking,
        "blocked_by": r.blocked_by,
        "muting": r.muting,
        "muting_notifications": r.muting if muting_notifications is None else muting_notifications,
        "requested": r.requested,
        "requested_by": requested_by,
        "domain_blocking": False,
        "endorsed": r.endorsed,
        "note": r.note,
    }


# --- Notifications ----------------------------------------------------------------------------

# Rostra's kinds as Mastodon's types. A reply is a ``mention`` (Mastodon has no reply type); a
# quote is Mastodon 4.5's ``quote``; the moderators' notices are ``moderation_warning``.
NOTIFICATION_TYPES = {
    "mention": "mention",
    "reply": "mention",
    "reblog": "reblog",
    "quote": "quote",
    "favourite": "favourite",
    "follow": "follow",
    "follow_request": "follow_request",
    "poll": "poll",
    "move": "move",
    "moderation_warning": "moderation_warning",
    "appeal_decided": "moderation_warning",
    "jury_summons": "moderation_warning",
}

# Mastodon's AccountWarning actions for Rostra's moderation actions.
WARNING_ACTIONS = {
    "remove": "delete_statuses",
    "label": "mark_statuses_as_sensitive",
    "limit": "silence",
    "hold": "none",
    "hold_account": "silence",
    "suspend": "suspend",
    "ban": "suspend",
    "warn": "none",
}


def account_warning(notice: Notice) -> dict[str, Any]:
    """Mastodon's AccountWarning, from a moderation notice (the rule and the evidence are in ``text``)."""
    action = notice.action
    return {
        "id": str(notice.pk),
        "action": WARNING_ACTIONS.get(action.kind, "none"),
        "text": f"{notice.subject}\n\n{notice.body}",
        "status_ids": [str(action.post_id)] if action.post_id else [],
        "target_account": account(notice.account),
        "appeal": _appeal(action),
        "created_at": timestamp(notice.created_at),
    }


# Mastodon's Appeal states for Rostra's appeal statuses (a jury's pending verdict is "pending").
APPEAL_STATES = {"open": "pending", "jury": "pending", "reversed": "approved", "upheld": "rejected"}


def _appeal(action: Any) -> dict[str, Any] | None:
    """Mastodon's Appeal (``{text, state}``) when the person appealed this action."""
    try:
        appeal = action.appeal
    except ObjectDoesNotExist:
        return None
    return {"text": appeal.statement, "state": APPEAL_STATES.get(appeal.status, "pending")}


def notification(n: Notification, status_of: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """Mastodon's Notification; ``status_of`` maps post ids to Status entities built for the page."""
    out: dict[str, Any] = {
        "id": str(n.pk),
        "type": NOTIFICATION_TYPES.get(n.kind, n.kind),
        "created_at": timestamp(n.created_at),
        "group_key": group_key(n),  # the same key as the grouped notifications (Mastodon 4.3)
        "account": account(n.actor),
    }
    if n.post_id is not None and n.post_id in status_of:
        out["status"] = status_of[n.post_id]
    if n.notice_id is not None and n.notice is not None:
        out["moderation_warning"] = account_warning(n.notice)
    if n.kind == "move" and n.actor.moved_to is not None:
        out["target"] = account(n.actor.moved_to)  # Mastodon's move: account moved to target
    return out


def notifications(rows: Sequence[Notification], viewer: Account, *, filtered: dict[int, list[FilterResult]] | None = None) -> list[dict[str, Any]]:
    """A page of notifications, their statuses built in one batch (``filtered``: warn results)."""
    ids = [n.post_id for n in rows if n.post_id is not None]
    posts = list(post_queries.with_viewer_state(post_queries.visible_posts(viewer).filter(pk__in=ids), viewer)) if ids else []
    built = dict(zip((p.pk for p in posts), statuses(posts, viewer, filtered=filtered), strict=True))
    return [notification(n, built) for n in rows]
