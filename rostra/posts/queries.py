"""Every read of a post goes through this door.

``visible_posts(viewer)`` is the one queryset of posts a viewer may see; the web pages, the
timelines, search, media files and notifications all start from it, so a rule changed here
changes everywhere. The rules:

* an author always sees their own posts, whatever their state;
* nobody else sees a post that is held or removed by moderation, or whose author is suspended;
* public and unlisted posts: everyone, except across a block (either direction);
* followers-only posts: the author's followers and the people mentioned in it;
* direct posts: the people mentioned in it;
* a repost is visible when the repost itself is and the reposted post is.

Invisible posts answer exactly like posts that never existed (``NotFound``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Exists, IntegerField, OuterRef, Q, QuerySet, Value

from rostra.accounts.models import Account, Block, Follow
from rostra.accounts.policies import active_mutes, muted_by
from rostra.core import clock
from rostra.core.errors import NotFound
from rostra.core.ids import parse_id
from rostra.core.pagination import Page, PageRequest, paginate
from rostra.core.prepared import Prepared, fill_related
from rostra.posts.models import (
    VISIBLE_STATES,
    Bookmark,
    Like,
    Media,
    Mention,
    Pin,
    Poll,
    PollOption,
    PollVote,
    Post,
    ThreadMute,
    Visibility,
)


def _door(viewer: Account | None, prefix: str = "") -> Q:
    """The visibility condition for the post at ``prefix`` (e.g. "repost_of__")."""
    p = prefix
    author = OuterRef(f"{p}author_id")
    active = Q(**{f"{p}author__suspended_at__isnull": True}) & Q(**{f"{p}moderation_state__in": VISIBLE_STATES})
    everyone = Q(**{f"{p}visibility__in": (Visibility.PUBLIC, Visibility.UNLISTED)})
    if viewer is None:
        return active & everyone
    not_blocked = ~Exists(Block.objects.filter(account_id=author, target_id=viewer.pk)) & ~Exists(
        Block.objects.filter(account_id=viewer.pk, target_id=author)
    )
    follower = Q(**{f"{p}visibility": Visibility.PRIVATE}) & Exists(
        Follow.objects.filter(follower_id=viewer.pk, target_id=author)
    )
    mentioned = Q(**{f"{p}visibility__in": (Visibility.PRIVATE, Visibility.DIRECT)}) & Exists(
        Mention.objects.filter(post_id=OuterRef(f"{p}id"), account_id=viewer.pk)
    )
    own = Q(**{f"{p}author_id": viewer.pk})
    return own | (active & not_blocked & (everyone | follower | mentioned))


def visible_posts(viewer: Account | None) -> QuerySet[Post]:
    """All posts ``viewer`` (None: an anonymous visitor) may see."""
    return Post.objects.filter(_door(viewer) & (Q(repost_of__isnull=True) | _door(viewer, "repost_of__")))


def _door_rows(viewer_id: int | None, ids: list[int]) -> QuerySet[Any]:
    viewer = None if viewer_id is None else Account(pk=viewer_id)
    return visible_posts(viewer).filter(pk__in=ids).values_list("id", "author_id", "repost_of__author_id")


_visible_rows = Prepared("the visibility door", _door_rows, lists=("ids",))


def visible_among(viewer: Account | None, ids: Iterable[int], *, using: str = "default") -> dict[int, tuple[int, int | None]]:
    """Of ``ids``, those ``viewer`` may see: {id: (author id, the reposted post's author id or None)}.

    The same door as ``visible_posts``, compiled once per process (``rostra.core.prepared``):
    timelines ask it of every page's candidates, so its cost is the SQL's, not the ORM's."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    return {row[0]: (row[1], row[2]) for row in _visible_rows.rows(using, viewer_id=None if viewer is None else viewer.pk, ids=wanted)}


def can_view(viewer: Account | None, post: Post) -> bool:
    return post.pk in visible_among(viewer, [post.pk])


def visible_post(viewer: Account | None, post_id: Any, *related: str, original_only: bool = False) -> Post | None:
    """The post with this id if ``viewer`` may see it, else None (a malformed id too), with
    ``related`` joined; ``original_only`` refuses a repost. The answer of
    ``visible_posts(viewer).filter(pk=post_id).first()``, with the door as a prepared query
    (compiling its queryset cost every like, repost, reply and status read ~10-20 ms of CPU) and
    the row read by a second statement: a hold or a block committed between the two lets the
    post through for this one request, as it would have a moment earlier."""
    pid = parse_id(post_id)
    if pid is None or pid not in visible_among(viewer, [pid]):
        return None
    qs = Post.objects.filter(pk=pid)
    if original_only:
        qs = qs.filter(repost_of__isnull=True)
    return (qs.select_related(*related) if related else qs).first()


def get_post(viewer: Account | None, post_id: Any) -> Post:
    """The post, if ``viewer`` may see it; otherwise NotFound, exactly as for a missing id."""
    pid = parse_id(post_id)
    if pid is None:
        raise NotFound("No such post.")
    post = _visible_card(viewer, pid)
    if post is None:
        raise NotFound("No such post.")
    return post


def _visible_card(viewer: Account | None, pid: int) -> Post | None:
    """The post with everything its card needs, if ``viewer`` may see it. Two prepared queries (the
    door, then the card): compiling the door's queryset for one post cost more than everything
    else a status request does (~20 ms of ~28 for POST /statuses)."""
    return cards_by_id(viewer, [pid]).get(pid) if pid in visible_among(viewer, [pid]) else None


def without_muted(qs: QuerySet[Post], viewer: Account | None) -> QuerySet[Post]:
    """Timelines hide muted accounts (their posts and their reposts); single-post reads do not."""
    if viewer is None:
        return qs
    muted = active_mutes().filter(account_id=viewer.pk)
    return qs.exclude(author_id__in=muted.values("target_id")).exclude(
        repost_of__author_id__in=muted.values("target_id")
    )


# What a post card shows besides the post: fetched with it (joins) or once per page (prefetches).
CARD_RELATED = (
    "author", "in_reply_to_account", "repost_of", "repost_of__author", "quote_of", "quote_of__author",
    "repost_of__in_reply_to_account", "repost_of__quote_of", "repost_of__quote_of__author",
    "poll", "repost_of__poll",
)


_MEDIA_ORDER = ("position", "id")  # Media's own ordering: what post.media.all() lists
_card_media = Prepared(
    "the images of posts", lambda ids: Media.objects.filter(post_id__in=ids).order_by("post_id", *_MEDIA_ORDER), lists=("ids",)
)
_card_poll_options = Prepared(
    "the options of polls", lambda ids: PollOption.objects.filter(poll_id__in=ids).order_by("poll_id", "position", "id"), lists=("ids",)
)


def prefetch_cards(posts: list[Post]) -> None:
    """The images and poll options of the page's posts and of the posts they repost or quote, as
    ``prefetch_related`` would put them (``post.media.all()``, ``post.poll.options.all()`` read
    them with no query), in two prepared queries at most."""
    # Every instance is filled, even when two are the same post (a post and a repost of it).
    cards = [q for p in posts for q in (p, p.repost_of, p.quote_of, p.repost_of.quote_of if p.repost_of is not None else None) if q is not None]
    if not cards:
        return
    using = _read_from(posts)
    fill_related(cards, "media", _card_media.models(using, ids=sorted({q.pk for q in cards})), Media.objects.order_by(*_MEDIA_ORDER))
    polls = [poll for poll in map(poll_of_cached, cards) if poll is not None]
    if polls:
        options = _card_poll_options.models(using, ids=[poll.pk for poll in polls])
        fill_related(polls, "options", options, PollOption.objects.all())


def poll_of_cached(post: Post) -> Poll | None:
    """The post's poll when its card fetched it (``select_related("poll")``), without a query."""
    poll: Poll | None = Post.poll.related.get_cached_value(post, None)  # type: ignore[assignment]
    return poll


def _mark_page(viewer: Account | None, posts: list[Post]) -> None:
    # Which quoted posts may be shown is asked of the door once per page, after the fetch.
    # So are the viewer's votes on the page's polls (no query when the page has no poll), and
    # the viewer's likes, bookmarks, reposts, pins and muted threads (one prepared query: as
    # EXISTS annotations they cost the ORM more to compile than the database takes to answer them).
    mark_quote_visibility(viewer, posts)
    mark_poll_votes(viewer, posts)
    if viewer is not None:
        mark_viewer_state(viewer, posts)


def _prefetch_and_mark(viewer: Account | None, posts: list[Post]) -> None:
    prefetch_cards(posts)
    _mark_page(viewer, posts)


def with_viewer_state(qs: QuerySet[Post], viewer: Account | None) -> QuerySet[Post]:
    """Everything a post card needs, in a fixed number of queries however many posts there are."""
    qs = qs.select_related(*CARD_RELATED)
    return qs.after_fetch(lambda posts: _prefetch_and_mark(viewer, posts))  # type: ignore[attr-defined]


_cards = Prepared("post cards by id", lambda ids: Post.objects.filter(pk__in=ids).select_related(*CARD_RELATED), lists=("ids",))


def cards_by_id(viewer: Account | None, ids: Iterable[int]) -> dict[int, Post]:
    """The posts with these ids, with everything their cards need for ``viewer``, as
    ``with_viewer_state`` fetches them but from SQL compiled once per process. No door here:
    the caller has already asked it (``visible_among``)."""
    wanted = sorted(set(ids))
    posts = _cards.models(ids=wanted)
    if posts:
        _prefetch_and_mark(viewer, posts)
    return {p.pk: p for p in posts}


def _viewer_state_rows(viewer_id: int, ids: list[int], page_ids: list[int], thread_ids: list[int]) -> QuerySet[Any]:
    def kind(qs: QuerySet[Any], code: int, column: str) -> QuerySet[Any]:
        return qs.annotate(kind=Value(code, output_field=IntegerField())).values_list("kind", column)

    return kind(Like.objects.filter(account_id=viewer_id, post_id__in=ids), 1, "post_id").union(
        kind(Bookmark.objects.filter(account_id=viewer_id, post_id__in=ids), 2, "post_id"),
        kind(Post.objects.filter(author_id=viewer_id, repost_of_id__in=ids), 3, "repost_of_id"),
        kind(Pin.objects.filter(account_id=viewer_id, post_id__in=page_ids), 4, "post_id"),
        kind(ThreadMute.objects.filter(account_id=viewer_id, thread_id__in=thread_ids), 5, "thread_id"),
        all=True,
    )


_viewer_state = Prepared(
    "the viewer's likes, bookmarks, reposts, pins and muted threads", _viewer_state_rows, lists=("ids", "page_ids", "thread_ids")
)


def _read_from(posts: list[Post]) -> str:
    """The database the page was read from (a replica for the public timelines), for its marks."""
    return (posts[0]._state.db if posts else None) or "default"


@dataclass(frozen=True)
class PageMarks:
    """The viewer's pins among ``page_ids`` and muted threads among ``thread_ids``, asked with the
    likes when the page was fetched, so rendering it asks nothing more (``entities.status_page``)."""

    viewer_id: int
    page_ids: frozenset[int]
    thread_ids: frozenset[int]
    pinned: frozenset[int]
    muted_threads: frozenset[int]


def page_ids_of(posts: Iterable[Post]) -> set[int]:
    """The posts a page shows: each, what it reposts, and what they quote."""
    ids: set[int] = set()
    for p in posts:
        ids.add(p.pk)
        if p.repost_of_id:
            ids.add(p.repost_of_id)
            inner = p.repost_of
            if inner is not None and inner.quote_of_id:
                ids.add(inner.quote_of_id)
        if p.quote_of_id:
            ids.add(p.quote_of_id)
    return ids


def thread_ids_of(posts: Iterable[Post]) -> set[int]:
    """The threads of a page's posts and of the posts they repost (what ``muted`` is asked of)."""
    threads = {p.thread_id or p.pk for p in posts}
    return threads | {p.repost_of.thread_id or p.repost_of_id for p in posts if p.repost_of_id and p.repost_of is not None}


def page_marks(viewer: Account, posts: Sequence[Post]) -> PageMarks | None:
    """The marks fetched with these posts when they cover every one of them for ``viewer``."""
    marks = getattr(posts[0], "viewer_page_marks", None) if posts else None
    if marks is None or marks.viewer_id != viewer.pk or any(getattr(p, "viewer_page_marks", None) is not marks for p in posts):
        return None
    return marks


def mark_viewer_state(viewer: Account, posts: list[Post]) -> None:
    """Set ``viewer_liked``, ``viewer_bookmarked`` and ``viewer_reposted`` on each post, and the
    page's pins and muted threads (``viewer_page_marks``), in one query.
    A repost's buttons act on the reposted post, so a repost is marked when either it or that post is."""
    if not posts:
        return
    wanted = sorted({p.pk for p in posts} | {p.repost_of_id for p in posts if p.repost_of_id})
    pages, threads = page_ids_of(posts), thread_ids_of(posts)
    marked: dict[int, set[int]] = {1: set(), 2: set(), 3: set(), 4: set(), 5: set()}
    rows = _viewer_state.rows(_read_from(posts), viewer_id=viewer.pk, ids=wanted, page_ids=sorted(pages), thread_ids=sorted(threads))
    for code, post_id in rows:
        marked[code].add(post_id)
    liked, bookmarked, reposted = marked[1], marked[2], marked[3]
    shared = PageMarks(viewer.pk, frozenset(pages), frozenset(threads), frozenset(marked[4]), frozenset(marked[5]))
    for p in posts:
        p.viewer_liked = p.pk in liked or p.repost_of_id in liked  # type: ignore[attr-defined]
        p.viewer_bookmarked = p.pk in bookmarked or p.repost_of_id in bookmarked  # type: ignore[attr-defined]
        p.viewer_reposted = p.pk in reposted or p.repost_of_id in reposted  # type: ignore[attr-defined]
        p.viewer_page_marks = shared  # type: ignore[attr-defined]


def mark_quote_visibility(viewer: Account | None, posts: list[Post]) -> None:
    """Set ``quote_visible`` (and, on reposts, ``repost_quote_visible``) on each post: one query."""
    wanted = {p.quote_of_id for p in posts if p.quote_of_id}
    wanted |= {p.repost_of.quote_of_id for p in posts if p.repost_of_id and p.repost_of and p.repost_of.quote_of_id}
    seen = set(visible_among(viewer, wanted, using=_read_from(posts)))
    for p in posts:
        p.quote_visible = p.quote_of_id in seen  # type: ignore[attr-defined]
        inner = p.repost_of.quote_of_id if p.repost_of_id and p.repost_of else None
        p.repost_quote_visible = inner in seen  # type: ignore[attr-defined]


def quote_is_visible(viewer: Account | None, post: Post) -> bool:
    """Whether the post quoted by ``post`` may be shown to ``viewer`` (detached quotes never are)."""
    if post.quote_of_id is None or post.quote_state == "detached":
        return False
    annotated = getattr(post, "quote_visible", None)
    if annotated is not None:
        return bool(annotated)
    return post.quote_of_id in visible_among(viewer, [post.quote_of_id])


_THREAD_CHUNK = 2000
_thread_ids = Prepared(
    "the posts of a thread",
    lambda root, post_id, after: Post.objects.filter(thread_id=root, repost_of__isnull=True, id__gt=after)
    .exclude(pk=post_id)
    .order_by("id")
    .values_list("id")[:_THREAD_CHUNK],
)


def thread(viewer: Account | None, post: Post) -> tuple[list[Post], list[Post]]:
    """The visible ancestors (oldest first) and descendants (in reply order) of a post."""
    ancestors: list[Post] = []
    seen = {post.pk}
    parent_id = post.in_reply_to_id
    while parent_id is not None and parent_id not in seen and len(ancestors) < 100:
        seen.add(parent_id)
        parent = _visible_card(viewer, parent_id)
        if parent is None:
            break
        ancestors.append(parent)
        parent_id = parent.in_reply_to_id
    ancestors.reverse()
    root = post.thread_id or post.pk
    # The thread's posts through the door and past the viewer's mutes, as prepared queries (an
    # app asks this of every post it opens); the first 500 that pass, in reply order.
    muted = muted_by(viewer.pk) if viewer is not None else set()
    shown: list[int] = []
    after = 0
    while len(shown) < 500:
        chunk = [i for (i,) in _thread_ids.rows(root=root, post_id=post.pk, after=after)]
        door = visible_among(viewer, chunk)
        shown.extend(i for i in chunk if i in door and door[i][0] not in muted)
        if len(chunk) < _THREAD_CHUNK:
            break
        after = chunk[-1]
    shown = shown[:500]
    by_id = cards_by_id(viewer, shown)
    candidates = [by_id[i] for i in shown if i in by_id]
    # Depth-first from the post, so each reply sits under what it answers.
    children: dict[int | None, list[Post]] = {}
    for p in candidates:
        children.setdefault(p.in_reply_to_id, []).append(p)
    descendants: list[Post] = []
    stack = list(reversed(children.get(post.pk, [])))
    while stack:
        p = stack.pop()
        descendants.append(p)
        stack.extend(reversed(children.get(p.pk, [])))
    return ancestors, descendants


def edit_history(viewer: Account | None, post_id: Any) -> tuple[Post, list[Any]]:
    post = get_post(viewer, post_id)
    return post, list(post.edits.order_by("-created_at"))


def bookmarked_posts(viewer: Account) -> QuerySet[Post]:
    return visible_posts(viewer).filter(
        Exists(Bookmark.objects.filter(account_id=viewer.pk, post_id=OuterRef("pk")))
    )


def liked_posts(viewer: Account) -> QuerySet[Post]:
    return visible_posts(viewer).filter(Exists(Like.objects.filter(account_id=viewer.pk, post_id=OuterRef("pk"))))


def reposters(viewer: Account | None, post: Post, limit: int = 40) -> list[Account]:
    return reposters_page(viewer, post, PageRequest(limit=limit)).items


def likers(viewer: Account | None, post: Post, limit: int = 40) -> list[Account]:
    """Who liked ``post``, newest first; nobody is shown across a block, either way."""
    return likers_page(viewer, post, PageRequest(limit=limit)).items


def media_for_viewer(viewer: Account | None, file_name: str, *, under_review: Callable[[int], bool] | None = None) -> Media:
    """A stored media file, if the viewer may see the post it belongs to (or owns it).

    ``under_review`` (given for moderators only) opens the images of a post the moderators have
    been asked to review — held, removed, reported, even direct — and nothing else."""
    media = Media.objects.filter(Q(file=file_name) | Q(thumbnail=file_name)).first()
    if media is None:
        raise NotFound("No such file.")
    if under_review is not None and media.post_id is not None and under_review(media.post_id):
        return media
    if media.post_id is None:
        if viewer is None or media.owner_id != viewer.pk:
            raise NotFound("No such file.")
        return media
    if media.post_id not in visible_among(viewer, [media.post_id]):
        raise NotFound("No such file.")
    return media


# --- Polls: what a viewer sees of a post's poll (Mastodon's Poll entity, minus the wire format)


@dataclass(frozen=True)
class PollOptionView:
    title: str
    votes_count: int | None  # None while the totals are hidden
    percent: int | None  # share of the votes, rounded; None while hidden


@dataclass(frozen=True)
class PollView:
    id: int
    post_id: int
    expires_at: datetime
    expired: bool
    multiple: bool
    hide_totals: bool
    votes_count: int
    voters_count: int
    options: list[PollOptionView]
    voted: bool  # the viewer voted, or wrote the poll (as Mastodon answers); False for anonymous viewers
    own_votes: list[int]  # the option indices the viewer chose
    totals_shown: bool
    can_vote: bool  # what the web offers: signed in, not voted, not the author, not ended


def poll_of(post: Post) -> Poll | None:
    """The post's poll, read from what ``with_viewer_state`` fetched (or one query otherwise)."""
    try:
        return post.poll
    except ObjectDoesNotExist:
        return None


def mark_poll_votes(viewer: Account | None, posts: list[Post]) -> None:
    """Set ``viewer_choices`` on each poll of the page (and of reposted posts): one query at most."""
    polls: list[Poll] = []
    for p in posts:
        for shown in (p, p.repost_of if p.repost_of_id else None):
            poll = poll_of(shown) if shown is not None else None
            if poll is not None:
                polls.append(poll)
    if not polls:
        return
    chosen: dict[int, list[int]] = {}
    if viewer is not None:
        for poll_id, choice in PollVote.objects.filter(account_id=viewer.pk, poll_id__in=[x.pk for x in polls]).values_list("poll_id", "choice"):
            chosen.setdefault(poll_id, []).append(choice)
    for poll in polls:
        poll.viewer_choices = sorted(chosen.get(poll.pk, []))  # type: ignore[attr-defined]


def poll_view(poll: Poll, viewer: Account | None, *, author_id: int) -> PollView:
    """The poll as ``viewer`` sees it. Totals hidden by ``hide_totals`` show once it has ended
    (as in Mastodon, to its author too: hiding the totals is a promise to every voter).
    Uses ``viewer_choices`` when marked."""
    choices = getattr(poll, "viewer_choices", None)
    if choices is None:
        choices = sorted(PollVote.objects.filter(poll=poll, account_id=viewer.pk).values_list("choice", flat=True)) if viewer else []
    expired = poll.expires_at <= clock.now()
    shown = expired or not poll.hide_totals
    options = [
        PollOptionView(
            title=o.title,
            votes_count=o.votes_count if shown else None,
            percent=(round(100 * o.votes_count / poll.votes_count) if poll.votes_count else 0) if shown else None,
        )
        for o in poll.options.all()
    ]
    is_author = viewer is not None and viewer.pk == author_id
    voted = bool(choices) or is_author  # Mastodon counts a poll's author as having voted
    return PollView(
        id=poll.pk, post_id=poll.post_id, expires_at=poll.expires_at, expired=expired, multiple=poll.multiple,
        hide_totals=poll.hide_totals, votes_count=poll.votes_count, voters_count=poll.voters_count, options=options,
        voted=voted, own_votes=list(choices), totals_shown=shown, can_vote=viewer is not None and not voted and not expired,
    )


def poll_for_post(viewer: Account | None, post: Post) -> PollView | None:
    """The poll of a post the viewer already has through the door (a card), or None."""
    poll = poll_of(post)
    return poll_view(poll, viewer, author_id=post.author_id) if poll is not None else None


def get_poll(viewer: Account | None, poll_id: Any) -> PollView:
    """A poll by its id, if the viewer may see its post; otherwise NotFound, as for a missing id."""
    pid = parse_id(poll_id)
    poll = (
        Poll.objects.filter(pk=pid, post__in=visible_posts(viewer)).select_related("post").prefetch_related("options").first()
        if pid is not None else None
    )
    if poll is None:
        raise NotFound("No such poll.")
    return poll_view(poll, viewer, author_id=poll.post.author_id)


# --- What an API page of posts needs besides the cards: tags and mentions, in two queries


def remote_addresses(post_ids: Any) -> dict[int, tuple[str, str]]:
    """``{post id: (ActivityPub id, page URL)}`` for the posts among ``post_ids`` that came from
    another server, in one query. Federation keeps them (``RemotePost``, the ``remote`` relation
    of ``Post``); they are read by that relation's name, as the API never imports federation."""
    ids = [i for i in post_ids if i is not None]
    if not ids:
        return {}
    rows = Post.objects.filter(pk__in=ids, remote__isnull=False).values_list("pk", "remote__uri", "remote__url")
    return {pk: (uri, url or uri) for pk, uri, url in rows}


# Every page of statuses asks these: compiled once per process (rostra.core.prepared).
_tag_rows = Prepared(
    "the hashtags of posts", lambda ids: Post.hashtags.through.objects.filter(post_id__in=ids).select_related("hashtag").order_by("id"), lists=("ids",)
)
_mention_rows = Prepared("the mentions of posts", lambda ids: Mention.objects.filter(post_id__in=ids).select_related("account").order_by("id"), lists=("ids",))
_pinned = Prepared("posts a viewer pinned", lambda viewer_id, ids: Pin.objects.filter(account_id=viewer_id, post_id__in=ids).values_list("post_id"), lists=("ids",))
_muted_threads = Prepared(
    "threads a viewer muted", lambda viewer_id, ids: ThreadMute.objects.filter(account_id=viewer_id, thread_id__in=ids).values_list("thread_id"), lists=("ids",)
)


def tags_and_mentions(post_ids: Any) -> tuple[dict[int, list[Any]], dict[int, list[Account]]]:
    """``({post_id: [Hashtag]}, {post_id: [Account]})`` for the posts: two queries however many."""
    ids = sorted(set(post_ids))
    tags: dict[int, list[Any]] = {}
    mentions: dict[int, list[Account]] = {}
    for row in _tag_rows.models(ids=ids):
        tags.setdefault(row.post_id, []).append(row.hashtag)
    for m in _mention_rows.models(ids=ids):
        mentions.setdefault(m.post_id, []).append(m.account)
    return tags, mentions


def pinned_ids(viewer: Account, post_ids: Any) -> set[int]:
    """Which of ``post_ids`` the viewer pinned (one query)."""
    return {row[0] for row in _pinned.rows(viewer_id=viewer.pk, ids=sorted(set(post_ids)))}


def muted_thread_ids(viewer: Account, thread_ids: Any) -> set[int]:
    """Which of ``thread_ids`` the viewer muted (one query)."""
    ids = sorted({t for t in thread_ids if t is not None})
    return {row[0] for row in _muted_threads.rows(viewer_id=viewer.pk, ids=ids)}


# --- A profile's posts as the client API asks for them (Mastodon's GET /accounts/:id/statuses)


def pinned_posts(viewer: Account | None, account: Account) -> list[Post]:
    """The posts ``account`` pinned that ``viewer`` may see, most recently pinned first."""
    from django.db.models import Subquery

    pins = Pin.objects.filter(account_id=account.pk, post_id=OuterRef("pk"))
    qs = visible_posts(viewer).filter(author_id=account.pk).filter(Exists(pins))
    latest_pin = Subquery(Pin.objects.filter(account_id=account.pk, post_id=OuterRef("pk")).values("id")[:1])
    return list(with_viewer_state(qs.order_by(latest_pin.desc()), viewer))


def account_posts(
    viewer: Account | None, account: Account, *, only_media: bool = False, exclude_replies: bool = False,
    exclude_reblogs: bool = False, tagged: str = "",
) -> QuerySet[Post]:
    """``account``'s posts that ``viewer`` may see (unpaginated, with the card state).

    ``exclude_replies`` keeps replies to oneself (threads), as Mastodon does."""
    qs = visible_posts(viewer).filter(author_id=account.pk)
    if exclude_replies:
        qs = qs.filter(Q(in_reply_to_id__isnull=True) | Q(in_reply_to_account_id=account.pk))
    if exclude_reblogs:
        qs = qs.filter(repost_of__isnull=True)
    if only_media:
        qs = qs.filter(repost_of__isnull=True).filter(Exists(Media.objects.filter(post_id=OuterRef("pk"))))
    if tagged:
        qs = qs.filter(repost_of__isnull=True, hashtags__name=tagged.strip().lstrip("#").lower())
    return with_viewer_state(qs, viewer)


def _posts_by_marker(viewer: Account, rows: QuerySet[Any], req: Any) -> Any:
    """Page ``rows`` (Bookmark or Like rows of the viewer, keyed by their own id, as Mastodon
    pages them): a ``Page`` of the visible posts in that order, with the rows' cursors."""
    visible = visible_posts(viewer).values("pk")
    page = paginate(rows.filter(post_id__in=visible), req)
    by_id = {p.pk: p for p in with_viewer_state(Post.objects.filter(pk__in=[r.post_id for r in page.items]), viewer)}
    posts = [by_id[r.post_id] for r in page.items if r.post_id in by_id]
    return Page(items=posts, next_max_id=page.next_max_id, prev_min_id=page.prev_min_id)


def bookmarks_page(viewer: Account, req: Any) -> Any:
    """The viewer's bookmarked posts, newest bookmark first (``Page[Post]``, keyed by the bookmark)."""
    return _posts_by_marker(viewer, Bookmark.objects.filter(account_id=viewer.pk), req)


def favourites_page(viewer: Account, req: Any) -> Any:
    """The viewer's liked posts, newest like first (``Page[Post]``, keyed by the like)."""
    return _posts_by_marker(viewer, Like.objects.filter(account_id=viewer.pk), req)


# --- The client API's status reads (Mastodon's GET /statuses?id[], reblogged_by, favourited_by, quotes, media)


def get_posts(viewer: Account | None, post_ids: Any) -> list[Post]:
    """The visible posts among ``post_ids``, in the order asked, with the card state; the others are skipped."""
    ids = [i for i in (parse_id(x) for x in post_ids) if i is not None]
    if not ids:
        return []
    by_id = {p.pk: p for p in with_viewer_state(visible_posts(viewer).filter(pk__in=ids), viewer)}
    return [by_id[i] for i in dict.fromkeys(ids) if i in by_id]


def _not_blocked_accounts(viewer: Account | None, qs: QuerySet[Any], prefix: str) -> QuerySet[Any]:
    qs = qs.filter(**{f"{prefix}suspended_at__isnull": True})
    if viewer is None:
        return qs
    return qs.exclude(**{f"{prefix}pk__in": Block.objects.filter(account_id=viewer.pk).values("target_id")}).exclude(
        **{f"{prefix}pk__in": Block.objects.filter(target_id=viewer.pk).values("account_id")}
    )


def reposters_page(viewer: Account | None, post: Post, req: PageRequest) -> Page[Account]:
    """``Page[Account]`` of who reposted ``post`` (newest first, keyed by the repost's id)."""
    rows = _not_blocked_accounts(viewer, visible_posts(viewer).filter(repost_of_id=post.pk), "author__").select_related("author")
    page = paginate(rows, req)
    return Page(items=[r.author for r in page.items], next_max_id=page.next_max_id, prev_min_id=page.prev_min_id)


def likers_page(viewer: Account | None, post: Post, req: PageRequest) -> Page[Account]:
    """``Page[Account]`` of who liked ``post`` (newest first, keyed by the like's id)."""
    rows = _not_blocked_accounts(viewer, Like.objects.filter(post_id=post.pk), "account__").select_related("account")
    page = paginate(rows, req)
    return Page(items=[r.account for r in page.items], next_max_id=page.next_max_id, prev_min_id=page.prev_min_id)


def quotes_page(viewer: Account, post_id: Any, req: Any) -> Any:
    """``Page[Post]``: the accepted, visible quotes of one of the viewer's own posts (Mastodon 4.5)."""
    pid = parse_id(post_id)
    if pid is None or not Post.objects.filter(pk=pid, author_id=viewer.pk, repost_of__isnull=True).exists():
        raise NotFound("No such post.")
    return paginate(with_viewer_state(visible_posts(viewer).filter(quote_of_id=pid, quote_state="accepted"), viewer), req)


def own_media(owner: Account, media_id: Any, *, unattached: bool = False) -> Media:
    """One of ``owner``'s uploads (``unattached``: only while no post uses it); NotFound otherwise."""
    mid = parse_id(media_id)
    qs = Media.objects.filter(pk=mid, owner_id=owner.pk) if mid is not None else Media.objects.none()
    if unattached:
        qs = qs.filter(post__isnull=True)
    media = qs.first()
    if media is None:
        raise NotFound("No such media.")
    return media


# --- One post, many viewers (the streaming process): the door's rules asked once for a set of viewers


def _id_chunks(ids: Any, size: int = 900) -> list[list[int]]:
    """``ids`` sorted, in pieces small enough for any database's limit on query parameters."""
    seq = sorted(ids)
    return [seq[i : i + size] for i in range(0, len(seq), size)]


def _door_many(post: Post, viewer_ids: set[int]) -> set[int]:
    """Which of ``viewer_ids`` ``_door`` lets see ``post`` itself (not what it reposts): the same
    rules, asked in a few queries for all of them instead of one query per viewer."""
    own = {post.author_id} & viewer_ids
    others = viewer_ids - own
    if not others or post.author.suspended_at is not None or post.moderation_state not in VISIBLE_STATES:
        return own
    allowed: set[int] = set()
    if post.visibility in (Visibility.PUBLIC, Visibility.UNLISTED):
        allowed = set(others)
    elif post.visibility in (Visibility.PRIVATE, Visibility.DIRECT):
        for chunk in _id_chunks(others):
            allowed |= set(Mention.objects.filter(post_id=post.pk, account_id__in=chunk).values_list("account_id", flat=True))
            if post.visibility == Visibility.PRIVATE:
                allowed |= set(Follow.objects.filter(target_id=post.author_id, follower_id__in=chunk).values_list("follower_id", flat=True))
    for chunk in _id_chunks(allowed):
        allowed -= set(Block.objects.filter(account_id=post.author_id, target_id__in=chunk).values_list("target_id", flat=True))
        allowed -= set(Block.objects.filter(target_id=post.author_id, account_id__in=chunk).values_list("account_id", flat=True))
    return own | allowed


def visible_to(post: Post | Any, viewer_ids: Any) -> set[int]:
    """Which of the accounts ``viewer_ids`` may see the post (a ``Post`` or its id): for each
    viewer exactly ``visible_posts(viewer).filter(pk=post.pk).exists()``, in a handful of queries
    however many viewers (tests/streaming/test_batch_door.py holds the two against each other)."""
    ids = {int(v) for v in viewer_ids}
    if not isinstance(post, Post):
        pid = parse_id(post)
        post = Post.objects.select_related("author", "repost_of", "repost_of__author").filter(pk=pid).first() if pid else None
    if post is None or not ids:
        return set()
    allowed = _door_many(post, ids)
    if post.repost_of_id is not None and allowed:
        inner = post.repost_of
        allowed = _door_many(inner, allowed) if inner is not None else set()
    return allowed


def muting_author(post: Post, viewer_ids: Any) -> set[int]:
    """Which of ``viewer_ids`` mute the post's author or the author of what it reposts: the
    viewers ``without_muted`` would hide it from."""
    authors = {post.author_id} | ({post.repost_of.author_id} if post.repost_of_id and post.repost_of is not None else set())
    out: set[int] = set()
    for chunk in _id_chunks(viewer_ids):
        out |= set(active_mutes().filter(account_id__in=chunk, target_id__in=authors).values_list("account_id", flat=True))
    return out


@dataclass
class ViewerMarks:
    """What ``with_viewer_state`` and a status page ask per viewer, asked once for many viewers:
    who liked, bookmarked or reposted (any of the ``flag_ids``), and per viewer the pins among
    ``page_ids``, the muted threads among ``thread_ids`` and the votes on ``poll_ids``."""

    liked: set[int]
    bookmarked: set[int]
    reposted: set[int]
    pinned: dict[int, set[int]]
    muted_threads: dict[int, set[int]]
    votes: dict[int, dict[int, list[int]]]


def viewer_marks(viewer_ids: Any, *, flag_ids: Any, page_ids: Any, thread_ids: Any, poll_ids: Any) -> ViewerMarks:
    flags, pages, threads, polls = set(flag_ids), set(page_ids), {t for t in thread_ids if t is not None}, set(poll_ids)
    marks = ViewerMarks(set(), set(), set(), {}, {}, {})
    for chunk in _id_chunks(viewer_ids):
        if flags:
            marks.liked |= set(Like.objects.filter(account_id__in=chunk, post_id__in=flags).values_list("account_id", flat=True))
            marks.bookmarked |= set(Bookmark.objects.filter(account_id__in=chunk, post_id__in=flags).values_list("account_id", flat=True))
            marks.reposted |= set(Post.objects.filter(author_id__in=chunk, repost_of_id__in=flags).values_list("author_id", flat=True))
        if pages:
            for account_id, post_id in Pin.objects.filter(account_id__in=chunk, post_id__in=pages).values_list("account_id", "post_id"):
                marks.pinned.setdefault(account_id, set()).add(post_id)
        if threads:
            for account_id, thread_id in ThreadMute.objects.filter(account_id__in=chunk, thread_id__in=threads).values_list("account_id", "thread_id"):
                marks.muted_threads.setdefault(account_id, set()).add(thread_id)
        if polls:
            rows = PollVote.objects.filter(account_id__in=chunk, poll_id__in=polls).values_list("account_id", "poll_id", "choice")
            for account_id, poll_id, choice in rows:
                marks.votes.setdefault(account_id, {}).setdefault(poll_id, []).append(choice)
    return marks
