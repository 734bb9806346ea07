"""OAuth 2 through HTTP: registration, every grant, PKCE, revocation, and hashed storage."""

from __future__ import annotations

import base64
import hashlib
import secrets
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from rostra.api.models import AccessToken, Application, AuthorizationCode
from rostra.testing.world import PASSWORD
from tests.api.conftest import OOB, bearer

CALLBACK = "https://client.example/callback"


def _token(app, **params):
    return Client().post("/oauth/token", {"client_id": app.client_id, "client_secret": app.client_secret, **params})


def _authorize(client, app, *, redirect_uri=CALLBACK, scope="read", state="s1", **extra):
    params = {"response_type": "code", "client_id": app.client_id, "redirect_uri": redirect_uri, "scope": scope, "state": state, **extra}
    return client.get("/oauth/authorize", params), params


def _approve(client, params, decision="approve"):
    return client.post("/oauth/authorize", {**params, "decision": decision})


def _code_from(response) -> str:
    assert response.status_code == 302, response.content
    query = parse_qs(urlsplit(response["Location"]).query)
    return query["code"][0]


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


# --- Registration ---------------------------------------------------------------------------


def test_register_app_with_a_form_returns_the_secret_once(db):
    r = Client().post(
        "/api/v1/apps",
        {"client_name": "Tusky", "redirect_uris": f"{OOB}\n{CALLBACK}", "scopes": "read write", "website": "https://tusky.app"},
    )
    assert r.status_code == 200
    body = r.json()
    assert body["name"] == "Tusky" and body["website"] == "https://tusky.app"
    assert body["redirect_uris"] == [OOB, CALLBACK] and body["redirect_uri"] == f"{OOB}\n{CALLBACK}"
    assert body["scopes"] == ["read", "write"]
    assert isinstance(body["id"], str) and body["client_id"] and body["client_secret"]
    app = Application.objects.get(client_id=body["client_id"])
    assert app.client_secret_hash == hashlib.sha256(body["client_secret"].encode()).hexdigest()
    assert body["client_secret"] not in str(Application.objects.values_list().get(pk=app.pk))


def test_register_app_with_json_and_default_scope(db):
    r = Client().post("/api/v1/apps", {"client_name": "Bot", "redirect_uris": [OOB]}, content_type="application/json")
    assert r.status_code == 200
    assert r.json()["scopes"] == ["read"]


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ({"redirect_uris": OOB}, "client_name"),
        ({"client_name": "x"}, "redirect_uris"),
        ({"client_name": "x", "redirect_uris": "not a uri"}, "redirect_uris"),
        ({"client_name": "x", "redirect_uris": OOB, "scopes": "read everything"}, "scope"),
    ],
)
def test_register_app_rejects_bad_input_with_422(db, data, fragment):
    r = Client().post("/api/v1/apps", data)
    assert r.status_code == 422
    assert fragment in r.json()["error"]
    assert not Application.objects.exists()


def test_register_app_with_broken_json_is_400(db):
    r = Client().post("/api/v1/apps", "{not json", content_type="application/json")
    assert r.status_code == 400 and r.json() == {"error": "The request body is not valid JSON"}
    r = Client().post("/api/v1/apps", "[1]", content_type="application/json")
    assert r.status_code == 400


def test_verify_app_credentials_with_an_app_token(register):
    app = register(scopes="read write")
    token = _token(app, grant_type="client_credentials", scope="read").json()["access_token"]
    r = bearer(token).get("/api/v1/apps/verify_credentials")
    assert r.status_code == 200
    body = r.json()
    assert body["name"] == "Test client" and "client_secret" not in body and "client_id" not in body


# --- Password grant ---------------------------------------------------------------------------


def test_password_grant_with_username_or_email(world, register):
    app = register()
    for login in ("alice", "alice@example.org", "ALICE"):
        r = _token(app, grant_type="password", username=login, password=PASSWORD, scope="read write")
        assert r.status_code == 200, r.content
        body = r.json()
        assert body["token_type"] == "Bearer" and body["scope"] == "read write"
        assert isinstance(body["created_at"], int)
        row = AccessToken.objects.get(token_hash=hashlib.sha256(body["access_token"].encode()).hexdigest())
        assert row.user_id == world.alice.user_id


