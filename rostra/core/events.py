"""Events: side effects recorded inside the transaction and run after commit, with ids only.

Domain actions call ``emit("post.created", post_id=...)``. The payload must be plain JSON
(ids, strings); it is round-tripped through JSON so no live object leaks into a handler.
What runs for each kind is decided in one place, ``rostra.pipeline.dispatch``; how the event
reaches a worker is set by ``set_enqueuer`` (the task queue, wired in ``rostra.config``).
"""

from __future__ import annotations

import json
from collections.abc import Callable

from django.db import transaction

from rostra.core.models import Event

_enqueue: Callable[[int, str], None] | None = None


def set_enqueuer(fn: Callable[[int, str], None]) -> None:
    """``fn(event_id, kind)`` queues an event after commit (the kind sets its queue priority)."""
    global _enqueue
    _enqueue = fn


def emit(kind: str, **payload: object) -> Event:
    # Ids only: fail loudly on anything else (NaN and Infinity are not JSON either).
    data = json.loads(json.dumps(payload, allow_nan=False))
    event = Event.objects.create(kind=kind, payload=data)
    if _enqueue is not None:
        enqueue = _enqueue
        transaction.on_commit(lambda: enqueue(event.id, kind))
    return event
