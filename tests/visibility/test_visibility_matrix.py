"""SECURITY-TESTS A2: every surface that shows a post agrees with ONE policy table.

The table (``may_see``, and the two stricter rules below it) is written here from the rules in
the docstring of ``rostra/posts/queries.py``, independently of the code. It is checked over

    visibility (public, unlisted, private, direct)
  x viewer relation (self, follower, mentioned, stranger, blocked-by-author, blocking-author,
                     anonymous, moderator)
  x moderation state (published, limited, held, removed)
  x author suspended or not

on every surface built so far: ``get_post``, ``visible_posts``, ``can_view``, ``edit_history``;
the home, local, federated, hashtag and profile timelines (plain and media); threads (the post as
a descendant and as an ancestor); a mention notification and the unread count; search; the post's
image and thumbnail; reposts of the post (read directly, on the reposter's profile, in a home
timeline, in the reposters list); a quote of the post; bookmarks; and the web pages.

One world holds a post for every (visibility, state) by an active author and by an author who is
then suspended: 32 posts, each with an image, a repost, a public answer (and, where quoting is
allowed, a quote). Index rows (home entries, notifications, bookmarks) are written for every
viewer whatever the policy says, as if made before a block, a hold or a suspension: reads must
pass the door again.

* ``test_list_surfaces_over_the_full_product`` reads every timeline-like surface once per viewer
  and compares all 32 posts with the table: the full product, exhaustively.
* ``test_single_post_surfaces`` is a hypothesis property over the same product, plus viewers
  whose relations combine (a follower who is also mentioned and then blocks the author...):
  each example checks every single-post surface for one (post, viewer) cell.
* ``test_web_pages`` asks the thread page and the media files over HTTP: 200 when the table says
  so, otherwise a 404 indistinguishable from that of a post that never existed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import product

import pytest
from django.db import transaction
from django.test import Client
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from rostra.accounts import actions as accounts
from rostra.accounts.models import Account, Role
from rostra.core.clock import now
from rostra.core.errors import NotFound
from rostra.core.ids import new_id
from rostra.core.pagination import PageRequest
from rostra.notifications.models import Kind, Notification
from rostra.notifications.queries import notifications, unread_count
from rostra.posts import actions as posts
from rostra.posts.models import Bookmark, Media, Post
from rostra.posts.queries import (
    bookmarked_posts,
    can_view,
    edit_history,
    get_post,
    media_for_viewer,
    quote_is_visible,
    reposters,
    thread,
    visible_post,
    visible_posts,
)
from rostra.search.queries import search_posts
from rostra.testing.images import png_bytes
from rostra.testing.world import make_account, make_post
from rostra.timelines.queries import federated_public, hashtag, home, local_public, profile
from rostra.timelines.store import get_store

VISIBILITIES = ("public", "unlisted", "private", "direct")
STATES = ("published", "limited", "held", "removed")
SEARCH_WORD = "xyzzymatrix"
ALL = PageRequest(limit=500)  # one page holds everything in this world


@dataclass(frozen=True)
class Viewer:
    """Who is looking, relative to the author. Relations combine (follower and mentioned...)."""

    is_self: bool = False
    anonymous: bool = False
    follows: bool = False
    mentioned: bool = False
    blocked_by_author: bool = False
    blocks_author: bool = False
    moderator: bool = False


RELATIONS = {
    "self": Viewer(is_self=True),
    "follower": Viewer(follows=True),
    "mentioned": Viewer(mentioned=True),
    "stranger": Viewer(),
    "blocked-by-author": Viewer(blocked_by_author=True),
    "blocking-author": Viewer(blocks_author=True),
    "anonymous": Viewer(anonymous=True),
    "moderator": Viewer(moderator=True),
}


# --- THE POLICY TABLE ----------------------------------------------------------------------


def may_see(visibility: str, v: Viewer, state: str, suspended: bool) -> bool:
    """Whether the viewer may see the post at all (the door, rostra/posts/queries.py).

    * an author always sees their own posts, whatever their state (and even when suspended);
    * nobody else sees a held or removed post, or any post of a suspended author;
    * a block, either way, hides everything (and a block ends any follow);
    * moderators have no special sight here (review happens in the moderation queue);
    * public and unlisted: everyone, anonymous visitors included;
    * followers-only: followers and mentioned people;
    * direct: mentioned people only.
    """
    if v.is_self:
        return True
    if state in ("held", "removed") or suspended:
        return False
    if v.anonymous:
        return visibility in ("public", "unlisted")
    if v.blocked_by_author or v.blocks_author:
        return False
    if visibility in ("public", "unlisted"):
        return True
    if visibility == "private":
        return v.follows or v.mentioned
    return v.mentioned


def on_public_timelines(visibility: str, v: Viewer, state: str, suspended: bool) -> bool:
    """Local, federated and hashtag timelines are stricter: public and fully published only
    (unlisted stays off them by definition, limited reach is kept off them)."""
    return may_see(visibility, v, state, suspended) and visibility == "public" and state == "published"


def found_by_search(visibility: str, v: Viewer, state: str, suspended: bool) -> bool:
    """Search is a discovery surface (rostra/search/queries.py): everyone finds public, published
    posts; unlisted, followers-only, direct and limited ones only their author, the author's
    followers and the people mentioned find."""
    if not may_see(visibility, v, state, suspended):
        return False
    return v.is_self or v.follows or v.mentioned or (visibility == "public" and state == "published")


PUBLIC_SURFACES = {"local_public", "federated_public", "hashtag"}


def expected(surface: str, visibility: str, v: Viewer, state: str, suspended: bool) -> bool:
    if surface in PUBLIC_SURFACES:
        return on_public_timelines(visibility, v, state, suspended)
    if surface == "search":
        return found_by_search(visibility, v, state, suspended)
    return may_see(visibility, v, state, suspended)


def test_the_table_itself():
    """A few rows of the table spelled out, so a change to it is a visible decision."""
    r = RELATIONS
    assert may_see("direct", r["mentioned"], "limited", False)
    assert not may_see("direct", r["follower"], "published", False)
    assert may_see("private", r["follower"], "published", False)
    assert not may_see("private", r["moderator"], "published", False)
    assert not may_see("public", r["moderator"], "held", False)
    assert may_see("public", r["self"], "removed", True)
    assert not may_see("public", r["blocking-author"], "published", False)
    assert not may_see("direct", Viewer(mentioned=True, blocks_author=True), "published", False)
    assert may_see("unlisted", r["anonymous"], "limited", False)
    assert not on_public_timelines("unlisted", r["stranger"], "published", False)
    assert not on_public_timelines("public", r["stranger"], "limited", False)
    assert not found_by_search("unlisted", r["stranger"], "published", False)
    assert found_by_search("unlisted", r["follower"], "limited", False)


# --- the world ------------------------------------------------------------------------------


@dataclass
class Cell:
    """One post under test and everything hanging off it."""

    visibility: str
    state: str
    suspended: bool
    post: Post
    answer: Post  # a public reply to it, by someone mentioned in it
    repost: Post
    quote: Post | None
    media: Media


@dataclass
class MatrixWorld:
    authors: dict[bool, Account]  # suspended? -> author
    roots: dict[bool, Post]  # each author's public thread root; every post under test answers it
    reposter: Account
    viewers: dict[Viewer, Account]  # every non-self, non-anonymous viewer kind
    cells: dict[tuple[str, str, bool], Cell] = field(default_factory=dict)

    def account_for(self, spec: Viewer, suspended: bool) -> Account | None:
        if spec.is_self:
            return self.authors[suspended]
        if spec.anonymous:
            return None
        return self.viewers[spec]


# Every combination of the relations that can coexist, and the moderator.
FLAG_VIEWERS = [
    Viewer(follows=f, mentioned=m, blocked_by_author=bb, blocks_author=bl) for f, m, bb, bl in product((False, True), repeat=4)
]
ROLE_VIEWERS = [Viewer(moderator=True)]


def _build() -> MatrixWorld:
    authors = {False: make_account("author"), True: make_account("banned")}
    zed = make_account("zed")  # mentioned in every post (so direct posts exist) and answers each
    rita = make_account("rita")  # reposts and quotes each
    viewers = {
        spec: make_account(f"v{i}", role=Role.MODERATOR if spec.moderator else Role.MEMBER)
        for i, spec in enumerate(FLAG_VIEWERS + ROLE_VIEWERS)
    }
    for spec, account in viewers.items():
        if spec.follows:
            for author in authors.values():
                assert accounts.follow(account, author) == "following"
    mentions = " ".join(f"@{a.username}" for spec, a in viewers.items() if spec.mentioned)
    world = MatrixWorld(
        authors=authors,
        roots={s: make_post(a, "the start of a thread") for s, a in authors.items()},
        reposter=rita,
        viewers=viewers,
    )
    for (suspended, author), visibility, state in product(authors.items(), VISIBILITIES, STATES):
        media = posts.upload_media(author, png_bytes((6, 6)))
        post = make_post(
            author,
            f"@zed {mentions} a {visibility} {state} post #matrix {SEARCH_WORD}",
            visibility=visibility,
            in_reply_to_id=world.roots[suspended].pk,
            media_ids=[media.pk],
        )
        answer = make_post(zed, "an answer", in_reply_to_id=post.pk)
        if visibility in ("public", "unlisted"):
            repost = posts.repost(rita, post.pk)
            quote: Post | None = make_post(rita, "quoting this", quote_of_id=post.pk)
        else:
            # Followers-only and direct posts cannot be reposted; a repost row is forced (public,
            # by a neutral account) to check that the door still asks about the reposted post.
            repost = Post.objects.create(author=rita, repost_of=post, visibility="public", created_at=now())
            quote = None
        world.cells[(visibility, state, suspended)] = Cell(visibility, state, suspended, post, answer, repost, quote, media)
    for spec, account in viewers.items():
        for author in authors.values():
            if spec.blocked_by_author:
                accounts.block(author, account)
            if spec.blocks_author:
                accounts.block(account, author)
    # The pipeline is not run: the index rows it would write are written below for everyone.

    # Index rows for every viewer, as if written before whatever hides the post now (home
    # entries: _index_home, when a viewer's home is read).
    every_viewer = [*viewers.values(), *authors.values()]
    cells = list(world.cells.values())
    Bookmark.objects.bulk_create([Bookmark(account=v, post=c.post) for v in every_viewer for c in cells], ignore_conflicts=True)
    Notification.objects.bulk_create(
        [
            Notification(
                recipient=v, kind=Kind.MENTION, actor=c.post.author, post=c.post,
                dedupe_key=f"{Kind.MENTION}:{v.pk}:{c.post.author_id}:{c.post.pk}",
            )
            for v in viewers.values()
            for c in cells
        ],
        ignore_conflicts=True,
    )
    # Now the states and the suspension.
    for cell in cells:
        Post.objects.filter(pk=cell.post.pk).update(moderation_state=cell.state)
    Account.objects.filter(pk=authors[True].pk).update(suspended_at=now())
    return world


@pytest.fixture(scope="module")
def matrix(django_db_setup, django_db_blocker) -> Iterator[MatrixWorld]:
    """Built once for the module inside a transaction that is rolled back at the end."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield _build()
        transaction.set_rollback(True)