def test_password_grant_wrong_password(world, register):
    r = _token(register(), grant_type="password", username="alice", password="wrong-password", scope="read")
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_grant" and r.json()["error_description"]
    assert not AccessToken.objects.exists()


def test_password_grant_inactive_login_is_refused(world, register):
    world.alice.user.is_active = False
    world.alice.user.save()
    r = _token(register(), grant_type="password", username="alice", password=PASSWORD, scope="read")
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"


def test_client_auth_by_http_basic(world, register):
    app = register()
    basic = base64.b64encode(f"{app.client_id}:{app.client_secret}".encode()).decode()
    r = Client().post("/oauth/token", {"grant_type": "password", "username": "bob", "password": PASSWORD, "scope": "read"},
                      headers={"Authorization": f"Basic {basic}"})
    assert r.status_code == 200, r.content


def test_wrong_client_secret_is_invalid_client(world, register):
    app = register()
    r = Client().post("/oauth/token", {"grant_type": "client_credentials", "client_id": app.client_id, "client_secret": "nope"})
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    r = Client().post("/oauth/token", {"grant_type": "client_credentials", "client_id": "unknown", "client_secret": app.client_secret})
    assert r.status_code == 401


def test_scope_escalation_is_refused(world, register):
    app = register(scopes="read")
    for scope in ("read write", "admin:read", "write:statuses", "follow"):
        r = _token(app, grant_type="password", username="alice", password=PASSWORD, scope=scope)
        assert r.status_code == 400 and r.json()["error"] == "invalid_scope", scope
    # A child of a registered parent is fine, and so is "+"-joined input.
    r = _token(app, grant_type="password", username="alice", password=PASSWORD, scope="read:statuses+read:accounts")
    assert r.status_code == 200 and r.json()["scope"] == "read:accounts read:statuses"
    assert not AccessToken.objects.filter(scopes__contains="write").exists()


def test_unsupported_grant_type(world, register):
    r = _token(register(), grant_type="implicit")
    assert r.status_code == 400 and r.json()["error"] == "unsupported_grant_type"


def test_client_credentials_token_has_no_user(register):
    app = register(scopes="read write")
    r = _token(app, grant_type="client_credentials")
    assert r.status_code == 200 and r.json()["scope"] == "read"
    assert AccessToken.objects.get().user_id is None


def test_tokens_are_stored_only_as_hashes(world, register):
    app = register()
    token = _token(app, grant_type="password", username="alice", password=PASSWORD, scope="read").json()["access_token"]
    with connection.cursor() as cur:
        for table in ("api_accesstoken", "api_application", "api_authorizationcode"):
            cur.execute(f"SELECT * FROM {table}")  # noqa: S608 - fixed table names
            dump = repr(cur.fetchall())
            assert token not in dump and app.client_secret not in dump


# --- Authorization code flow ----------------------------------------------------------------------


def test_authorize_sends_signed_out_people_to_login(world, register):
    app = register(redirect_uris=CALLBACK)
    browser = Client()
    r, _ = _authorize(browser, app)
    assert r.status_code == 302 and r["Location"].startswith("/login?next=/oauth/authorize%3F")
    # Logging in brings the person back to the consent page with every parameter intact.
    next_url = parse_qs(urlsplit(r["Location"]).query)["next"][0]
    r = browser.post("/login", {"username": "alice", "password": PASSWORD, "next": next_url})
    assert r.status_code == 302 and r["Location"] == next_url
    r = browser.get(next_url)
    assert r.status_code == 200 and b"Authorize Test client?" in r.content


