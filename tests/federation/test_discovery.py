"""Discovery: WebFinger, host-meta and NodeInfo, as other servers ask for them."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from rostra.accounts.models import Account
from rostra.federation import uris

pytestmark = pytest.mark.django_db


def _finger(resource: str) -> tuple[int, dict]:
    response = Client().get("/.well-known/webfinger", {"resource": resource})
    return response.status_code, (response.json() if response.status_code in (200, 400, 404) else {})


def test_webfinger_finds_a_local_account_by_acct(world) -> None:
    response = Client().get("/.well-known/webfinger", {"resource": f"acct:alice@{uris.domain()}"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/jrd+json")
    doc = response.json()
    assert doc["subject"] == f"acct:alice@{uris.domain()}"
    links = {link["rel"]: link for link in doc["links"]}
    assert links["self"] == {"rel": "self", "type": "application/activity+json", "href": uris.actor_url("alice")}
    assert links["http://webfinger.net/rel/profile-page"]["href"] == uris.profile_url("alice")
    assert links["http://ostatus.org/schema/1.0/subscribe"]["template"] == f"{uris.base_url()}/authorize_interaction?uri={{uri}}"


@pytest.mark.parametrize(
    "resource",
    ["acct:ALICE@{domain}", "{base}/@alice", "{base}/users/alice", "acct:@alice@{domain}"],
)
def test_webfinger_accepts_profile_urls_and_any_case(world, resource: str) -> None:
    status, doc = _finger(resource.format(domain=uris.domain(), base=uris.base_url()))
    assert status == 200
    assert doc["subject"] == f"acct:alice@{uris.domain()}"


def test_webfinger_answers_404_for_unknown_suspended_deleted_and_other_domains(world) -> None:
    Account.objects.filter(pk=world.eve.pk).update(suspended_at=timezone.now())
    dave_user = world.dave.user
    dave_user.is_active = False
    dave_user.save(update_fields=["is_active"])
    for resource in (
        f"acct:nobody@{uris.domain()}",
        f"acct:eve@{uris.domain()}",
        f"acct:dave@{uris.domain()}",
        "acct:alice@elsewhere.example",
        "https://elsewhere.example/@alice",
    ):
        status, doc = _finger(resource)
        assert (status, doc) == (404, {"error": "Record not found"}), resource


@pytest.mark.parametrize("resource", ["", "alice", "acct:alice", "acct:al ice@x", "mailto:alice@x", "https://x/about"])
def test_webfinger_refuses_a_malformed_resource(world, resource: str) -> None:
    status, doc = _finger(resource)
    assert status == 400
    assert "resource" in doc["error"]


def test_host_meta_points_at_webfinger() -> None:
    response = Client().get("/.well-known/host-meta")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/xrd+xml")
    body = response.content.decode()
    assert f'template="{uris.base_url()}/.well-known/webfinger?resource={{uri}}"' in body


def test_nodeinfo_says_activitypub(db) -> None:
    assert Client().get("/nodeinfo/2.0").json()["protocols"] == ["activitypub"]
