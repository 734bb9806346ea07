"""GET /api/v1/directory: discoverable local people, anonymous or signed in, ordered and paged."""

from __future__ import annotations

from datetime import timedelta

from django.test import Client

from rostra.accounts.models import Account, User
from rostra.core import clock
from rostra.testing.world import make_account
from tests.api.conftest import bearer

EVERYONE = {"alice", "bob", "carol", "dave", "eve", "maya", "ada"}


def _names(body: list[dict]) -> list[str]:
    return [a["username"] for a in body]


def test_anonymous_sees_discoverable_local_people(world):
    Account.objects.filter(pk=world.dave.pk).update(discoverable=False)
    Account.objects.filter(pk=world.eve.pk).update(suspended_at=clock.now())
    r = Client().get("/api/v1/directory")
    assert r.status_code == 200
    body = r.json()
    assert set(_names(body)) == EVERYONE - {"dave", "eve"}
    first = body[0]
    assert isinstance(first["id"], str) and first["acct"] == first["username"]
    assert {"display_name", "avatar", "note", "followers_count", "created_at"} <= set(first)


def test_deactivated_logins_are_left_out(world):
    User.objects.filter(pk=world.carol.user_id).update(is_active=False)
    assert "carol" not in _names(Client().get("/api/v1/directory").json())


def test_order_active_puts_recent_posters_first_and_new_newest_accounts(world):
    now = clock.now()
    Account.objects.filter(pk=world.bob.pk).update(last_status_at=now - timedelta(hours=1))
    Account.objects.filter(pk=world.carol.pk).update(last_status_at=now - timedelta(days=3))
    Account.objects.exclude(pk__in=[world.bob.pk, world.carol.pk]).update(last_status_at=None)
    active = _names(Client().get("/api/v1/directory?order=active").json())
    assert active[:2] == ["bob", "carol"]
    assert _names(Client().get("/api/v1/directory").json())[:2] == ["bob", "carol"]  # active is the default
    newcomer = make_account("zed")
    newest = Client().get("/api/v1/directory?order=new").json()
    assert newest[0]["id"] == str(newcomer.pk)
    ids = [int(a["id"]) for a in newest]
    assert ids == sorted(ids, reverse=True)


def test_signed_in_viewer_does_not_see_blocked_or_muted_people(world, password_token):
    # alice blocks eve; bob mutes dave
    alice = _names(bearer(password_token(world.alice, "read")).get("/api/v1/directory").json())
    assert "eve" not in alice and "alice" in alice
    eve = _names(bearer(password_token(world.eve, "read")).get("/api/v1/directory").json())
    assert "alice" not in eve
    bob = _names(bearer(password_token(world.bob, "read")).get("/api/v1/directory").json())
    assert "dave" not in bob and "eve" in bob


def test_any_scope_will_do_but_a_bad_token_is_401(world, password_token):
    assert bearer(password_token(world.alice, "write")).get("/api/v1/directory").status_code == 200
    r = bearer("not-a-token").get("/api/v1/directory")
    assert r.status_code == 401 and r.json() == {"error": "The access token is invalid"}


def test_offset_and_limit_page_through_everyone(world):
    for i in range(5):
        make_account(f"extra{i}")
    everyone = _names(Client().get("/api/v1/directory?order=new&limit=80").json())
    assert len(everyone) == 12
    r = Client().get("/api/v1/directory?order=new&limit=5")
    assert _names(r.json()) == everyone[:5]
    assert 'offset=5>; rel="next"' in r["Link"] and "order=new" in r["Link"] and 'rel="prev"' not in r["Link"]
    r = Client().get("/api/v1/directory?order=new&limit=5&offset=10")
    assert _names(r.json()) == everyone[10:]
    assert 'rel="next"' not in r["Link"] and 'offset=5>; rel="prev"' in r["Link"]
    assert Client().get("/api/v1/directory?offset=100").json() == []


def test_limit_is_clamped(world):
    for i in range(3):
        make_account(f"more{i}")
    assert len(Client().get("/api/v1/directory?limit=0").json()) == 1
    assert len(Client().get("/api/v1/directory?limit=-4").json()) == 1
    assert len(Client().get("/api/v1/directory?limit=500").json()) == 10
    assert len(Client().get("/api/v1/directory?offset=-3&limit=2").json()) == 2


def test_local_is_accepted(world):
    all_ = Client().get("/api/v1/directory?order=new").json()
    assert Client().get("/api/v1/directory?order=new&local=true").json() == all_
    assert Client().get("/api/v1/directory?order=new&local=0").json() == all_


def test_bad_parameters(world):
    r = Client().get("/api/v1/directory?order=popular")
    assert r.status_code == 422 and "order" in r.json()["error"]
    r = Client().get("/api/v1/directory?limit=ten")
    assert r.status_code == 400 and "limit" in r.json()["error"]
    r = Client().get("/api/v1/directory?offset=1.5")
    assert r.status_code == 400 and "offset" in r.json()["error"]
    r = Client().get("/api/v1/directory?local=maybe")
    assert r.status_code == 422


def test_openapi_describes_it(db):
    doc = Client().get("/api/openapi.json").json()
    assert "get" in doc["paths"]["/api/v1/directory"]
