"""Fan-out on write: a new post is inserted into the home timelines of those who should see it.

Run by the pipeline after commit, with ids only, and idempotent (re-running inserts nothing new).
Reads still pass through the visibility door, so a store entry is an index, never a permission.
Where the entries live (database rows or Redis sorted sets) is ``rostra.timelines.store``.

Recipients are computed in SQL and written in batches of plain tuples; an audience larger than
``ROSTRA_FANOUT_BATCH`` is cut into slices of follower ids, the first delivered here and the others
queued as ``timelines.fanout_batch`` events, so several workers share a large account's post.
Followers inactive for ``ROSTRA_INACTIVE_DAYS`` are skipped (``rostra.timelines.activity``
rebuilds their home when they return).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import BooleanField, ExpressionWrapper, Q, QuerySet

from rostra.accounts.models import Account, Block, Follow
from rostra.accounts.policies import active_mutes
from rostra.core import clock, events, metrics
from rostra.core.prepared import Prepared
from rostra.posts.models import VISIBLE_STATES, Mention, ModerationState, Post, Visibility
from rostra.timelines.models import FanoutBatch, FollowedTag
from rostra.timelines.store import get_store, max_items, rebuild_ids

BACKFILL = 40


def active_cutoff() -> datetime:
    return clock.now() - timedelta(days=int(getattr(settings.ROSTRA, "inactive_days", 14)))


def fanout_batch_size() -> int:
    return int(getattr(settings.ROSTRA, "fanout_batch", 10_000))


# Where ``fan_out_post`` leaves the recipients it computed on the Post object it was given, so
# that the same event's streaming handler (``home_owners``) need not compute them again.
_KNOWN_RECIPIENTS = "_fanout_recipients"


def home_recipients(post: Post, lo: int | None = None, hi: int | None = None) -> list[int]:
    known = vars(post).get(_KNOWN_RECIPIENTS) if lo is None and hi is None else None
    if known is not None:
        return list(known)
    return _recipients(post, lo, hi)[0]


def _followers_rows(reposts: bool) -> Callable[..., QuerySet[Follow, tuple[int, bool]]]:
    def build(
        author_id: int, authors: list[int], cutoff: datetime, created: datetime, now: datetime, lo: int | None, hi: int | None, reply_to: int | None
    ) -> QuerySet[Follow, tuple[int, bool]]:
        mutes_in_force = active_mutes(now)
        followers = Follow.objects.filter(target_id=author_id, follower__user__isnull=False, follower__last_active_at__gte=cutoff)
        if lo is not None:
            followers = followers.filter(follower_id__gt=lo)
        if hi is not None:
            followers = followers.filter(follower_id__lte=hi)
        if reposts:
            followers = followers.filter(show_reposts=True)
        # A reply to someone else reaches only followers who follow them too, and the one it
        # answers (as in Mastodon's home feed).
        if reply_to is not None:
            followers = followers.filter(Q(follower_id__in=Follow.objects.filter(target_id=reply_to).values("follower_id")) | Q(follower_id=reply_to))
        followers = (
            followers.exclude(follower_id__in=Block.objects.filter(target_id__in=authors).values("account_id"))
            .exclude(follower_id__in=Block.objects.filter(account_id__in=authors).values("target_id"))
            .exclude(follower_id__in=mutes_in_force.filter(target_id__in=authors).values("account_id"))
        )
        # Whether each follow is newer than the post comes with the same rows (see ``_deliver``).
        late = ExpressionWrapper(Q(created_at__gte=created), output_field=BooleanField())
        return followers.annotate(late=late).values_list("follower_id", "late")

    return build


# The followers a post reaches, in one query compiled once per process and shape (a post, a
# repost): building it cost the worker ~4 ms of ORM per post, the database a fraction of that.
_FOLLOWERS = {
    False: Prepared("the followers a post reaches", _followers_rows(False), lists=("authors",)),
    True: Prepared("the followers a repost reaches", _followers_rows(True), lists=("authors",)),
}


def _recipients(post: Post, lo: int | None = None, hi: int | None = None) -> tuple[list[int], set[int]]:
    """Local accounts whose home timeline gets this post: the author, active followers, those
    mentioned in a private or direct post, and followers of its hashtags (``tag_followers``).
    With ``lo``/``hi``: only recipients with ids in ``(lo, hi]`` (one batch of a large fan-out).
    The followers are selected in one SQL query (blocks and mutes excluded there too)."""
    author_id = post.author_id
    original_author = post.repost_of.author_id if post.repost_of_id and post.repost_of else author_id
    authors = sorted({author_id, original_author})

    def in_range(ids: set[int]) -> set[int]:
        return {i for i in ids if (lo is None or i > lo) and (hi is None or i <= hi)}

    recipients: list[int] = []
    late: set[int] = set()
    if post.visibility != Visibility.DIRECT:
        reply_to = post.in_reply_to_account_id if post.in_reply_to_account_id and post.in_reply_to_account_id != author_id else None
        rows = _FOLLOWERS[post.repost_of_id is not None].rows(
            author_id=author_id, authors=authors, cutoff=active_cutoff(), created=post.created_at, now=clock.now(), lo=lo, hi=hi, reply_to=reply_to
        )
        for follower_id, is_late in rows:
            recipients.append(follower_id)
            if is_late:
                late.add(follower_id)
    others: set[int] = set()
    if post.author.is_local:
        others.add(author_id)
    if post.visibility in (Visibility.DIRECT, Visibility.PRIVATE):
        others |= set(Mention.objects.filter(post=post, account__user__isnull=False).values_list("account_id", flat=True))
    others |= tag_followers(post)
    others = in_range(others) - set(recipients)
    if others:
        # Nobody gets posts from people they block or mute, or who block them. (The author is
        # never excluded: when they are the only one, there is nothing to ask.)
        excluded: set[int] = set()
        if others - {author_id}:
            excluded |= set(
                Block.objects.filter(account_id__in=others, target_id__in=authors).values_list("account_id", flat=True)
            )
            excluded |= set(
                Block.objects.filter(account_id__in=authors, target_id__in=others).values_list("target_id", flat=True)
            )
            excluded |= set(
                active_mutes().filter(account_id__in=others, target_id__in=authors).values_list("account_id", flat=True)
            )
        excluded.discard(author_id)
        recipients.extend(others - excluded)
    recipients.sort()
    return recipients, late


def _tag_followers_rows(post_id: int, cutoff: datetime) -> QuerySet[FollowedTag, tuple[int]]:
    tag_ids = Post.hashtags.through.objects.filter(post_id=post_id).values("hashtag_id")
    return FollowedTag.objects.filter(
        hashtag_id__in=tag_ids, account__user__isnull=False, account__last_active_at__gte=cutoff
    ).values_list("account_id")


# Asked for every new public post, most of which no one reaches through a hashtag: prepared.
_TAG_FOLLOWERS = Prepared("the active followers of a post's hashtags", _tag_followers_rows)


def tag_followers(post: Post) -> set[int]:
    """Local accounts following a hashtag of this post, when it is one a hashtag shows: public,
    not a repost, published (limited reach keeps a post off hashtags). As in Mastodon, not the
    author, and not those who block or mute someone the post mentions; blocks and mutes of the
    author are left out with everyone else's in ``home_recipients``. Inactive people are skipped
    as inactive followers are."""
    if (
        post.visibility != Visibility.PUBLIC
        or post.repost_of_id is not None
        or post.moderation_state != ModerationState.PUBLISHED
    ):
        return set()
    ids = {account_id for (account_id,) in _TAG_FOLLOWERS.rows(post_id=post.pk, cutoff=active_cutoff())}
    ids.discard(post.author_id)
    if ids:
        mentioned = Mention.objects.filter(post=post).values("account_id")
        ids -= set(Block.objects.filter(account_id__in=ids, target_id__in=mentioned).values_list("account_id", flat=True))
        ids -= set(active_mutes().filter(account_id__in=ids, target_id__in=mentioned).values_list("account_id", flat=True))
    return ids


def _deliverable(post_id: int, post: Post | None = None) -> Post | None:
    """The post, if it may still be distributed: not deleted, not held, not a repost of
    something no longer visible. ``post``: the row already read (with its author)."""
    if post is None or post.pk != post_id:
        post = Post.objects.select_related("author", "repost_of").filter(pk=post_id).first()
    if post is None or post.moderation_state not in VISIBLE_STATES:
        return None  # deleted since, or held for review: held posts never fan out
    if post.repost_of_id is not None and (post.repost_of is None or post.repost_of.moderation_state not in VISIBLE_STATES):
        return None
    return post


def _deliver(post: Post, recipients: list[int], late: set[int]) -> None:
    # Followers who followed after the post was written (the queue was behind) get the author's
    # recent posts all at once, as the follow's backfill will: delivering this one alone would
    # show them an older post without the newer ones already written, and a client paging
    # down from the top would see a timeline with a hole that fills later.
    # (One insert each, this post among them, so there is no moment with only part of it.)
    for follower_id in sorted(late):
        backfill_home(follower_id, post.author_id)
    if recipients:
        get_store().add(post.pk, recipients)


def fan_out_post(post_id: int, *, post: Post | None = None) -> int:
    """Deliver a post to its home timelines. Returns how many recipients it has (all batches).
    ``post``: the row, if the caller has just read it (the pipeline reads it once per event)."""
    started = time.time()
    post = _deliverable(post_id, post)
    if post is None:
        return 0
    recipients, late = _recipients(post)
    vars(post)[_KNOWN_RECIPIENTS] = recipients
    size = fanout_batch_size()
    if len(recipients) <= size:
        _deliver(post, recipients, late)
        _observe(post, len(recipients), started)
        return len(recipients)
    # A large audience: slices of ``size`` follower ids, (lo, hi]; the first is delivered here,
    # the rest are queued (after this commit) for any worker.
    chunks = [recipients[i : i + size] for i in range(0, len(recipients), size)]
    queued = []
    with transaction.atomic():
        for n, chunk in enumerate(chunks[1:], start=1):
            lo = chunks[n - 1][-1]
            hi = None if n == len(chunks) - 1 else chunk[-1]
            _, created = FanoutBatch.objects.get_or_create(post_id=post.pk, lo=lo)
            if created:
                queued.append((lo, hi))
        for lo, hi in queued:
            events.emit("timelines.fanout_batch", post_id=post.pk, lo=lo, hi=hi, total=len(recipients), started=started)
    _deliver(post, chunks[0], late & set(chunks[0]))
    return len(recipients)


def fan_out_batch(post_id: int, lo: int, hi: int | None, total: int, started: float, *, post: Post | None = None) -> list[int]:
    """One queued slice of a large fan-out: recipients with ids in ``(lo, hi]``, computed again
    (follows, blocks, mutes and the post's state may have changed since it was queued). Returns
    the recipients it delivered to (the streaming ``update`` goes to them). ``post``: the row, if
    the caller has just read it."""
    post = _deliverable(post_id, post)
    recipients: list[int] = []
    if post is not None:
        recipients, late = _recipients(post, lo, hi)
        _deliver(post, recipients, late)
    with transaction.atomic():
        done = FanoutBatch.objects.filter(post_id=post_id, lo=lo).delete()[0]
        last = done and not FanoutBatch.objects.filter(post_id=post_id).exists()
    if last and post is not None:
        _observe(post, total, started)
    return recipients


def _observe(post: Post, recipients: int, started: float) -> None:
    finished = time.time()
    metrics.observe_fanout(max(0.0, finished - post.created_at.timestamp()), recipients, max(0.0, finished - started))


def backfill_home(follower_id: int, target_id: int) -> None:
    """After a new follow, the followed account's recent posts appear in the follower's home."""
    follow = Follow.objects.filter(follower_id=follower_id, target_id=target_id).first()
    if follow is None:
        return  # unfollowed (or blocked) before this ran: nothing to add
    recent = Post.objects.filter(
        author_id=target_id,
        visibility__in=(Visibility.PUBLIC, Visibility.UNLISTED, Visibility.PRIVATE),
        moderation_state__in=VISIBLE_STATES,
    ).filter(Q(in_reply_to_account__isnull=True) | Q(in_reply_to_account_id=target_id))
    # Reposts as fan-out would have delivered them: only if wanted, and never of someone on the
    # other side of a block or of a post no longer visible.
    if not follow.show_reposts:
        recent = recent.filter(repost_of__isnull=True)
    blocked = set(Block.objects.filter(account_id=follower_id).values_list("target_id", flat=True))
    blocked |= set(Block.objects.filter(target_id=follower_id).values_list("account_id", flat=True))
    recent = recent.exclude(repost_of__author_id__in=blocked).exclude(
        Q(repost_of__isnull=False) & ~Q(repost_of__moderation_state__in=VISIBLE_STATES)
    )
    ids = list(recent.order_by("-id").values_list("id", flat=True)[:BACKFILL])
    store = get_store()
    store.prepare(follower_id)  # with Redis: a home never built is built now, not on a later read
    store.add_many(follower_id, ids)


def remove_author_from_home(owner_id: int, author_id: int) -> None:
    """After an unfollow or a block: the author's posts and reposts leave the owner's home."""
    get_store().remove_author(owner_id, author_id)


def remove_post_from_homes(post_id: int) -> None:
    """A post removed by moderation leaves every home timeline, with its reposts. (Reads pass
    the door anyway; this keeps the store from carrying posts nobody may see.) With Redis the
    sets it may be in are those of everyone who could have received it: the local followers of
    its author and of its reposters, the people it mentions, and its hashtags' followers."""
    repost_ids = list(Post.objects.filter(repost_of_id=post_id).values_list("id", flat=True))
    store = get_store()
    if store.name == "database":
        store.remove_posts([post_id, *repost_ids])
        return
    authors = set(Post.objects.filter(Q(pk=post_id) | Q(repost_of_id=post_id)).values_list("author_id", flat=True))
    owners = (
        set(Follow.objects.filter(target_id__in=authors, follower__user__isnull=False).values_list("follower_id", flat=True))
        | authors
    )
    owners |= set(Mention.objects.filter(post_id=post_id).values_list("account_id", flat=True))
    tags = Post.hashtags.through.objects.filter(post_id=post_id).values("hashtag_id")
    owners |= set(FollowedTag.objects.filter(hashtag_id__in=tags).values_list("account_id", flat=True))
    store.remove_posts([post_id, *repost_ids], sorted(owners))


def home_owners(post: Post) -> set[int]:
    """Whose home timeline holds this post (the streaming ``user`` audience)."""
    store = get_store()
    if store.name == "database":
        return store.owners_of(post.pk, ())
    return store.owners_of(post.pk, home_recipients(post))


def rebuild_home(owner_id: int, limit: int | None = None) -> int:
    """Rebuild one home timeline from the follow graph (after a cache loss or a long absence)."""
    Account.objects.only("pk").get(pk=owner_id)
    posts = rebuild_ids(owner_id, limit or max_items())
    store = get_store()
    store.add_many(owner_id, posts)
    store.mark_complete(owner_id)
    return len(posts)


def forget_home(owner_id: int) -> None:
    """A deleted account's home timeline leaves the store (its database rows went with the
    account; a Redis set would otherwise stay until evicted)."""
    get_store().clear(owner_id)
