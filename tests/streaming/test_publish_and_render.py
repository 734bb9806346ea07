"""The pipeline's side of streaming (what is published, to whom) and the streaming process's
rendering through the visibility door, in-process with the real pipeline and database."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.conf import settings

from rostra.accounts.models import Account
from rostra.api.models import AccessToken, Application
from rostra.api.oauth import digest
from rostra.posts import actions as posts
from rostra.streaming import bus
from rostra.streaming.hub import Auth, Stream, StreamError, Subscriber, check_stream, live_tokens, matches, render
from rostra.testing.tasks import run_tasks
from rostra.testing.world import make_post


@contextmanager
def published() -> Iterator[list[dict[str, Any]]]:
    """The bus messages published inside the block."""
    out: list[dict[str, Any]] = []
    if settings.ROSTRA.redis_url:
        pubsub = bus._redis().pubsub()
        pubsub.subscribe(bus.channel())
        pubsub.get_message(timeout=1)
        yield out
        while (m := pubsub.get_message(timeout=0.5)) is not None:
            if m["type"] == "message":
                out.append(json.loads(m["data"]))
        pubsub.close()
        return
    db = sqlite3.connect(bus._path())
    bus._db()  # the table exists
    mark = db.execute("SELECT COALESCE(MAX(id), 0) FROM message").fetchone()[0]
    yield out
    out.extend(json.loads(b) for (b,) in db.execute("SELECT body FROM message WHERE id > ? ORDER BY id", (mark,)))
    db.close()


def sub_for(account: Account | None, *streams: Stream, scopes: str = "read") -> Subscriber:
    return Subscriber(auth=Auth(None, account.pk if account else None, frozenset(scopes.split())), streams=set(streams))


def deliver(msg: dict[str, Any], *subs: Subscriber) -> dict[int, tuple[list[str], Any]]:
    """What each subscriber (by index) would be sent for ``msg``."""
    targets = [(s, m) for s in subs if (m := matches(s, msg))]
    deliveries, _dead = render(msg, targets)
    out = {}
    for sub, streams, payload in deliveries:
        i = subs.index(sub)
        out[i] = ([s.name for s in streams], json.loads(payload) if payload.startswith("{") else payload)
    return out


def test_a_public_post_is_published_to_home_recipients_and_public_channels(world):
    with published() as msgs:
        post = make_post(world.alice, "Hello #Gardens")
        run_tasks()
    updates = [m for m in msgs if m["event"] == "update"]
    assert len(updates) == 1
    msg = updates[0]
    assert msg["post_id"] == post.pk
    assert {world.alice.pk, world.bob.pk, world.dave.pk} <= set(msg["users"])
    assert world.carol.pk not in msg["users"] and world.eve.pk not in msg["users"]
    assert set(msg["channels"]) == {"public", "public:local", "hashtag:gardens", "hashtag:local:gardens"}


def test_a_private_post_reaches_followers_only(world):
    with published() as msgs:
        post = make_post(world.alice, "Just for my followers", visibility="private")
        run_tasks()
    (msg,) = [m for m in msgs if m["event"] == "update"]
    assert msg["channels"] == []
    bob, carol = sub_for(world.bob, Stream("user")), sub_for(world.carol, Stream("user"))
    # Even if a message named carol, the door would keep the post from her.
    forged = dict(msg, users=[*msg["users"], world.carol.pk])
    got = deliver(forged, bob, carol)
    assert set(got) == {0}
    assert got[0][0] == ["user"] and got[0][1]["id"] == str(post.pk) and got[0][1]["visibility"] == "private"


def test_public_streams_hide_blocked_and_muted_authors(world):
    with published() as msgs:
        post = make_post(world.dave, "Dave says hi")  # bob mutes dave
        run_tasks()
    (msg,) = [m for m in msgs if m["event"] == "update"]
    anon, bob, carol = sub_for(None, Stream("public")), sub_for(world.bob, Stream("public")), sub_for(world.carol, Stream("public:local"))
    got = deliver(msg, anon, bob, carol)
    assert set(got) == {0, 2} and got[0][1]["id"] == str(post.pk)
    with published() as msgs:
        make_post(world.alice, "Alice says hi")  # alice blocks eve
        run_tasks()
    (msg,) = [m for m in msgs if m["event"] == "update"]
    assert deliver(msg, sub_for(world.eve, Stream("public"))) == {}


def test_delete_and_edit_are_published(world):
    post = make_post(world.alice, "To be changed")
    run_tasks()
    with published() as msgs:
        posts.edit_post(world.alice, post.pk, text="Changed for the better")
        run_tasks()
    (msg,) = [m for m in msgs if m["event"] == "status.update"]
    got = deliver(msg, sub_for(world.bob, Stream("user")), sub_for(world.carol, Stream("user")))
    assert set(got) == {0} and "Changed for the better" in got[0][1]["content"] and got[0][1]["edited_at"]
    with published() as msgs:
        posts.delete_post(world.alice, post.pk)
        run_tasks()
    (msg,) = [m for m in msgs if m["event"] == "delete"]
    assert msg["post_id"] == post.pk and {world.alice.pk, world.bob.pk, world.dave.pk} <= set(msg["users"])
    bob = sub_for(world.bob, Stream("user"))
    stranger = sub_for(world.carol, Stream("public"))
    assert deliver(msg, bob, stranger) == {0: (["user"], str(post.pk))}
    stranger.sent_posts[post.pk] = None  # carol's public stream had been sent the post: she hears of the delete
    assert deliver(msg, stranger) == {0: (["public"], str(post.pk))}


def test_a_like_publishes_a_notification_to_its_recipient(world):
    post = make_post(world.alice, "Like me")
    run_tasks()
    with published() as msgs:
        posts.like(world.bob, post.pk)
        run_tasks()
    # Only alice's: the bus is this test process's, and a task a previous test left queued may
    # publish someone else's notification in the same window.
    (msg,) = [m for m in msgs if m["event"] == "notification" and world.alice.pk in m["users"]]
    assert msg["users"] == [world.alice.pk]
    alice = sub_for(world.alice, Stream("user"))
    alice_notes = sub_for(world.alice, Stream("user:notification"))
    alice_statuses_only = sub_for(world.alice, Stream("user"), scopes="read:statuses")
    got = deliver(msg, alice, alice_notes, alice_statuses_only)
    assert set(got) == {0, 1}
    assert got[0][1]["type"] == "favourite" and got[0][1]["account"]["id"] == str(world.bob.pk)
    assert got[0][1]["status"]["id"] == str(post.pk)


def test_stream_checks(world):
    anon = Auth(None, None, frozenset({"read"}))
    bob = Auth(None, world.bob.pk, frozenset({"read"}))
    assert check_stream(anon, "public", {}) == Stream("public")
    assert check_stream(bob, "hashtag", {"tag": "#Cats"}) == Stream("hashtag", "cats")
    for auth, name, params, status in (
        (anon, "user", {}, 401),
        (anon, "nonsense", {}, 404),
        (bob, "hashtag", {}, 400),
        (bob, "list", {"list": "12345"}, 404),
        (Auth(None, world.bob.pk, frozenset({"write"})), "user", {}, 403),
        (Auth(None, None, frozenset()), "public", {}, 401),  # anonymous public streams switched off
    ):
        with pytest.raises(StreamError) as err:
            check_stream(auth, name, params)
        assert err.value.status == status, (name, params)


def test_revoked_tokens_and_suspended_people_are_not_live(world):
    app = Application.objects.create(name="t", client_id="cid", client_secret_hash="x", redirect_uris="urn:ietf:wg:oauth:2.0:oob", scopes="read")
    tokens = {}
    for name in ("alice", "bob", "dave"):
        account = getattr(world, name)
        tokens[name] = AccessToken.objects.create(token_hash=digest(f"token-{name}"), application=app, user=account.user, scopes="read").pk
    assert live_tokens(tokens.values()) == set(tokens.values())
    AccessToken.objects.filter(pk=tokens["alice"]).update(revoked_at="2026-01-01T00:00:00Z")
    Account.objects.filter(pk=world.dave.pk).update(suspended_at="2026-01-01T00:00:00Z")
    assert live_tokens(tokens.values()) == {tokens["bob"]}
    # A password change ends the streams of every token issued before it (SECURITY-TESTS A4).
    from rostra.accounts.actions import change_password
    from rostra.testing.world import PASSWORD

    change_password(world.bob.user, PASSWORD, "another-long-password-2026")
    assert live_tokens(tokens.values()) == set()


def test_a_list_stream_gets_its_members_posts_and_is_its_owners_only(world):
    from rostra.timelines import lists

    lst = lists.create_list(world.bob, lists.ListDraft(title="Friends"))
    lists.add_members(world.bob, lst.pk, [world.alice.pk])
    bob = Auth(None, world.bob.pk, frozenset({"read"}))
    stream = check_stream(bob, "list", {"list": str(lst.pk)})
    assert stream == Stream("list", str(lst.pk))
    with pytest.raises(StreamError) as err:
        check_stream(Auth(None, world.carol.pk, frozenset({"read"})), "list", {"list": str(lst.pk)})
    assert err.value.status == 404
    with published() as msgs:
        post = make_post(world.alice, "For the list")
        run_tasks()
    (msg,) = [m for m in msgs if m["event"] == "update"]
    assert msg["lists"] == [lst.pk]
    got = deliver(msg, sub_for(world.bob, stream))
    assert got[0][0] == ["list"] and got[0][1]["id"] == str(post.pk)


def test_a_direct_post_is_a_conversation_event_for_those_in_it(world):
    with published() as msgs:
        post = make_post(world.alice, "@bob a word in private", visibility="direct")
        run_tasks()
    (msg,) = [m for m in msgs if m["event"] == "conversation"]
    assert {world.alice.pk, world.bob.pk} <= set(msg["users"]) and world.carol.pk not in msg["users"]
    (update,) = [m for m in msgs if m["event"] == "update"]
    assert update["channels"] == [] and update["lists"] == []
    bob, carol = sub_for(world.bob, Stream("direct")), sub_for(world.carol, Stream("direct"))
    got = deliver(dict(msg, users=[*msg["users"], world.carol.pk]), bob, carol)
    assert set(got) == {0}
    names, conversation = got[0]
    assert names == ["direct"] and conversation["last_status"]["id"] == str(post.pk)
    assert [a["id"] for a in conversation["accounts"]] == [str(world.alice.pk)]


def test_the_viewers_filters_apply_to_streamed_posts(world):
    from rostra.timelines import filters

    filters.create_filter(world.bob, filters.FilterDraft(title="No spoilers", context=["home"], action="hide", keywords=[filters.KeywordDraft(keyword="finale")]))
    filters.create_filter(world.dave, filters.FilterDraft(title="Careful", context=["home"], action="warn", keywords=[filters.KeywordDraft(keyword="finale")]))
    with published() as msgs:
        make_post(world.alice, "The finale was wild")
        run_tasks()
    (msg,) = [m for m in msgs if m["event"] == "update"]
    bob, dave, bob_public = sub_for(world.bob, Stream("user")), sub_for(world.dave, Stream("user")), sub_for(world.bob, Stream("public"))
    got = deliver(msg, bob, dave, bob_public)
    assert set(got) == {1, 2}  # hidden from bob's home; his public stream has no filter for it
    assert got[1][1]["filtered"][0]["filter"]["title"] == "Careful"


def test_every_batch_of_a_large_fan_out_is_streamed_to_its_followers(world, settings):
    """A post whose audience is cut into queued batches reaches the user stream of every follower,
    not only those of the first batch; one who reads the author in an exclusive list is left out."""
    import dataclasses

    from rostra.accounts import actions as accounts
    from rostra.testing.world import make_account
    from rostra.timelines import lists

    fans = [make_account(f"streamfan{i}") for i in range(7)]
    for fan in fans:
        assert accounts.follow(fan, world.alice) == "following"
    reader = fans[-1]
    own = lists.create_list(reader, lists.ListDraft(title="Alice only", exclusive=True))
    lists.add_members(reader, own.pk, [world.alice.pk])
    run_tasks()
    settings.ROSTRA = dataclasses.replace(settings.ROSTRA, fanout_batch=3)
    with published() as msgs:
        post = make_post(world.alice, "To all of you")
        run_tasks()
    updates = [m for m in msgs if m["event"] == "update" and m["post_id"] == post.pk]
    assert len(updates) >= 3  # the first batch with the channels, then one per queued batch
    reached = {u for m in updates for u in m["users"]}
    assert {f.pk for f in fans[:-1]} | {world.bob.pk, world.dave.pk, world.alice.pk} <= reached
    assert reader.pk not in reached
    assert [m["channels"] for m in updates[1:]] == [[]] * (len(updates) - 1)  # the public channels were told once

    # What a follower in a late batch is sent: the post, rendered for them.
    late = max(fans[:-1], key=lambda f: f.pk)
    msg = next(m for m in updates if late.pk in m["users"])
    sent = deliver(msg, sub_for(late, Stream("user")))
    assert sent[0][1]["id"] == str(post.pk)
