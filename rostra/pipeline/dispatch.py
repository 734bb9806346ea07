"""What happens after a commit, in one table. Read this file to know every side effect.

Each handler takes the event's JSON payload (ids only) and is idempotent: the pipeline runs an
event at least once (the queue, and the sweeper for any the queue lost), and running a handler
twice has the effect of running it once.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any

from rostra.accounts import password_reset, surge
from rostra.core.prepared import Prepared
from rostra.federation import actions as federation
from rostra.federation import delivery
from rostra.federation import media as remote_media
from rostra.federation import polls as federation_polls
from rostra.federation import receive as federation_inbox
from rostra.moderation import actions as moderation
from rostra.notifications import actions as notifications
from rostra.notifications.models import Kind
from rostra.portability import actions as portability
from rostra.posts.models import Post
from rostra.streaming import publish as streaming
from rostra.timelines import actions as timelines
from rostra.timelines import lists

Handler = Callable[[dict[str, Any]], None]

# The post a "post.created" event is about, read once for all its distribution handlers (fan-out,
# notifications, streaming, federation) rather than once by each: ``event_scope`` (the runner's,
# around one event's handlers) holds it. Read on first use, that is after the deep screen, which
# may change its state; the handlers only read it. Outside a scope every call reads it again.
_event_posts: ContextVar[dict[int, Post | None] | None] = ContextVar("event_posts", default=None)


@contextlib.contextmanager
def event_scope() -> Iterator[None]:
    token = _event_posts.set({})
    try:
        yield
    finally:
        _event_posts.reset(token)


# Only the author joined (a repost's or a quote's post is read when there is one), prepared once.
_POST = Prepared("an event's post, with its author", lambda post_id: Post.objects.select_related("author").filter(pk=post_id)[:1])


def _event_post(post_id: int) -> Post | None:
    memo = _event_posts.get()
    if memo is not None and post_id in memo:
        return memo[post_id]
    post = next(iter(_POST.models(post_id=post_id)), None)
    if memo is not None:
        memo[post_id] = post
    return post


def _deep_screen(p: dict[str, Any]) -> None:
    # First: stage 2 may hold a borderline post before anything below distributes it.
    moderation.deep_screen(p["post_id"])


def _fan_out(p: dict[str, Any]) -> None:
    timelines.fan_out_post(p["post_id"], post=_event_post(p["post_id"]))


def _fan_out_batch(p: dict[str, Any]) -> None:
    # One slice of a large account's fan-out (rostra.timelines.actions.fan_out_post queues them);
    # the followers it reached see the post arrive live, as the first slice's did.
    post = _event_post(p["post_id"])
    delivered = timelines.fan_out_batch(p["post_id"], p["lo"], p["hi"], p["total"], p["started"], post=post)
    streaming.batch_delivered(post, delivered)


def _notify_post(p: dict[str, Any]) -> None:
    notifications.on_post_created(p["post_id"], post=_event_post(p["post_id"]))


def _stream_post(p: dict[str, Any]) -> None:
    streaming.post_created(p, post=_event_post(p["post_id"]))


def _deliver_post(p: dict[str, Any]) -> None:
    delivery.on_post_created(p["post_id"], post=_event_post(p["post_id"]))


def _follow_created(p: dict[str, Any]) -> None:
    timelines.backfill_home(p["follower_id"], p["target_id"])
    if p.get("from_request"):
        # The target accepted this follow themselves: no "followed you" for their own decision.
        notifications.on_follow_request_accepted(p["follower_id"], p["target_id"])
    else:
        notifications.notify(p["target_id"], Kind.FOLLOW, p["follower_id"])


def _post_deleted(p: dict[str, Any]) -> None:
    if p.get("repost_of_id"):
        notifications.on_repost_removed(p["author_id"], p["repost_of_id"])
    if p.get("public"):
        federation.record_tombstone(p["post_id"], p["author_id"])  # its URL answers 410 Gone


def _follow_requested(p: dict[str, Any]) -> None:
    notifications.notify(p["target_id"], Kind.FOLLOW_REQUEST, p["requester_id"])


def _follow_removed(p: dict[str, Any]) -> None:
    timelines.remove_author_from_home(p["follower_id"], p["target_id"])
    lists.remove_from_lists(p["follower_id"], p["target_id"])


def _block_created(p: dict[str, Any]) -> None:
    timelines.remove_author_from_home(p["account_id"], p["target_id"])
    timelines.remove_author_from_home(p["target_id"], p["account_id"])
    lists.remove_from_lists(p["account_id"], p["target_id"])
    lists.remove_from_lists(p["target_id"], p["account_id"])


def _like_created(p: dict[str, Any]) -> None:
    from rostra.posts.models import Post

    author_id = Post.objects.filter(pk=p["post_id"]).values_list("author_id", flat=True).first()
    if author_id is not None:
        notifications.notify(author_id, Kind.LIKE, p["account_id"], p["post_id"])


def _fetch_remote_media(p: dict[str, Any]) -> None:
    remote_media.fetch_post_media(p["post_id"])  # failures are kept on the rows, never retried blindly


def _fetch_actor_images(p: dict[str, Any]) -> None:
    remote_media.refresh_actor_images(p["account_id"])


HANDLERS: dict[str, list[Handler]] = {
    "post.created": [_deep_screen, _fan_out, _notify_post, _stream_post, _deliver_post],
    # A post restored from an account archive is history: screened again if borderline, never fanned out or notified
    "post.imported": [_deep_screen],
    "timelines.fanout_batch": [_fan_out_batch],  # and streamed to those it reached
    "post.updated": [streaming.post_updated, lambda p: delivery.on_post_updated(p["post_id"])],
    "post.deleted": [_post_deleted, streaming.post_deleted, lambda p: delivery.on_post_deleted(p["post_id"], p["author_id"])],
    "follow.created": [_follow_created, streaming.follow_created, lambda p: delivery.on_follow(p["follower_id"], p["target_id"])],
    "follow.requested": [_follow_requested, streaming.follow_requested, lambda p: delivery.on_follow(p["requester_id"], p["target_id"])],
    "follow.removed": [_follow_removed, lambda p: delivery.on_follow_removed(p["follower_id"], p["target_id"])],
    "block.created": [_block_created, lambda p: delivery.on_block(p["account_id"], p["target_id"])],
    "block.removed": [lambda p: delivery.on_unblock(p["account_id"], p["target_id"])],
    "follow_request.rejected": [lambda p: delivery.on_follow_request_rejected(p["target_id"], p["requester_id"])],
    "like.created": [_like_created, streaming.like_created, lambda p: delivery.on_like(p["account_id"], p["post_id"])],
    "like.removed": [lambda p: delivery.on_unlike(p["account_id"], p["post_id"])],
    # A vote on a remote poll goes to its author; a local poll's new counts go out (throttled)
    "poll.voted": [lambda p: federation_polls.on_poll_voted(p["poll_id"], p["account_id"])],
    "poll.ended": [
        lambda p: notifications.on_poll_ended(p["post_id"]),
        streaming.poll_ended,
        lambda p: federation_polls.on_poll_ended(p["poll_id"]),  # Update(Question) with closed
    ],
    "account.updated": [lambda p: delivery.on_account_updated(p["account_id"])],
    "account.moved": [lambda p: delivery.on_account_moved(p["account_id"])],  # Move to the remote followers
    "account.followers_moved": [lambda p: notifications.on_followers_moved(p["old_id"], p["follower_ids"])],
    "password_reset.requested": [lambda p: password_reset.send_reset_email(p["user_id"])],  # mails a real login only
    "waitlist.joined": [lambda p: surge.send_waitlist_email(p["entry_id"], admitted=False)],  # surge mode: the link to one's place
    "waitlist.admitted": [lambda p: surge.send_waitlist_email(p["entry_id"], admitted=True)],
    "account.deleted": [
        lambda p: portability.delete_export_files(p["account_id"]),  # its archives leave the disk
        lambda p: timelines.forget_home(p["account_id"]),  # and its home timeline the Redis store
    ],
    # Data export and import (long jobs; each claims its row, so a second delivery does nothing)
    "export.requested": [lambda p: portability.build_export(p["export_id"])],
    "import.requested": [lambda p: portability.run_import(p["import_id"])],
    # Trust and safety
    "post.moderated": [
        lambda p: moderation.on_post_moderated(p["post_id"], p["before"], p["after"]),
        streaming.post_moderated,
        lambda p: delivery.on_post_moderated(p["post_id"], p["after"]),  # held: Delete sent; released: Create
    ],
    # Federation: the inbox stores first; then one handler per activity type (federation.receive)
    "inbox.received": [lambda p: federation_inbox.process_inbox_item(p["item_id"])],
    # Remote media, fetched off the inbox's path: a stored remote post's images, an actor's avatar/header
    "remote_media.fetch": [_fetch_remote_media],
    "remote_actor.images": [_fetch_actor_images],
    "federation.accept_follow": [lambda p: delivery.send_accept_for(p["inbound_follow_id"])],
    # Suspended: Delete of the actor to every server that knows it; lifted: Update of the actor
    "account.moderated": [lambda p: delivery.on_account_moderated(p["account_id"], p["action"])],
    "report.forwarded": [lambda p: delivery.on_report_forwarded(p["report_id"])],  # Flag to the remote's moderators
    "notice.created": [lambda p: moderation.deliver_notice(p["notice_id"]), streaming.notice_created],
    "appeal.decided": [lambda p: moderation.deliver_appeal_decision(p["appeal_id"], p.get("notice_id")), streaming.appeal_decided],
    "jury.drawn": [lambda p: moderation.summon_jurors(p["jury_id"]), streaming.jury_drawn],
}


def handlers_for(kind: str) -> list[Handler]:
    if kind not in HANDLERS:
        raise KeyError(f"no handlers registered for event kind {kind!r}")
    return HANDLERS[kind]
