from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet

from rostra.accounts.models import Account, Block
from rostra.core.errors import NotFound
from rostra.core.ids import parse_id
from rostra.core.pagination import Page, PageRequest, paginate, paginate_kept
from rostra.notifications.models import SYSTEM_KINDS, Kind, Notification
from rostra.posts.queries import visible_among, visible_posts
from rostra.timelines.models import Marker, MarkerTimeline


def _before_the_door(viewer: Account) -> QuerySet[Notification]:
    """The viewer's notifications, minus those from suspended or blocked actors: ``_visible``
    without the door on their posts (the list asks the door in a query of its own)."""
    blocked = Block.objects.filter(account_id=viewer.pk, target_id=OuterRef("actor_id"))
    return (
        Notification.objects.filter(recipient=viewer)
        .filter(Q(actor__suspended_at__isnull=True) | Q(kind__in=SYSTEM_KINDS))
        .exclude(Exists(blocked))
    )


def _visible(viewer: Account) -> QuerySet[Notification]:
    # Notifications pass the door again at read time: a post deleted, held or hidden since is gone.
    return _before_the_door(viewer).filter(Q(post__isnull=True) | Q(post__in=visible_posts(viewer).values("pk")))


def _through_the_door(viewer: Account) -> Callable[[list[Notification]], list[Notification]]:
    """Keeps the notifications without a post or whose post the viewer may see (the door as a
    prepared query, asked once per fetched chunk: in SQL it cost the list ~10 ms to compile)."""

    def keep(rows: list[Notification]) -> list[Notification]:
        door = visible_among(viewer, {n.post_id for n in rows if n.post_id is not None})
        return [n for n in rows if n.post_id is None or n.post_id in door]

    return keep


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
    qs = _before_the_door(viewer).select_related("actor", "notice", "post", "post__author", "post__repost_of", "post__repost_of__author")
    if kinds is not None:
        qs = qs.filter(kind__in=kinds)
    exclude = list(exclude)
    if exclude:
        qs = qs.exclude(kind__in=exclude)
    if actor_id is not None:
        qs = qs.filter(actor_id=actor_id)
    return paginate_kept(qs, req, _through_the_door(viewer))


def get_notification(viewer: Account, notification_id: Any) -> Notification:
    """One of the viewer's notifications (as the list shows it); anything else is NotFound."""
    nid = parse_id(notification_id)
    found = _visible(viewer).filter(pk=nid).select_related("actor", "notice", "post").first() if nid is not None else None
    if found is None:
        raise NotFound("No such notification.")
    return found


def _unread(viewer: Account, *, kinds: Iterable[str] | None, exclude: Iterable[str], actor_id: int | None) -> QuerySet[Notification]:
    """The viewer's visible notifications newer than their ``notifications`` marker (all of them
    when no marker is set), narrowed by type and actor: what both unread counts count."""
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
    return qs


def unread_since_marker(
    viewer: Account, *, kinds: Iterable[str] | None = None, exclude: Iterable[str] = (), actor_id: int | None = None, limit: int = 100
) -> int:
    """Mastodon 4.3's unread count: notifications newer than the viewer's ``notifications``
    marker (all of them when no marker is set), counted up to ``limit``."""
    qs = _unread(viewer, kinds=kinds, exclude=exclude, actor_id=actor_id)
    return len(qs.order_by("-id").values_list("pk", flat=True)[:limit])


# --- Notification groups (Mastodon 4.3's grouped notifications) ----------------------------------

GROUPABLE_KINDS: tuple[str, ...] = (Kind.LIKE, Kind.REPOST, Kind.FOLLOW)
GROUP_SPAN = 12 * 3600  # seconds: Mastodon groups over at most 12 hours
GROUP_SAMPLE = 8  # accounts shown per group


