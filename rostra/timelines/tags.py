"""Followed hashtags (Mastodon's TagFollow): new public posts carrying a hashtag someone follows
reach their home timeline (the delivery itself is in ``rostra.timelines.actions``).

Names are read the way posts read them (``rostra.core.text.parse``: a ``#`` and 1-100 word
characters, not all digits, compared in lower case), so a followed name always matches the
``Hashtag.name`` that posts carry. Following a hashtag nobody has used yet creates it, as
Mastodon does. Unfollowing stops new deliveries; posts already delivered stay, as in Mastodon.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import IntegrityError, transaction

from rostra.accounts.models import Account
from rostra.core.errors import NotFound, ValidationError
from rostra.core.pagination import Page, PageRequest, paginate
from rostra.core.text import parse
from rostra.posts.models import Hashtag
from rostra.timelines.models import FollowedTag

MAX_NAME = 100  # Hashtag.name's column, and the longest name a post can carry


def tag_name(raw: str) -> tuple[str, str]:
    """``(name, display_name)`` for a hashtag as typed (a leading ``#`` is fine), or
    ValidationError when it is not a hashtag a post could carry."""
    typed = (raw or "").strip()
    typed = typed.removeprefix("#")
    if not typed:
        raise ValidationError("Name a hashtag.", field="name")
    if len(typed) > MAX_NAME:
        raise ValidationError(f"A hashtag is at most {MAX_NAME} characters.", field="name")
    # The posts' own reading of "#name": valid exactly when it reads the whole name as one hashtag.
    if parse(f"#{typed}").hashtags != [typed.lower()]:
        raise ValidationError("Not a hashtag: use letters, digits and underscores, with at least one letter.", field="name")
    return typed.lower(), typed


def _get_or_create_hashtag(name: str, display_name: str) -> Hashtag:
    tag = Hashtag.objects.filter(name=name).first()
    if tag is not None:
        return tag
    try:
        with transaction.atomic():
            return Hashtag.objects.create(name=name, display_name=display_name)
    except IntegrityError:  # created meanwhile by a post or another follower
        return Hashtag.objects.get(name=name)


def follow_tag(account: Account, raw_name: str) -> Hashtag:
    """Follow a hashtag (creating it if nobody has used it yet). Following it again changes nothing."""
    name, display_name = tag_name(raw_name)
    tag = _get_or_create_hashtag(name, display_name)
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