def _index_home(world: MatrixWorld, owner: Account) -> None:
    """Every post and repost of the product in the owner's home store, as if fanned out before
    whatever hides it now. Written when the home is read, not in ``_build``: Redis sets do not
    roll back, so the suite deletes them around every test, and the world outlives a test."""
    store = get_store()
    store.add_many(owner.pk, [p.pk for c in world.cells.values() for p in (c.post, c.repost)])
    store.mark_complete(owner.pk)


def _ids(page) -> set[int]:
    return {p.pk for p in page.items}


def _found(read: Callable[[], object]) -> bool:
    try:
        read()
    except NotFound:
        return False
    return True


def _mismatch(surface: str, cell: Cell, spec_name: str, shown: bool, v: Viewer) -> str | None:
    want = expected(surface, cell.visibility, v, cell.state, cell.suspended)
    if shown == want:
        return None
    author = "suspended author" if cell.suspended else "author"
    return (
        f"{spec_name} / {cell.visibility} post, {cell.state}, by the {author}: "
        f"{surface} {'shows' if shown else 'hides'} it, the policy says {'show' if want else 'hide'}"
    )


# --- the full product on every list-like surface -----------------------------------------------


def _list_surfaces(world: MatrixWorld, viewer: Account | None) -> dict[str, Callable[[Cell], bool]]:
    """Each surface read once; then a predicate per cell: is the post (or its repost...) shown?"""
    door = set(visible_posts(viewer).filter(pk__in=[c.post.pk for c in world.cells.values()]).values_list("pk", flat=True))
    local, federated, tag = _ids(local_public(viewer, ALL)), _ids(federated_public(viewer, ALL)), _ids(hashtag(viewer, "matrix", ALL))
    found = _ids(search_posts(viewer, SEARCH_WORD, ALL))
    profiles, media_profiles, descendants = set(), set(), set()
    for suspended, author in world.authors.items():
        profiles |= _ids(profile(viewer, author, ALL))
        media_profiles |= _ids(profile(viewer, author, ALL, media_only=True))
        descendants |= {p.pk for p in thread(viewer, world.roots[suspended])[1]}
    reposter_profile = _ids(profile(viewer, world.reposter, ALL))
    surfaces: dict[str, Callable[[Cell], bool]] = {
        "visible_posts": lambda c: c.post.pk in door,
        "local_public": lambda c: c.post.pk in local,
        "federated_public": lambda c: c.post.pk in federated,
        "hashtag": lambda c: c.post.pk in tag,
        "search": lambda c: c.post.pk in found,
        "profile": lambda c: c.post.pk in profiles,
        "profile_media": lambda c: c.post.pk in media_profiles,
        "thread_as_descendant": lambda c: c.post.pk in descendants,
        "repost_on_reposter_profile": lambda c: c.repost.pk in reposter_profile,
    }
    if viewer is not None:
        _index_home(world, viewer)
        home_ids = _ids(home(viewer, ALL))
        marked = {p.pk for p in bookmarked_posts(viewer)}
        items = notifications(viewer, ALL).items
        told = {n.post_id for n in items if n.kind == Kind.MENTION}
        # The badge counts exactly what the list shows.
        assert unread_count(viewer) == sum(1 for n in items if n.read_at is None)
        surfaces |= {
            "home": lambda c: c.post.pk in home_ids,
            "repost_in_home": lambda c: c.repost.pk in home_ids,
            "bookmarks": lambda c: c.post.pk in marked,
        }
        if viewer.pk not in {a.pk for a in world.authors.values()}:
            surfaces["notifications"] = lambda c: c.post.pk in told
    return surfaces


