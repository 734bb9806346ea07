"""The OAuth 2 endpoints (/oauth/authorize, /oauth/token, /oauth/revoke) and discovery documents
(/.well-known/oauth-authorization-server, /.well-known/nodeinfo, /nodeinfo/2.0).

These are plain Django views: the consent page is HTML behind the session, and the token and
revocation endpoints speak RFC 6749's ``{"error", "error_description"}``, not the API's format.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any
from urllib.parse import unquote, urlencode

from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from rostra.accounts import queries as account_queries
from rostra.api import entities, oauth
from rostra.api import scopes as scope_rules
from rostra.api.models import Application
from rostra.api.version import ROSTRA_VERSION

AUTHORIZE_PARAMS = ("response_type", "client_id", "redirect_uri", "scope", "state", "code_challenge", "code_challenge_method")
SCOPE_TEXTS = {
    "read": "read everything your account can see",
    "write": "post, edit and delete on your behalf, and change your account",
    "follow": "follow, unfollow, block and mute people",
    "push": "receive push notifications",
    "profile": "see your profile (name, username, picture)",
    "admin:read": "read moderation data",
    "admin:write": "take moderation actions",
}


def _oauth_error(exc: oauth.OAuthError) -> JsonResponse:
    response = JsonResponse({"error": exc.error, "error_description": exc.description}, status=exc.status)
    if exc.status == 401:
        response["WWW-Authenticate"] = 'Basic realm="oauth"'
    return response


def _redirect(uri: str, params: dict[str, str]) -> HttpResponse:
    """Back to the client. Native apps use their own schemes, which HttpResponseRedirect refuses."""
    query = urlencode({k: v for k, v in params.items() if v})
    response = HttpResponse(status=302)
    response["Location"] = f"{uri}{'&' if '?' in uri else '?'}{query}"
    return response


@never_cache
@require_http_methods(["GET", "POST"])
def authorize(request: HttpRequest) -> HttpResponse:
    params = request.GET if request.method == "GET" else request.POST
    # Parse: until the client and its redirect URI are known, errors are shown here, never redirected
    try:
        app = oauth.get_app(params.get("client_id"))
        redirect_uri = oauth.check_redirect_uri(app, params.get("redirect_uri"))
    except oauth.OAuthError as exc:
        return render(request, "rostra/api/authorize.html", {"error": exc.description}, status=400)
    state = params.get("state", "")

    def fail(error: str, description: str) -> HttpResponse:
        if redirect_uri == oauth.OOB:
            return render(request, "rostra/api/authorize.html", {"error": description, "app": app}, status=400)
        return _redirect(redirect_uri, {"error": error, "error_description": description, "state": state})

    if params.get("response_type") != "code":
        return fail("unsupported_response_type", "The authorization server does not support this response type.")
    try:
        scopes = oauth.check_scopes(app, params.get("scope"))
    except oauth.OAuthError as exc:
        return fail(exc.error, exc.description)
    challenge, method = params.get("code_challenge", ""), params.get("code_challenge_method", "")
    if method and method not in ("S256", "plain"):
        return fail("invalid_request", "code_challenge_method must be S256 or plain.")
    kept = [(k, params[k]) for k in AUTHORIZE_PARAMS if params.get(k)]
    login_next = "/oauth/authorize?" + urlencode(kept)
    # Authorise: a signed-in person decides
    if not request.user.is_authenticated:
        return redirect_to_login(login_next, "/login")
    if request.method == "GET":
        texts = [(s, SCOPE_TEXTS.get(s, s.replace(":", " ").replace("_", " "))) for s in scope_rules.to_string(scopes).split()]
        ctx = {"app": app, "scope_texts": texts, "hidden": kept, "login_next": login_next}
        return render(request, "rostra/api/authorize.html", ctx)
    if params.get("decision") != "approve":
        return fail("access_denied", "The resource owner or authorization server denied the request.")
    # Act
    try:
        code = oauth.issue_code(
            app, request.user, redirect_uri=redirect_uri, scopes=scopes, code_challenge=challenge, code_challenge_method=method
        )
    except oauth.OAuthError as exc:
        return fail(exc.error, exc.description)
    # Render
    if redirect_uri == oauth.OOB:
        return render(request, "rostra/api/authorize.html", {"app": app, "code": code})
    return _redirect(redirect_uri, {"code": code, "state": state})


def _params(request: HttpRequest) -> dict[str, str]:
    if request.content_type == "application/json":
        try:
            data = json.loads(request.body or b"{}")
        except ValueError:
            raise oauth.OAuthError("invalid_request", "The request body is not valid JSON.") from None
        if not isinstance(data, dict):
            raise oauth.OAuthError("invalid_request", "The request body must be a JSON object.")
        return {
            str(k): v if isinstance(v, str) else " ".join(map(str, v)) if isinstance(v, list) else str(v) for k, v in data.items()
        }
    return {k: request.POST.get(k, "") for k in request.POST}


def _client(request: HttpRequest, params: dict[str, str]) -> Application:
    """Client authentication: HTTP Basic (client_secret_basic) or form fields (client_secret_post)."""
    header = request.headers.get("Authorization", "")
    if header[:6].lower() == "basic ":
        try:
            raw = base64.b64decode(header[6:].strip(), validate=True).decode()
            client_id, _, client_secret = raw.partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise oauth.OAuthError("invalid_client", "Malformed HTTP Basic credentials.", status=401) from None
        return oauth.authenticate_client(unquote(client_id), unquote(client_secret))
    return oauth.authenticate_client(params.get("client_id"), params.get("client_secret"))


@csrf_exempt  # no cookies are involved: the client authenticates with its secret
@never_cache
@require_POST
def token(request: HttpRequest) -> HttpResponse:
    try:
        params = _params(request)
        app = _client(request, params)
        grant = params.get("grant_type", "")
        if grant == "authorization_code":
            issued = oauth.exchange_code(app, params.get("code"), params.get("redirect_uri"), params.get("code_verifier"))
        elif grant == "password":
            # The same check as the web login: username or email, Django's authenticate (active logins only).
            user = authenticate(
                request, username=account_queries.login_name(params.get("username", "")), password=params.get("password", "")
            )
            issued = oauth.password_grant(app, user, params.get("scope"))
        elif grant == "client_credentials":
            issued = oauth.client_credentials(app, params.get("scope"))
        else:
            raise oauth.OAuthError(
                "unsupported_grant_type", "The authorization grant type is not supported by the authorization server."
            )
    except oauth.OAuthError as exc:
        return _oauth_error(exc)
    return JsonResponse(entities.token(issued.token, issued.access_token))


@csrf_exempt
@require_POST
def revoke(request: HttpRequest) -> HttpResponse:
    try:
        params = _params(request)
        app = _client(request, params)
    except oauth.OAuthError as exc:
        return _oauth_error(exc)
    oauth.revoke(app, params.get("token"))
    return JsonResponse({})


@require_GET
def authorization_server_metadata(request: HttpRequest) -> JsonResponse:
    """RFC 8414, as Mastodon 4.3 publishes it."""
    base = settings.ROSTRA.base_url
    return JsonResponse(
        {
            "issuer": base + "/",
            "service_documentation": base + "/about",
            "authorization_endpoint": base + "/oauth/authorize",
            "token_endpoint": base + "/oauth/token",
            "app_registration_endpoint": base + "/api/v1/apps",
            "revocation_endpoint": base + "/oauth/revoke",
            "scopes_supported": list(scope_rules.ALL),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "code_challenge_methods_supported": ["S256", "plain"],
            "grant_types_supported": ["authorization_code", "password", "client_credentials"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        }
    )


NODEINFO_20 = "http://nodeinfo.diaspora.software/ns/schema/2.0"


@require_GET
def nodeinfo_links(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"links": [{"rel": NODEINFO_20, "href": settings.ROSTRA.base_url + "/nodeinfo/2.0"}]})


@require_GET
def nodeinfo(request: HttpRequest) -> JsonResponse:
    cfg = settings.ROSTRA
    stats = account_queries.instance_stats()
    doc: dict[str, Any] = {
        "version": "2.0",
        "software": {"name": "rostra", "version": ROSTRA_VERSION},
        "protocols": ["activitypub"],
        "services": {"outbound": [], "inbound": []},
        "usage": {
            "users": {"total": stats.people, "activeMonth": stats.active_month, "activeHalfyear": stats.active_halfyear},
            "localPosts": stats.posts,
        },
        "openRegistrations": cfg.registrations == "open",
        "metadata": {"nodeName": cfg.instance_name, "nodeDescription": cfg.instance_description},
    }
    response = JsonResponse(doc)
    response["Content-Type"] = f'application/json; profile="{NODEINFO_20}#"'
    return response
