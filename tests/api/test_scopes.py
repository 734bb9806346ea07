"""Scope rules (units) and their enforcement on endpoints (through HTTP)."""

from __future__ import annotations

import pytest
from django.utils import timezone

from rostra.api import scopes
from rostra.api.http import Scoped
from tests.api.conftest import bearer


def test_parents_imply_children():
    assert scopes.covers({"read"}, "read:statuses")
    assert scopes.covers({"write"}, "write:media")
    assert scopes.covers({"admin:read"}, "admin:read:accounts")
    assert not scopes.covers({"admin:read"}, "admin:write:accounts")
    assert not scopes.covers({"read"}, "write:statuses")
    assert not scopes.covers({"read:statuses"}, "read")
    assert not scopes.covers({"read:statuses"}, "read:accounts")


def test_follow_implies_the_graph_scopes():
    for s in ("read:follows", "read:blocks", "read:mutes", "write:follows", "write:blocks", "write:mutes"):
        assert scopes.covers({"follow"}, s)
    assert not scopes.covers({"follow"}, "read:statuses")


def test_parse_and_order():
    assert scopes.parse(None) == {"read"}
    assert scopes.parse("write+read") == {"read", "write"}
    assert scopes.to_string({"write:media", "read", "follow"}) == "read follow write:media"
    with pytest.raises(scopes.ScopeError):
        scopes.parse("read admin")
    with pytest.raises(scopes.ScopeError):
        Scoped("read:everything")  # a typo in an endpoint's declaration fails at import


@pytest.mark.parametrize(
    ("granted", "status"),
    [("read", 200), ("read:accounts", 200), ("profile", 200), ("write", 403), ("read:statuses", 403), ("follow", 403)],
)
def test_verify_credentials_scope_enforcement(world, register, password_token, granted, status):
    app = register(scopes="read write follow push profile")
    token = password_token(world.alice, scope=granted, app=app)
    r = bearer(token).get("/api/v1/accounts/verify_credentials")
    assert r.status_code == status
    if status == 403:
        assert r.json() == {"error": "This action is outside the authorized scopes"}


@pytest.mark.parametrize(
    "header", [None, "Bearer", "Bearer not-a-token", "Basic abc", "bearer  "],
)
def test_missing_or_bad_tokens_are_401(db, header):
    from django.test import Client

    c = Client(headers={"Authorization": header}) if header else Client()
    r = c.get("/api/v1/accounts/verify_credentials")
    assert r.status_code == 401
    assert r.json() == {"error": "The access token is invalid"}


def test_cookies_do_not_authenticate_the_api(world, client_for):
    # A signed-in browser session is not an API credential (so CSRF never matters under /api).
    r = client_for(world.alice).get("/api/v1/accounts/verify_credentials")
    assert r.status_code == 401


def test_bearer_writes_need_no_csrf(world, register, password_token):
    from django.test import Client

    token = password_token(world.alice)
    c = Client(enforce_csrf_checks=True, headers={"Authorization": f"Bearer {token}"})
    r = c.post("/api/v1/apps", {"client_name": "x", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob"})
    assert r.status_code == 200


def test_suspended_accounts_read_but_do_not_write(world, password_token):
    token = password_token(world.alice)
    world.alice.suspended_at = timezone.now()
    world.alice.save()
    client = bearer(token)
    assert client.get("/api/v1/accounts/verify_credentials").status_code == 200
    # A write endpoint through the same authentication class answers 403.
    from django.test import RequestFactory

    request = RequestFactory().post("/", headers={"Authorization": f"Bearer {token}"})
    from rostra.api.http import ApiError

    with pytest.raises(ApiError) as exc:
        Scoped("write:statuses")(request)
    assert exc.value.status == 403 and exc.value.message == "Your login is currently disabled"
    request = RequestFactory().get("/", headers={"Authorization": f"Bearer {token}"})
    assert Scoped("read:statuses")(request) is not None


def test_last_used_at_is_recorded(world, password_token):
    from rostra.api.models import AccessToken

    token = password_token(world.alice)
    assert AccessToken.objects.get().last_used_at is None
    bearer(token).get("/api/v1/accounts/verify_credentials")
    assert AccessToken.objects.get().last_used_at is not None
