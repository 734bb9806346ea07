"""The inbox that stores first: C1 (unsigned), C2 (digest, date, replay), C3 (actor mismatch),
B4 (bodies over 1 MB), and keys fetched from a real fake remote on 127.0.0.2."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.test import Client

from rostra.core import clock
from rostra.core.models import Event
from rostra.federation import actions, uris
from rostra.federation.models import InboxItem, InboxState, RemoteKey
from rostra.federation.signatures import generate_key_pair, sign_request

pytestmark = pytest.mark.django_db

AS = "application/activity+json"
REMOTE = "https://remote.example/users/mallory"
REMOTE_KEY = f"{REMOTE}#main-key"


@pytest.fixture(scope="module")
def key_pair() -> tuple[str, str]:
    return generate_key_pair()


@pytest.fixture
def known_remote(key_pair) -> str:
    """A remote actor whose key was fetched before (stored, so no network is needed)."""
    actions.remember_remote_key(REMOTE_KEY, REMOTE, key_pair[1])
    return REMOTE


def activity(actor: str = REMOTE, **extra: Any) -> dict[str, Any]:
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{actor}/activities/{extra.pop('n', 1)}",
        "type": "Follow",
        "actor": actor,
        "object": uris.actor_url("alice"),
        **extra,
    }


def post(
    path: str,
    body: bytes,
    *,
    key_id: str | None = REMOTE_KEY,
    private_pem: str | None = None,
    content_type: str = AS,
    tamper: dict[str, str] | None = None,
    now: Any = None,
) -> Any:
    headers: dict[str, str] = {}
    if key_id is not None and private_pem is not None:
        headers = sign_request("POST", f"http://testserver{path}", {}, body, key_id=key_id, private_key_pem=private_pem, now=now)
    headers.setdefault("Host", "testserver")
    headers.update(tamper or {})
    extra = {f"HTTP_{name.upper().replace('-', '_')}": value for name, value in headers.items()}
    return Client().post(path, data=body, content_type=content_type, **extra)


def body_of(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc).encode()


# --- Accepted ------------------------------------------------------------------------------------


def test_a_signed_activity_is_stored_pending_and_answered_202(world, known_remote, key_pair) -> None:
    doc = activity()
    response = post("/users/alice/inbox", body_of(doc), private_pem=key_pair[0])
    assert response.status_code == 202, response.content
    item = InboxItem.objects.get()
    assert (item.activity_id, item.activity_type, item.actor, item.key_id) == (doc["id"], "Follow", REMOTE, REMOTE_KEY)
    assert item.recipient_id == world.alice.pk and item.body == doc
    assert item.state == InboxState.PENDING  # processing handlers are not built yet
    assert Event.objects.filter(kind="inbox.received", payload={"item_id": item.pk}).exists()


def test_the_shared_inbox_stores_with_no_recipient(world, known_remote, key_pair) -> None:
    response = post(
        "/inbox",
        body_of(activity(type="Create")),
        private_pem=key_pair[0],
        content_type='application/ld+json; profile="https://www.w3.org/ns/activitystreams"',
    )
    assert response.status_code == 202
    assert InboxItem.objects.get().recipient_id is None


def test_c2_replay_inside_the_window_is_accepted_but_stored_and_processed_once(world, known_remote, key_pair, run_tasks) -> None:
    body = body_of(activity())
    first = post("/users/alice/inbox", body, private_pem=key_pair[0])
    again = post("/users/alice/inbox", body, private_pem=key_pair[0])
    assert (first.status_code, again.status_code) == (202, 202)
    assert (first.json(), again.json()) == ({"stored": True}, {"stored": False})
    assert InboxItem.objects.count() == 1
    assert Event.objects.filter(kind="inbox.received").count() == 1
    run_tasks()
    assert Event.objects.get(kind="inbox.received").done_at is not None


# --- Refused, nothing stored ---------------------------------------------------------------------


def _nothing_stored() -> None:
    assert not InboxItem.objects.exists()
    assert not Event.objects.filter(kind="inbox.received").exists()


def test_c1_unsigned_is_401_and_nothing_is_stored(world, known_remote) -> None:
    response = post("/users/alice/inbox", body_of(activity()), key_id=None)
    assert response.status_code == 401
    assert "not signed" in response.json()["error"]
    _nothing_stored()


def test_c1_a_signature_by_another_key_is_401(world, known_remote) -> None:
    other_private, _ = generate_key_pair()
    response = post("/users/alice/inbox", body_of(activity()), private_pem=other_private)
    assert response.status_code == 401
    _nothing_stored()


def test_c2_digest_mismatch_is_401(world, known_remote, key_pair) -> None:
    signed_for = body_of(activity())
    headers = sign_request(
        "POST", "http://testserver/users/alice/inbox", {}, signed_for, key_id=REMOTE_KEY, private_key_pem=key_pair[0]
    )
    extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
    response = Client().post("/users/alice/inbox", data=body_of(activity(n=2)), content_type=AS, **extra)
    assert response.status_code == 401
    assert "digest" in response.json()["error"].lower()
    _nothing_stored()


@pytest.mark.parametrize("shift", [timedelta(hours=-13), timedelta(hours=2)])
def test_c2_stale_or_future_date_is_401(world, known_remote, key_pair, shift) -> None:
    response = post("/users/alice/inbox", body_of(activity()), private_pem=key_pair[0], now=clock.now() + shift)
    assert response.status_code == 401
    _nothing_stored()


def test_c2_a_signature_for_another_inbox_is_401(world, known_remote, key_pair) -> None:
    body = body_of(activity())
    headers = sign_request("POST", "http://testserver/users/bob/inbox", {}, body, key_id=REMOTE_KEY, private_key_pem=key_pair[0])
    extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
    assert Client().post("/users/alice/inbox", data=body, content_type=AS, **extra).status_code == 401
    _nothing_stored()


def test_c3_the_key_owner_must_be_the_actor(world, known_remote, key_pair) -> None:
    forged = activity(actor="https://remote.example/users/victim")
    response = post("/users/alice/inbox", body_of(forged), private_pem=key_pair[0])
    assert response.status_code == 401
    assert "actor" in response.json()["error"]
    _nothing_stored()


def test_b4_inbox_bodies_over_1_mb_are_413(world, known_remote, key_pair) -> None:
    big = body_of(activity(content="x" * 1_000_001))
    response = post("/users/alice/inbox", big, private_pem=key_pair[0])
    assert response.status_code == 413
    assert "1000000 bytes" in response.json()["error"]
    _nothing_stored()


def test_a_non_activitystreams_content_type_is_415(world, known_remote, key_pair) -> None:
    response = post("/users/alice/inbox", body_of(activity()), private_pem=key_pair[0], content_type="text/plain")
    assert response.status_code == 415
    _nothing_stored()


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1, 2]",
        body_of({"type": "Follow", "actor": REMOTE}),
        body_of({"id": "x", "type": 5, "actor": REMOTE}),
        body_of({"id": "x", "type": "Follow"}),
    ],
)
def test_a_body_that_is_no_activity_is_400(world, known_remote, key_pair, body: bytes) -> None:
    response = post("/users/alice/inbox", body, private_pem=key_pair[0])
    assert response.status_code == 400
    assert response.json()["error"]
    _nothing_stored()


def test_the_inbox_of_an_unknown_or_suspended_account_is_404(world, known_remote, key_pair) -> None:
    from rostra.accounts.models import Account

    Account.objects.filter(pk=world.eve.pk).update(suspended_at=clock.now())
    for path in ("/users/nobody/inbox", "/users/eve/inbox"):
        assert post(path, body_of(activity()), private_pem=key_pair[0]).status_code == 404
    _nothing_stored()


def test_the_inbox_takes_posts_only(world) -> None:
    assert Client().get("/users/alice/inbox").status_code == 405
    assert Client().get("/inbox").status_code == 405


# --- Keys fetched from a fake remote through the guarded client ----------------------------------


class _ActorHandler(BaseHTTPRequestHandler):
    server: _ActorServer

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.server.requests.append(self.path)
        found = self.server.documents.get(self.path)
        if found is None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        content_type, body = found
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _ActorServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.2", 0), _ActorHandler)
        self.documents: dict[str, tuple[str, bytes]] = {}
        self.requests: list[str] = []

    @property
    def base(self) -> str:
        return f"http://127.0.0.2:{self.server_address[1]}"

    def serve_actor(self, name: str, public_pem: str, *, content_type: str = AS, owner: str | None = None) -> str:
        actor = f"{self.base}/users/{name}"
        doc = {
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": actor,
            "type": "Person",
            "inbox": f"{actor}/inbox",
            "publicKey": {"id": f"{actor}#main-key", "owner": owner or actor, "publicKeyPem": public_pem},
        }
        self.documents[f"/users/{name}"] = (content_type, json.dumps(doc).encode())
        return actor


@pytest.fixture
def fake_remote() -> Iterator[_ActorServer]:
    server = _ActorServer()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_the_key_is_fetched_from_the_remote_actor_once_and_kept(world, fake_remote, key_pair) -> None:
    actor = fake_remote.serve_actor("zed", key_pair[1])
    first = post("/users/alice/inbox", body_of(activity(actor)), key_id=f"{actor}#main-key", private_pem=key_pair[0])
    assert first.status_code == 202, first.content
    assert fake_remote.requests == ["/users/zed"]
    kept = RemoteKey.objects.get(key_id=f"{actor}#main-key")
    assert (kept.owner, kept.public_key_pem) == (actor, key_pair[1])
    second = post("/inbox", body_of(activity(actor, n=2)), key_id=f"{actor}#main-key", private_pem=key_pair[0])
    assert second.status_code == 202
    assert fake_remote.requests == ["/users/zed"]  # not fetched again
    assert InboxItem.objects.filter(actor=actor).count() == 2


def test_c4_a_key_served_as_plain_json_or_owned_elsewhere_is_not_trusted(world, fake_remote, key_pair) -> None:
    html_actor = fake_remote.serve_actor("page", key_pair[1], content_type="text/html")
    foreign = fake_remote.serve_actor("foreign", key_pair[1], owner="https://elsewhere.example/users/foreign")
    for actor in (html_actor, foreign):
        response = post("/users/alice/inbox", body_of(activity(actor)), key_id=f"{actor}#main-key", private_pem=key_pair[0])
        assert response.status_code == 401, actor
    assert not RemoteKey.objects.exists()
    _nothing_stored()


def test_an_unreachable_key_is_401(world, fake_remote, key_pair) -> None:
    actor = f"{fake_remote.base}/users/nobody"
    response = post("/users/alice/inbox", body_of(activity(actor)), key_id=f"{actor}#main-key", private_pem=key_pair[0])
    assert response.status_code == 401
    _nothing_stored()


def test_a_local_actor_signing_with_its_own_key_is_accepted(world, key_pair) -> None:
    """Loopback federation between two accounts of one instance goes through the same checks."""
    actor = uris.actor_url("bob")
    response = post(
        "/users/alice/inbox", body_of(activity(actor)), key_id=uris.key_id("bob"), private_pem=actions.private_key_pem(world.bob)
    )
    assert response.status_code == 202


def test_an_activity_id_on_another_server_is_400_so_it_cannot_be_claimed_in_advance(world, known_remote, key_pair) -> None:
    """Replays are recognised by id: an id on another server (its account Delete, say) must not be
    stored by a sender who is not there, or the real activity would later be dropped as a replay."""
    claimed = activity(id="https://victim.example/users/bob#delete")
    response = post("/users/alice/inbox", body_of(claimed), private_pem=key_pair[0])
    assert response.status_code == 400 and "actor's server" in response.json()["error"]
    _nothing_stored()


def test_a_key_on_another_host_than_the_actor_is_401_before_anything_is_fetched(world, fake_remote, key_pair) -> None:
    actor = fake_remote.serve_actor("zed", key_pair[1])
    forged_key = "https://victim.example/users/x#main-key"  # a keyId elsewhere: never fetched
    response = post("/users/alice/inbox", body_of(activity(actor)), key_id=forged_key, private_pem=key_pair[0])
    assert response.status_code == 401 and "signing key" in response.json()["error"]
    assert fake_remote.requests == [] and not RemoteKey.objects.exists()
    _nothing_stored()
