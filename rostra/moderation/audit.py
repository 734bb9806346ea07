"""Writing to the append-only audit log. Every moderation write calls ``record`` in its transaction."""

from __future__ import annotations

from typing import Any

from rostra.core.clock import now
from rostra.moderation.models import AuditEntry


def record(
    actor: Any | None,
    verb: str,
    *,
    target_type: str = "",
    target_id: int | None = None,
    account_id: int | None = None,
    reason: str = "",
    detail: dict[str, Any] | None = None,
    policy_version: int = 0,
) -> AuditEntry:
    """``actor`` is a User (or None for the system: the screener, the policy, a timer)."""
    return AuditEntry.objects.create(
        created_at=now(),
        actor_id=getattr(actor, "pk", None),
        actor_name=f"@{actor.username}" if actor is not None else "system",
        verb=verb,
        target_type=target_type,
        target_id=target_id,
        account_id=account_id,
        reason=reason,
        detail=detail or {},
        policy_version=policy_version,
    )
