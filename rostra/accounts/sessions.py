"""Where a person is signed in: their web sessions and the apps holding their tokens, each endable.

A ``UserSession`` row shadows each signed-in Django session, so that Settings → Security can list
them (when, from where, with which browser) and end any of them, and so that a password change,
a password reset or an account deletion finds a person's sessions without decoding every
session in the store.

The life of a row:

    Django's ``login()`` --user_logged_in--> row (key, IP, browser)
    each request (``SessionActivityMiddleware``) --at most once a minute--> last_seen_at, IP
    the key changes under a signed-in session (a password change keeps this browser signed in
    on a new key) --> the row follows the key
    ``logout()`` --user_logged_out--> row gone (Django deletes the session itself)
    ended here (one, all but this one, all) --> row and session deleted together

Why a signal: ``login()`` and ``logout()`` are Django's, and their signals are the only place to
hear of them. The handlers write the record itself, nothing downstream, so the rule against side
effects in signals (docs/architecture.md) is not bent: nothing else waits on them.

The apps (OAuth tokens) live in ``rostra.api``, which this domain app must not import; the API
registers a ``GrantDirectory`` at start-up (``rostra.api.apps``) and revocation goes through
``rostra.api.oauth``, so a revoked token's open streams close as with any other revocation.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import import_module
from typing import Any, Protocol

from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.core.cache import cache
from django.dispatch import receiver

from rostra.accounts.models import User, UserSession
from rostra.core import clock, ratelimit
from rostra.core.errors import NotFound

USER_AGENT_MAX = 300
# Writing last_seen_at on every request would turn every page view into a write; once a minute is enough.
LAST_SEEN_RESOLUTION = timedelta(minutes=1)
_SEEN_PREFIX = "rostra:session-seen:"
_SEEN_TTL_S = 3600  # the cache forgets idle sessions; their next request simply writes once more

_BROWSERS = (("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"), ("Chrome/", "Chrome"), ("Safari/", "Safari"))
_SYSTEMS = (
    ("Android", "Android"),
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("CrOS", "ChromeOS"),
    ("Linux", "Linux"),
)


# --- What the settings page shows -------------------------------------------------------------


@dataclass(frozen=True)
class SignIn:
    """A web session as its owner sees it (never its key)."""

    id: int
    created_at: datetime
    last_seen_at: datetime
    ip: str
    user_agent: str
    is_current: bool

    @property
    def device(self) -> str:
        return describe_agent(self.user_agent)


@dataclass(frozen=True)
class AppGrant:
    """An app's access token for a person, as its owner sees it (never the token)."""

    id: int
    app_name: str
    website: str
    scopes: str
    created_at: datetime
    last_used_at: datetime | None


class GrantDirectory(Protocol):
    """What the client API offers this page: a person's live tokens, and revoking one of them."""

    def grants_of(self, user: User) -> list[AppGrant]: ...

    def revoke_grant(self, user: User, grant_id: int) -> bool: ...


_directory: GrantDirectory | None = None


def register_grant_directory(directory: GrantDirectory) -> None:
    global _directory
    _directory = directory


def describe_agent(user_agent: str) -> str:
    """A User-Agent header as "Firefox on Linux"; "Unknown browser" when it names nothing known."""
    browser = next((name for mark, name in _BROWSERS if mark in user_agent), "")
    system = next((name for mark, name in _SYSTEMS if mark in user_agent), "")
    if browser and system:
        return f"{browser} on {system}"
    return browser or system or "Unknown browser"


# --- Reads ------------------------------------------------------------------------------------


def sign_ins(user: User, current_key: str | None) -> list[SignIn]:
    """The person's web sessions, most recently used first; rows whose session has expired or
    vanished (Django's ``clearsessions``) are dropped on the way."""
    engine = import_module(settings.SESSION_ENGINE)
    out, stale = [], []
    for row in UserSession.objects.filter(user=user).order_by("-last_seen_at", "-id"):
        # A session that expired or was cleared loads as empty (one read per session of this person).
        if not engine.SessionStore(session_key=row.session_key).load():
            stale.append(row.pk)
            continue
        out.append(SignIn(row.pk, row.created_at, row.last_seen_at, row.ip, row.user_agent, row.session_key == current_key))
    if stale:
        UserSession.objects.filter(pk__in=stale).delete()
    return out


def app_grants(user: User) -> list[AppGrant]:
    return _directory.grants_of(user) if _directory is not None else []


def session_keys(user_id: int) -> list[str]:
    return list(UserSession.objects.filter(user_id=user_id).values_list("session_key", flat=True))


# --- Writes -----------------------------------------------------------------------------------


def record_sign_in(user: User, session_key: str, *, ip: str, user_agent: str) -> UserSession:
    at = clock.now()
    row, _ = UserSession.objects.update_or_create(
        session_key=session_key,
        defaults={"user": user, "created_at": at, "last_seen_at": at, "ip": ip[:45], "user_agent": user_agent[:USER_AGENT_MAX]},
    )
    cache.set(_seen_key(session_key), at.timestamp(), _SEEN_TTL_S)
    return row


