from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet

from rostra.accounts.models import Account, Block
from rostra.core.errors import NotFound
from rostra.core.ids import parse_id
from rostra.core.pagination import Page, PageRequest, paginate
from rostra.notifications.models import SYSTEM_KINDS, Notification
from rostra.posts.queries import visible_posts
from rostra.timelines.models import Marker, MarkerTimeline


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


def notifications_for(
    viewer: Account,
    req: PageRequest,
    *,
    kinds: Iterable[str] | None = None,
    exclude: Iterable[str] = (),
    actor_id: int | None = None,
) -> Page[Notification]:
    """The client API's list: ``kinds`` None means every kind, an empty ``kinds`` means none
    (a client asked only for types Rostra never sends); ``actor_id`` keeps one account's."""
    if kinds is not None:
        kinds = list(kinds)
        if not kinds:
            return Page(items=[], next_max_id=None, prev_min_id=None)
    qs = _visible(viewer).select_related("actor", "notice", "post", "post__author", "post__repost_of", "post__repost_of__author")
    if kinds is not None:
        qs = qs.filter(kind__in=kinds)
    exclude = list(exclude)
    if exclude:
        qs = qs.exclude(kind__in=exclude)
    if actor_id is not None:
        qs = qs.filter(actor_id=actor_id)
    return paginate(qs, req)


def get_notification(viewer: Account, notification_id: Any) -> Notification:
    """One of the viewer's notifications (as the list shows it); anything else is NotFound."""
    nid = parse_id(notification_id)
    found = _visible(viewer).filter(pk=nid).select_related("actor", "notice", "post").first() if nid is not None else None
    if found is None:
        raise NotFound("No such notification.")
    return found


def unread_since_marker(
    viewer: Account, *, kinds: Iterable[str] | None = None, exclude: Iterable[str] = (), actor_id: int | None = None, limit: int = 100
) -> int:
    """Mastodon 4.3's unread count: notifications newer than the viewer's ``notifications``
    marker (all of them when no marker is set), counted up to ``limit``."""
    qs = _visible(viewer)
    marker = Marker.objects.filter(account_id=viewer.pk, timeline=MarkerTimeline.NOTIFICATIONS).first()
    if marker is not None:
        qs = qs.filter(pk__gt=marker.last_read_id)
    if kinds is not None:
        qs = qs.filter(kind__in=list(kinds))
    exclude = list(exclude)
    if exclude:
        qs = qs.exclude(kind__in=exclude)
    if actor_id is not None:
        qs = qs.filter(actor_id=actor_id)
    return len(qs.order_by("-id").values_list("pk", flat=True)[:limit])
