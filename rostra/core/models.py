from __future__ import annotations

from django.db import models

from rostra.core.ids import new_id


class OpaqueIdModel(models.Model):
    """Every public object has an opaque, time-ordered id (see ``rostra.core.ids``)."""

    id = models.BigIntegerField(primary_key=True, default=new_id, editable=False)

    class Meta:
        abstract = True


class Event(models.Model):
    """A side effect to run after commit, written in the same transaction as its cause.

    The row is the durable record (the transactional outbox): if the process dies after commit
    but before the queue hears of it, the sweeper finds the row and runs it. Handlers are
    idempotent, so running one twice has the effect of running it once.
    """

    id = models.BigIntegerField(primary_key=True, default=new_id, editable=False)
    kind = models.CharField(max_length=64)
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    done_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")

    class Meta:
        indexes = [models.Index(fields=["done_at", "id"], name="event_pending_idx")]

    def __str__(self) -> str:
        return f"{self.kind} {self.payload}"


class RateLimitCounter(models.Model):
    """A rate-limit window's count when the limiter has no Redis (see ``rostra.core.ratelimit``).

    ``key`` is rule:identity:window; ``expires_at`` is the window's end in epoch seconds."""

    key = models.CharField(max_length=200, primary_key=True)
    count = models.PositiveIntegerField(default=0)
    expires_at = models.BigIntegerField(db_index=True)

    def __str__(self) -> str:
        return f"{self.key}={self.count}"
