"""What the pipeline tells the streaming processes: run as dispatch handlers after the domain's own.

Each function takes an event's payload (ids only) and publishes small messages naming an event,
an id and its audience: ``users`` (account ids whose *user* stream gets it: those whose home
timeline the fan-out put it in), ``channels`` (public, public:local, hashtag:<name>, ...) and
``lists`` (list ids whose stream gets it). Rendering, and the visibility door, happen per
subscriber in the streaming process. Like every handler these are idempotent: a message sent twice
reaches each socket once (the streaming process drops repeats).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import Any

from django.db.models import Q

from rostra.accounts.models import Follow
from rostra.core.clock import now
from rostra.core.prepared import Prepared
from rostra.notifications.models import Kind, Notification
from rostra.posts.models import VISIBLE_STATES, Hashtag, Media, ModerationState, Post, Visibility
from rostra.streaming import bus
from rostra.timelines.actions import home_owners
from rostra.timelines.models import ListMember

RECENT = timedelta(minutes=10)  # a notification older than this is not news on a re-run


# Asked of every new post: prepared once each (the ORM built them in ~1.5 ms a post).
_MEMBERSHIPS = Prepared(
    "the lists an account is in", lambda author_id: ListMember.objects.filter(account_id=author_id).values_list("list_id", "list__owner_id", "list__exclusive")
)
_HAS_MEDIA = Prepared("whether a post has media", lambda post_id: Media.objects.filter(post_id=post_id).order_by().values_list("pk")[:1])
_TAG_NAMES = Prepared("a post's hashtags", lambda post_id: Hashtag.objects.filter(posts__id=post_id).values_list("name"))
_NEW_POST_NOTIFICATIONS = Prepared(
    "the notifications a new post made",
    lambda post_id, since: Notification.objects.filter(post_id=post_id, created_at__gte=since).exclude(kind=Kind.MODERATION).values_list("pk", "recipient_id"),
)


def _audience(post: Post) -> dict[str, Any]:
    home = home_owners(post)  # from the home-timeline store (database rows or Redis sets)
    # The lists the author is in (one query): members of exclusive lists are read in those lists,
    # not in home (as the home timeline does).
    memberships = _MEMBERSHIPS.rows(author_id=post.author_id)
    home -= {owner_id for _, owner_id, exclusive in memberships if exclusive}
    if post.author.is_local:
        home.add(post.author_id)
    channels: list[str] = []
    if post.visibility == Visibility.PUBLIC and post.moderation_state == ModerationState.PUBLISHED and post.repost_of_id is None:
        where = "local" if post.author.is_local else "remote"
        media = bool(_HAS_MEDIA.rows(post_id=post.pk))
        for base in ("public", f"public:{where}"):
            channels.append(base)
            if media:
                channels.append(f"{base}:media")
        for (name,) in _TAG_NAMES.rows(post_id=post.pk):
            channels.append(f"hashtag:{name.lower()}")
            if where == "local":
                channels.append(f"hashtag:local:{name.lower()}")
    lists: list[int] = []
    if post.visibility != Visibility.DIRECT:
        lists = sorted({list_id for list_id, _, _ in memberships})
    return {"users": sorted(home), "channels": channels, "lists": lists}


def batch_delivered(post: Post | None, recipients: Sequence[int]) -> None:
    """``update`` to the followers one queued slice of a large fan-out reached (``post_created``
    told the first slice, the public channels and the lists). Those who read the author in an
    exclusive list are left out, as in ``_audience``."""
    if post is None or post.moderation_state not in VISIBLE_STATES or not recipients:
        return
    exclusive = {owner_id for _, owner_id, is_exclusive in _MEMBERSHIPS.rows(author_id=post.author_id) if is_exclusive}
    users = sorted(set(recipients) - exclusive)
    if users:
        bus.publish({"event": "update", "post_id": post.pk, "users": users, "channels": [], "lists": []})


def _post(post_id: int) -> Post | None:
    post = Post.objects.select_related("author").filter(pk=post_id).first()
    if post is None or post.moderation_state not in VISIBLE_STATES:
        return None
    return post


def post_created(p: dict[str, Any], *, post: Post | None = None) -> None:
    """``update``: after the fan-out, to whoever it put the post in front of. ``post``: the row
    (with its author), if the caller has just read it."""
    if post is None or post.pk != p["post_id"]:
        post = _post(p["post_id"])
    elif post.moderation_state not in VISIBLE_STATES:
        post = None
    if post is None:
        return
    audience = _audience(post)
    bus.publish({"event": "update", "post_id": post.pk, **audience})
    if post.visibility == Visibility.DIRECT and post.repost_of_id is None:
        # The direct stream's ``conversation``: to everyone in it (the door decides again on render).
        bus.publish({"event": "conversation", "post_id": post.pk, "thread_id": post.thread_id or post.pk, "users": audience["users"]})
    if post.repost_of_id is not None:
        _notifications(Q(kind=Kind.REPOST, actor_id=post.author_id, post_id=post.repost_of_id))
    else:
        _publish_notifications(_NEW_POST_NOTIFICATIONS.rows(post_id=post.pk, since=now() - RECENT))


def post_updated(p: dict[str, Any]) -> None:
    post = _post(p["post_id"])
    if post is not None:
        bus.publish({"event": "status.update", "post_id": post.pk, **_audience(post)})


def post_deleted(p: dict[str, Any]) -> None:
    """``delete``: to the author's and their followers' user streams, and to any socket it was sent to."""
    author_id = p.get("author_id")
    users: list[int] = []
    if author_id is not None:
        users = [author_id, *Follow.objects.filter(target_id=author_id, follower__user__isnull=False).values_list("follower_id", flat=True)]
    bus.publish({"event": "delete", "post_id": p["post_id"], "users": sorted(set(users))})


def post_moderated(p: dict[str, Any]) -> None:
    """Held or removed: gone from streams as if deleted. Released: arrives as new."""
    visible = {str(s) for s in VISIBLE_STATES}
    if p["after"] not in visible and p["before"] in visible:
        author_id = Post.objects.filter(pk=p["post_id"]).values_list("author_id", flat=True).first()
        post_deleted({"post_id": p["post_id"], "author_id": author_id})
    elif p["after"] in visible and p["before"] not in visible:
        post = _post(p["post_id"])
        if post is not None:
            bus.publish({"event": "update", "post_id": post.pk, **_audience(post)})


def _notifications(condition: Q) -> None:
    _publish_notifications(Notification.objects.filter(condition, created_at__gte=now() - RECENT).values_list("pk", "recipient_id"))


def _publish_notifications(rows: Iterable[tuple[int, int]]) -> None:
    for notification_id, recipient_id in rows:
        bus.publish({"event": "notification", "notification_id": notification_id, "users": [recipient_id]})


def follow_created(p: dict[str, Any]) -> None:
    _notifications(Q(recipient_id=p["target_id"], actor_id=p["follower_id"], kind=Kind.FOLLOW))


def follow_requested(p: dict[str, Any]) -> None:
    _notifications(Q(recipient_id=p["target_id"], actor_id=p["requester_id"], kind=Kind.FOLLOW_REQUEST))


def like_created(p: dict[str, Any]) -> None:
    _notifications(Q(kind=Kind.LIKE, actor_id=p["account_id"], post_id=p["post_id"]))


def poll_ended(p: dict[str, Any]) -> None:
    _notifications(Q(kind=Kind.POLL, post_id=p["post_id"]))


def notice_created(p: dict[str, Any]) -> None:
    _notifications(Q(dedupe_key=f"notice:{p['notice_id']}"))


def appeal_decided(p: dict[str, Any]) -> None:
    _notifications(Q(dedupe_key=f"appeal:{p['appeal_id']}"))


def jury_drawn(p: dict[str, Any]) -> None:
    _notifications(Q(dedupe_key__startswith=f"jury:{p['jury_id']}:"))