def group_key(n: Notification, grouped_kinds: Iterable[str] = GROUPABLE_KINDS) -> str:
    """The one place group keys are made. Likes and reposts group by post, follows by kind, each
    within fixed 12-hour windows (``favourite-<post id>-<window>``, ``follow-<window>``);
    everything else, and kinds not in ``grouped_kinds``, stays alone (``ungrouped-<id>``)."""
    if n.kind not in grouped_kinds:
        return f"ungrouped-{n.pk}"
    prefix = f"{n.kind}-{n.post_id}" if n.kind in (Kind.LIKE, Kind.REPOST) else n.kind
    return f"{prefix}-{int(n.created_at.timestamp()) // GROUP_SPAN}"


def _group_filter(key: str) -> Q | None:
    """The rows a group key stands for (the inverse of ``group_key``); None for a malformed key."""
    parts = key.split("-")
    parsed = [parse_id(p) for p in parts[1:]]
    numbers = [n for n in parsed if n is not None]
    if len(numbers) != len(parsed):
        return None
    if parts[0] == "ungrouped" and len(numbers) == 1:
        return Q(pk=numbers[0])
    if parts[0] in (Kind.LIKE, Kind.REPOST) and len(numbers) == 2:
        post_id, window = numbers
        q = Q(kind=parts[0], post_id=post_id)
    elif parts[0] == Kind.FOLLOW and len(numbers) == 1:
        window = numbers[0]
        q = Q(kind=Kind.FOLLOW)
    else:
        return None
    try:
        start = datetime.fromtimestamp(window * GROUP_SPAN, tz=UTC)
        end = datetime.fromtimestamp((window + 1) * GROUP_SPAN, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None
    return q & Q(created_at__gte=start, created_at__lt=end)


def group_rows(viewer: Account, key: str, *, visible: bool = True) -> QuerySet[Notification]:
    """The viewer's notifications in a group (as the list shows them, unless ``visible`` is
    False); a malformed key or an empty group is NotFound."""
    q = _group_filter(key)
    if q is None:
        raise NotFound("No such notification group.")
    qs = (_visible(viewer) if visible else Notification.objects.filter(recipient=viewer)).filter(q)
    return qs


@dataclass
class NotificationGroup:
    key: str
    count: int
    latest: list[Notification]  # newest first, at most GROUP_SAMPLE (one per account: rows are per actor)


def get_group(viewer: Account, key: str) -> NotificationGroup:
    """One group as a whole: its size and its newest notifications; NotFound when it has none."""
    qs = group_rows(viewer, key)
    latest = list(qs.select_related("actor", "notice", "post").order_by("-id")[:GROUP_SAMPLE])
    if not latest:
        raise NotFound("No such notification group.")
    return NotificationGroup(key=key, count=qs.count(), latest=latest)


def group_accounts(viewer: Account, key: str, req: PageRequest) -> Page[Notification]:
    """A page of a group's notifications (their actors are the group's accounts), newest first;
    NotFound when the group has none."""
    qs = group_rows(viewer, key)
    if not qs.exists():
        raise NotFound("No such notification group.")
    return paginate(qs.select_related("actor"), req)


def unread_groups_since_marker(
    viewer: Account,
    *,
    kinds: Iterable[str] | None = None,
    exclude: Iterable[str] = (),
    actor_id: int | None = None,
    grouped_kinds: Iterable[str] = GROUPABLE_KINDS,
    limit: int = 100,
) -> int:
    """Mastodon 4.3's grouped unread count: groups with a notification newer than the viewer's
    ``notifications`` marker (all when no marker is set), counted up to ``limit``."""
    qs = _unread(viewer, kinds=kinds, exclude=exclude, actor_id=actor_id)
    grouped_kinds = tuple(grouped_kinds)
    keys: set[str] = set()
    for n in qs.only("id", "kind", "post_id", "created_at").order_by("-id").iterator(chunk_size=500):
        keys.add(group_key(n, grouped_kinds))
        if len(keys) >= limit:
            break
    return len(keys)
