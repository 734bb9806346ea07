"""Followed hashtags (Mastodon's TagFollow): new public posts carrying a hashtag someone follows
reach their home timeline (the delivery itself is in ``rostra.timelines.actions``).

Names are read as posts read them (``rostra.posts.hashtags.tag_name``). Following a hashtag
nobody has used yet creates it, as Mastodon does. Unfollowing stops new deliveries; posts already delivered stay, as in Mastodon.
"""

from __future__ import annotations

from collections.abc import Iterable

from rostra.accounts.models import Account
from rostra.core.errors import NotFound, ValidationError
from rostra.core.pagination import Page, PageRequest, paginate
from rostra.posts.hashtags import hashtag_for, tag_name
from rostra.posts.models import Hashtag
from rostra.timelines.models import FollowedTag


def follow_tag(account: Account, raw_name: str) -> Hashtag:
    """Follow a hashtag (creating it if nobody has used it yet). Following it again changes nothing."""
    name, display_name = tag_name(raw_name)
    tag = hashtag_for(name, display_name)
    FollowedTag.objects.get_or_create(account_id=account.pk, hashtag_id=tag.pk)
    return tag


def unfollow_tag(account: Account, raw_name: str) -> Hashtag:
    """Stop following a hashtag; unfollowing one you do not follow changes nothing.
    A hashtag that does not exist answers NotFound (there is nothing to render)."""
    name, _ = tag_name(raw_name)
    tag = Hashtag.objects.filter(name=name).first()
    if tag is None:
        raise NotFound("No such hashtag.")
    FollowedTag.objects.filter(account_id=account.pk, hashtag_id=tag.pk).delete()
    return tag


def followed_tags(account: Account, req: PageRequest) -> Page[Hashtag]:
    """The hashtags the account follows, most recently followed first, paged by the follow's id."""
    qs = FollowedTag.objects.filter(account_id=account.pk).select_related("hashtag")
    page: Page[FollowedTag] = paginate(qs, req)
    return Page(items=[f.hashtag for f in page.items], next_max_id=page.next_max_id, prev_min_id=page.prev_min_id)


def followed_among(account: Account | None, tags: Iterable[Hashtag]) -> set[int]:
    """Which of these hashtags the account follows (their ids), in one query. None: nobody follows."""
    ids = [t.pk for t in tags]
    if account is None or not ids:
        return set()
    return set(FollowedTag.objects.filter(account_id=account.pk, hashtag_id__in=ids).values_list("hashtag_id", flat=True))


def is_following(account: Account | None, tag: Hashtag) -> bool:
    return tag.pk in followed_among(account, [tag])


def follows_name(account: Account | None, raw_name: str) -> bool:
    """Whether the account follows the hashtag of that name (False for anyone anonymous, and for
    a name that is not a hashtag or that nobody has used)."""
    if account is None:
        return False
    try:
        name, _ = tag_name(raw_name)
    except ValidationError:
        return False
    return FollowedTag.objects.filter(account_id=account.pk, hashtag__name=name).exists()
