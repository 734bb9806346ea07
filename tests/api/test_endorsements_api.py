"""Endorsements (featured accounts): POST /api/v1/accounts/:id/pin and /unpin, GET /api/v1/endorsements
and GET /api/v1/accounts/:id/endorsements, and the Relationship's ``endorsed``."""

from __future__ import annotations

import time

from django.test import Client

from rostra.accounts import actions as accounts
from rostra.accounts.models import Account, Endorsement
from rostra.testing.world import make_account
from tests.api.conftest import bearer, link_params


def _ids(body: list[dict[str, object]]) -> list[object]:
    return [x["id"] for x in body]


def test_pin_endorses_an_account_you_follow(world, password_token):
    c = bearer(password_token(world.bob, scope="write:accounts read:follows read:accounts"))
    r = c.post(f"/api/v1/accounts/{world.alice.pk}/pin")
    assert r.status_code == 200, r.content
    assert r.json()["endorsed"] is True and r.json()["following"] is True
    assert c.post(f"/api/v1/accounts/{world.alice.pk}/pin").json()["endorsed"] is True  # idempotent
    assert Endorsement.objects.filter(account=world.bob).count() == 1
    assert c.get(f"/api/v1/accounts/relationships?id[]={world.alice.pk}").json()[0]["endorsed"] is True
    assert _ids(c.get("/api/v1/endorsements").json()) == [str(world.alice.pk)]
    r = c.post(f"/api/v1/accounts/{world.alice.pk}/unpin")
    assert r.status_code == 200 and r.json()["endorsed"] is False
    assert c.post(f"/api/v1/accounts/{world.alice.pk}/unpin").status_code == 200  # idempotent
    assert c.get("/api/v1/endorsements").json() == []


def test_you_can_only_endorse_people_you_follow(world, password_token):
    c = bearer(password_token(world.bob, scope="write:accounts"))
    r = c.post(f"/api/v1/accounts/{world.dave.pk}/pin")
    assert r.status_code == 422 and "follow" in r.json()["error"]
    assert c.post(f"/api/v1/accounts/{world.bob.pk}/pin").status_code == 422  # oneself
    # carol is locked: bob follows her (world), but a mere request is not enough.
    eve = bearer(password_token(world.eve, scope="write:accounts write:follows"))
    assert eve.post(f"/api/v1/accounts/{world.carol.pk}/follow").json()["requested"] is True
    assert eve.post(f"/api/v1/accounts/{world.carol.pk}/pin").status_code == 422
    assert not Endorsement.objects.exists()


def test_unfollowing_removes_the_endorsement(world, password_token):
    accounts.endorse(world.bob, world.alice)
    c = bearer(password_token(world.bob, scope="write:follows read:follows"))
    r = c.post(f"/api/v1/accounts/{world.alice.pk}/unfollow")
    assert r.json()["endorsed"] is False
    assert not Endorsement.objects.exists()


def test_blocking_either_way_removes_the_endorsement(world):
    accounts.endorse(world.bob, world.alice)
    accounts.endorse(world.bob, world.carol)
    accounts.block(world.bob, world.alice)
    accounts.block(world.carol, world.bob)
    assert not Endorsement.objects.exists()


def test_removing_a_follower_removes_their_endorsement(world):
    accounts.endorse(world.dave, world.alice)
    accounts.remove_follower(world.alice, world.dave)
    assert not Endorsement.objects.exists()


def test_deleting_either_account_removes_endorsements(world):
    accounts.endorse(world.bob, world.alice)
    accounts.endorse(world.dave, world.alice)
    accounts.purge_account(world.alice)
    assert not Endorsement.objects.exists()


def test_anyones_endorsements_are_public(world, password_token):
    accounts.endorse(world.bob, world.alice)
    time.sleep(0.003)
    accounts.endorse(world.bob, world.carol)
    expected = [str(world.carol.pk), str(world.alice.pk)]  # newest first
    assert _ids(Client().get(f"/api/v1/accounts/{world.bob.pk}/endorsements").json()) == expected
    dave = bearer(password_token(world.dave, scope="read:accounts"))
    assert _ids(dave.get(f"/api/v1/accounts/{world.bob.pk}/endorsements").json()) == expected
    assert Client().get(f"/api/v1/accounts/{world.dave.pk}/endorsements").json() == []


