"""Running events: one at a time by id (from the queue) or every pending one (the sweeper)."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import connection
from django.db.models import F

from rostra.core.clock import now
from rostra.core.models import Event
from rostra.core.prepared import Prepared
from rostra.pipeline.dispatch import event_scope, handlers_for

log = logging.getLogger("rostra.pipeline")
MAX_ATTEMPTS = 12

# Every event is read and marked done: the ORM took ~0.8 ms of a worker's ~5 ms per new post to
# build these two statements, so the read is prepared and the mark is written as SQL.
_pending = Prepared("a pending event", lambda event_id: Event.objects.filter(pk=event_id, done_at__isnull=True)[:1])
_MARK_DONE = f'UPDATE "{Event._meta.db_table}" SET "done_at" = %s, "attempts" = "attempts" + 1 WHERE "id" = %s'  # noqa: S608 - the model's own table name


def run_event(event_id: int) -> bool:
    """Run an event's handlers; mark it done. Returns False if it failed (it will be retried)."""
    event = next(iter(_pending.models(event_id=event_id)), None)
    if event is None:
        return True  # already done (a duplicate delivery) or never committed
    try:
        with event_scope():  # what the handlers read once for the whole event (dispatch._event_post)
            for handler in handlers_for(event.kind):
                handler(event.payload)
    except Exception as exc:
        log.exception("event %s (%s) failed", event.pk, event.kind)
        Event.objects.filter(pk=event.pk).update(attempts=F("attempts") + 1, last_error=repr(exc)[:2000])
        return False
    with connection.cursor() as cursor:
        cursor.execute(_MARK_DONE, [connection.ops.adapt_datetimefield_value(now()), event.pk])
    return True


def sweep(*, older_than_s: float = 30.0, limit: int = 500) -> int:
    """Run events the queue lost (a crash between commit and enqueue) or that failed earlier."""
    cutoff = now() - timedelta(seconds=older_than_s)
    pending = list(
        Event.objects.filter(done_at__isnull=True, attempts__lt=MAX_ATTEMPTS, created_at__lte=cutoff)
        .order_by("id")
        .values_list("pk", flat=True)[:limit]
    )
    for event_id in pending:
        run_event(event_id)
    return len(pending)


def prune(*, keep_days: int = 7) -> int:
    deleted, _ = Event.objects.filter(done_at__lt=now() - timedelta(days=keep_days)).delete()
    return deleted