@pytest.mark.parametrize("relation", list(RELATIONS))
def test_list_surfaces_over_the_full_product(db, matrix, relation):
    spec = RELATIONS[relation]
    problems: list[str] = []
    # The author's own view is read once per author (the active one, then the suspended one).
    for suspended in (False, True) if spec.is_self else (None,):
        viewer = matrix.account_for(spec, bool(suspended))
        surfaces = _list_surfaces(matrix, viewer)
        for cell in matrix.cells.values():
            if suspended is not None and cell.suspended != suspended:
                continue  # "self" is the author of the cell's post
            for surface, shows in surfaces.items():
                problem = _mismatch(surface, cell, relation, shows(cell), spec)
                if problem:
                    problems.append(problem)
    assert not problems, f"{len(problems)} disagreements:\n" + "\n".join(sorted(problems))


# --- every single-post surface, by hypothesis over the product and combined relations ---------


def _single_post_surfaces(viewer: Account | None, cell: Cell) -> dict[str, bool]:
    seen = {
        "get_post": _found(lambda: get_post(viewer, cell.post.pk)),
        "can_view": can_view(viewer, cell.post),
        "edit_history": _found(lambda: edit_history(viewer, cell.post.pk)),
        "media_file": _found(lambda: media_for_viewer(viewer, cell.media.file)),
        "media_thumbnail": _found(lambda: media_for_viewer(viewer, cell.media.thumbnail)),
        "repost_get_post": _found(lambda: get_post(viewer, cell.repost.pk)),
        # What likes, reposts, replies, quotes and reports ask before they act
        "visible_post": visible_post(viewer, cell.post.pk) is not None,
        "visible_post_of_repost": visible_post(viewer, cell.repost.pk) is not None,
        "visible_post_as_reply_target": visible_post(viewer, cell.post.pk, "author", original_only=True) is not None,
        "reposters_list": any(a.pk == cell.repost.author_id for a in reposters(viewer, cell.post)),
        "thread_as_ancestor": cell.post.pk in [p.pk for p in thread(viewer, cell.answer)[0]],
    }
    if cell.quote is not None:
        seen["quote_shows_post"] = quote_is_visible(viewer, get_post(viewer, cell.quote.pk))
    return seen


