"""The timelines. Each is a filter on the visibility door, never a way around it."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, QuerySet

from rostra.accounts.models import Account
from rostra.core.pagination import Page, PageRequest, paginate
from rostra.posts.models import ModerationState, Post, Visibility
from rostra.posts.queries import visible_posts, with_viewer_state, without_muted
from rostra.timelines.models import HomeEntry, ListMember


def home(viewer: Account, req: PageRequest) -> Page[Post]:
    entries = HomeEntry.objects.filter(owner_id=viewer.pk, post_id=OuterRef("pk"))
    qs = without_muted(visible_posts(viewer), viewer).filter(Exists(entries))
    # Members of the viewer's exclusive lists are read in those lists instead (Mastodon 4.2+).
    exclusive = ListMember.objects.filter(list__owner_id=viewer.pk, list__exclusive=True).values("account_id")
    qs = qs.exclude(author_id__in=exclusive)
    return paginate(with_viewer_state(qs, viewer), req)


def _public_base(viewer: Account | None) -> QuerySet[Post]:
    # Limited-reach posts stay off every public surface; reposts are not shown twice.
    return without_muted(visible_posts(viewer), viewer).filter(
        visibility=Visibility.PUBLIC, moderation_state=ModerationState.PUBLISHED, repost_of__isnull=True
    )


def local_public(viewer: Account | None, req: PageRequest) -> Page[Post]:
    return paginate(with_viewer_state(_public_base(viewer).filter(author__domain=""), viewer), req)


def federated_public(viewer: Account | None, req: PageRequest) -> Page[Post]:
    return paginate(with_viewer_state(_public_base(viewer), viewer), req)


def hashtag(viewer: Account | None, name: str, req: PageRequest) -> Page[Post]:
    qs = _public_base(viewer).filter(hashtags__name=name.strip().lstrip("#").lower())
    return paginate(with_viewer_state(qs, viewer), req)


def profile(viewer: Account | None, account: Account, req: PageRequest, *, with_replies: bool = False, media_only: bool = False) -> Page[Post]:
    qs = visible_posts(viewer).filter(author=account)
    if not with_replies:
        qs = qs.filter(Q(in_reply_to_account__isnull=True) | Q(in_reply_to_account=account))
    if media_only:
        qs = qs.filter(media__isnull=False).distinct()
    return paginate(with_viewer_state(qs, viewer), req)
