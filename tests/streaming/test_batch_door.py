"""The streaming process's batched door and rendering, held against the one-viewer-at-a-time paths.

``visible_to(post, viewers)`` must answer, for every viewer, exactly what
``visible_posts(viewer).filter(pk=post.pk).exists()`` answers; ``muting_author`` exactly what
``without_muted`` hides; and the batched Status rendering (``_statuses_for_many``) must send each
viewer byte for byte what rendering them alone (``_status_for``: ``get_post`` + the entities) sends.
Worlds are drawn by Hypothesis: follows, blocks, mutes, mentions, suspended authors, every
visibility and moderation state, reposts, quotes, polls, likes, pins, muted threads and filters.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rostra.accounts.models import Account, Block, Follow, Mute
from rostra.core import clock
from rostra.posts.models import Bookmark, Like, Mention, ModerationState, Pin, Poll, PollVote, Post, ThreadMute, Visibility
from rostra.posts.polls import PollDraft
from rostra.posts.queries import muting_author, visible_among, visible_posts, visible_to, without_muted
from rostra.streaming.hub import Stream, _status_for, _statuses_for_many, live_tokens, matches, render
from rostra.testing.world import make_account, make_post
from rostra.timelines.models import Filter, FilterKeyword
from tests.streaming.test_publish_and_render import deliver, sub_for

NAMES = ("alice", "bob", "carol", "dave", "eve", "mod", "admin")
N = len(NAMES)
VISIBILITIES = [v.value for v in Visibility]
STATES = [s.value for s in ModerationState]

pairs = st.sets(st.tuples(st.integers(0, N - 1), st.integers(0, N - 1)).filter(lambda p: p[0] != p[1]), max_size=14)
post_spec = st.tuples(
    st.integers(0, N - 1),  # author
    st.sampled_from(VISIBILITIES),
    st.sampled_from(STATES),
    st.sets(st.integers(0, N - 1), max_size=3),  # mentioned
    st.one_of(st.none(), st.integers(0, 20)),  # reposts an earlier post (index modulo how many)
)


def accounts_of(world: Any) -> list[Account]:
    return [getattr(world, n) for n in NAMES]


class Rollback(Exception):
    pass


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(
    suspended=st.sets(st.integers(0, N - 1), max_size=2),
    follows=pairs, blocks=pairs, mutes=pairs, expired_mutes=pairs,
    specs=st.lists(post_spec, min_size=1, max_size=8),
)
def test_visible_to_is_the_door_for_every_viewer(world, suspended, follows, blocks, mutes, expired_mutes, specs):
    people = accounts_of(world)
    ids = [a.pk for a in people]
    with pytest.raises(Rollback), transaction.atomic():
        Follow.objects.bulk_create([Follow(follower=people[a], target=people[b]) for a, b in follows], ignore_conflicts=True)
        Block.objects.bulk_create([Block(account=people[a], target=people[b]) for a, b in blocks], ignore_conflicts=True)
        Mute.objects.bulk_create([Mute(account=people[a], target=people[b]) for a, b in mutes], ignore_conflicts=True)
        past = clock.now() - timedelta(hours=1)
        Mute.objects.bulk_create([Mute(account=people[a], target=people[b], expires_at=past) for a, b in expired_mutes], ignore_conflicts=True)
        posts: list[Post] = []
        reposted: set[tuple[int, int]] = set()
        for author, visibility, state, mentioned, repost in specs:
            target = posts[repost % len(posts)] if repost is not None and posts else None
            if target is not None and (author, target.pk) in reposted:
                target = None  # one repost of a post per person
            if target is not None:
                reposted.add((author, target.pk))
            post = Post.objects.create(
                author=people[author], text="x", visibility=visibility, moderation_state=state, created_at=clock.now(), repost_of=target,
            )
            Mention.objects.bulk_create([Mention(post=post, account=people[m]) for m in mentioned])
            posts.append(post)
        Account.objects.filter(pk__in=[ids[i] for i in suspended]).update(suspended_at=clock.now())
        fresh = [Account.objects.get(pk=i) for i in ids]
        # The timelines' prepared door (rostra.core.prepared) answers as the queryset it was built from.
        every = [p.pk for p in posts]
        for viewer in [None, *fresh]:
            rows = visible_posts(viewer).filter(pk__in=every).values_list("id", "author_id", "repost_of__author_id")
            assert visible_among(viewer, every) == {r[0]: (r[1], r[2]) for r in rows}
        for post in posts:
            expected = {v.pk for v in fresh if visible_posts(v).filter(pk=post.pk).exists()}
            assert visible_to(post.pk, ids) == expected, (post.visibility, post.moderation_state)
            loaded = Post.objects.select_related("author", "repost_of", "repost_of__author").get(pk=post.pk)
            assert visible_to(loaded, ids) == expected
            assert visible_to(loaded, []) == set()
            hidden = {v.pk for v in fresh if not without_muted(Post.objects.filter(pk=post.pk), v).exists()}
            assert muting_author(loaded, ids) == hidden
        raise Rollback


def test_visible_to_of_a_missing_post_or_bad_id_is_nobody(world):
    ids = [a.pk for a in accounts_of(world)]
    assert visible_to(987654321, ids) == set()
    assert visible_to("not-an-id", ids) == set()


# --- Rendering: batched vs one viewer at a time


@pytest.fixture
def posts(world: Any) -> dict[str, Post]:
    w = world
    out: dict[str, Post] = {}
    out["poll"] = make_post(w.alice, "Tea or coffee? #drinks", poll=PollDraft(options=["Tea", "Coffee", "Water"], expires_in=3600, hide_totals=True))
    out["quote"] = make_post(w.bob, "Look at this poll", quote_of_id=out["poll"].pk)
    out["quote2"] = make_post(w.dave, "A quote of a quote about coffee", quote_of_id=out["quote"].pk)
    out["private"] = make_post(w.alice, "Followers only, about tea", visibility="private")
    out["quote_private"] = make_post(w.alice, "Quoting my private post")  # (rules forbid it now; older rows may)
    Post.objects.filter(pk=out["quote_private"].pk).update(quote_of=out["private"], quote_state="accepted")
    out["reply"] = make_post(w.bob, "@alice I choose tea", in_reply_to_id=out["poll"].pk)
    out["direct"] = make_post(w.alice, "@bob just between us", visibility="direct")
    out["repost_quote"] = Post.objects.create(author=w.carol, repost_of=out["quote2"], created_at=clock.now())
    out["repost_poll"] = Post.objects.create(author=w.dave, repost_of=out["poll"], created_at=clock.now())
    out["unlisted"] = make_post(w.mod, "Quiet words about the finale", visibility="unlisted")
    return out


marks = st.lists(st.tuples(st.sampled_from(["like", "bookmark", "pin", "mute_thread", "vote", "filter_warn", "filter_hide", "detach", "repost"]), st.integers(0, N - 1), st.integers(0, 9)), max_size=25)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(marks=marks, context=st.sampled_from(["home", "public"]), keyword=st.sampled_from(["tea", "coffee", "finale", "poll"]))
def test_batched_rendering_is_what_each_viewer_alone_gets(world, posts, marks, context, keyword):
    people = accounts_of(world)
    names = list(posts)
    poll = Poll.objects.get(post=posts["poll"])
    with pytest.raises(Rollback), transaction.atomic():
        for kind, who, which in marks:
            person, post = people[who], posts[names[which % len(names)]]
            if kind == "like":
                Like.objects.get_or_create(account=person, post=post)
            elif kind == "bookmark":
                Bookmark.objects.get_or_create(account=person, post=post)
            elif kind == "pin":
                Pin.objects.get_or_create(account=post.author, post=post)
            elif kind == "mute_thread":
                ThreadMute.objects.get_or_create(account=person, thread_id=post.thread_id or post.pk)
            elif kind == "vote":
                PollVote.objects.get_or_create(poll=poll, account=person, choice=which % 3)
            elif kind in ("filter_warn", "filter_hide"):
                flt = Filter.objects.create(account=person, title=f"f{which}", context=[context], action=kind.removeprefix("filter_"))
                FilterKeyword.objects.create(filter=flt, keyword=keyword, whole_word=True)
            elif kind == "detach" and post.quote_of_id:
                Post.objects.filter(pk=post.pk).update(quote_state="detached")
            elif kind == "repost" and not post.repost_of_id:
                Post.objects.get_or_create(author=person, repost_of=post, defaults={"created_at": clock.now()})
        viewers = {a.pk: Account.objects.get(pk=a.pk) for a in people}
        for name, post in posts.items():
            for public_only in (False, True):
                expected = {}
                for vid, viewer in viewers.items():
                    body = _status_for(viewer, post.pk, public_only)
                    if body is not None:
                        expected[vid] = body
                got = _statuses_for_many(post.pk, viewers, public_only)
                assert set(got) == set(expected), (name, public_only)
                for vid, body in expected.items():
                    assert json.loads(got[vid]) == json.loads(body), (name, public_only, vid)
                    assert got[vid] == body
        raise Rollback


def test_most_followers_share_one_build_and_flags_are_per_viewer(world, posts):
    """One read and a fixed number of queries for many viewers; each still gets their own flags."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    people = accounts_of(world)
    Like.objects.create(account=world.bob, post=posts["poll"])
    Pin.objects.create(account=world.alice, post=posts["poll"])
    PollVote.objects.create(poll=Poll.objects.get(post=posts["poll"]), account=world.dave, choice=1)
    viewers = {a.pk: a for a in people}
    with CaptureQueriesContext(connection) as few:
        got = {vid: json.loads(body) for vid, body in _statuses_for_many(posts["poll"].pk, viewers, False).items()}
    alice, bob, dave, carol = (got[a.pk] for a in (world.alice, world.bob, world.dave, world.carol))
    assert world.eve.pk not in got  # alice blocks eve
    assert bob["favourited"] is True and carol["favourited"] is False and dave["favourited"] is False
    assert alice["pinned"] is True and bob["pinned"] is None
    assert dave["poll"]["voted"] is True and dave["poll"]["own_votes"] == [1] and carol["poll"]["voted"] is False
    assert alice["poll"]["options"][0]["votes_count"] is None and carol["poll"]["options"][0]["votes_count"] is None  # hidden from all
    # However many viewers, the same number of queries (here ~7 viewers; the bench has 300).
    more = {**viewers}
    for i in range(20):
        a = make_account(f"follower{i}")
        more[a.pk] = a
    with CaptureQueriesContext(connection) as many:
        assert len(_statuses_for_many(posts["poll"].pk, more, False)) == len(got) + 20
    assert len(many.captured_queries) <= len(few.captured_queries) + 1


