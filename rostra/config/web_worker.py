"""The web worker class `rostra serve` gives gunicorn: its gthread worker, plus a note of how long
each request waited for a thread.

gunicorn's gthread worker accepts connections eagerly (up to ``--worker-connections``) and queues
each readable one for its thread pool; under overload that queue, not the kernel's, is where
requests wait. This worker stamps a connection when it is queued and, on the thread that takes it
up, hands the wait to ``rostra.core.admission``, whose middleware refuses (503 + Retry-After) a
request that waited past ``ROSTRA_SHED_QUEUE_MS``. Refusing quickly is what empties the queue: the
service answers normally again as soon as the surge stops.
"""

from __future__ import annotations

import time
from typing import Any

from gunicorn.workers.gthread import ThreadWorker

from rostra.core.admission import note_queue_wait


class AdmissionWorker(ThreadWorker):
    def enqueue_req(self, conn: Any) -> None:
        conn.rostra_queued_at = time.monotonic()
        super().enqueue_req(conn)

    def handle(self, conn: Any) -> Any:
        queued_at = getattr(conn, "rostra_queued_at", None)
        note_queue_wait(time.monotonic() - queued_at if queued_at is not None else 0.0)
        return super().handle(conn)
