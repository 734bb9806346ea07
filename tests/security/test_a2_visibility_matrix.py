"""SECURITY-TESTS A2: every surface agrees with ONE policy table — the client API, media grants,
search, streaming, notifications and RSS here; the domain queries and the web pages in
``tests/visibility/test_visibility_matrix.py``.

There is one table. It lives in ``tests/visibility/test_visibility_matrix.py`` (``may_see``,
with the stricter ``on_public_timelines`` and ``found_by_search``), written from the rules of the
door (``rostra/posts/queries.py``) and not from its code, and both files check surfaces against
it over the same world: 32 posts (visibility public/unlisted/private/direct x moderation state
published/limited/held/removed x author active/suspended), each answered, reposted, quoted,
bookmarked, notified and with an image, seen by every relation (self, follower, mentioned,
stranger, blocked by the author, blocking the author, anonymous, moderator, and their
combinations). That file covers the domain reads, the timelines, threads, bookmarks, the thread
page and the image over HTTP; this one the other surfaces a scraper or a client would use:

  api status        GET /api/v1/statuses/:id with the viewer's token (or none)
  api profile       GET /api/v1/accounts/:author/statuses
  api context       the post among the descendants of its thread's root
  media grant       the image URL an API response would carry for the viewer (``?g=``), fetched
                    with no cookie after whatever hid the post: the door is asked again
  streaming         the hub's door (``visible_to``) and its per-viewer Status renderer
  notifications     GET /api/v1/notifications (a mention of the viewer in every post)
  search            GET /api/v2/search (posts for signed-in people only, as Mastodon) and the
                    /search page
  rss               /@author.rss and /tags/matrix.rss: anonymous, so ``on_public_timelines``
                    for an anonymous visitor, whoever asks

Moderators: the door gives them no special sight (``may_see`` treats them as strangers); they
see held, removed, reported and even direct content only inside the moderation tools, for posts
they were asked to review (``moderation.queries.under_review``; the media view opens those
images to them). Timelines, search, streams and feeds show them what a stranger sees.

  activitypub       GET /users/:author/statuses/:id and the author's outbox pages as a server
                    asks for them under authorised fetch: signed by a remote actor, they answer
                    what an anonymous visitor may see (docs/federation.md, "What may be read":
                    a signature says which server asks, not what it may see); unsigned, 401.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator

import pytest
from django.test import Client
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from rostra.accounts.models import Account
from rostra.api.oauth import password_grant, register_app
from rostra.core import grants
from rostra.federation.actions import remember_remote_key
from rostra.federation.signatures import generate_key_pair, sign_request
from rostra.posts.queries import visible_to
from rostra.streaming import hub
from tests.visibility.test_visibility_matrix import (  # the one policy table and its world
    FLAG_VIEWERS,
    RELATIONS,
    ROLE_VIEWERS,
    SEARCH_WORD,
    STATES,
    VISIBILITIES,
    Cell,
    MatrixWorld,
    Viewer,
    _mismatch,
    matrix,  # noqa: F401 - the module-scoped world, used as a fixture
    may_see,
    on_public_timelines,
)


@pytest.fixture(autouse=True)
def _no_rate_limit(settings) -> None:
    # Hundreds of API reads from one address and a few tokens: the limits are E1's subject, not this.
    settings.ROSTRA = dataclasses.replace(
        settings.ROSTRA, redis_url=None, rate_limits="api_ip=1000000/5m,api_token=1000000/5m,api_user=1000000/5m"
    )


@pytest.fixture(scope="module")
def clients(matrix: MatrixWorld, django_db_blocker) -> Iterator[dict[int, Client]]:  # noqa: F811
    """A bearer client per account of the world (made inside the world's transaction)."""
    with django_db_blocker.unblock():
        app = register_app("A2 matrix", "urn:ietf:wg:oauth:2.0:oob", "read").application
        accounts: list[Account] = [*matrix.viewers.values(), *matrix.authors.values()]
        yield {
            a.pk: Client(headers={"Authorization": f"Bearer {password_grant(app, a.user, 'read').access_token}"})
            for a in accounts
        }


def _client(clients: dict[int, Client], viewer: Account | None) -> Client:
    return Client() if viewer is None else clients[viewer.pk]


def _api_surfaces(world: MatrixWorld, cell: Cell, viewer: Account | None, client: Client) -> dict[str, bool]:
    pid = str(cell.post.pk)
    author = cell.post.author
    seen: dict[str, bool] = {}
    r = client.get(f"/api/v1/statuses/{pid}")
    assert r.status_code in (200, 404), r.status_code
    seen["api status"] = r.status_code == 200
    if not cell.suspended:  # a suspended account's profile is closed to all, itself included (below)
        r = client.get(f"/api/v1/accounts/{author.pk}/statuses?limit=40")
        seen["api profile"] = r.status_code == 200 and pid in {s["id"] for s in r.json()}
    else:  # as Mastodon answers [] for an unavailable account, Rostra answers 404: to everyone
        assert client.get(f"/api/v1/accounts/{author.pk}/statuses").status_code == 404
    r = client.get(f"/api/v1/statuses/{world.roots[cell.suspended].pk}/context")
    seen["api context"] = r.status_code == 200 and pid in {s["id"] for s in r.json()["descendants"]}
    seen["streaming renderer"] = hub._status_for(viewer, cell.post.pk, False) is not None
    if viewer is not None:
        seen["streaming door"] = viewer.pk in visible_to(cell.post.pk, [viewer.pk])
        # A grant made for this viewer (as when the post was visible to them), fetched now with no
        # cookie. Images anyone signed out may see open without a grant anyway (the thread page
        # test covers them), so the grant is asked about the others.
        if not may_see(cell.visibility, RELATIONS["anonymous"], cell.state, cell.suspended):
            g = grants.grant(cell.media.file, viewer.pk)
            seen["media grant"] = Client().get(f"/media/{cell.media.file}?g={g}").status_code == 200
        if viewer.pk != author.pk:
            notes = client.get("/api/v1/notifications?types[]=mention&limit=80").json()
            seen["notifications"] = pid in {n["status"]["id"] for n in notes if n.get("status")}
    return seen


viewer_kinds = st.one_of(st.sampled_from(list(RELATIONS.values())), st.sampled_from(FLAG_VIEWERS + ROLE_VIEWERS))


@settings(max_examples=16, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(visibility=st.sampled_from(VISIBILITIES), spec=viewer_kinds, state=st.sampled_from(STATES), suspended=st.booleans())
@example(visibility="direct", spec=RELATIONS["follower"], state="published", suspended=False)
@example(visibility="private", spec=RELATIONS["mentioned"], state="limited", suspended=False)
@example(visibility="public", spec=RELATIONS["moderator"], state="held", suspended=False)
@example(visibility="private", spec=RELATIONS["moderator"], state="published", suspended=False)
@example(visibility="public", spec=RELATIONS["self"], state="removed", suspended=True)
@example(visibility="unlisted", spec=RELATIONS["anonymous"], state="limited", suspended=False)
@example(visibility="public", spec=RELATIONS["blocking-author"], state="published", suspended=False)
@example(visibility="private", spec=Viewer(follows=True, blocked_by_author=True), state="published", suspended=False)
@example(visibility="public", spec=RELATIONS["follower"], state="published", suspended=True)
def test_a2_visibility_matrix_api_media_streaming_and_notifications(db, matrix, clients, visibility, spec, state, suspended):  # noqa: F811
    cell = matrix.cells[(visibility, state, suspended)]
    viewer = matrix.account_for(spec, suspended)
    seen = _api_surfaces(matrix, cell, viewer, _client(clients, viewer))
    problems = [p for surface, shown in seen.items() if (p := _mismatch(surface, cell, repr(spec), shown, spec))]
    assert not problems, "\n".join(problems)


def _found_on_page(html: str, pids: set[int]) -> set[int]:
    return {int(m) for m in re.findall(r"/@[A-Za-z0-9_]+/(\d+)", html)} & pids


@pytest.mark.parametrize("relation", list(RELATIONS))
def test_a2_visibility_matrix_search_api_and_web(db, matrix, clients, relation):  # noqa: F811
    spec = RELATIONS[relation]
    problems: list[str] = []
    for suspended in (False, True) if spec.is_self else (None,):
        viewer = matrix.account_for(spec, bool(suspended))
        client = _client(clients, viewer)
        web = Client()
        if viewer is not None:
            web.force_login(viewer.user)
        pids = {c.post.pk for c in matrix.cells.values()}
        web_found = _found_on_page(web.get(f"/search?q={SEARCH_WORD}&limit=40").content.decode(), pids)
        api_found = {
            int(s["id"]) for s in client.get(f"/api/v2/search?q={SEARCH_WORD}&type=statuses&limit=40").json()["statuses"]
        }
        if viewer is None:
            # As Mastodon, the API searches posts for signed-in people only; the web page for all.
            assert api_found == set()
            api_found = web_found
        for cell in matrix.cells.values():
            if suspended is not None and cell.suspended != suspended:
                continue
            for surface, found in (("search", cell.post.pk in api_found), ("search", cell.post.pk in web_found)):
                problem = _mismatch(surface, cell, relation, found, spec)
                if problem:
                    problems.append(problem)
    assert not problems, "\n".join(sorted(set(problems)))


def test_a2_visibility_matrix_rss_feeds_are_anonymous_whoever_asks(db, matrix, clients):  # noqa: F811
    anonymous = RELATIONS["anonymous"]
    pids = {c.post.pk for c in matrix.cells.values()}
    problems: list[str] = []
    # A signed-in reader (a follower, mentioned, and so on) gets the same anonymous feed.
    reader = Client()
    reader.force_login(matrix.viewers[Viewer(follows=True, mentioned=True)].user)
    for who, client in (("anonymous", Client()), ("a follower", reader)):
        tag_feed = _found_on_page(client.get("/tags/matrix.rss").content.decode(), pids)
        for suspended, author in matrix.authors.items():
            r = client.get(f"/@{author.username}.rss")
            profile_feed = _found_on_page(r.content.decode(), pids) if r.status_code == 200 else set()
            assert r.status_code == (404 if suspended else 200)
            for cell in (c for c in matrix.cells.values() if c.suspended == suspended):
                want = on_public_timelines(cell.visibility, anonymous, cell.state, cell.suspended)
                for surface, shown in (("profile feed", cell.post.pk in profile_feed), ("tag feed", cell.post.pk in tag_feed)):
                    if shown != want:
                        problems.append(
                            f"{who}: {surface} {'shows' if shown else 'hides'} the {cell.visibility} {cell.state} post (suspended={suspended})"
                        )
    assert not problems, "\n".join(problems)


# --- ActivityPub, under authorised fetch ---------------------------------------------------------

_REMOTE_KEY = "https://remote.example/users/follower#main-key"


def _signed_get(path: str, private_pem: str) -> tuple[int, bytes]:
    headers = sign_request("GET", f"http://testserver{path}", {}, None, key_id=_REMOTE_KEY, private_key_pem=private_pem)
    meta = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
    response = Client().get(path, HTTP_ACCEPT="application/activity+json", **meta)
    return response.status_code, response.content


def test_a2_visibility_matrix_activitypub_signed_fetches_read_as_anonymous(db, matrix, settings):  # noqa: F811
    settings.AUTHORIZED_FETCH = True
    private_pem, public_pem = generate_key_pair()
    remember_remote_key(_REMOTE_KEY, _REMOTE_KEY.split("#", maxsplit=1)[0], public_pem)
    anonymous = RELATIONS["anonymous"]
    problems: list[str] = []
    outboxes: dict[bool, bytes] = {}
    for suspended, author in matrix.authors.items():
        status, first = _signed_get(f"/users/{author.username}/outbox?page=true", private_pem)
        assert status == (404 if suspended else 200)
        outboxes[suspended] = first
        assert (
            Client().get(f"/users/{author.username}/outbox?page=true", HTTP_ACCEPT="application/activity+json").status_code == 401
        )
    for cell in matrix.cells.values():
        path = f"/users/{cell.post.author.username}/statuses/{cell.post.pk}"
        want = may_see(cell.visibility, anonymous, cell.state, cell.suspended)
        status, _ = _signed_get(path, private_pem)
        assert status in (200, 404), status
        if (status == 200) != want:
            problems.append(f"signed GET of the {cell.visibility} {cell.state} post (suspended={cell.suspended}): {status}")
        listed = f"/statuses/{cell.post.pk}".encode() in outboxes[cell.suspended]
        if listed and not (want and cell.visibility == "public"):
            problems.append(f"the outbox lists the {cell.visibility} {cell.state} post (suspended={cell.suspended})")
        unsigned = Client().get(path, HTTP_ACCEPT="application/activity+json")
        assert (
            unsigned.status_code == 401
            and unsigned.content == Client().get("/users/nobody/statuses/1", HTTP_ACCEPT="application/activity+json").content
        )
    assert not problems, "\n".join(problems)
