"""Every GET Rostra makes of ActivityStreams documents is signed by the instance actor
(``fetching.signed_get``): actors, keys and objects, against a fake remote on 127.0.0.3 that,
like a Mastodon in secure mode, answers only signed GETs it can verify with our published key."""

from __future__ import annotations

import json
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread

import pytest

from rostra.core import outbound
from rostra.federation import actors, fetching, inbox, instance_actor
from rostra.federation.signatures import claimed_key_id
from tests.federation.secure_remote import AS, SecureRemote, running

pytestmark = pytest.mark.django_db


@pytest.fixture
def remote(db) -> Iterator[SecureRemote]:
    with running() as server:
        server.trust(instance_actor.key_id(), instance_actor.public_key_pem())
        server.state.require_signed_gets = True
        server.actor("zoe")
        yield server


def test_an_actor_fetch_is_signed_by_the_instance_actor(remote) -> None:
    account = actors.resolve(f"{remote.base}/users/zoe")
    assert account.username == "zoe"
    (seen,) = remote.gets("/users/zoe")
    assert seen.status == 200 and not remote.refusals
    assert claimed_key_id(seen.headers) == instance_actor.key_id()
    assert 'headers="(request-target) host date"' in seen.headers["Signature"]
    assert seen.headers["Accept"].startswith(AS)


def test_a_key_fetch_is_signed(remote) -> None:
    owner, pem = inbox.fetch_key(f"{remote.base}/users/zoe#main-key") or ("", "")
    assert owner == f"{remote.base}/users/zoe" and pem == remote.state.keys["zoe"][1]
    assert claimed_key_id(remote.gets("/users/zoe")[0].headers) == instance_actor.key_id()


def test_an_object_fetch_is_signed(remote) -> None:
    remote.state.documents["/notes/1"] = {
        "id": f"{remote.base}/notes/1",
        "type": "Note",
        "attributedTo": f"{remote.base}/users/zoe",
    }
    doc = actors.fetch_document(f"{remote.base}/notes/1")
    assert doc["type"] == "Note" and remote.gets("/notes/1")[0].status == 200


def test_a_peer_that_refuses_our_signature_is_a_permanent_failure(remote) -> None:
    remote.state.trusted.clear()  # the peer cannot verify us: 401
    with pytest.raises(actors.ActorError, match="answered 401") as caught:
        actors.resolve(f"{remote.base}/users/zoe")
    assert not isinstance(caught.value, actors.Unavailable)


@pytest.mark.parametrize("status", [500, 502, 503, 429, 408])
def test_a_peer_that_cannot_answer_now_is_a_transient_failure(remote, status) -> None:
    remote.state.fail_with = status
    with pytest.raises(actors.Unavailable, match=f"answered {status}"):
        actors.resolve(f"{remote.base}/users/zoe")


def test_an_unreachable_peer_is_a_transient_failure(db) -> None:
    with running() as server:
        url = f"{server.base}/users/zoe"
    with pytest.raises(actors.Unavailable, match="failed"):
        actors.fetch_document(url)  # the server is gone: connection refused


class _Redirecting(BaseHTTPRequestHandler):
    """/old redirects to /new on the same host; both record the signature they got."""

    server: ThreadingHTTPServer

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.server.seen.append((self.path, dict(self.headers.items())))  # type: ignore[attr-defined]
        if self.path == "/old":
            self.send_response(301)
            self.send_header("Location", "/new")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = json.dumps({"id": f"http://127.0.0.3:{self.server.server_address[1]}/new", "type": "Note"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", AS)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def test_each_redirect_hop_is_signed_for_its_own_path(db) -> None:
    server = ThreadingHTTPServer(("127.0.0.3", 0), _Redirecting)
    server.seen = []  # type: ignore[attr-defined]
    Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        response = fetching.signed_get(f"http://127.0.0.3:{server.server_address[1]}/old")
    finally:
        server.shutdown()
        server.server_close()
    assert response.status == 200 and response.url.endswith("/new")
    (first_path, first), (second_path, second) = server.seen  # type: ignore[attr-defined]
    assert (first_path, second_path) == ("/old", "/new")
    assert first["Signature"] != second["Signature"] and first["Date"]


def test_a_url_that_is_not_http_is_refused_without_a_request(db) -> None:
    with pytest.raises(outbound.OutboundError, match="not an absolute http"):
        fetching.signed_get("ftp://remote.example/users/zoe")
