"""Trends, from local activity only: hashtags by how many people used them lately, and posts by
recent reposts, likes and replies with a time decay.

Both start from the visibility door as an anonymous visitor sees it (``visible_posts(None)``),
then keep only what a public surface may show: public, fully published originals (no held,
removed, limited or moderator-labelled posts), by discoverable, unsuspended authors. A trending
post is then read again through the viewer's own door (blocks and mutes apply).

Hashtag history is Mastodon's ``Tag.history``: one entry per day for the last seven days, today
first, with the day's uses (posts) and distinct accounts. It counts those public posts only, so
it never reveals that a followers-only post used a tag.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.db.models import Count, QuerySet
from django.db.models.functions import TruncDate

from rostra.accounts.models import Account
from rostra.core.clock import now
from rostra.core.errors import NotFound
from rostra.posts.models import Hashtag, ModerationState, Post, Visibility
from rostra.posts.queries import visible_posts, with_viewer_state, without_muted

WINDOW_DAYS = 7
HISTORY_DAYS = 7
MIN_ACCOUNTS = 1  # a tag trends once someone used it publicly in the window; ranked by people, then uses
STATUS_WINDOW_DAYS = 3
HALF_LIFE_HOURS = 24.0
CANDIDATES = 500  # the most engaged recent posts considered for status trends
MAX_OFFSET = 1_000

PostTag = Post.hashtags.through


@dataclass(frozen=True)
class DayUse:
    day: date
    uses: int
    accounts: int


def _public_originals() -> QuerySet[Post]:
    """What a public trend may draw on (see the module docstring)."""
    return visible_posts(None).filter(
        visibility=Visibility.PUBLIC,
        moderation_state=ModerationState.PUBLISHED,
        moderation_label="",
        repost_of__isnull=True,
        author__discoverable=True,
    )


def tag_history(tags: list[Hashtag], *, days: int = HISTORY_DAYS) -> dict[int, list[DayUse]]:
    """Per hashtag id, ``days`` entries (today first, UTC days), in one query for all the tags."""
    if not tags:
        return {}
    today = now().astimezone(UTC).date()
    since = datetime.combine(today - timedelta(days=days - 1), time.min, tzinfo=UTC)
    rows = (
        PostTag.objects.filter(hashtag_id__in=[t.pk for t in tags], post__in=_public_originals().filter(created_at__gte=since).values("pk"))  # type: ignore[misc]  # stubs miss annotations
        .annotate(day=TruncDate("post__created_at", tzinfo=UTC))
        .values("hashtag_id", "day")
        .annotate(uses=Count("post_id", distinct=True), accounts=Count("post__author_id", distinct=True))
    )
    counts = {(r["hashtag_id"], r["day"]): (r["uses"], r["accounts"]) for r in rows}
    out: dict[int, list[DayUse]] = {}
    for t in tags:
        out[t.pk] = []
        for i in range(days):
            d = today - timedelta(days=i)
            uses, accounts = counts.get((t.pk, d), (0, 0))
            out[t.pk].append(DayUse(d, uses, accounts))
    return out


def trending_tags(limit: int = 10, offset: int = 0) -> list[Hashtag]:
    """Hashtags used in public posts over the last week, by distinct accounts, then by uses."""
    since = now() - timedelta(days=WINDOW_DAYS)
    offset = max(0, min(MAX_OFFSET, offset))
    rows = list(
        PostTag.objects.filter(post__in=_public_originals().filter(created_at__gte=since).values("pk"))  # type: ignore[misc]  # stubs miss annotations
        .values("hashtag_id")
        .annotate(accounts=Count("post__author_id", distinct=True), uses=Count("post_id", distinct=True))
        .filter(accounts__gte=MIN_ACCOUNTS)
        .order_by("-accounts", "-uses", "-hashtag_id")[offset : offset + limit]
    )
    tags = Hashtag.objects.in_bulk([r["hashtag_id"] for r in rows])
    return [tags[r["hashtag_id"]] for r in rows if r["hashtag_id"] in tags]


def _score(post: Post, at: datetime) -> float:
    engagement = post.reposts_count + post.likes_count + post.replies_count
    age_hours = max(0.0, (at - post.created_at).total_seconds() / 3600)
    return float(engagement) * 0.5 ** (age_hours / HALF_LIFE_HOURS)


def trending_posts(viewer: Account | None, limit: int = 20, offset: int = 0) -> list[Post]:
    """Recent public posts by reposts + likes + replies, halved every ``HALF_LIFE_HOURS``; then
    read through the viewer's door (and without the accounts they mute), ready for rendering."""
    at = now()
    offset = max(0, min(MAX_OFFSET, offset))
    candidates = list(
        _public_originals()
        .filter(created_at__gte=at - timedelta(days=STATUS_WINDOW_DAYS))
        .exclude(reposts_count=0, likes_count=0, replies_count=0)
        .only("id", "created_at", "reposts_count", "likes_count", "replies_count")
        .order_by("-likes_count", "-reposts_count", "-id")[:CANDIDATES]
    )
    ranked = sorted(candidates, key=lambda p: (-_score(p, at), -p.pk))
    visible = set(without_muted(visible_posts(viewer), viewer).filter(pk__in=[p.pk for p in ranked]).values_list("pk", flat=True))
    ids = [p.pk for p in ranked if p.pk in visible][offset : offset + limit]
    found = {p.pk: p for p in with_viewer_state(visible_posts(viewer).filter(pk__in=ids), viewer)}
    return [found[i] for i in ids if i in found]


def get_tag(name: str) -> Hashtag:
    """A hashtag by name (a leading '#' and any case are fine); NotFound if nobody used it."""
    key = (name or "").strip().lstrip("#").lower()
    tag = Hashtag.objects.filter(name=key).first() if key else None
    if tag is None:
        raise NotFound("No such hashtag.")
    return tag
