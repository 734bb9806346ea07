"""Deliveries sign RFC 9421 first and fall back to draft-cavage on a 400/401 ("double-knocking"),
remembering per domain what worked; fake remotes on 127.0.0.3 accept only one scheme each and
verify every signature with the sender's published key."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from rostra.accounts.models import Account
from rostra.core import clock
from rostra.federation import actions, delivery, double_knock, uris
from rostra.federation.models import Delivery, DeliveryState, DomainHealth
from rostra.testing.world import make_account
from tests.federation.secure_remote import SecureRemote, running

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice() -> Account:
    return make_account("alice")


@pytest.fixture
def remote(alice) -> Iterator[SecureRemote]:
    with running() as server:
        server.trust(uris.key_id("alice"), actions.ensure_key(alice).public_key_pem)
        yield server


def _deliver(alice: Account, remote: SecureRemote, n: int, *, at=None) -> Delivery:
    body = {
        "@context": uris.AS_CONTEXT,
        "id": f"{uris.actor_url('alice')}/activities/{n}",
        "type": "Like",
        "actor": uris.actor_url("alice"),
        "object": f"{remote.base}/notes/{n}",
    }
    delivery.enqueue(alice, body, [f"{remote.base}/inbox"])
    delivery.deliver_due(now=at or clock.now(), batch=50)
    return Delivery.objects.get(activity__activity_id=body["id"])


def _schemes(remote: SecureRemote) -> list[str]:
    return ["rfc9421" if "Signature-Input" in s.headers else "cavage" for s in remote.posts()]


def _learnt(remote: SecureRemote) -> str:
    return DomainHealth.objects.get(domain=remote.domain).signature_scheme


def test_a_peer_that_speaks_rfc9421_gets_it_once_and_keeps_getting_it(alice, remote) -> None:
    remote.state.inbox_schemes = frozenset({"rfc9421"})
    assert _deliver(alice, remote, 1).state == DeliveryState.DONE
    assert _schemes(remote) == ["rfc9421"] and _learnt(remote) == double_knock.RFC9421
    assert _deliver(alice, remote, 2).state == DeliveryState.DONE
    assert _schemes(remote) == ["rfc9421", "rfc9421"] and not remote.refusals


def test_a_peer_that_speaks_only_cavage_gets_a_second_knock_then_cavage_straight_away(alice, remote) -> None:
    remote.state.inbox_schemes = frozenset({"cavage"})
    first = _deliver(alice, remote, 1)
    assert first.state == DeliveryState.DONE and first.attempts == 1
    assert _schemes(remote) == ["rfc9421", "cavage"] and _learnt(remote) == double_knock.CAVAGE
    assert _deliver(alice, remote, 2).state == DeliveryState.DONE
    assert _schemes(remote) == ["rfc9421", "cavage", "cavage"]


def _age_the_memory(remote: SecureRemote) -> None:
    DomainHealth.objects.filter(domain=remote.domain).update(
        signature_scheme_at=clock.now() - double_knock.RECHECK_AFTER - timedelta(seconds=1)
    )


def test_a_peer_remembered_as_cavage_is_offered_rfc9421_again_after_a_while(alice, remote) -> None:
    remote.state.inbox_schemes = frozenset({"cavage"})
    _deliver(alice, remote, 1)
    remote.state.inbox_schemes = frozenset({"rfc9421", "cavage"})  # the peer upgraded
    _age_the_memory(remote)
    assert _deliver(alice, remote, 2).state == DeliveryState.DONE
    assert _schemes(remote) == ["rfc9421", "cavage", "rfc9421"] and _learnt(remote) == double_knock.RFC9421


def test_a_peer_still_on_cavage_after_the_wait_is_remembered_afresh(alice, remote) -> None:
    remote.state.inbox_schemes = frozenset({"cavage"})
    _deliver(alice, remote, 1)
    _age_the_memory(remote)
    assert _deliver(alice, remote, 2).state == DeliveryState.DONE
    assert _deliver(alice, remote, 3).state == DeliveryState.DONE
    assert _schemes(remote) == ["rfc9421", "cavage", "rfc9421", "cavage", "cavage"]
    at = DomainHealth.objects.get(domain=remote.domain).signature_scheme_at
    assert at is not None and clock.now() - at < timedelta(minutes=1)


def test_when_both_knocks_are_refused_nothing_is_learnt_and_the_delivery_fails(alice, remote) -> None:
    remote.state.trusted.clear()  # the peer cannot verify alice at all
    row = _deliver(alice, remote, 1)
    assert row.state == DeliveryState.FAILED and row.last_status == 401
    assert _schemes(remote) == ["rfc9421", "cavage"]
    assert not DomainHealth.objects.filter(domain=remote.domain).exclude(signature_scheme="").exists()


def test_a_server_error_is_not_a_reason_to_knock_again(alice, remote) -> None:
    remote.state.fail_with = 503
    row = _deliver(alice, remote, 1)
    assert row.state == DeliveryState.PENDING and row.attempts == 1 and row.last_status == 503
    assert _schemes(remote) == ["rfc9421"]  # retried later on the delivery schedule, not knocked again now


def test_the_signed_headers_of_each_scheme(alice) -> None:
    body = b'{"type": "Like"}'
    cavage = double_knock.signed_headers(
        "cavage", "https://remote.example/inbox", body, key_id="k", private_key_pem=actions.private_key_pem(alice), at=clock.now()
    )
    rfc = double_knock.signed_headers(
        "rfc9421",
        "https://remote.example/inbox",
        body,
        key_id="k",
        private_key_pem=actions.private_key_pem(alice),
        at=clock.now(),
    )
    assert "Digest" in cavage and "Signature-Input" not in cavage and "Host" not in cavage
    assert rfc["Signature-Input"].startswith('sig1=("@method" "@target-uri" "content-digest")') and "Content-Digest" in rfc
