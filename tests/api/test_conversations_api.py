"""The client API's conversations: threads of direct posts, per person, with read and removed state."""

from __future__ import annotations

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from rostra.posts import actions as posts
from rostra.testing.world import make_post
from rostra.timelines.models import ConversationState
from tests.api.conftest import bearer, link_params


def _convs(client) -> list[dict]:
    r = client.get("/api/v1/conversations")
    assert r.status_code == 200, r.content
    return r.json()


def test_a_direct_thread_is_one_conversation_for_each_participant(world, tok):
    w = world
    first = make_post(w.alice, "@bob a secret", visibility="direct")
    reply = make_post(w.bob, "@alice got it", visibility="direct", in_reply_to_id=first.pk)
    make_post(w.alice, "a public post mentioning @bob")
    alice, bob = bearer(tok(w.alice)), bearer(tok(w.bob))
    mine = _convs(alice)
    assert len(mine) == 1
    conv = mine[0]
    assert set(conv) == {"id", "unread", "accounts", "last_status"}
    assert conv["id"] == str(first.pk)  # the thread's id
    assert [a["id"] for a in conv["accounts"]] == [str(w.bob.pk)]
    assert conv["last_status"]["id"] == str(reply.pk) and conv["last_status"]["visibility"] == "direct"
    assert conv["unread"] is True  # bob's post is newer than anything alice read
    theirs = _convs(bob)
    assert [c["id"] for c in theirs] == [str(first.pk)]
    assert [a["id"] for a in theirs[0]["accounts"]] == [str(w.alice.pk)]
    assert theirs[0]["unread"] is False  # the last post is bob's own
    # Nobody else is in it.
    assert _convs(bearer(tok(w.carol))) == []


def test_participants_are_what_the_viewer_can_see(world, tok):
    w = world
    first = make_post(w.alice, "@bob just us", visibility="direct")
    make_post(w.bob, "@alice @carol adding carol", visibility="direct", in_reply_to_id=first.pk)
    alice_conv = _convs(bearer(tok(w.alice)))[0]
    assert {a["id"] for a in alice_conv["accounts"]} == {str(w.bob.pk), str(w.carol.pk)}
    carol_conv = _convs(bearer(tok(w.carol)))[0]
    assert carol_conv["id"] == str(first.pk)
    assert {a["id"] for a in carol_conv["accounts"]} == {str(w.alice.pk), str(w.bob.pk)}


def test_read_and_remove(world, tok):
    w = world
    first = make_post(w.alice, "@bob hello", visibility="direct")
    alice, bob = bearer(tok(w.alice)), bearer(tok(w.bob))
    assert _convs(bob)[0]["unread"] is True
    r = bob.post(f"/api/v1/conversations/{first.pk}/read")
    assert r.status_code == 200 and r.json()["unread"] is False and r.json()["id"] == str(first.pk)
    assert _convs(bob)[0]["unread"] is False
    assert _convs(alice)[0]["unread"] is False  # her own post
    # A new post from alice makes it unread again.
    second = make_post(w.alice, "@bob again", visibility="direct", in_reply_to_id=first.pk)
    assert _convs(bob)[0]["unread"] is True and _convs(bob)[0]["last_status"]["id"] == str(second.pk)
    # Removing hides it from bob only, until a newer post arrives.
    assert bob.delete(f"/api/v1/conversations/{first.pk}").json() == {}
    assert _convs(bob) == []
    assert len(_convs(alice)) == 1
    assert bob.delete(f"/api/v1/conversations/{first.pk}").status_code == 404
    assert bob.post(f"/api/v1/conversations/{first.pk}/read").status_code == 404
    third = make_post(w.alice, "@bob are you there?", visibility="direct", in_reply_to_id=second.pk)
    back = _convs(bob)
    assert [c["last_status"]["id"] for c in back] == [str(third.pk)] and back[0]["unread"] is True


