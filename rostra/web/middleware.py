from __future__ import annotations

import logging
import sqlite3
import sys
from collections.abc import Callable

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.html import escape
from django.views import defaults

from rostra.accounts import sessions
from rostra.core.images import DISK_FULL, StorageFull
from rostra.timelines import activity

# Scripts only from this origin (htmx and Rostra's own), no inline script, no plugins, no framing.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self'; font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'; manifest-src 'self'; worker-src 'self'"
)


def page_csp() -> str:
    """The pages' policy; images may also come from the separate media origin when there is one."""
    origin = settings.ROSTRA.media_url
    return CSP.replace("img-src 'self'", f"img-src 'self' {origin}") if origin else CSP


class MediaOriginMiddleware:
    """With ROSTRA_MEDIA_URL, the media host answers /media/ and nothing else (a page, the API or
    a form there would be a second copy of the site on an origin without its cookies and CSRF
    protection). What it serves is public or opened by a grant, so any origin may embed it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        media_host = settings.ROSTRA.media_hostname
        if media_host is None or request.get_host().split(":", 1)[0].lower() != media_host:
            return self.get_response(request)
        if not request.path.startswith("/media/"):
            return HttpResponse("Not found", status=404, content_type="text/plain; charset=utf-8")
        response = self.get_response(request)
        response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
        return response


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", page_csp())
        response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=(), interest-cohort=()")
        response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        return response


# --- Faults of the machinery (not of the request): answered as what they are, never as a crash ---

FAULT_RETRY_S = 5
_FAULT_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head><body style="font-family:sans-serif;max-width:34em;margin:3em auto;padding:0 1em">
<h1>{title}</h1><p>{message}</p><p><a href="">Try again</a></p></body></html>"""
DATABASE_DOWN = "Rostra cannot reach its database right now. Please try again in a few seconds."
STORAGE_FULL = "The server's disk is full, so the upload was not stored. Please try again later."

log = logging.getLogger("rostra.web")
# SQLite raises OperationalError for mistakes in SQL too; only these are the database being away.
SQLITE_UNREACHABLE = ("locked", "busy", "unable to open", "disk i/o")


def _database_unreachable(exc: BaseException | None) -> bool:
    if isinstance(exc, InterfaceError):
        return True
    if not isinstance(exc, OperationalError):
        return False
    if isinstance(exc.__cause__, sqlite3.Error):
        return any(words in str(exc.__cause__).lower() for words in SQLITE_UNREACHABLE)
    return True  # PostgreSQL: refused, reset, shutting down, starting up, a statement cancelled


def fault_response(request: HttpRequest, exc: BaseException | None) -> HttpResponse | None:
    """503 + Retry-After when the database cannot be reached, 507 when the disk is full;
    None for any other exception (a real bug: Django's 500, logged with its traceback)."""
    if _database_unreachable(exc):
        status, title, message = 503, "Briefly unavailable", DATABASE_DOWN
    elif isinstance(exc, StorageFull) or (isinstance(exc, OSError) and exc.errno in DISK_FULL):
        # The media store (StorageFull), or the temporary file a large upload is spooled to.
        status, title, message = 507, "Storage full", STORAGE_FULL
    else:
        return None
    log.warning("%s %s answered %s: %s", request.method, request.path, status, exc)
    response: HttpResponse
    if request.path.startswith(("/api/", "/oauth/", "/.well-known/", "/nodeinfo/")):
        response = JsonResponse({"error": message}, status=status)
    else:
        response = HttpResponse(
            _FAULT_PAGE.format(title=title, message=escape(message)), status=status, content_type="text/html; charset=utf-8"
        )
    response["Retry-After"] = str(FAULT_RETRY_S)
    response["Cache-Control"] = "no-store"
    return response


class FaultMiddleware:
    """A database outage (PostgreSQL restarting, SQLite locked past its timeout) answers 503 with
    Retry-After, a full media disk 507, on the web and the API alike: a client waits and retries
    instead of showing a crash, and no traceback reaches anyone. Exceptions raised inside other
    middleware (the rate limiter's token lookup, saving a session) never reach ``process_exception``;
    Django hands those to ``handler500``, which is ``server_error`` below, with the same answers."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exc: Exception) -> HttpResponse | None:
        return fault_response(request, exc)


def server_error(request: HttpRequest) -> HttpResponse:
    """``handler500``: a fault (see ``FaultMiddleware``) gets its own answer, anything else Django's 500."""
    return fault_response(request, sys.exc_info()[1]) or defaults.server_error(request)


class SessionActivityMiddleware:
    """Keeps Settings → Security's list of sign-ins true: "last seen" refreshed at most once a
    minute (a cache check otherwise), and the row following the session when Django gives a
    signed-in browser a new key (a password change). See ``rostra.accounts.sessions``."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        old_key = request.COOKIES.get(settings.SESSION_COOKIE_NAME, "")
        if old_key and getattr(request, "user", None) is not None and request.user.is_authenticated:
            try:  # last_active_at, hourly; a person back after weeks gets their home rebuilt first
                activity.note_active(getattr(request.user, "account", None))
            except DatabaseError as exc:
                log.warning("could not note account activity: %s", exc)
        response = self.get_response(request)
        session = getattr(request, "session", None)
        key = session.session_key if session is not None else None
        if not key or not getattr(request, "user", None) or not request.user.is_authenticated:
            return response
        try:
            if old_key and old_key != key:
                sessions.rekey(request.user, old_key, key)
            else:
                ip, agent = sessions.client_details(request)
                sessions.note_activity(request.user, key, ip=ip, user_agent=agent)
        except DatabaseError as exc:  # bookkeeping: never turn an answered request into an error
            log.warning("could not note session activity: %s", exc)
        return response