NAMED = list(RELATIONS.values())
viewer_kinds = st.one_of(st.sampled_from(NAMED), st.sampled_from(FLAG_VIEWERS + ROLE_VIEWERS))


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    visibility=st.sampled_from(VISIBILITIES),
    spec=viewer_kinds,
    state=st.sampled_from(STATES),
    suspended=st.booleans(),
)
@example(visibility="direct", spec=RELATIONS["follower"], state="published", suspended=False)
@example(visibility="private", spec=RELATIONS["mentioned"], state="limited", suspended=False)
@example(visibility="private", spec=RELATIONS["follower"], state="published", suspended=True)
@example(visibility="public", spec=RELATIONS["moderator"], state="held", suspended=False)
@example(visibility="public", spec=RELATIONS["self"], state="removed", suspended=True)
@example(visibility="unlisted", spec=RELATIONS["anonymous"], state="limited", suspended=False)
@example(visibility="public", spec=RELATIONS["blocked-by-author"], state="published", suspended=False)
@example(visibility="direct", spec=Viewer(mentioned=True, blocks_author=True), state="published", suspended=False)
@example(visibility="private", spec=Viewer(follows=True, blocked_by_author=True), state="published", suspended=False)
def test_single_post_surfaces(db, matrix, visibility, spec, state, suspended):
    cell = matrix.cells[(visibility, state, suspended)]
    viewer = matrix.account_for(spec, suspended)
    problems = [
        p for surface, shown in _single_post_surfaces(viewer, cell).items() if (p := _mismatch(surface, cell, repr(spec), shown, spec))
    ]
    assert not problems, "\n".join(problems)


