"""The timelines. Each is a filter on the visibility door, never a way around it."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from django.db.models import Exists, OuterRef, Q, QuerySet

from rostra.accounts.models import Account, Follow
from rostra.core.pagination import Page, PageRequest, paginate
from rostra.core.replicas import on_replica
from rostra.posts.models import Media, ModerationState, Post, Visibility
from rostra.posts.queries import visible_posts, with_viewer_state, without_muted
from rostra.timelines.models import HomeEntry, ListMember
from rostra.timelines.store import HomeStore, get_store


def home(viewer: Account, req: PageRequest) -> Page[Post]:
    # Members of the viewer's exclusive lists are read in those lists instead (Mastodon 4.2+).
    exclusive = ListMember.objects.filter(list__owner_id=viewer.pk, list__exclusive=True).values("account_id")
    qs = without_muted(visible_posts(viewer), viewer).exclude(author_id__in=exclusive)
    store = get_store()
    if store.name == "database":
        entries = HomeEntry.objects.filter(owner_id=viewer.pk, post_id=OuterRef("pk"))
        return paginate(with_viewer_state(qs.filter(Exists(entries)), viewer), req)
    return paginate(with_viewer_state(qs.filter(pk__in=_home_candidates(store, viewer, qs, req)), viewer), req)


def _home_candidates(store: HomeStore, viewer: Account, qs: QuerySet[Post], req: PageRequest) -> list[int]:
    """Ids from the store, in the page's direction, kept only if the door and the home filters
    let them through; more are fetched (twice as many each time) until the page is full or the
    timeline ends, so posts the door drops never shorten a page. ``paginate`` then orders and
    cuts them exactly as it does the database's rows."""
    kept: list[int] = []
    max_id, min_id, count = req.max_id, req.min_id, max(req.limit * 2, 20)
    while True:
        ids = store.page_ids(viewer.pk, max_id=max_id, min_id=min_id, since_id=req.since_id, count=count)
        if not ids:
            return kept
        kept.extend(qs.filter(pk__in=ids).values_list("id", flat=True))
        if len(kept) >= req.limit or len(ids) < count:
            return kept
        if req.min_id is not None:
            min_id = ids[-1]  # ascending: continue above the newest seen
        else:
            max_id = ids[-1]  # descending: continue below the oldest seen
        count = min(count * 2, 800)


# Instance policy plugs in here (rostra.federation.policy, set when the app loads: domain apps
# never import federation): a Q on posts whose authors are on silenced domains, or None.
_silenced_authors: Callable[[], Q | None] | None = None


def set_silenced_authors(fn: Callable[[], Q | None] | None) -> None:
    global _silenced_authors
    _silenced_authors = fn


def silenced_from(post: Post, viewer_ids: Iterable[int | None]) -> set[int | None]:
    """Of ``viewer_ids`` (None: an anonymous reader), those who must not see ``post`` on a public
    surface because its author's domain is silenced and they do not follow the author: the
    streaming public and hashtag streams ask this, as the public timelines ask ``_public_base``."""
    silenced = _silenced_authors() if _silenced_authors is not None else None
    ids = set(viewer_ids)
    if silenced is None or not ids or not Post.objects.filter(pk=post.pk).filter(silenced).exists():
        return set()
    followers = set(Follow.objects.filter(target_id=post.author_id, follower_id__in=[i for i in ids if i is not None]).values_list("follower_id", flat=True))
    return {i for i in ids if i is None or i not in followers}


def _public_base(viewer: Account | None) -> QuerySet[Post]:
    # Limited-reach posts stay off every public surface; reposts are not shown twice.
    qs = without_muted(visible_posts(viewer), viewer).filter(
        visibility=Visibility.PUBLIC, moderation_state=ModerationState.PUBLISHED, repost_of__isnull=True
    )
    # Posts from silenced domains are shown only to the author's followers (Mastodon's silence).
    silenced = _silenced_authors() if _silenced_authors is not None else None
    if silenced is not None:
        if viewer is None:
            return qs.exclude(silenced)
        followed = Follow.objects.filter(follower_id=viewer.pk, target_id=OuterRef("author_id"))
        qs = qs.exclude(silenced & ~Exists(followed))
    return qs