def test_other_peoples_conversations_are_not_found(world, tok):
    w = world
    first = make_post(w.alice, "@bob private", visibility="direct")
    public = make_post(w.alice, "public")
    carol = bearer(tok(w.carol))
    for url in (f"/api/v1/conversations/{first.pk}/read", f"/api/v1/conversations/{public.pk}/read", "/api/v1/conversations/nope/read"):
        assert carol.post(url).status_code == 404
    assert carol.delete(f"/api/v1/conversations/{first.pk}").status_code == 404
    assert ConversationState.objects.count() == 0


def test_held_and_blocked_posts_stay_out(world, tok):
    w = world
    make_post(w.eve, "@alice hello?", visibility="direct")  # alice blocks eve: she never sees it
    assert _convs(bearer(tok(w.alice))) == []
    held = make_post(w.dave, "@bob psst", visibility="direct")
    type(held).objects.filter(pk=held.pk).update(moderation_state="held")
    assert _convs(bearer(tok(w.bob))) == []
    assert [c["id"] for c in _convs(bearer(tok(w.dave)))] == [str(held.pk)]  # its author still sees it


def test_pagination_by_last_status(world, tok):
    w = world
    made = [make_post(w.alice, f"@bob thread {i}", visibility="direct") for i in range(5)]
    posts.like(w.bob, made[0].pk)
    bump = make_post(w.bob, "@alice back to the first", visibility="direct", in_reply_to_id=made[0].pk)
    bob = bearer(tok(w.bob))
    r = bob.get("/api/v1/conversations?limit=2")
    assert [c["id"] for c in r.json()] == [str(made[0].pk), str(made[4].pk)]  # ordered by the last post
    assert r.json()[0]["last_status"]["id"] == str(bump.pk)
    assert r.json()[0]["last_status"]["favourited"] is False  # the last status is the reply, not the liked root
    nxt = link_params(r)["next"]
    r2 = bob.get(f"/api/v1/conversations?limit=2&max_id={nxt['max_id'][0]}")
    assert [c["id"] for c in r2.json()] == [str(made[3].pk), str(made[2].pk)]
    prev = link_params(r2)["prev"]
    r3 = bob.get(f"/api/v1/conversations?limit=2&min_id={prev['min_id'][0]}")
    assert [c["id"] for c in r3.json()] == [str(made[0].pk), str(made[4].pk)]
    assert [c["id"] for c in bob.get(f"/api/v1/conversations?since_id={made[4].pk}").json()] == [str(made[0].pk)]


def test_a_page_costs_a_fixed_number_of_queries(world, tok):
    w = world
    bob = bearer(tok(w.bob))
    make_post(w.alice, "@bob one", visibility="direct")
    bob.get("/api/v1/conversations")
    with CaptureQueriesContext(connection) as few:
        assert len(_convs(bob)) == 1
    for i in range(6):
        make_post(w.alice if i % 2 else w.carol, f"@bob more {i}", visibility="direct")
    with CaptureQueriesContext(connection) as many:
        assert len(_convs(bob)) == 7
    assert len(many.captured_queries) == len(few.captured_queries)


def test_scopes_and_auth(world, tok):
    w = world
    first = make_post(w.alice, "@bob hello", visibility="direct")
    assert Client().get("/api/v1/conversations").status_code == 401
    assert [c["id"] for c in bearer(tok(w.bob)).get("/api/v1/conversations/").json()] == [str(first.pk)]  # as Mastodon.py asks
    assert bearer(tok(w.bob, "read:statuses")).get("/api/v1/conversations").status_code == 200
    assert bearer(tok(w.bob, "read:notifications")).get("/api/v1/conversations").status_code == 403
    assert bearer(tok(w.bob, "read:statuses")).post(f"/api/v1/conversations/{first.pk}/read").status_code == 403
    assert bearer(tok(w.bob, "write:conversations")).post(f"/api/v1/conversations/{first.pk}/read").status_code == 200
    assert bearer(tok(w.bob, "write:statuses")).delete(f"/api/v1/conversations/{first.pk}").status_code == 403
    assert bearer(tok(w.bob, "write:conversations")).delete(f"/api/v1/conversations/{first.pk}").status_code == 200
