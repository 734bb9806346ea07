"""Featured hashtags (Mastodon's FeaturedTag): hashtags a person shows on their profile, each with
how many of their public posts carry it and when the latest was posted.

Names are read exactly as posts read them (``rostra.posts.hashtags.tag_name``, which asks the
posts' own parser), so a featured name always matches the ``Hashtag.name`` posts carry. Featuring
a hashtag nobody has used yet creates it, as Mastodon does. The counts are computed when read,
from the account's public posts with that hashtag that the viewer may see (the one door,
``visible_posts``): a held or removed post counts for nobody but its author.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import Count, Max

from rostra.accounts.models import Account
from rostra.core.errors import NotFound, ValidationError
from rostra.posts.hashtags import hashtag_for, tag_name
from rostra.posts.models import FeaturedTag, Hashtag, Visibility
from rostra.posts.queries import visible_posts

MAX_FEATURED_TAGS = 10  # Mastodon's limit per account
MAX_SUGGESTIONS = 10  # Mastodon suggests up to ten
RECENT_POSTS = 1000  # suggestions read the hashtags of this many of one's latest posts


@dataclass(frozen=True)
class Featured:
    """One featured hashtag as shown: the row, its hashtag and its numbers for the viewer."""

    row: FeaturedTag
    hashtag: Hashtag
    statuses_count: int
    last_status_at: datetime | None


def feature(account: Account, raw_name: str) -> Featured:
    """Feature a hashtag on ``account``'s profile. A name that is not a hashtag, one already
    featured, or an eleventh answer ValidationError (Mastodon answers 422 to each)."""
    name, display_name = tag_name(raw_name)
    with transaction.atomic():
        Account.objects.select_for_update().filter(pk=account.pk).first()  # one feature at a time per account
        if FeaturedTag.objects.filter(account_id=account.pk, hashtag__name=name).exists():
            raise ValidationError(f"#{display_name} is featured already.", field="name")
        if FeaturedTag.objects.filter(account_id=account.pk).count() >= MAX_FEATURED_TAGS:
            raise ValidationError(f"You can feature at most {MAX_FEATURED_TAGS} hashtags.", field="name")
        tag = hashtag_for(name, display_name)
        row = FeaturedTag.objects.create(account_id=account.pk, hashtag=tag)
    return _with_counts(account, account, [row])[0]


def unfeature(account: Account, featured_id: int) -> None:
    """Stop featuring one of one's hashtags; someone else's (or a missing) id answers NotFound."""
    deleted, _ = FeaturedTag.objects.filter(pk=featured_id, account_id=account.pk).delete()
    if not deleted:
        raise NotFound("Record not found")


def featured_of(viewer: Account | None, account: Account) -> list[Featured]:
    """The hashtags ``account`` features, most recently featured first, with the numbers of its
    public posts carrying each that ``viewer`` (None: anonymous) may see."""
    rows = list(FeaturedTag.objects.filter(account_id=account.pk).select_related("hashtag").order_by("-id"))
    return _with_counts(viewer, account, rows)


def _with_counts(viewer: Account | None, account: Account, rows: Sequence[FeaturedTag]) -> list[Featured]:
    if not rows:
        return []
    tag_ids = [r.hashtag_id for r in rows]
    numbers = {
        row["hashtags"]: (row["n"], row["last"])
        for row in visible_posts(viewer)
        .filter(author_id=account.pk, repost_of__isnull=True, visibility=Visibility.PUBLIC, hashtags__in=tag_ids)
        .values("hashtags")
        .annotate(n=Count("id", distinct=True), last=Max("created_at"))
    }
    out = []
    for r in rows:
        count, last = numbers.get(r.hashtag_id, (0, None))
        out.append(Featured(row=r, hashtag=r.hashtag, statuses_count=count, last_status_at=last))
    return out


def suggestions(account: Account) -> list[Hashtag]:
    """Hashtags ``account`` used most in its latest posts and does not feature yet, most used first."""
    recent = list(
        visible_posts(account).filter(author_id=account.pk, repost_of__isnull=True).order_by("-id").values_list("id", flat=True)[:RECENT_POSTS]
    )
    if not recent:
        return []
    featured = FeaturedTag.objects.filter(account_id=account.pk).values("hashtag_id")
    return list(
        Hashtag.objects.filter(posts__in=recent)
        .exclude(pk__in=featured)
        .annotate(uses=Count("posts", distinct=True), latest=Max("posts__created_at"))
        .order_by("-uses", "-latest", "name")[:MAX_SUGGESTIONS]
    )
