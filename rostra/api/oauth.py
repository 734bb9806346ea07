"""OAuth 2 actions: register an app, issue codes and tokens, look tokens up, revoke them.

Every write to the OAuth tables happens here. Errors are ``OAuthError`` with the RFC 6749 error
code; the views turn them into ``{"error", "error_description"}`` answers.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from rostra.accounts import twofactor
from rostra.accounts.models import User
from rostra.accounts.sessions import AppGrant
from rostra.api import scopes as scope_rules
from rostra.api.models import AccessToken, Application, AuthorizationCode
from rostra.core.prepared import Prepared
from rostra.timelines import activity

OOB = "urn:ietf:wg:oauth:2.0:oob"
CODE_LIFETIME = timedelta(minutes=10)
# Writing last_used_at on every request would turn every read into a write; once a minute is enough.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class OAuthError(Exception):
    def __init__(self, error: str, description: str, *, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


# --- Applications ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Registered:
    application: Application
    client_secret: str  # shown once


UNSAFE_REDIRECT_SCHEMES = frozenset({"javascript", "data", "vbscript", "file", "blob", "about", "filesystem"})


def _valid_redirect_uri(uri: str) -> bool:
    if uri == OOB:
        return True
    parts = urlsplit(uri)
    # Native apps register custom schemes (com.example.app://callback); web apps http(s) URLs.
    # Schemes a browser runs or reads locally instead of handing to an app are never a callback.
    if parts.scheme.lower() in UNSAFE_REDIRECT_SCHEMES:
        return False
    return bool(parts.scheme) and not parts.fragment and (parts.scheme not in ("http", "https") or bool(parts.netloc))


def register_app(name: str, redirect_uris: str, scopes: str | None, website: str = "") -> Registered:
    name = (name or "").strip()
    if not name:
        raise OAuthError("invalid_client_metadata", "client_name can't be blank", status=422)
    if len(name) > 200:
        raise OAuthError("invalid_client_metadata", "client_name is too long (maximum is 200 characters)", status=422)
    uris = [u for u in (redirect_uris or "").split() if u]
    if not uris:
        raise OAuthError("invalid_redirect_uri", "redirect_uris can't be blank", status=422)
    if not all(_valid_redirect_uri(u) for u in uris) or len(uris) > 20:
        raise OAuthError("invalid_redirect_uri", "redirect_uris must be absolute URIs", status=422)
    try:
        granted = scope_rules.parse(scopes)
    except scope_rules.ScopeError as exc:
        raise OAuthError("invalid_scope", str(exc), status=422) from None
    website = (website or "").strip()
    if website and urlsplit(website).scheme not in ("http", "https"):
        raise OAuthError("invalid_client_metadata", "website must be an http(s) URL", status=422)
    secret = secrets.token_urlsafe(32)
    app = Application.objects.create(
        name=name,
        website=website[:2000],
        redirect_uris="\n".join(uris),
        scopes=scope_rules.to_string(granted),
        client_id=secrets.token_urlsafe(32),
        client_secret_hash=digest(secret),
    )
    return Registered(app, secret)


def authenticate_client(client_id: str | None, client_secret: str | None) -> Application:
    """The app whose id and secret these are; ``invalid_client`` (401) otherwise."""
    app = Application.objects.filter(client_id=client_id or "").first() if client_id else None
    if app is None or not client_secret or not _same(app.client_secret_hash, digest(client_secret)):
        raise OAuthError(
            "invalid_client",
            "Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method.",
            status=401,
        )
    return app


def get_app(client_id: str | None) -> Application:
    app = Application.objects.filter(client_id=client_id or "").first() if client_id else None
    if app is None:
        raise OAuthError("invalid_client", "Client authentication failed due to unknown client.", status=401)
    return app


def check_scopes(app: Application, requested: str | None) -> frozenset[str]:
    """The scopes asked for (default ``read``), which the app must have registered (parents imply children)."""
    try:
        wanted = scope_rules.parse(requested, default="read")
    except scope_rules.ScopeError as exc:
        raise OAuthError("invalid_scope", f"The requested scope is invalid, unknown, or malformed. {exc}") from None
    if not scope_rules.all_covered(app.scopes.split(), wanted):
        raise OAuthError("invalid_scope", "The requested scope is invalid, unknown, or malformed.")
    return wanted


def check_redirect_uri(app: Application, redirect_uri: str | None) -> str:
    registered = app.redirect_uri_list
    if not redirect_uri:
        if len(registered) == 1:
            return registered[0]
        raise OAuthError("invalid_redirect_uri", "The redirect uri included is not valid.")
    if redirect_uri not in registered:
        raise OAuthError("invalid_redirect_uri", "The redirect uri included is not valid.")
    return redirect_uri


# --- Codes and tokens ------------------------------------------------------------------------


def issue_code(
    app: Application,
    user: User,
    *,
    redirect_uri: str,
    scopes: frozenset[str],
    code_challenge: str = "",
    code_challenge_method: str = "",
) -> str:
    if code_challenge:
        code_challenge_method = code_challenge_method or "plain"
        if code_challenge_method not in ("S256", "plain"):
            raise OAuthError("invalid_request", "code_challenge_method must be S256 or plain.")
        if not 43 <= len(code_challenge) <= 128:
            raise OAuthError("invalid_request", "code_challenge must be 43 to 128 characters.")
    code = secrets.token_urlsafe(32)
    AuthorizationCode.objects.create(
        code_hash=digest(code),
        application=app,
        user=user,
        redirect_uri=redirect_uri,
        scopes=scope_rules.to_string(scopes),
        code_challenge=code_challenge if code_challenge else "",
        code_challenge_method=code_challenge_method if code_challenge else "",
        expires_at=timezone.now() + CODE_LIFETIME,
    )
    return code


@dataclass(frozen=True)
class Issued:
    token: AccessToken
    access_token: str  # the clear value, shown once


def _issue(app: Application, user: User | None, scopes: frozenset[str], code: AuthorizationCode | None = None) -> Issued:
    value = secrets.token_urlsafe(32)
    row = AccessToken.objects.create(
        token_hash=digest(value), application=app, user=user, scopes=scope_rules.to_string(scopes), code=code
    )
    return Issued(row, value)


def _pkce_ok(code: AuthorizationCode, verifier: str | None) -> bool:
    if not code.code_challenge:
        return True
    if not verifier:
        return False
    if code.code_challenge_method == "S256":
        computed = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        return _same(computed, code.code_challenge)
    return _same(verifier, code.code_challenge)


def exchange_code(app: Application, code: str | None, redirect_uri: str | None, code_verifier: str | None) -> Issued:
    invalid = OAuthError(
        "invalid_grant",
        "The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client.",
    )
    if not code:
        raise OAuthError("invalid_request", "Missing required parameter: code.")
    with transaction.atomic():
        row = (
            AuthorizationCode.objects.select_for_update()
            .filter(code_hash=digest(code), application=app)
            .select_related("user")
            .first()
        )
        if row is None:
            raise invalid
        if row.used_at is not None:
            # A code presented twice may have been stolen: revoke what the first use produced
            # (RFC 6749 §4.1.2). The revocation must commit, so the error is raised after the block.
            AccessToken.objects.filter(code=row, revoked_at__isnull=True).update(revoked_at=timezone.now())
            issued = None
        else:
            if row.expires_at <= timezone.now() or (redirect_uri or "") != row.redirect_uri or not _pkce_ok(row, code_verifier):
                raise invalid
            if not row.user.is_active:
                raise invalid
            row.used_at = timezone.now()
            row.save(update_fields=["used_at"])
            issued = _issue(app, row.user, frozenset(row.scopes.split()), code=row)
    if issued is None:
        raise invalid
    return issued


def password_grant(app: Application, user: User | None, requested: str | None) -> Issued:
    """``user`` is the result of Django's ``authenticate`` (None when the credentials were wrong)."""
    wanted = check_scopes(app, requested)
    if user is None:
        raise OAuthError(
            "invalid_grant",
            "The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client.",
        )
    if twofactor.is_enabled(user):
        # A password alone must not get around the second factor (Mastodon refuses these too).
        raise OAuthError(
            "invalid_grant",
            "This account uses two-factor authentication, which the password grant cannot ask for. "
            "Sign in through the browser instead (the authorization code flow).",
        )
    return _issue(app, user, wanted)


