"""Inbox items that fail only because a remote could not answer (unreachable, timed out, 5xx)
stay pending and are processed again on a back-off schedule of about an hour; permanent failures
still fail at once. The remote is a real fake server on 127.0.0.3."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from rostra.accounts.models import Follow
from rostra.core import clock
from rostra.federation import receive, uris
from rostra.federation.models import InboxItem, InboxState
from tests.federation.secure_remote import SecureRemote, running

pytestmark = pytest.mark.django_db


@pytest.fixture
def remote(db) -> Iterator[SecureRemote]:
    with running() as server:
        server.actor("zoe")
        yield server


@pytest.fixture
def follow_item(world, remote, run_tasks):
    """A Follow of alice by zoe, stored (the key fetched) and then processed while zoe's server
    answers 503 to the actor fetch."""

    def make(status: int | None = 503) -> InboxItem:
        response = remote.send("zoe", "Follow", uris.actor_url("alice"))
        assert response.status_code == 202
        remote.state.fail_with = status
        run_tasks()
        return InboxItem.objects.get(activity_id=response.activity_id)

    return make


def _follows(remote: SecureRemote) -> bool:
    return Follow.objects.filter(follower__domain=remote.domain).exists()


def test_a_remote_that_is_down_leaves_the_item_pending_with_a_retry_time(follow_item, remote) -> None:
    before = clock.now()
    item = follow_item()
    assert item.state == InboxState.PENDING and item.attempts == 1
    assert item.retry_at is not None and item.retry_at >= before + receive.INBOX_RETRY_SCHEDULE[0]
    assert "answered 503" in item.outcome and "Will try again" in item.outcome
    assert not _follows(remote)


def test_the_item_is_processed_when_the_remote_is_back(follow_item, remote) -> None:
    item = follow_item()
    assert receive.retry_due(now=item.retry_at - timedelta(seconds=1)) == 0  # not due yet
    remote.state.fail_with = None
    assert receive.retry_due(now=item.retry_at) == 1
    item.refresh_from_db()
    assert item.state == InboxState.PROCESSED and _follows(remote)
    assert receive.retry_due(now=item.retry_at + timedelta(days=1)) == 0  # finished items are not run again


def test_a_remote_down_for_good_fails_the_item_after_the_schedule(follow_item, remote) -> None:
    item = follow_item()
    total = receive.INBOX_RETRY_SCHEDULE[0]
    for delay in receive.INBOX_RETRY_SCHEDULE[1:]:
        assert receive.retry_due(now=item.retry_at) == 1
        item.refresh_from_db()
        assert item.state == InboxState.PENDING
        total += delay
    assert timedelta(minutes=45) <= total <= timedelta(hours=2)  # about an hour in all
    assert receive.retry_due(now=item.retry_at) == 1
    item.refresh_from_db()
    attempts = len(receive.INBOX_RETRY_SCHEDULE) + 1
    assert item.state == InboxState.FAILED and item.outcome.startswith(f"Gave up after {attempts} attempts")
    assert len(remote.gets("/users/zoe")) == 1 + attempts  # the key fetch, then one actor fetch per attempt
    assert not _follows(remote)


@pytest.mark.parametrize("status", [404, 410, 401])
def test_a_permanent_failure_fails_at_once(follow_item, status) -> None:
    item = follow_item(status)
    assert item.state == InboxState.FAILED and item.retry_at is None and f"answered {status}" in item.outcome


def test_an_unreachable_remote_is_transient(world, remote, run_tasks) -> None:
    response = remote.send("zoe", "Follow", uris.actor_url("alice"))
    remote.shutdown()
    remote.server_close()  # connection refused from now on
    run_tasks()
    item = InboxItem.objects.get(activity_id=response.activity_id)
    assert item.state == InboxState.PENDING and item.attempts == 1
