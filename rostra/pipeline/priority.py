"""Which queued work runs first when the queue is long: moderation ahead of distribution.

Huey takes the higher ``priority`` first (``PriorityRedisHuey`` and ``SqliteHuey`` both order by
it). Every event is queued with its kind's priority (``enqueue_event``, the enqueuer wired in
``rostra.pipeline.apps``):

* moderation work (a moderator's decision taking effect, notices, appeals, juries, reports) first;
* a new post next: its handlers run the deep screen before fan-out (``dispatch.HANDLERS``), so a
  post stage 2 holds is never distributed;
* the inbox (other servers' activities) before the rest of the side effects;
* delivery to other servers (``deliver_now_task``, ``DELIVERY``), then optional fetches (remote
  media, remote avatars) last: they are the first to wait, never dropped.
"""

from __future__ import annotations

MODERATION = 100
POST = 50
INBOX = 40
DEFAULT = 20
DELIVERY = 10  # deliver_now_task's, set on its decorator in rostra.pipeline.tasks
OPTIONAL = 0

PRIORITIES: dict[str, int] = {
    "post.moderated": MODERATION,
    "account.moderated": MODERATION,
    "notice.created": MODERATION,
    "appeal.decided": MODERATION,
    "jury.drawn": MODERATION,
    "report.forwarded": MODERATION,
    "post.created": POST,
    "post.imported": POST,
    "timelines.fanout_batch": POST,  # a large account's fan-out, split into batches: as post.created
    "inbox.received": INBOX,
    "remote_media.fetch": OPTIONAL,
    "remote_actor.images": OPTIONAL,
}


def priority_for(kind: str) -> int:
    return PRIORITIES.get(kind, DEFAULT)


def enqueue_event(event_id: int, kind: str = "") -> None:
    """Queue one event's handlers at its kind's priority."""
    from rostra.pipeline.tasks import run_event_task

    run_event_task(event_id, priority=priority_for(kind))