def client_credentials(app: Application, requested: str | None) -> Issued:
    return _issue(app, None, check_scopes(app, requested))


def revoke(app: Application, token: str | None) -> None:
    """Revoke the app's own token; an unknown token is not an error (RFC 7009 §2.2)."""
    if token:
        revoke_tokens(AccessToken.objects.filter(token_hash=digest(token), application=app))


def revoke_tokens(rows: QuerySet[AccessToken]) -> int:
    """Every revocation ends here: the API refuses the tokens at once and open streams close at
    their next check (``rostra.streaming.hub.live_tokens``)."""
    return rows.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())


# Every API request asks this: compiled once per process (rostra.core.prepared).
_live_token = Prepared(
    "a live access token",
    lambda token_hash: AccessToken.objects.filter(token_hash=token_hash, revoked_at__isnull=True)
    .select_related("application", "user", "user__account")
    .order_by("pk")[:1],
)


def find_token(value: str) -> AccessToken | None:
    """The live token with this value (with its app and user), noting when it was last used."""
    if not value:
        return None
    found = _live_token.models(token_hash=digest(value))
    row = found[0] if found else None
    if row is None or (row.user is not None and not row.user.is_active):
        return None
    changed = row.user.credentials_changed_at if row.user is not None else None
    if changed is not None and row.created_at < changed:
        return None  # issued before the password changed: a stolen token dies with the old password
    if row.user is not None:
        # last_active_at, hourly; a person back after weeks gets their home rebuilt first
        activity.note_active(getattr(row.user, "account", None))
    now = timezone.now()
    if row.last_used_at is None or now - row.last_used_at > LAST_USED_RESOLUTION:
        AccessToken.objects.filter(pk=row.pk).update(last_used_at=now)
        row.last_used_at = now
    return row


