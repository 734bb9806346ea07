"""The timelines. Each is a filter on the visibility door, never a way around it."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from django.db.models import Exists, OuterRef, Q, QuerySet

from rostra.accounts.models import Account, Follow
from rostra.accounts.policies import muted_by
from rostra.core.pagination import Page, PageRequest, paginate
from rostra.core.prepared import Prepared
from rostra.core.replicas import on_replica
from rostra.posts.models import Media, ModerationState, Post, Visibility
from rostra.posts.queries import cards_by_id, visible_among, visible_posts, with_viewer_state, without_muted
from rostra.timelines.models import ListMember
from rostra.timelines.store import HomeStore, get_store

# Asked by every home page: compiled once per process (rostra.core.prepared).
_exclusive = Prepared(
    "the accounts in a viewer's exclusive lists",
    lambda viewer_id: ListMember.objects.filter(list__owner_id=viewer_id, list__exclusive=True).values_list("account_id"),
)


def home(viewer: Account, req: PageRequest) -> Page[Post]:
    """The viewer's home timeline: ids from the home store (``rostra.timelines.store``), kept if
    the visibility door lets them through (``visible_among``, compiled once per process) and
    their author is neither muted nor read in one of the viewer's exclusive lists (Mastodon
    4.2+), then the page's posts with everything their cards need."""
    muted = muted_by(viewer.pk)
    exclusive = {account for (account,) in _exclusive.rows(viewer_id=viewer.pk)}

    def keep(author_id: int, reposted_author_id: int | None) -> bool:
        return author_id not in muted and author_id not in exclusive and reposted_author_id not in muted

    # min_id pages are the posts just above it (ascending), shown newest first like every page.
    kept = sorted(_home_candidates(get_store(), viewer, keep, req), reverse=req.min_id is None)[: req.limit]
    by_id = cards_by_id(viewer, kept)  # no query for an empty page
    items = [by_id[i] for i in sorted(kept, reverse=True) if i in by_id]
    if not items:
        return Page(items=[], next_max_id=None, prev_min_id=None)
    return Page(items=items, next_max_id=items[-1].pk if len(kept) == req.limit else None, prev_min_id=items[0].pk)


def _home_candidates(store: HomeStore, viewer: Account, keep: Callable[[int, int | None], bool], req: PageRequest) -> list[int]:
    """Ids from the store, in the page's direction, kept only if the door and ``keep`` let them
    through; more are fetched (twice as many each time) until the page is full or the timeline
    ends, so posts the door drops never shorten a page."""
    kept: list[int] = []
    max_id, min_id, count = req.max_id, req.min_id, max(req.limit * 2, 20)
    while True:
        ids = store.page_ids(viewer.pk, max_id=max_id, min_id=min_id, since_id=req.since_id, count=count)
        if not ids:
            return kept
        visible = visible_among(viewer, ids)
        kept.extend(i for i in ids if i in visible and keep(*visible[i]))
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
