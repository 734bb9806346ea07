"""Authorised fetch (ROSTRA_AUTHORIZED_FETCH, on in production, off in the test settings and
turned on here): documents answer signed GETs only; an unsigned GET of an actor gets a minimal
actor with its key; the instance actor, WebFinger, NodeInfo and pages stay open; suspended
domains are refused before their key is fetched. Keys come from a real fake remote on 127.0.0.3."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from django.test import Client

from rostra.config.env import ConfigError, load
from rostra.federation import actions, instance_actor, policy, uris
from rostra.federation.models import RemoteKey
from rostra.federation.signatures import generate_key_pair, sign_request
from rostra.posts.models import Visibility
from rostra.testing.world import make_post
from tests.federation.secure_remote import AS, SecureRemote, running

pytestmark = pytest.mark.django_db

DOCUMENTS = (
    "/users/alice",
    "/users/alice/outbox",
    "/users/alice/outbox?page=true",
    "/users/alice/followers",
    "/users/alice/following",
    "/users/alice/collections/featured",
)


@pytest.fixture(autouse=True)
def _authorized_fetch_on(settings) -> None:
    settings.AUTHORIZED_FETCH = True


@pytest.fixture
def remote() -> Iterator[SecureRemote]:
    with running() as server:
        server.actor("zoe")
        yield server


def _note_path(world) -> str:
    post = make_post(world.alice, "A public note about gardens")
    return f"/users/alice/statuses/{post.pk}"


# --- Unsigned --------------------------------------------------------------------------------------


def test_an_unsigned_get_of_an_actor_gets_only_its_key_and_inboxes(world) -> None:
    world.alice.note_html = "<p>My private-ish biography</p>"
    world.alice.save()
    response = Client().get("/users/alice", HTTP_ACCEPT=AS)
    assert response.status_code == 200
    doc = json.loads(response.content)
    assert doc["id"] == uris.actor_url("alice") and doc["type"] == "Person" and doc["preferredUsername"] == "alice"
    assert doc["publicKey"]["id"] == uris.key_id("alice") and doc["publicKey"]["publicKeyPem"].startswith("-----BEGIN PUBLIC KEY")
    assert doc["inbox"] and doc["endpoints"]["sharedInbox"] == uris.shared_inbox_url()
    assert {"Accept", "Signature"} <= {v.strip() for v in response["Vary"].split(",")}
    assert not {"name", "summary", "attachment", "icon", "published"} & doc.keys()
    assert "biography" not in response.content.decode()


@pytest.mark.parametrize("path", [*DOCUMENTS[1:], "note"])
def test_every_other_document_answers_401_to_an_unsigned_get(world, path) -> None:
    path = _note_path(world) if path == "note" else path
    response = Client().get(path, HTTP_ACCEPT=AS)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith('Signature realm="')
    assert "(request-target) host date" in response["WWW-Authenticate"]
    assert json.loads(response.content) == {"error": "This server requires a signed request (authorised fetch)."}


def test_the_401_is_the_same_bytes_whether_or_not_the_thing_exists(world) -> None:
    real = Client().get(_note_path(world), HTTP_ACCEPT=AS)
    missing = Client().get("/users/alice/statuses/999999999", HTTP_ACCEPT=AS)
    nobody = Client().get("/users/nobody/outbox", HTTP_ACCEPT=AS)
    assert real.status_code == missing.status_code == nobody.status_code == 401
    assert real.content == missing.content == nobody.content


def test_content_negotiation_on_the_page_urls_requires_a_signature_too(world) -> None:
    post = make_post(world.alice, "Another public note")
    assert Client().get(f"/@alice/{post.pk}", HTTP_ACCEPT=AS).status_code == 401
    minimal = json.loads(Client().get("/@alice", HTTP_ACCEPT=AS).content)
    assert "summary" not in minimal and minimal["publicKey"]["id"] == uris.key_id("alice")


def test_browsers_webfinger_nodeinfo_and_the_instance_actor_stay_open(world) -> None:
    post = make_post(world.alice, "A note for browsers")
    browser = Client()
    assert browser.get("/@alice").status_code == 200
    assert browser.get(f"/@alice/{post.pk}").status_code == 200
    assert browser.get("/users/alice", HTTP_ACCEPT="text/html").status_code == 302
    assert browser.get(f"/users/alice/statuses/{post.pk}", HTTP_ACCEPT="text/html").status_code == 302
    assert browser.get("/.well-known/webfinger", {"resource": f"acct:alice@{uris.domain()}"}).status_code == 200
    assert browser.get("/.well-known/nodeinfo").status_code == 200
    actor = browser.get("/actor", HTTP_ACCEPT=AS)
    assert actor.status_code == 200 and json.loads(actor.content)["publicKey"]["id"] == instance_actor.key_id()


def test_with_the_setting_off_unsigned_gets_get_full_documents(world, settings) -> None:
    settings.AUTHORIZED_FETCH = False
    doc = json.loads(Client().get("/users/alice", HTTP_ACCEPT=AS).content)
    assert doc["name"] == world.alice.display_name
    assert Client().get(_note_path(world), HTTP_ACCEPT=AS).status_code == 200


# --- Signed ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [*DOCUMENTS, "note"])
def test_a_signed_get_is_served_and_the_signers_key_fetched_once(world, remote, path) -> None:
    path = _note_path(world) if path == "note" else path
    response = remote.get_from_us("zoe", path)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith(AS)
    assert "Signature" in response["Vary"]
    assert remote.get_from_us("zoe", path).status_code == 200
    assert len(remote.gets("/users/zoe")) == 1  # the key is kept after the first fetch
    assert RemoteKey.objects.filter(key_id=f"{remote.base}/users/zoe#main-key").exists()


def test_a_signed_get_of_the_actor_is_the_full_document(world, remote) -> None:
    doc = json.loads(remote.get_from_us("zoe", "/users/alice").content)
    assert doc["name"] == world.alice.display_name and "summary" in doc


def test_an_rfc9421_signed_get_is_served(world, remote) -> None:
    assert remote.get_from_us("zoe", _note_path(world), rfc9421=True).status_code == 200


def test_a_signed_get_reads_as_an_anonymous_visitor(world, remote) -> None:
    hidden = make_post(world.alice, "for followers only", visibility=Visibility.PRIVATE)
    response = remote.get_from_us("zoe", f"/users/alice/statuses/{hidden.pk}")
    assert response.status_code == 404


def test_a_signature_for_another_path_is_refused(world, remote) -> None:
    response = remote.get_from_us("zoe", _note_path(world), sign_path="/users/alice/outbox")
    assert response.status_code == 401
    assert "does not verify" in json.loads(response.content)["error"]
    assert "WWW-Authenticate" in response


def test_a_signature_by_a_key_that_is_not_the_actors_is_refused(world, remote) -> None:
    forged, _ = generate_key_pair()
    headers = sign_request(
        "GET",
        f"http://testserver{_note_path(world)}",
        {},
        None,
        key_id=f"{remote.base}/users/zoe#main-key",
        private_key_pem=forged,
    )
    meta = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
    response = Client().get(_note_path(world), HTTP_ACCEPT=AS, **meta)
    assert response.status_code == 401 and "does not verify" in response.content.decode()


def test_a_malformed_signature_is_refused_with_the_reason(world) -> None:
    response = Client().get("/users/alice/outbox", HTTP_ACCEPT=AS, HTTP_SIGNATURE='keyId="x",signature=')
    assert response.status_code == 401
    assert "malformed" in json.loads(response.content)["error"] or "no signature" in json.loads(response.content)["error"]


def test_a_signer_whose_key_cannot_be_found_is_refused(world) -> None:
    private, _ = generate_key_pair()
    headers = sign_request(
        "GET",
        "http://testserver/users/alice/outbox",
        {},
        None,
        key_id="http://127.0.0.4:9/users/ghost#main-key",
        private_key_pem=private,
    )
    meta = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
    response = Client().get("/users/alice/outbox", HTTP_ACCEPT=AS, **meta)
    assert response.status_code == 401 and "no public key could be found" in response.content.decode()


# --- Instance policy -------------------------------------------------------------------------------


def test_a_suspended_domain_is_refused_before_its_key_is_fetched(world, remote) -> None:
    private, _ = generate_key_pair()
    policy.block_domain(None, policy.check_block("blocked.example", severity="suspend"))
    headers = sign_request(
        "GET",
        "http://testserver/users/alice/outbox",
        {},
        None,
        key_id="https://media.blocked.example/users/eve#main-key",
        private_key_pem=private,
    )
    meta = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
    response = Client().get("/users/alice/outbox", HTTP_ACCEPT=AS, **meta)
    assert response.status_code == 403
    assert "blocked.example" in json.loads(response.content)["error"]
    assert not RemoteKey.objects.filter(key_id__contains="blocked.example").exists()


def test_a_domain_suspended_after_its_key_was_kept_is_refused_too(world, remote) -> None:
    assert remote.get_from_us("zoe", "/users/alice/outbox").status_code == 200
    policy.block_domain(None, policy.check_block(remote.server_address[0], severity="suspend"))
    response = remote.get_from_us("zoe", "/users/alice/outbox")
    assert response.status_code == 403


def test_a_local_key_signs_for_itself(world) -> None:
    """Our own instance actor's signature verifies against our own key (no fetch)."""
    signer = instance_actor.signer()
    headers = sign_request("GET", "http://testserver/users/alice/outbox", {}, None, **signer.as_kwargs())
    meta = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
    assert Client().get("/users/alice/outbox", HTTP_ACCEPT=AS, **meta).status_code == 200


def test_a_known_remote_key_needs_no_network(world) -> None:
    private, public = generate_key_pair()
    actions.remember_remote_key("https://remote.example/users/mallory#main-key", "https://remote.example/users/mallory", public)
    headers = sign_request(
        "GET",
        "http://testserver/users/alice/following",
        {},
        None,
        key_id="https://remote.example/users/mallory#main-key",
        private_key_pem=private,
    )
    meta = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
    assert Client().get("/users/alice/following", HTTP_ACCEPT=AS, **meta).status_code == 200


# --- The setting -----------------------------------------------------------------------------------


def test_the_setting_is_on_by_default_and_a_bad_value_stops_start_up(tmp_path) -> None:
    base = {"ROSTRA_DATA_DIR": str(tmp_path / "data")}
    assert load(base).authorized_fetch is True
    assert load(base | {"ROSTRA_AUTHORIZED_FETCH": "off"}).authorized_fetch is False
    with pytest.raises(ConfigError, match="ROSTRA_AUTHORIZED_FETCH"):
        load(base | {"ROSTRA_AUTHORIZED_FETCH": "sometimes"})
