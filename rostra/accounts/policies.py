"""Small permission predicates about accounts, asked by actions and queries alike."""

from __future__ import annotations

from rostra.accounts.models import Account, Block, Follow, Mute


def is_blocked_either_way(a: Account | None, b: Account | None) -> bool:
    if a is None or b is None or a.pk == b.pk:
        return False
    return Block.objects.filter(account=a, target=b).exists() or Block.objects.filter(account=b, target=a).exists()


def follows(follower: Account | None, target: Account) -> bool:
    return follower is not None and Follow.objects.filter(follower=follower, target=target).exists()


def mutes(account: Account | None, target: Account) -> bool:
    return account is not None and Mute.objects.filter(account=account, target=target).exists()


def is_active(account: Account) -> bool:
    return account.suspended_at is None
