"""Moderation work is queued ahead of fan-out and delivery; optional fetches go last."""

from __future__ import annotations

import pytest
from huey.contrib.djhuey import HUEY

from rostra.core import events
from rostra.pipeline import priority
from rostra.pipeline.tasks import deliver_now_task, run_event_task

pytestmark = [pytest.mark.django_db]


def test_every_event_kind_has_a_priority_and_moderation_comes_first() -> None:
    from rostra.pipeline.dispatch import HANDLERS

    assert set(priority.PRIORITIES) <= set(HANDLERS)  # no stale names
    moderation = [
        priority.priority_for(k)
        for k in ("post.moderated", "account.moderated", "notice.created", "appeal.decided", "jury.drawn")
    ]
    assert min(moderation) > priority.priority_for("post.created") > priority.priority_for("follow.created")
    assert priority.priority_for("post.created") > priority.priority_for("remote_media.fetch")
    assert priority.priority_for("inbox.received") > priority.priority_for("like.created")


def test_the_queue_hands_out_moderation_before_fan_out_and_delivery(django_capture_on_commit_callbacks) -> None:
    HUEY.flush()
    with django_capture_on_commit_callbacks(execute=True):
        media = events.emit("remote_media.fetch", post_id=1)
        like = events.emit("like.created", account_id=1, post_id=2)
        post = events.emit("post.created", post_id=3)
        moderated = events.emit("post.moderated", post_id=4, action="remove")
    deliver_now_task()
    order = []
    while (task := HUEY.dequeue()) is not None:
        order.append(task.args[0] if isinstance(task, run_event_task.task_class) else "delivery")
    assert order == [moderated.pk, post.pk, like.pk, "delivery", media.pk]


def test_delivery_priority_matches_the_table() -> None:
    assert deliver_now_task.settings.get("default_priority") == priority.DELIVERY