def test_render_sends_each_subscriber_their_own_status(world, posts):
    """Through ``render``: user and public streams of several people, and an anonymous reader."""
    Like.objects.create(account=world.bob, post=posts["poll"])
    msg = {"event": "update", "post_id": posts["poll"].pk, "users": [world.bob.pk, world.dave.pk, world.eve.pk], "channels": ["public"], "lists": []}
    bob_user, bob_public = sub_for(world.bob, Stream("user")), sub_for(world.bob, Stream("public"))
    dave, eve, anon = sub_for(world.dave, Stream("user"), Stream("public")), sub_for(world.eve, Stream("user")), sub_for(None, Stream("public"))
    got = deliver(msg, bob_user, bob_public, dave, eve, anon)
    assert set(got) == {0, 1, 2, 4}  # eve is blocked by the author
    assert got[0][1]["favourited"] is True and got[1][1]["favourited"] is True
    assert got[2][1]["favourited"] is False
    deliveries, _ = render(msg, [(dave, matches(dave, msg))])  # his home and public streams: one delivery each
    assert sorted(s.name for _, streams, _ in deliveries for s in streams) == ["public", "user"]
    assert got[4][1]["favourited"] is None  # an anonymous reader: null, as the REST API sends it


def test_a_token_check_keeps_subscribers_who_connected_while_it_ran(world, monkeypatch):
    """The check asks about the tokens open when it starts; a socket opened meanwhile is not dead."""
    import asyncio

    from rostra.api.models import AccessToken, Application
    from rostra.api.oauth import digest
    from rostra.streaming.hub import Auth, Hub, Subscriber

    app = Application.objects.create(name="t", client_id="cid", client_secret_hash="x", redirect_uris="urn:ietf:wg:oauth:2.0:oob", scopes="read")
    token = {
        a.pk: AccessToken.objects.create(token_hash=digest(f"t-{a.pk}"), application=app, user=a.user, scopes="read").pk
        for a in (world.bob, world.dave)
    }
    hub = Hub(threads=1)
    first = Subscriber(auth=Auth(token[world.bob.pk], world.bob.pk, frozenset({"read"})))
    late = Subscriber(auth=Auth(token[world.dave.pk], world.dave.pk, frozenset({"read"})))
    hub.add(first)

    live: set[int] = set()

    async def run_db(fn: Any, *args: Any) -> Any:
        hub.add(late)  # connects while the check's query runs
        assert fn is live_tokens
        return live & set(args[0])  # what the query answered (asked here, in the test's transaction)

    monkeypatch.setattr(hub, "run_db", run_db)
    live = live_tokens(token.values())
    asyncio.run(hub.check_tokens())
    assert not first.closed and not late.closed
    AccessToken.objects.filter(pk=token[world.bob.pk]).update(revoked_at=clock.now())
    live = live_tokens(token.values())
    asyncio.run(hub.check_tokens())
    assert first.closed and not late.closed
    hub.pool.shutdown()
