"""The instance actor: an Application at /actor, fetchable unsigned, known to WebFinger as
acct:<host>@<host>, whose key signs requests and verifies with the published key."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from rostra.federation import instance_actor, uris
from rostra.federation.models import InstanceKey
from rostra.federation.signatures import sign_request, verify_request

pytestmark = pytest.mark.django_db
AS = "application/activity+json"


def test_the_actor_document_is_an_application_with_a_key_and_the_shared_inbox() -> None:
    response = Client().get("/actor", HTTP_ACCEPT=AS)
    assert response.status_code == 200
    assert response["Content-Type"].startswith(AS)
    doc = json.loads(response.content)
    assert doc["id"] == instance_actor.actor_uri() == f"{uris.base_url()}/actor"
    assert doc["type"] == "Application"
    assert doc["preferredUsername"] == uris.domain()
    assert doc["inbox"] == doc["endpoints"]["sharedInbox"] == uris.shared_inbox_url()
    assert doc["publicKey"] == {
        "id": f"{doc['id']}#main-key",
        "owner": doc["id"],
        "publicKeyPem": InstanceKey.objects.get().public_key_pem,
    }
    assert "PRIVATE" not in response.content.decode()


def test_the_key_is_made_once_and_sealed_at_rest() -> None:
    first, again = instance_actor.ensure_key(), instance_actor.ensure_key()
    assert first.pk == again.pk and InstanceKey.objects.count() == 1
    assert "PRIVATE KEY" not in first.private_key_pem
    assert instance_actor.private_key_pem().startswith("-----BEGIN PRIVATE KEY-----")


def test_a_browser_is_sent_to_the_about_page() -> None:
    response = Client().get("/actor", HTTP_ACCEPT="text/html")
    assert response.status_code == 302 and response["Location"] == "/about"


def test_its_outbox_is_an_empty_collection() -> None:
    doc = json.loads(Client().get("/actor/outbox", HTTP_ACCEPT=AS).content)
    assert doc == {
        "@context": uris.AS_CONTEXT,
        "id": f"{instance_actor.actor_uri()}/outbox",
        "type": "OrderedCollection",
        "totalItems": 0,
    }


@pytest.mark.parametrize("resource", ["acct:{host}@{host}", "{actor}"])
def test_webfinger_finds_it(resource: str) -> None:
    host = uris.domain()
    query = resource.format(host=host, actor=instance_actor.actor_uri())
    response = Client().get("/.well-known/webfinger", {"resource": query})
    assert response.status_code == 200
    jrd = json.loads(response.content)
    assert jrd["subject"] == f"acct:{host}@{host}"
    assert {"rel": "self", "type": AS, "href": instance_actor.actor_uri()} in jrd["links"]


def test_another_hosts_instance_actor_is_not_ours() -> None:
    response = Client().get("/.well-known/webfinger", {"resource": "acct:other.example@other.example"})
    assert response.status_code == 400  # not a handle of ours (usernames have no dots)


def test_the_signer_signs_what_the_published_key_verifies() -> None:
    signer = instance_actor.signer()
    assert signer.key_id == f"{uris.base_url()}/actor#main-key"
    headers = sign_request("GET", "https://remote.example/users/bob", {}, None, **signer.as_kwargs())
    published = instance_actor.document()["publicKey"]["publicKeyPem"]
    key_id = verify_request("GET", "/users/bob", headers, b"", public_key_for=lambda _: published)
    assert key_id == signer.key_id
