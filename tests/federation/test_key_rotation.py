"""Key rotation: a signature that fails with a kept key makes Rostra fetch the key again (at most
once per key per ``inbox.REFETCH_EVERY``) and verify again; a changed key replaces the kept one.
A real fake remote on 127.0.0.3 rotates its actor's key."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest

from rostra.core import clock
from rostra.federation import actions, inbox, uris
from rostra.federation.models import InboxItem, RemoteKey
from rostra.federation.signatures import generate_key_pair
from tests.federation.secure_remote import SecureRemote, running

pytestmark = pytest.mark.django_db


@pytest.fixture
def remote(db) -> Iterator[SecureRemote]:
    with running() as server:
        server.actor("zoe")
        yield server


def _key_id(remote: SecureRemote) -> str:
    return f"{remote.base}/users/zoe#main-key"


def _kept(remote: SecureRemote) -> RemoteKey:
    return RemoteKey.objects.get(key_id=_key_id(remote))


def test_a_rotated_key_is_fetched_again_and_the_activity_accepted(world, remote) -> None:
    assert remote.send("zoe", "Follow", uris.actor_url("alice")).status_code == 202
    old_pem = _kept(remote).public_key_pem
    remote.rotate("zoe")
    response = remote.send("zoe", "Follow", uris.actor_url("bob"))
    assert response.status_code == 202, response.content
    kept = _kept(remote)
    assert kept.public_key_pem == remote.state.keys["zoe"][1] != old_pem
    assert kept.refetched_at is not None
    assert len(remote.gets("/users/zoe")) == 2
    assert InboxItem.objects.filter(activity_id=response.activity_id).exists()


def test_a_rotated_key_also_passes_authorised_fetch(world, remote, settings) -> None:
    settings.AUTHORIZED_FETCH = True
    assert remote.get_from_us("zoe", "/users/alice/outbox").status_code == 200
    remote.rotate("zoe")
    assert remote.get_from_us("zoe", "/users/alice/outbox").status_code == 200
    assert _kept(remote).public_key_pem == remote.state.keys["zoe"][1]


def test_a_forged_signature_fetches_the_key_once_then_not_again_for_a_while(world, remote) -> None:
    assert remote.send("zoe", "Follow", uris.actor_url("alice")).status_code == 202
    genuine = remote.state.keys["zoe"]
    remote.state.keys["zoe"] = generate_key_pair()  # a forger signs as zoe; the remote still serves the genuine key
    first = remote.send("zoe", "Follow", uris.actor_url("bob"))
    assert first.status_code == 401 and "does not verify" in json.loads(first.content)["error"]
    assert len(remote.gets("/users/zoe")) == 2  # fetched once more: unchanged, so the refusal stands
    for _ in range(3):
        assert remote.send("zoe", "Follow", uris.actor_url("bob")).status_code == 401
    assert len(remote.gets("/users/zoe")) == 2  # not fetched again within REFETCH_EVERY
    assert _kept(remote).public_key_pem == genuine[1]
    # REFETCH_EVERY later, a failure may fetch it again (time moved by moving the record back).
    RemoteKey.objects.filter(key_id=_key_id(remote)).update(refetched_at=clock.now() - inbox.REFETCH_EVERY - timedelta(seconds=1))
    assert remote.send("zoe", "Follow", uris.actor_url("bob")).status_code == 401
    assert len(remote.gets("/users/zoe")) == 3
    assert InboxItem.objects.count() == 1  # only the genuine first activity was stored


def test_a_rotation_that_arrives_too_soon_after_a_refetch_waits(world, remote) -> None:
    assert remote.send("zoe", "Follow", uris.actor_url("alice")).status_code == 202
    RemoteKey.objects.filter(key_id=_key_id(remote)).update(refetched_at=clock.now())
    remote.rotate("zoe")
    assert remote.send("zoe", "Follow", uris.actor_url("bob")).status_code == 401
    assert len(remote.gets("/users/zoe")) == 1
    RemoteKey.objects.filter(key_id=_key_id(remote)).update(refetched_at=clock.now() - inbox.REFETCH_EVERY)
    assert remote.send("zoe", "Follow", uris.actor_url("bob")).status_code == 202


def test_a_remote_that_is_down_keeps_the_old_key(world, remote) -> None:
    assert remote.send("zoe", "Follow", uris.actor_url("alice")).status_code == 202
    old_pem = _kept(remote).public_key_pem
    remote.rotate("zoe")
    remote.state.fail_with = 503
    assert remote.send("zoe", "Follow", uris.actor_url("bob")).status_code == 401
    assert _kept(remote).public_key_pem == old_pem


def test_only_one_of_two_concurrent_claims_wins(world) -> None:
    actions.remember_remote_key(
        "https://remote.example/users/x#main-key", "https://remote.example/users/x", generate_key_pair()[1]
    )
    key = "https://remote.example/users/x#main-key"
    assert actions.claim_key_refetch(key, every=inbox.REFETCH_EVERY) is True
    assert actions.claim_key_refetch(key, every=inbox.REFETCH_EVERY) is False
    assert actions.claim_key_refetch("https://remote.example/users/unknown#main-key", every=inbox.REFETCH_EVERY) is False
