from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Exists, OuterRef, Q, QuerySet

from rostra.accounts.models import Account, Block
from rostra.core.pagination import Page, PageRequest, paginate
from rostra.notifications.models import SYSTEM_KINDS, Notification
from rostra.posts.queries import visible_posts


def _visible(viewer: Account) -> QuerySet[Notification]:
    # Notifications pass the door again at read time: a post deleted, held or hidden since is gone.
    blocked = Block.objects.filter(account_id=viewer.pk, target_id=OuterRef("actor_id"))
    return (
        Notification.objects.filter(recipient=viewer)
        .filter(Q(actor__suspended_at__isnull=True) | Q(kind__in=SYSTEM_KINDS))
        .filter(Q(post__isnull=True) | Q(post__in=visible_posts(viewer).values("pk")))
        .exclude(Exists(blocked))
    )


def notifications(viewer: Account, req: PageRequest, *, kinds: Iterable[str] | None = None, exclude: Iterable[str] | None = None) -> Page[Notification]:
    qs = _visible(viewer).select_related("actor", "notice", "post", "post__author", "post__repost_of", "post__repost_of__author")
    if kinds:
        qs = qs.filter(kind__in=list(kinds))
    if exclude:
        qs = qs.exclude(kind__in=list(exclude))
    return paginate(qs, req)


def unread_count(viewer: Account) -> int:
    return _visible(viewer).filter(read_at__isnull=True).count()
