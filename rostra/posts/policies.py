"""Small permission predicates about posts."""

from __future__ import annotations

from rostra.accounts.models import Account
from rostra.posts.models import Post, Visibility


def can_edit(account: Account | None, post: Post) -> bool:
    return account is not None and post.author_id == account.pk and not post.is_repost


def can_delete(account: Account | None, post: Post) -> bool:
    return account is not None and post.author_id == account.pk


def can_repost(account: Account, post: Post) -> bool:
    """Only posts everyone may see can be reposted (your own followers-only posts included)."""
    if post.is_repost:
        return False
    return post.visibility in (Visibility.PUBLIC, Visibility.UNLISTED)


def can_quote(account: Account, post: Post) -> bool:
    return not post.is_repost and post.visibility in (Visibility.PUBLIC, Visibility.UNLISTED)
