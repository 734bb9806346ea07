"""Small permission predicates about accounts, asked by actions and queries alike."""

from __future__ import annotations

from datetime import datetime

from django.db.models import Q, QuerySet

from rostra.accounts.models import Account, Block, Follow, Mute
from rostra.core import clock
from rostra.core.prepared import Prepared


def active_mutes(now: datetime | None = None) -> QuerySet[Mute]:
    """Mutes in force (at ``now``, by default the clock's): those without an end, and those whose
    end has not come yet."""
    return Mute.objects.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=clock.now() if now is None else now))


_muted = Prepared(
    "the accounts a viewer mutes", lambda viewer_id, now: active_mutes(now).filter(account_id=viewer_id).values_list("target_id")
)


def muted_by(viewer_id: int) -> set[int]:
    """The accounts ``viewer_id`` mutes now (``active_mutes``, as a query compiled once per process:
    every home page and every thread asks it)."""
    return {target for (target,) in _muted.rows(viewer_id=viewer_id, now=clock.now())}


def is_blocked_either_way(a: Account | None, b: Account | None) -> bool:
    if a is None or b is None or a.pk == b.pk:
        return False
    return Block.objects.filter(account=a, target=b).exists() or Block.objects.filter(account=b, target=a).exists()


def follows(follower: Account | None, target: Account) -> bool:
    return follower is not None and Follow.objects.filter(follower=follower, target=target).exists()


def mutes(account: Account | None, target: Account) -> bool:
    return account is not None and active_mutes().filter(account=account, target=target).exists()


def is_active(account: Account) -> bool:
    return account.suspended_at is None