def test_endorsements_leave_out_suspended_and_blocked_people(world, password_token):
    accounts.endorse(world.bob, world.alice)
    accounts.endorse(world.bob, world.carol)
    Account.objects.filter(pk=world.carol.pk).update(suspended_at="2026-01-01T00:00:00Z")
    assert _ids(Client().get(f"/api/v1/accounts/{world.bob.pk}/endorsements").json()) == [str(world.alice.pk)]
    # alice blocks eve: eve does not see alice in bob's endorsements.
    eve = bearer(password_token(world.eve, scope="read:accounts"))
    assert eve.get(f"/api/v1/accounts/{world.bob.pk}/endorsements").json() == []


def test_endorsements_of_a_missing_or_suspended_account_are_404(world, password_token):
    assert Client().get("/api/v1/accounts/999999/endorsements").status_code == 404
    Account.objects.filter(pk=world.bob.pk).update(suspended_at="2026-01-01T00:00:00Z")
    assert Client().get(f"/api/v1/accounts/{world.bob.pk}/endorsements").status_code == 404


def test_endorsements_are_paginated_with_link(world, password_token):
    people = [make_account(f"feat{i}") for i in range(5)]
    for p in people:
        accounts.follow(world.bob, p)
        accounts.endorse(world.bob, p)
        time.sleep(0.003)
    c = bearer(password_token(world.bob, scope="read:accounts"))
    r = c.get("/api/v1/endorsements?limit=2")
    assert _ids(r.json()) == [str(people[4].pk), str(people[3].pk)]
    links = link_params(r)
    assert "next" in links and "prev" in links
    r2 = c.get("/api/v1/endorsements", {k: v for k, v in links["next"].items() if k != "path"})
    assert _ids(r2.json()) == [str(people[2].pk), str(people[1].pk)]
    r3 = Client().get(f"/api/v1/accounts/{world.bob.pk}/endorsements?limit=2")
    assert _ids(r3.json()) == [str(people[4].pk), str(people[3].pk)] and "next" in link_params(r3)


def test_scopes_and_tokens(world, password_token):
    no_write = bearer(password_token(world.bob, scope="read write:follows"))
    assert no_write.post(f"/api/v1/accounts/{world.alice.pk}/pin").status_code == 403
    assert no_write.post(f"/api/v1/accounts/{world.alice.pk}/unpin").status_code == 403
    no_read = bearer(password_token(world.bob, scope="write read:follows"))
    assert no_read.get("/api/v1/endorsements").status_code == 403
    assert Client().post(f"/api/v1/accounts/{world.alice.pk}/pin").status_code == 401
    assert Client().get("/api/v1/endorsements").status_code == 401
    assert not Endorsement.objects.exists()


def test_pin_of_a_missing_account_is_404(world, password_token):
    c = bearer(password_token(world.bob, scope="write:accounts"))
    assert c.post("/api/v1/accounts/999999/pin").status_code == 404
    assert c.post("/api/v1/accounts/999999/unpin").status_code == 404


def test_mastodon_44_names_endorse_and_unendorse(world, password_token):
    c = bearer(password_token(world.bob, scope="write:accounts"))
    assert c.post(f"/api/v1/accounts/{world.alice.pk}/endorse").json()["endorsed"] is True
    assert Endorsement.objects.filter(account=world.bob, target=world.alice).exists()
    assert c.post(f"/api/v1/accounts/{world.dave.pk}/endorse").status_code == 422
    assert c.post(f"/api/v1/accounts/{world.alice.pk}/unendorse").json()["endorsed"] is False
    assert not Endorsement.objects.exists()


def test_the_openapi_document_describes_the_new_endpoints(db):
    paths = Client().get("/api/openapi.json").json()["paths"]
    for path in ("note", "pin", "unpin", "endorse", "unendorse", "endorsements"):
        assert f"/api/v1/accounts/{{account_id}}/{path}" in paths
    assert "/api/v1/endorsements" in paths