# --- the web: 200 when allowed, otherwise a 404 like that of something that never existed ------


def _normalised(body: bytes, secret: object) -> str:
    text = body.decode("utf-8", "replace").replace(str(secret), "ID")
    return re.sub(r"[A-Za-z0-9]{64}", "CSRF", text)  # masked CSRF tokens differ on every page


def _web_cells(relation_index: int) -> list[tuple[str, str, bool]]:
    # Every visibility meets every (state, suspension) across relations, and each relation meets
    # four of them (a covering design: the full product over HTTP would take minutes).
    combos = list(product(STATES, (False, True)))
    return [(vis, *combos[(3 * v + relation_index) % len(combos)]) for v, vis in enumerate(VISIBILITIES)]


@pytest.mark.parametrize("relation", list(RELATIONS))
def test_web_pages(db, matrix, relation):
    spec = RELATIONS[relation]
    problems: list[str] = []
    clients: dict[bool, Client] = {}
    never_existed: dict[tuple[bool, str], str] = {}
    for visibility, state, suspended in _web_cells(list(RELATIONS).index(relation)):
        cell = matrix.cells[(visibility, state, suspended)]
        viewer = matrix.account_for(spec, suspended)
        if suspended not in clients:
            clients[suspended] = Client()
            if viewer is not None:
                clients[suspended].force_login(viewer.user)
        client = clients[suspended]
        author = cell.post.author.username
        never = new_id()
        checks = {
            "thread page": (f"/@{author}/{cell.post.pk}", cell.post.pk, f"/@{author}/{never}", never),
            "image": (f"/media/{cell.media.file}", cell.media.file, f"/media/{never:032x}.png", f"{never:032x}.png"),
            "thumbnail": (f"/media/{cell.media.thumbnail}", cell.media.thumbnail, f"/media/{never:032x}.png", f"{never:032x}.png"),
        }
        want = may_see(visibility, spec, state, suspended)
        label = f"{relation} / {visibility} post, {state}{', author suspended' if suspended else ''}"
        for surface, (url, real, missing_url, fake) in checks.items():
            got = client.get(url)
            if want:
                if got.status_code != 200:
                    problems.append(f"{label}: {surface} answered {got.status_code}, the policy says 200")
                continue
            key = (suspended, "page" if surface == "thread page" else "file")
            if key not in never_existed:
                missing = client.get(missing_url)
                assert missing.status_code == 404, (missing_url, missing.status_code)
                never_existed[key] = _normalised(missing.content, fake)
            if got.status_code != 404:
                problems.append(f"{label}: {surface} answered {got.status_code}, the policy says 404")
            elif _normalised(got.content, real) != never_existed[key]:
                problems.append(f"{label}: {surface}'s 404 differs from the 404 of something that never existed")
    assert not problems, "\n".join(problems)
