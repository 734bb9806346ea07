"""Creating notifications (from pipeline handlers, after commit) and marking them read."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from rostra.accounts.models import Account, Block
from rostra.accounts.policies import active_mutes
from rostra.core.clock import now
from rostra.core.errors import NotFound
from rostra.core.prepared import Prepared
from rostra.notifications.models import Kind, Notification
from rostra.notifications.queries import group_rows
from rostra.posts.models import VISIBLE_STATES, Mention, PollVote, Post, ThreadMute
from rostra.posts.queries import visible_posts


def notify(recipient_id: int, kind: str, actor_id: int, post_id: int | None = None) -> Notification | None:
    """Tell a local person something, unless they would not want to hear it. Idempotent."""
    if recipient_id == actor_id and kind != Kind.POLL:  # an ended poll is news to its author too
        return None
    recipient = Account.objects.filter(pk=recipient_id, user__isnull=False).first()
    if recipient is None:
        return None
    if Block.objects.filter(account_id=recipient_id, target_id=actor_id).exists() or Block.objects.filter(account_id=actor_id, target_id=recipient_id).exists():
        return None
    if active_mutes().filter(account_id=recipient_id, target_id=actor_id, hide_notifications=True).exists():
        return None
    if post_id is not None and not visible_posts(recipient).filter(pk=post_id).exists():
        return None  # the door decides here too: no notice of what you may not see
    if post_id is not None and _thread_muted(recipient_id, post_id):
        return None  # a muted conversation is silent: replies, mentions, reposts, likes, quotes, polls
    key = f"{kind}:{recipient_id}:{actor_id}:{post_id or ''}"
    try:
        with transaction.atomic():
            return Notification.objects.create(recipient_id=recipient_id, kind=kind, actor_id=actor_id, post_id=post_id, dedupe_key=key)
    except IntegrityError:
        return None


def _thread_muted(recipient_id: int, post_id: int) -> bool:
    row = Post.objects.filter(pk=post_id).values_list("thread_id", "pk").first()
    if row is None:
        return False
    return ThreadMute.objects.filter(account_id=recipient_id, thread_id=row[0] or row[1]).exists()


# Asked of every new post, most of which mention nobody: prepared.
_MENTIONED = Prepared("the accounts a post mentions", lambda post_id: Mention.objects.filter(post_id=post_id).values_list("account_id"))


def on_post_created(post_id: int, *, post: Post | None = None) -> None:
    """``post``: the row, if the caller has just read it."""
    if post is None or post.pk != post_id:
        post = Post.objects.select_related("repost_of", "quote_of").filter(pk=post_id).first()
    if post is None or post.moderation_state not in VISIBLE_STATES:
        return
    if post.repost_of is not None:
        notify(post.repost_of.author_id, Kind.REPOST, post.author_id, post.repost_of_id)
        return
    told: set[int] = set()
    if post.in_reply_to_account_id:
        notify(post.in_reply_to_account_id, Kind.REPLY, post.author_id, post.pk)
        told.add(post.in_reply_to_account_id)
    if post.quote_of is not None and post.quote_of.author_id not in told:
        notify(post.quote_of.author_id, Kind.QUOTE, post.author_id, post.pk)
        told.add(post.quote_of.author_id)
    for (account_id,) in _MENTIONED.rows(post_id=post.pk):
        if account_id not in told:
            notify(account_id, Kind.MENTION, post.author_id, post.pk)


def on_poll_ended(post_id: int) -> None:
    """An ended poll: its author and everyone who voted hear of it (once each, by the dedupe key)."""
    post = Post.objects.filter(pk=post_id).first()
    if post is None:
        return
    voters = PollVote.objects.filter(poll__post_id=post_id).values_list("account_id", flat=True).distinct()
    for account_id in [post.author_id, *sorted(set(voters) - {post.author_id})]:
        notify(account_id, Kind.POLL, post.author_id, post.pk)


def on_followers_moved(old_id: int, follower_ids: list[int]) -> None:
    """Someone these people followed moved (Mastodon's ``move``): each hears of it once; the
    notification's actor is the old account, whose ``moved_to`` names the new one."""
    for follower_id in follower_ids:
        notify(follower_id, Kind.MOVE, old_id)


def mark_all_read(account: Account) -> int:
    return Notification.objects.filter(recipient=account, read_at__isnull=True).update(read_at=now())


def dismiss(account: Account, notification_id: int) -> None:
    Notification.objects.filter(recipient=account, pk=notification_id).delete()


def dismiss_group(account: Account, group_key: str) -> int:
    """Dismiss every notification in a group (Mastodon 4.3's ``/api/v2/notifications/:group_key/dismiss``),
    including ones the list no longer shows; NotFound when the person sees none in it."""
    if not group_rows(account, group_key).exists():  # a malformed key is NotFound already
        raise NotFound("No such notification group.")
    deleted, _ = group_rows(account, group_key, visible=False).delete()
    return deleted


def clear(account: Account) -> None:
    Notification.objects.filter(recipient=account).delete()


def on_repost_removed(actor_id: int, post_id: int) -> None:
    """An undone repost takes its notification with it."""
    Notification.objects.filter(kind=Kind.REPOST, actor_id=actor_id, post_id=post_id).delete()


def on_follow_request_accepted(requester_id: int, target_id: int) -> None:
    """The request notification has served its purpose once the request is answered."""
    Notification.objects.filter(kind=Kind.FOLLOW_REQUEST, recipient_id=target_id, actor_id=requester_id).delete()