def local_public(viewer: Account | None, req: PageRequest) -> Page[Post]:
    return paginate(on_replica(with_viewer_state(_public_base(viewer).filter(author__domain=""), viewer), viewer), req)


def federated_public(viewer: Account | None, req: PageRequest) -> Page[Post]:
    return paginate(on_replica(with_viewer_state(_public_base(viewer), viewer), viewer), req)


def hashtag(viewer: Account | None, name: str, req: PageRequest) -> Page[Post]:
    qs = _public_base(viewer).filter(hashtags__name=name.strip().lstrip("#").lower())
    return paginate(on_replica(with_viewer_state(qs, viewer), viewer), req)


def _with_media(qs: QuerySet[Post]) -> QuerySet[Post]:
    return qs.filter(Exists(Media.objects.filter(post_id=OuterRef("pk"))))


def _origin(qs: QuerySet[Post], *, local: bool, remote: bool) -> QuerySet[Post] | None:
    """Mastodon's ``local``/``remote`` switches (both or neither: everything). None: nothing."""
    if local and not remote:
        return qs.filter(author__domain="")
    if remote and not local:
        return None  # Rostra does not federate yet: it has no remote posts
    return qs


def public(viewer: Account | None, req: PageRequest, *, local: bool = False, remote: bool = False, only_media: bool = False) -> Page[Post]:
    """The public timeline as Mastodon's API serves it."""
    qs = _origin(_public_base(viewer), local=local, remote=remote)
    if qs is None:
        return Page(items=[], next_max_id=None, prev_min_id=None)
    if only_media:
        qs = _with_media(qs)
    return paginate(on_replica(with_viewer_state(qs, viewer), viewer), req)


def _tag_names(names: Iterable[str]) -> list[str]:
    return sorted({n.strip().lstrip("#").lower() for n in names if n and n.strip().lstrip("#")})


def tag_timeline(
    viewer: Account | None,
    name: str,
    req: PageRequest,
    *,
    any_of: Iterable[str] = (),
    all_of: Iterable[str] = (),
    none_of: Iterable[str] = (),
    local: bool = False,
    remote: bool = False,
    only_media: bool = False,
) -> Page[Post]:
    """Public posts with the hashtag (or any of ``any_of``), with every one of ``all_of`` and none
    of ``none_of``, as Mastodon's tag timeline. An unknown hashtag is an empty timeline."""
    empty: Page[Post] = Page(items=[], next_max_id=None, prev_min_id=None)
    wanted = _tag_names([name, *any_of])
    if not wanted:
        return empty
    qs = _origin(_public_base(viewer), local=local, remote=remote)
    if qs is None:
        return empty
    through = Post.hashtags.through
    qs = qs.filter(Exists(through.objects.filter(post_id=OuterRef("pk"), hashtag__name__in=wanted)))
    for required in _tag_names(all_of):
        qs = qs.filter(Exists(through.objects.filter(post_id=OuterRef("pk"), hashtag__name=required)))
    excluded = _tag_names(none_of)
    if excluded:
        qs = qs.exclude(Exists(through.objects.filter(post_id=OuterRef("pk"), hashtag__name__in=excluded)))
    if only_media:
        qs = _with_media(qs)
    return paginate(on_replica(with_viewer_state(qs, viewer), viewer), req)


def profile(viewer: Account | None, account: Account, req: PageRequest, *, with_replies: bool = False, media_only: bool = False) -> Page[Post]:
    qs = visible_posts(viewer).filter(author=account)
    if not with_replies:
        qs = qs.filter(Q(in_reply_to_account__isnull=True) | Q(in_reply_to_account=account))
    if media_only:
        qs = qs.filter(media__isnull=False).distinct()
    return paginate(on_replica(with_viewer_state(qs, viewer), viewer), req)
