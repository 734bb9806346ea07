"""Mastodon entities built from domain objects. Wire formats live here, never on the models.

Ids are strings; times are ISO 8601 in UTC with milliseconds and ``Z``; dates that Mastodon
rounds (an account's ``created_at``, ``last_status_at``) are rounded the same way.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

from django.conf import settings
from django.templatetags.static import static

from rostra.accounts.models import Account, Role, User
from rostra.api.models import AccessToken, Application

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
    return absolute(f"/media/{file_name}" if file_name else static(default_static))


def _fields(account: Account) -> list[dict[str, Any]]:
    return [
        {"name": f.get("name", ""), "value": f.get("value_html") or f.get("value", ""), "verified_at": None}
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
    }


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
        "language": "",
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