def forget(session_key: str | None) -> None:
    """The session is ending by Django's hand (sign-out): only the row goes."""
    if session_key:
        UserSession.objects.filter(session_key=session_key).delete()


def note_activity(user: User, session_key: str, *, ip: str, user_agent: str) -> None:
    """A signed-in request: refresh last-seen at most once a minute (one cache read otherwise).
    A signed-in session without a row (one from before this table existed) is listed from now on."""
    at = clock.now()
    seen = cache.get(_seen_key(session_key))
    if isinstance(seen, float) and 0 <= at.timestamp() - seen < LAST_SEEN_RESOLUTION.total_seconds():
        return
    cache.set(_seen_key(session_key), at.timestamp(), _SEEN_TTL_S)
    updated = UserSession.objects.filter(session_key=session_key, user=user).update(last_seen_at=at, ip=ip[:45])
    if not updated:
        UserSession.objects.get_or_create(
            session_key=session_key,
            defaults={
                "user": user,
                "created_at": at,
                "last_seen_at": at,
                "ip": ip[:45],
                "user_agent": user_agent[:USER_AGENT_MAX],
            },
        )


def rekey(user: User, old_key: str, new_key: str) -> None:
    """Django gave a signed-in session a new key (``update_session_auth_hash``): the row follows.
    (A sign-in's new key has its own row already; ``_on_login`` removed the old one.)"""
    if old_key and new_key and old_key != new_key and not UserSession.objects.filter(session_key=new_key).exists():
        UserSession.objects.filter(session_key=old_key, user=user).update(session_key=new_key)


def end_session(user: User, session_id: int, current_key: str | None = None) -> bool:
    """Sign one of the person's sessions out; True when it was ``current_key``'s (the caller signs
    that browser out too). Another person's session is as unknown as a missing one."""
    key = UserSession.objects.filter(pk=session_id, user=user).values_list("session_key", flat=True).first()
    if key is None:
        raise NotFound("That sign-in has already ended.")
    delete_sessions([key])
    return key == current_key


def end_other_sessions(user: User, keep_key: str | None) -> int:
    """Sign out everywhere but the session ``keep_key`` (None: everywhere)."""
    keys = [k for k in session_keys(user.pk) if k != keep_key]
    delete_sessions(keys)
    return len(keys)


def delete_sessions(keys: Iterable[str]) -> None:
    """Delete these sessions from the session store, and their rows. With the database session
    backend (the default) both are in the caller's transaction: a rolled-back password change
    signs nobody out."""
    keys = list(keys)
    if not keys:
        return
    UserSession.objects.filter(session_key__in=keys).delete()
    store = _store()
    for key in keys:
        store.delete(key)


def revoke_app_grant(user: User, grant_id: int) -> None:
    if _directory is None or not _directory.revoke_grant(user, grant_id):
        raise NotFound("That app no longer has access.")


# --- Plumbing ---------------------------------------------------------------------------------


def _store() -> Any:
    return import_module(settings.SESSION_ENGINE).SessionStore()


def _seen_key(session_key: str) -> str:
    # The cache (Redis when scaled out) never holds a usable session key.
    return _SEEN_PREFIX + hashlib.sha256(session_key.encode()).hexdigest()[:32]


def client_details(request: Any) -> tuple[str, str]:
    """The client's address (through ``ROSTRA_TRUSTED_PROXIES``) and User-Agent, as stored."""
    meta = getattr(request, "META", {}) or {}
    ip = ratelimit.client_ip(meta, settings.ROSTRA.trusted_proxies)
    return ("" if ip == "unknown" else ip), str(meta.get("HTTP_USER_AGENT", ""))[:USER_AGENT_MAX]


@receiver(user_logged_in, dispatch_uid="rostra.accounts.sessions.on_login")
def _on_login(sender: object, request: Any, user: User, **kwargs: object) -> None:
    session = getattr(request, "session", None)
    if session is None or not isinstance(user, User):
        return
    if not session.session_key:
        session.save()  # login() flushed a previous person's session; the new one needs its key now
    # Django has just replaced the browser's previous session (cycled or flushed): its row goes.
    previous = getattr(request, "COOKIES", {}).get(settings.SESSION_COOKIE_NAME)
    if previous and previous != session.session_key:
        forget(previous)
    ip, agent = client_details(request)
    record_sign_in(user, session.session_key, ip=ip, user_agent=agent)


@receiver(user_logged_out, dispatch_uid="rostra.accounts.sessions.on_logout")
def _on_logout(sender: object, request: Any, user: User | None, **kwargs: object) -> None:
    session = getattr(request, "session", None)
    if session is not None:
        forget(session.session_key)
