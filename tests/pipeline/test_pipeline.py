"""The after-commit pipeline: events run only if their transaction commits, at least once, with
idempotent effects; failures are recorded and retried; payloads are JSON (ids) only."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from huey.contrib.djhuey import HUEY

from rostra.core import events
from rostra.core.models import Event
from rostra.notifications.models import Notification
from rostra.pipeline import dispatch, runner
from rostra.posts.models import Post
from rostra.testing.world import make_account, make_post
from tests.timelines.homes import owners


@pytest.fixture
def recorder(monkeypatch):
    """A test event kind whose handler records each payload it is given."""
    calls: list[dict] = []
    monkeypatch.setitem(dispatch.HANDLERS, "test.recorded", [calls.append])
    return calls


def test_an_event_in_a_rolled_back_transaction_never_runs(db, recorder, run_tasks, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(RuntimeError), transaction.atomic():
        events.emit("test.recorded", n=1)
        raise RuntimeError("the action failed after emitting")
    assert callbacks == []  # the enqueue was discarded with the transaction
    assert not Event.objects.filter(kind="test.recorded").exists()
    run_tasks()
    assert recorder == []


def test_a_post_that_fails_to_commit_leaves_no_event(db, run_tasks):
    author = make_account("writer")
    with pytest.raises(RuntimeError), transaction.atomic():
        make_post(author, "doomed")
        raise RuntimeError("boom")
    assert not Post.objects.exists()
    assert not Event.objects.filter(kind="post.created").exists()


def test_a_committed_event_goes_through_the_queue(db, recorder, run_tasks, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        event = events.emit("test.recorded", n=2)
    assert len(callbacks) == 1
    assert HUEY.pending_count() == 1  # the on-commit hook queued the event's id
    run_tasks()
    assert recorder == [{"n": 2}]
    event.refresh_from_db()
    assert event.done_at is not None and event.attempts == 1


def test_events_lost_by_the_queue_are_swept(db, recorder):
    event = events.emit("test.recorded", n=3)  # no commit in a test: the queue never hears of it
    assert runner.sweep() == 0  # too young: the queue gets 30 seconds first
    assert runner.sweep(older_than_s=-1) == 1
    assert recorder == [{"n": 3}]
    assert runner.sweep(older_than_s=-1) == 0  # done: swept once
    assert runner.run_event(event.pk) is True  # a duplicate delivery is a no-op
    assert recorder == [{"n": 3}]
    assert runner.run_event(123456789) is True  # an id that never committed


def test_events_run_at_least_once_with_idempotent_effects(world, run_tasks):
    w = world
    post = make_post(w.bob, "hello @alice")
    run_tasks()
    homes = owners(post)
    told = list(Notification.objects.filter(post=post).values_list("recipient_id", "kind"))
    assert homes and told
    # Deliver it again (the queue and the sweeper both ran it, or a worker died after the
    # effects but before marking it done): the effects are the same.
    for _ in range(2):
        Event.objects.filter(kind="post.created", payload={"post_id": post.pk}).update(done_at=None)
        assert runner.sweep(older_than_s=-1) == 1
    assert owners(post) == homes
    assert list(Notification.objects.filter(post=post).values_list("recipient_id", "kind")) == told


def test_a_new_post_is_read_once_for_all_of_its_event_handlers(world, run_tasks):
    """Fan-out, notifications, streaming and federation share one read of the post per event (after
    the deep screen); each still decides for itself, and a post with no audience elsewhere is not
    read again for federation."""
    w = world
    post = make_post(w.alice, "hello, everyone")  # (no mention: a notification's own door reads it again)
    event = Event.objects.get(kind="post.created", payload={"post_id": post.pk})
    runner.run_event(event.pk)  # the deep screen (first) may read it for itself; then, as run_event runs them:
    with dispatch.event_scope(), CaptureQueriesContext(connection) as queries:
        for handler in dispatch.handlers_for("post.created")[1:]:
            handler(event.payload)
    reads = [q["sql"] for q in queries.captured_queries if 'FROM "posts_post" ' in q["sql"]]
    assert len(reads) == 1, "\n".join(r[:80] + " ... " + r[-200:] for r in reads)
    assert {w.alice.pk, w.bob.pk, w.dave.pk} <= owners(post)
    # Outside an event (a direct call), each handler reads the post itself, as before.
    assert dispatch._event_post(post.pk) == post and dispatch._event_post(post.pk) is not dispatch._event_post(post.pk)


def test_a_failing_handler_is_recorded_and_retried(db, monkeypatch):
    attempts: list[int] = []

    def flaky(payload):
        attempts.append(payload["n"])
        if len(attempts) < 3:
            raise ConnectionError(f"remote down, try {len(attempts)}")

    monkeypatch.setitem(dispatch.HANDLERS, "test.flaky", [flaky])
    event = events.emit("test.flaky", n=7)
    assert runner.run_event(event.pk) is False
    event.refresh_from_db()
    assert (event.done_at, event.attempts) == (None, 1)
    assert "ConnectionError" in event.last_error and "try 1" in event.last_error
    runner.sweep(older_than_s=-1)
    event.refresh_from_db()
    assert (event.done_at, event.attempts) == (None, 2) and "try 2" in event.last_error
    runner.sweep(older_than_s=-1)
    event.refresh_from_db()
    assert event.done_at is not None and event.attempts == 3
    assert attempts == [7, 7, 7]


def test_a_handler_that_always_fails_stops_being_retried(db, monkeypatch):
    def broken(payload):
        raise ValueError("bug")

    monkeypatch.setitem(dispatch.HANDLERS, "test.broken", [broken])
    event = events.emit("test.broken")
    for _ in range(runner.MAX_ATTEMPTS + 3):
        runner.sweep(older_than_s=-1)
    event.refresh_from_db()
    assert event.attempts == runner.MAX_ATTEMPTS and event.done_at is None


def test_an_unknown_kind_is_a_recorded_failure(db):
    event = events.emit("test.nobody-handles-this")
    assert runner.run_event(event.pk) is False
    event.refresh_from_db()
    assert "no handlers registered" in event.last_error


@pytest.mark.parametrize(
    "payload",
    [
        {"obj": object()},
        {"when": datetime(2025, 1, 1, tzinfo=UTC)},
        {"ids": {1, 2}},
        {"blob": b"bytes"},
        {"nan": float("nan")},
    ],
)
def test_payloads_must_be_json(db, payload):
    before = Event.objects.count()
    with pytest.raises((TypeError, ValueError)):
        events.emit("test.recorded", **payload)
    assert Event.objects.count() == before


def test_payloads_are_round_tripped_through_json(db, recorder):
    event = events.emit("test.recorded", ids=(1, 2), name="x", nested={"a": [1]})
    assert event.payload == {"ids": [1, 2], "name": "x", "nested": {"a": [1]}}
    runner.sweep(older_than_s=-1)
    assert recorder == [{"ids": [1, 2], "name": "x", "nested": {"a": [1]}}]


def test_a_live_model_instance_cannot_be_a_payload(world):
    with pytest.raises(TypeError):
        events.emit("test.recorded", account=world.alice)


def test_every_kind_emitted_by_the_domain_has_handlers():
    import pathlib
    import re

    root = pathlib.Path(dispatch.__file__).resolve().parents[1]
    emitted = set()
    for path in root.glob("*/actions.py"):
        emitted |= set(re.findall(r'emit\(\s*"([a-z_.]+)"', path.read_text()))
    assert emitted, "no emit() calls found"
    assert emitted <= set(dispatch.HANDLERS), emitted - set(dispatch.HANDLERS)


def test_prune_keeps_recent_and_pending_events(db, recorder):
    from datetime import timedelta

    from rostra.core.clock import now

    old = events.emit("test.recorded", n=1)
    recent = events.emit("test.recorded", n=2)
    pending = events.emit("test.recorded", n=3)
    Event.objects.filter(pk=old.pk).update(done_at=now() - timedelta(days=8))
    Event.objects.filter(pk=recent.pk).update(done_at=now() - timedelta(days=1))
    assert runner.prune() == 1
    assert set(Event.objects.filter(kind="test.recorded").values_list("pk", flat=True)) == {recent.pk, pending.pk}
