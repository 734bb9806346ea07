"""Fan-out on write: a new post is inserted into the home timelines of those who should see it.

Run by the pipeline after commit, with ids only, and idempotent (re-running inserts nothing new).
Reads still pass through the visibility door, so a row here is an index, never a permission.
"""

from __future__ import annotations

from django.db.models import Q

from rostra.accounts.models import Account, Block, Follow
from rostra.accounts.policies import active_mutes
from rostra.posts.models import VISIBLE_STATES, Mention, ModerationState, Post, Visibility
from rostra.timelines.models import FollowedTag, HomeEntry

BATCH = 2000
BACKFILL = 40


def home_recipients(post: Post) -> list[int]:
    """Local accounts whose home timeline gets this post: the author, followers, those mentioned
    in a private or direct post, and followers of its hashtags (``tag_followers``)."""
    author_id = post.author_id
    recipients: set[int] = set()
    if post.author.is_local:
        recipients.add(author_id)
    if post.visibility != Visibility.DIRECT:
        followers = Follow.objects.filter(target_id=author_id, follower__user__isnull=False)
        if post.repost_of_id is not None:
            followers = followers.filter(show_reposts=True)
        ids = set(followers.values_list("follower_id", flat=True))
        # A reply to someone else reaches only followers who follow them too (as in Mastodon).
        if post.in_reply_to_account_id and post.in_reply_to_account_id != author_id:
            also = set(Follow.objects.filter(target_id=post.in_reply_to_account_id, follower_id__in=ids).values_list("follower_id", flat=True))
            ids &= also
        recipients |= ids
    if post.visibility in (Visibility.DIRECT, Visibility.PRIVATE):
        recipients |= set(Mention.objects.filter(post=post, account__user__isnull=False).values_list("account_id", flat=True))
    recipients |= tag_followers(post)
    if not recipients:
        return []
    # Nobody gets posts from people they block or mute, or who block them.
    original_author = post.repost_of.author_id if post.repost_of_id and post.repost_of else author_id
    authors = {author_id, original_author}
    excluded = set(Block.objects.filter(account_id__in=recipients, target_id__in=authors).values_list("account_id", flat=True))
    excluded |= set(Block.objects.filter(account_id__in=authors, target_id__in=recipients).values_list("target_id", flat=True))
    excluded |= set(active_mutes().filter(account_id__in=recipients, target_id__in=authors).values_list("account_id", flat=True))
    excluded.discard(author_id)
    return sorted(recipients - excluded)


def tag_followers(post: Post) -> set[int]:
    """Local accounts following a hashtag of this post, when it is one a hashtag shows: public,
    not a repost, published (limited reach keeps a post off hashtags). As in Mastodon, not the
    author, and not those who block or mute someone the post mentions; blocks and mutes of the
    author are left out with everyone else's in ``home_recipients``."""
    if post.visibility != Visibility.PUBLIC or post.repost_of_id is not None or post.moderation_state != ModerationState.PUBLISHED:
        return set()
    tag_ids = Post.hashtags.through.objects.filter(post_id=post.pk).values("hashtag_id")
    ids = set(FollowedTag.objects.filter(hashtag_id__in=tag_ids, account__user__isnull=False).values_list("account_id", flat=True))
    ids.discard(post.author_id)
    if ids:
        mentioned = Mention.objects.filter(post=post).values("account_id")
        ids -= set(Block.objects.filter(account_id__in=ids, target_id__in=mentioned).values_list("account_id", flat=True))
        ids -= set(active_mutes().filter(account_id__in=ids, target_id__in=mentioned).values_list("account_id", flat=True))
    return ids


def fan_out_post(post_id: int) -> int:
    post = Post.objects.select_related("author", "repost_of").filter(pk=post_id).first()
    if post is None or post.moderation_state not in VISIBLE_STATES:
        return 0  # deleted since, or held for review: held posts never fan out
    if post.repost_of_id is not None and (post.repost_of is None or post.repost_of.moderation_state not in VISIBLE_STATES):
        return 0
    recipients = home_recipients(post)
    # Followers who followed after the post was written (the queue was behind) get the author's
    # recent posts all at once, as the follow's backfill will: delivering this one alone would
    # show them an older post without the newer ones already written, and a client paging
    # down from the top would see a timeline with a hole that fills later.
    late = set(
        Follow.objects.filter(target_id=post.author_id, created_at__gte=post.created_at, follower__user__isnull=False).values_list(
            "follower_id", flat=True
        )
    ) & set(recipients)
    # (One insert each, this post among them, so there is no moment with only part of it.)
    for follower_id in sorted(late):
        backfill_home(follower_id, post.author_id)
    for start in range(0, len(recipients), BATCH):
        HomeEntry.objects.bulk_create(
            [HomeEntry(owner_id=r, post_id=post.pk) for r in recipients[start : start + BATCH]],
            ignore_conflicts=True,
        )
    return len(recipients)


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
    HomeEntry.objects.bulk_create([HomeEntry(owner_id=follower_id, post_id=pid) for pid in ids], ignore_conflicts=True)


def remove_author_from_home(owner_id: int, author_id: int) -> None:
    """After an unfollow or a block: the author's posts and reposts leave the owner's home."""
    HomeEntry.objects.filter(owner_id=owner_id).filter(Q(post__author_id=author_id) | Q(post__repost_of__author_id=author_id)).exclude(
        post__mention_rows__account_id=owner_id
    ).delete()


def rebuild_home(owner_id: int, limit: int = 800) -> int:
    """Rebuild one home timeline from the follow graph (after a cache loss or a long absence)."""
    owner = Account.objects.get(pk=owner_id)
    following = Follow.objects.filter(follower=owner).values("target_id")
    posts = list(
        Post.objects.filter(Q(author_id__in=following) | Q(author_id=owner_id), moderation_state__in=VISIBLE_STATES)
        .exclude(visibility=Visibility.DIRECT)
        .order_by("-id")
        .values_list("id", flat=True)[:limit]
    )
    HomeEntry.objects.bulk_create([HomeEntry(owner_id=owner_id, post_id=p) for p in posts], ignore_conflicts=True)
    return len(posts)
