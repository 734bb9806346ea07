"""The web worker class `rostra serve` gives gunicorn: its gthread worker, plus a note of how long
each request waited for a thread, and connections shared out among the workers.

gunicorn's gthread worker accepts connections eagerly (up to ``--worker-connections``) and queues
each readable one for its thread pool; under overload that queue, not the kernel's, is where
requests wait. This worker stamps a connection when it is queued and, on the thread that takes it
up, hands the wait to ``rostra.core.admission``, whose middleware refuses (503 + Retry-After) a
request that waited past ``ROSTRA_SHED_QUEUE_MS``. Refusing quickly is what empties the queue: the
service answers normally again as soon as the surge stops.

Eager accepting has a cost when clients keep their connections open (apps, load balancers with
keep-alive, the benchmark): when many connect at once, the first worker to wake can accept all of
them before another is scheduled, and then serves them all on one core while the others idle
(measured: 16 keep-alive clients all on one of two workers, half the throughput, for as long
as the connections lasted). So each worker publishes how many requests it has in hand in a small
array shared by the master's children. A worker stops accepting for up to ``DEFER_S`` while
another worker has fewer requests in hand, leaving the new connection to that one; past
``DEFER_S`` it accepts anyway (the other may be stuck, or gone). When the workers are equally
busy, accepting stays eager, so the queue, and shedding, work as before.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import time
from typing import Any

from gunicorn.workers.gthread import ThreadWorker

from rostra.core.admission import note_queue_wait

SLOTS = 64  # `rostra serve --workers` allows 1 to 64
DEFER_S = 0.02  # how long a worker leaves new connections to a less busy one before it takes them

# Created when gunicorn's master imports this class, before it forks: its workers share the pages.
# Per slot (a worker's age modulo SLOTS): the worker's pid (0 when free) and its requests in hand.
_PIDS = multiprocessing.RawArray(ctypes.c_int, SLOTS)
_BUSY = multiprocessing.RawArray(ctypes.c_int, SLOTS)


def _alive(pid: int) -> bool:
    # A worker killed outright (gunicorn's own timeout sends SIGKILL) never clears its slot, and
    # its replacement takes another: without this check its last count would draw connections
    # to no one for DEFER_S each time.
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        pass
    return True


class AdmissionWorker(ThreadWorker):
    def init_process(self) -> None:
        self._slot = self.age % SLOTS
        self._in_hand = 0  # requests queued or running (the main thread counts; threads never do)
        self._defer_until: float | None = None
        _BUSY[self._slot] = 0
        _PIDS[self._slot] = os.getpid()
        try:
            super().init_process()  # runs the worker until it stops
        finally:
            _PIDS[self._slot] = 0

    def enqueue_req(self, conn: Any) -> None:
        conn.rostra_queued_at = time.monotonic()
        self._in_hand += 1
        _BUSY[self._slot] = self._in_hand
        super().enqueue_req(conn)

    def finish_request(self, conn: Any, fs: Any) -> None:
        self._in_hand -= 1
        _BUSY[self._slot] = self._in_hand
        super().finish_request(conn, fs)  # may queue the connection's next request at once

    def handle(self, conn: Any) -> Any:
        queued_at = getattr(conn, "rostra_queued_at", None)
        note_queue_wait(time.monotonic() - queued_at if queued_at is not None else 0.0)
        return super().handle(conn)

    def _another_has_less(self) -> bool:
        # Threads share one core (the GIL): a worker with two requests in hand is already slower
        # for each than one with a single request, so fewer in hand is what counts, not free threads.
        mine, in_hand = self._slot, self._in_hand
        return any(_PIDS[i] and i != mine and _BUSY[i] < in_hand and _alive(_PIDS[i]) for i in range(SLOTS))

    def _may_accept(self) -> bool:
        if self._in_hand == 0 or not self._another_has_less():
            self._defer_until = None
            return True
        now = time.monotonic()
        if self._defer_until is None:
            self._defer_until = now + DEFER_S
        # Past DEFER_S the connection is taken after all: the other worker may be stuck or gone.
        return now >= self._defer_until

    def accept(self, listener: Any) -> None:
        super().accept(listener)
        if not self._may_accept():
            super().set_accept_enabled(False)

    def set_accept_enabled(self, enabled: bool) -> None:
        # The main loop calls this whenever there is room for connections and it is not accepting
        # (so on every turn while a deferral lasts).
        super().set_accept_enabled(enabled and self._may_accept())

    def wait_for_and_dispatch_events(self, timeout: float) -> None:
        if self._defer_until is not None:  # wake up when the deferral ends, not a second later
            timeout = min(timeout, max(0.0, self._defer_until - time.monotonic()) + 0.001)
        super().wait_for_and_dispatch_events(timeout)
