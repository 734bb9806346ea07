"""New deliveries go out straight after their rows commit (a queued ``deliver_due`` run), not at
the periodic task's next minute; the leased rows keep that safe with several workers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from huey.contrib.djhuey import HUEY

from rostra.accounts.models import Account, Follow
from rostra.federation import delivery
from rostra.federation.models import Delivery, DeliveryState
from rostra.testing.world import make_account, make_post
from tests.federation.test_delivery import FakeInstance

pytestmark = pytest.mark.django_db


@pytest.fixture
def remote() -> Iterator[FakeInstance]:
    inst = FakeInstance("127.0.0.2")
    inst.thread.start()
    yield inst
    inst.server.shutdown()
    inst.server.server_close()


@pytest.fixture
def alice() -> Account:
    return make_account("alice")


def _queued() -> list[str]:
    return [task.name for task in HUEY.pending()]


def test_rows_committed_queue_a_delivery_run_that_sends_them(run_tasks, django_capture_on_commit_callbacks, alice, remote):
    Follow.objects.create(follower=remote.account("bob"), target=alice)
    remote.trust(alice)
    make_post(alice, "straight away")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        run_tasks()  # the pipeline's post.created handler writes the rows; their commit queues the run
    assert len(callbacks) == 1
    assert _queued() == ["deliver_now_task"]
    [row] = Delivery.objects.all()
    assert row.state == DeliveryState.PENDING and remote.received == []
    run_tasks()  # the queued run, no periodic task involved
    assert _queued() == []
    [(path, body, _)] = remote.received
    assert path == "/inbox" and body["type"] == "Create" and body["object"]["content"].startswith("<p>straight away")
    row.refresh_from_db()
    assert row.state == DeliveryState.DONE and row.attempts == 1


def test_two_queued_runs_send_each_row_once(run_tasks, django_capture_on_commit_callbacks, alice, remote):
    """Several workers (or several activities' runs) at once: the rows are leased, so one sends."""
    Follow.objects.create(follower=remote.account("bob"), target=alice)
    remote.trust(alice)
    make_post(alice, "once only")
    with django_capture_on_commit_callbacks(execute=True):
        run_tasks()
    from rostra.pipeline.tasks import deliver_now_task

    deliver_now_task()  # a second run queued before the first ran
    assert _queued() == ["deliver_now_task"] * 2
    run_tasks()
    assert len(remote.received) == 1
    assert Delivery.objects.get().state == DeliveryState.DONE


def test_nothing_to_deliver_queues_nothing(run_tasks, django_capture_on_commit_callbacks, alice):
    make_post(alice, "no remote followers")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        run_tasks()
    assert callbacks == [] and _queued() == [] and not Delivery.objects.exists()


def test_a_failed_attempt_keeps_its_back_off(run_tasks, django_capture_on_commit_callbacks, alice, remote):
    """The prompt run is the same deliver_due: a 503 is retried on the schedule, not at once again."""
    Follow.objects.create(follower=remote.account("bob"), target=alice)
    remote.trust(alice)
    remote.server.default = (503, {})
    make_post(alice, "down")
    with django_capture_on_commit_callbacks(execute=True):
        run_tasks()
    run_tasks()
    row = Delivery.objects.get()
    assert row.state == DeliveryState.PENDING and row.attempts == 1 and row.last_status == 503
    assert row.next_attempt_at >= row.created_at + delivery.retry_delay(0, row.pk)
    run_tasks()  # nothing queued again: the retry waits for its time
    row.refresh_from_db()
    assert row.attempts == 1
