"""Timeline reads: local public, hashtags, profiles, threads, pagination."""

from __future__ import annotations

import pytest

from rostra.accounts import actions as accounts
from rostra.core.pagination import PageRequest
from rostra.posts import actions as posts
from rostra.posts.models import Post
from rostra.posts.queries import thread
from rostra.testing.images import png_bytes
from rostra.testing.world import make_post
from rostra.timelines.queries import federated_public, hashtag, home, local_public, profile


def _ids(page) -> list[int]:
    return [p.pk for p in page.items]


@pytest.fixture
def spread(world):
    w = world
    made = {
        "public": make_post(w.alice, "public #topic"),
        "unlisted": make_post(w.alice, "unlisted #topic", visibility="unlisted"),
        "private": make_post(w.alice, "private #topic", visibility="private"),
        "direct": make_post(w.alice, "@bob direct #topic", visibility="direct"),
        "limited": make_post(w.alice, "limited #topic"),
        "held": make_post(w.alice, "held #topic"),
        "removed": make_post(w.alice, "removed #topic"),
    }
    made["repost"] = posts.repost(w.bob, made["public"].pk)
    for state in ("limited", "held", "removed"):
        Post.objects.filter(pk=made[state].pk).update(moderation_state=state)
    return made


@pytest.mark.parametrize("surface", ["local", "federated", "hashtag"])
def test_public_surfaces_show_only_public_published_originals(world, spread, surface):
    def read(viewer):
        if surface == "local":
            return _ids(local_public(viewer, PageRequest()))
        if surface == "federated":
            return _ids(federated_public(viewer, PageRequest()))
        return _ids(hashtag(viewer, "TOPIC", PageRequest()))

    for viewer in (None, world.alice, world.bob, world.dave, world.mod):
        assert read(viewer) == [spread["public"].pk], viewer
    assert read(world.eve) == []  # alice blocks eve


def test_hashtag_pages_are_per_tag(world):
    a = make_post(world.alice, "#One")
    b = make_post(world.alice, "#two and #one")
    make_post(world.alice, "#three")
    assert _ids(hashtag(None, "one", PageRequest())) == [b.pk, a.pk]
    assert _ids(hashtag(None, "nothing", PageRequest())) == []


def test_profile_with_and_without_replies(world, media_dir):
    w = world
    own = make_post(w.alice, "my post")
    thread_reply = make_post(w.alice, "my thread", in_reply_to_id=own.pk)
    to_bob = make_post(w.alice, "answering bob", in_reply_to_id=make_post(w.bob, "bob asks").pk)
    rp = posts.repost(w.alice, make_post(w.carol, "carol's").pk)
    pic = make_post(w.alice, "picture", media_ids=[posts.upload_media(w.alice, png_bytes()).pk])
    private = make_post(w.alice, "followers", visibility="private")
    assert _ids(profile(None, w.alice, PageRequest())) == [pic.pk, rp.pk, thread_reply.pk, own.pk]
    assert _ids(profile(None, w.alice, PageRequest(), with_replies=True)) == [pic.pk, rp.pk, to_bob.pk, thread_reply.pk, own.pk]
    assert _ids(profile(w.bob, w.alice, PageRequest())) == [private.pk, pic.pk, rp.pk, thread_reply.pk, own.pk]
    assert _ids(profile(w.bob, w.alice, PageRequest(), media_only=True)) == [pic.pk]
    assert _ids(profile(w.eve, w.alice, PageRequest())) == []


def test_thread_order(world):
    w = world
    root = make_post(w.alice, "root")
    a = make_post(w.bob, "a", in_reply_to_id=root.pk)
    c = make_post(w.dave, "c", in_reply_to_id=root.pk)
    b = make_post(w.alice, "b", in_reply_to_id=a.pk)
    d = make_post(w.bob, "d", in_reply_to_id=b.pk)
    e = make_post(w.dave, "e", in_reply_to_id=a.pk)
    ancestors, descendants = thread(w.alice, root)
    assert ancestors == []
    # Depth first, each reply under what it answers, siblings oldest first.
    assert [p.pk for p in descendants] == [a.pk, b.pk, d.pk, e.pk, c.pk]
    ancestors, descendants = thread(w.alice, d)
    assert [p.pk for p in ancestors] == [root.pk, a.pk, b.pk]
    assert descendants == []
    ancestors, descendants = thread(w.alice, a)
    assert [p.pk for p in ancestors] == [root.pk]
    assert [p.pk for p in descendants] == [b.pk, d.pk, e.pk]


def test_thread_hides_what_the_viewer_may_not_see(world):
    w = world
    root = make_post(w.alice, "root")
    private = make_post(w.alice, "followers only", visibility="private", in_reply_to_id=root.pk)
    under = make_post(w.bob, "under it", in_reply_to_id=private.pk)
    muted = make_post(w.dave, "dave", in_reply_to_id=root.pk)
    assert [p.pk for p in thread(w.bob, root)[1]] == [private.pk, under.pk]  # bob mutes dave
    assert [p.pk for p in thread(w.carol, root)[1]] == [muted.pk]  # under the invisible post: cut off
    assert thread(w.carol, under)[0] == []


def test_home_pagination(world, run_tasks):
    w = world
    made = [make_post(w.alice if i % 2 else w.carol, f"p{i}").pk for i in range(45)]
    run_tasks()
    seen: list[int] = []
    req = PageRequest(limit=20)
    while True:
        page = home(w.bob, req)
        seen += _ids(page)
        if page.next_max_id is None:
            break
        req = PageRequest(max_id=page.next_max_id, limit=20)
    assert seen == sorted(made, reverse=True)
    newest = home(w.bob, PageRequest(since_id=made[40]))
    assert _ids(newest) == sorted(made[41:], reverse=True)


def test_local_public_pagination(world):
    made = [make_post(world.alice, f"p{i}").pk for i in range(25)]
    first = local_public(None, PageRequest(limit=10))
    second = local_public(None, PageRequest(max_id=first.next_max_id, limit=10))
    third = local_public(None, PageRequest(max_id=second.next_max_id, limit=10))
    assert _ids(first) + _ids(second) + _ids(third) == sorted(made, reverse=True)
    assert third.next_max_id is None
    back = local_public(None, PageRequest(min_id=second.prev_min_id, limit=10))
    assert _ids(back) == _ids(first)


def test_a_mutual_block_hides_profile_and_home(world, run_tasks):
    post = make_post(world.carol, "carol")
    run_tasks()
    accounts.block(world.carol, world.bob)
    assert _ids(profile(world.bob, world.carol, PageRequest())) == []
    assert post.pk not in _ids(home(world.bob, PageRequest()))
