"""Run queued background work in explicit steps (never by sleeping)."""

from __future__ import annotations

from unittest import mock

from huey.contrib.djhuey import HUEY

from rostra.pipeline import runner


def run_tasks(max_rounds: int = 50) -> int:
    """Execute every queued task, then every pending event, until nothing is left.

    Events are also swept directly because Django's test transactions never commit, so their
    on-commit enqueue never fires; the sweeper is the same production code that recovers
    events lost in a crash.
    """
    ran = 0
    for _ in range(max_rounds):
        progressed = False
        while True:
            task = HUEY.dequeue()
            if task is None:
                break
            # Huey's db_task closes "old" connections around each task; inside a test's
            # transaction that closes the test database itself, so it is held off here.
            with mock.patch("huey.contrib.djhuey.close_old_connections"):
                HUEY.execute(task)
            ran += 1
            progressed = True
        swept = runner.sweep(older_than_s=-1)
        ran += swept
        if not progressed and not swept:
            return ran
    raise RuntimeError("background work did not settle")