def test_authorization_code_flow_with_pkce_s256(world, register, client_for):
    app = register(redirect_uris=CALLBACK, scopes="read write")
    verifier, challenge = _pkce()
    browser = client_for(world.alice)
    r, params = _authorize(browser, app, scope="read write", code_challenge=challenge, code_challenge_method="S256")
    assert r.status_code == 200
    page = r.content.decode()
    assert "Authorize Test client?" in page and "@alice" in page and "<code>write</code>" in page
    r = _approve(browser, params)
    assert r["Location"].startswith(CALLBACK + "?") and parse_qs(urlsplit(r["Location"]).query)["state"] == ["s1"]
    code = _code_from(r)
    assert code not in repr(list(AuthorizationCode.objects.values_list()))
    r = _token(app, grant_type="authorization_code", code=code, redirect_uri=CALLBACK, code_verifier=verifier)
    assert r.status_code == 200, r.content
    assert r.json()["scope"] == "read write"
    me = bearer(r.json()["access_token"]).get("/api/v1/accounts/verify_credentials")
    assert me.json()["username"] == "alice"


def test_pkce_plain(world, register, client_for):
    app = register(redirect_uris=CALLBACK)
    verifier = secrets.token_urlsafe(48)
    browser = client_for(world.alice)
    _, params = _authorize(browser, app, code_challenge=verifier, code_challenge_method="plain")
    code = _code_from(_approve(browser, params))
    r = _token(app, grant_type="authorization_code", code=code, redirect_uri=CALLBACK, code_verifier=verifier)
    assert r.status_code == 200


@pytest.mark.parametrize("case", ["pkce_mismatch", "pkce_missing", "wrong_redirect", "reused", "expired", "other_app"])
def test_bad_code_exchanges_are_invalid_grant(world, register, client_for, case):
    app = register(redirect_uris=f"{CALLBACK} https://client.example/other")
    verifier, challenge = _pkce()
    browser = client_for(world.alice)
    _, params = _authorize(browser, app, code_challenge=challenge, code_challenge_method="S256")
    code = _code_from(_approve(browser, params))
    exchange = {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK, "code_verifier": verifier}
    if case == "pkce_mismatch":
        exchange["code_verifier"] = secrets.token_urlsafe(48)
    elif case == "pkce_missing":
        del exchange["code_verifier"]
    elif case == "wrong_redirect":
        exchange["redirect_uri"] = "https://client.example/other"
    elif case == "reused":
        first = _token(app, **exchange)
        assert first.status_code == 200
        # The second use fails and revokes what the first one produced (the code may have been stolen).
        assert _token(app, **exchange).json()["error"] == "invalid_grant"
        assert bearer(first.json()["access_token"]).get("/api/v1/accounts/verify_credentials").status_code == 401
        return
    elif case == "expired":
        AuthorizationCode.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    elif case == "other_app":
        app = register(redirect_uris=CALLBACK)
    r = _token(app, **exchange)
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    assert not AccessToken.objects.exists()


def test_deny_redirects_with_access_denied(world, register, client_for):
    app = register(redirect_uris=CALLBACK)
    browser = client_for(world.alice)
    _, params = _authorize(browser, app)
    r = _approve(browser, params, decision="deny")
    query = parse_qs(urlsplit(r["Location"]).query)
    assert query["error"] == ["access_denied"] and query["state"] == ["s1"]
    assert not AuthorizationCode.objects.exists()


def test_oob_shows_the_code(world, register, client_for):
    app = register(redirect_uris=OOB)
    browser = client_for(world.alice)
    _, params = _authorize(browser, app, redirect_uri=OOB)
    r = _approve(browser, params)
    assert r.status_code == 200
    code = r.content.decode().split('data-testid="oauth-code">')[1].split("<")[0]
    assert _token(app, grant_type="authorization_code", code=code, redirect_uri=OOB).status_code == 200


def test_authorize_errors(world, register, client_for):
    app = register(redirect_uris=CALLBACK, scopes="read")
    browser = client_for(world.alice)
    # Unknown client or unregistered redirect URI: shown here, never redirected to an unknown place.
    r = browser.get("/oauth/authorize", {"response_type": "code", "client_id": "nope", "redirect_uri": CALLBACK})
    assert r.status_code == 400 and b"cannot be authorized" in r.content
    r, _ = _authorize(browser, app, redirect_uri="https://evil.example/")
    assert r.status_code == 400
    # Known client, bad request: the error goes back to the client.
    r, _ = _authorize(browser, app, scope="write")
    assert parse_qs(urlsplit(r["Location"]).query)["error"] == ["invalid_scope"]
    r, _ = _authorize(browser, app, response_type="token")
    assert parse_qs(urlsplit(r["Location"]).query)["error"] == ["unsupported_response_type"]
    r, _ = _authorize(browser, app, code_challenge="x" * 43, code_challenge_method="S512")
    assert parse_qs(urlsplit(r["Location"]).query)["error"] == ["invalid_request"]


