"""Search: accounts, hashtags and posts. Post results pass through the visibility door.

(Interim implementation with LIKE; the full-text version on SQLite FTS5 / PostgreSQL replaces
it with the same signatures.)
"""

from __future__ import annotations

from rostra.accounts.models import Account
from rostra.core.pagination import Page, PageRequest, paginate
from rostra.posts.models import Hashtag, Post
from rostra.posts.queries import visible_posts, with_viewer_state, without_muted


def search_posts(viewer: Account | None, q: str, req: PageRequest) -> Page[Post]:
    qs = without_muted(visible_posts(viewer), viewer).filter(repost_of__isnull=True, text__icontains=q.strip())
    return paginate(with_viewer_state(qs, viewer), req)


def search_accounts(viewer: Account | None, q: str, limit: int = 20) -> list[Account]:
    q = q.strip().lstrip("@")
    return list(Account.objects.filter(username__icontains=q, suspended_at__isnull=True)[:limit])


def search_hashtags(q: str, limit: int = 20) -> list[Hashtag]:
    return list(Hashtag.objects.filter(name__startswith=q.strip().lstrip("#").lower())[:limit])