def request_token(request: HttpRequest, value: str) -> AccessToken | None:
    """``find_token`` once per request: the rate limiter and the endpoint's authentication both
    need the token, and the second asks the first's answer."""
    cached = getattr(request, "_rostra_token", None)
    if cached is not None and cached[0] == value:
        return cached[1]
    row = find_token(value)
    request._rostra_token = (value, row)  # type: ignore[attr-defined]
    return row


# --- A person's own view of their apps (Settings → Security; rostra.accounts.sessions) -----------


class GrantDirectory:
    """What the web settings page may know of a person's tokens, registered with
    ``rostra.accounts.sessions`` at start-up (the web and the domain apps never import the API)."""

    def grants_of(self, user: User) -> list[AppGrant]:
        rows = AccessToken.objects.filter(user=user, revoked_at__isnull=True).select_related("application").order_by("-created_at")
        if user.credentials_changed_at is not None:
            rows = rows.filter(created_at__gte=user.credentials_changed_at)  # already dead (find_token)
        return [AppGrant(t.pk, t.application.name, _web_link(t.application.website), t.scopes, t.created_at, t.last_used_at) for t in rows]

    def revoke_grant(self, user: User, grant_id: int) -> bool:
        return bool(revoke_tokens(AccessToken.objects.filter(pk=grant_id, user=user)))


def _web_link(url: str) -> str:
    """An app's website as a link for a page, or "" (apps register any text there)."""
    parts = urlsplit(url)
    return url if parts.scheme in ("http", "https") and parts.netloc else ""