def test_consent_post_needs_csrf(world, register):
    app = register(redirect_uris=CALLBACK)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(world.alice.user)
    params = {"response_type": "code", "client_id": app.client_id, "redirect_uri": CALLBACK, "decision": "approve"}
    assert browser.post("/oauth/authorize", params).status_code == 403
    assert not AuthorizationCode.objects.exists()


def test_native_app_custom_scheme_redirect(world, register, client_for):
    app = register(redirect_uris="com.example.app://oauth")
    browser = client_for(world.alice)
    _, params = _authorize(browser, app, redirect_uri="com.example.app://oauth")
    r = _approve(browser, params)
    assert r.status_code == 302 and r["Location"].startswith("com.example.app://oauth?code=")


# --- Revocation and discovery -------------------------------------------------------------------


def test_revoke(world, register, password_token):
    app = register()
    token = password_token(world.alice, app=app)
    assert bearer(token).get("/api/v1/accounts/verify_credentials").status_code == 200
    # Another app cannot revoke it.
    other = register()
    r = Client().post("/oauth/revoke", {"token": token, "client_id": other.client_id, "client_secret": other.client_secret})
    assert r.status_code == 200
    assert bearer(token).get("/api/v1/accounts/verify_credentials").status_code == 200
    r = Client().post("/oauth/revoke", {"token": token, "client_id": app.client_id, "client_secret": app.client_secret})
    assert r.status_code == 200 and r.json() == {}
    assert AccessToken.objects.get().revoked_at is not None
    r = bearer(token).get("/api/v1/accounts/verify_credentials")
    assert r.status_code == 401 and r.json() == {"error": "The access token is invalid"}
    r = Client().post("/oauth/revoke", {"token": token, "client_id": app.client_id, "client_secret": "wrong"})
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"


def test_authorization_server_metadata(db):
    r = Client().get("/.well-known/oauth-authorization-server")
    body = r.json()
    assert body["token_endpoint"].endswith("/oauth/token") and body["revocation_endpoint"].endswith("/oauth/revoke")
    assert body["app_registration_endpoint"].endswith("/api/v1/apps")
    assert set(body["grant_types_supported"]) == {"authorization_code", "password", "client_credentials"}
    assert "S256" in body["code_challenge_methods_supported"]
    assert {"read", "write:statuses", "admin:read:accounts", "follow"} <= set(body["scopes_supported"])


def test_a4_revoke_a_password_change_ends_every_earlier_token_at_once(world, register, password_token):
    """SECURITY-TESTS A4: after the password changes, the API answers 401 at once to tokens
    issued before; a token issued afterwards works (and the streaming process re-checks tokens
    through the same ``find_token``, so open streams close too)."""
    from django.test import Client

    from rostra.accounts.actions import change_password
    from rostra.api.oauth import find_token
    from rostra.testing.world import PASSWORD

    old = password_token(world.bob)
    assert bearer(old).get("/api/v1/accounts/verify_credentials").status_code == 200
    change_password(world.bob.user, PASSWORD, "a-brand-new-password-2026")
    r = bearer(old).get("/api/v1/accounts/verify_credentials")
    assert r.status_code == 401 and r.json() == {"error": "The access token is invalid"}
    assert find_token(old) is None
    app = register()
    fresh = Client().post(
        "/oauth/token",
        {"grant_type": "password", "username": "bob", "password": "a-brand-new-password-2026", "scope": "read",
         "client_id": app.client_id, "client_secret": app.client_secret},
    ).json()["access_token"]
    assert bearer(fresh).get("/api/v1/accounts/verify_credentials").status_code == 200
    # Someone else's tokens are untouched.
    assert bearer(password_token(world.alice)).get("/api/v1/accounts/verify_credentials").status_code == 200
