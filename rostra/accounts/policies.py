"""Small permission predicates about accounts, asked by actions and queries alike."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from rostra.accounts.models import Account, Block, Follow, Mute
from rostra.core import clock


def active_mutes() -> QuerySet[Mute]:
    """Mutes in force: those without an end, and those whose end has not come yet."""
    return Mute.objects.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=clock.now()))


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
