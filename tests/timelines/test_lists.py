"""Lists: ownership, membership rules, the list timeline through the door, exclusive lists."""

from __future__ import annotations

import pytest

from rostra.accounts import actions as accounts
from rostra.core.errors import NotFound, ValidationError
from rostra.core.pagination import PageRequest
from rostra.posts import actions as posts
from rostra.posts.models import Post
from rostra.testing.world import make_post
from rostra.timelines import lists
from rostra.timelines.lists import ListDraft
from rostra.timelines.models import ListMember
from rostra.timelines.queries import home


def _ids(page) -> list[int]:
    return [p.pk for p in page.items]


def _list(owner, title="Friends", **kw):
    return lists.create_list(owner, ListDraft(title=title, **kw))


def test_create_rename_delete(world):
    lst = _list(world.bob, "  Friends  ")
    assert lst.title == "Friends" and lst.replies_policy == "list" and not lst.exclusive
    lists.update_list(world.bob, lst.pk, title="Pals", replies_policy="none", exclusive=True)
    again = lists.get_list(world.bob, str(lst.pk))
    assert (again.title, again.replies_policy, again.exclusive) == ("Pals", "none", True)
    assert [x.pk for x in lists.lists_of(world.bob)] == [lst.pk]
    lists.delete_list(world.bob, lst.pk)
    assert lists.lists_of(world.bob) == []


@pytest.mark.parametrize(
    ("title", "policy"), [("", "list"), ("   ", "list"), ("x" * 101, "list"), ("ok", "everyone")]
)
def test_invalid_lists_are_refused(world, title, policy):
    with pytest.raises(ValidationError):
        _list(world.bob, title, replies_policy=policy)
    assert lists.lists_of(world.bob) == []


def test_someone_elses_list_is_not_found(world):
    lst = _list(world.bob)
    for call in (
        lambda: lists.get_list(world.alice, lst.pk),
        lambda: lists.update_list(world.alice, lst.pk, title="mine"),
        lambda: lists.delete_list(world.alice, lst.pk),
        lambda: lists.add_members(world.alice, lst.pk, [world.bob.pk]),
        lambda: lists.list_timeline(world.alice, lst.pk, PageRequest()),
        lambda: lists.get_list(world.bob, "not-an-id"),
    ):
        with pytest.raises(NotFound):
            call()


def test_members_must_be_followed(world):
    lst = _list(world.bob)
    lists.add_members(world.bob, lst.pk, [world.alice.pk, str(world.carol.pk)])
    lists.add_members(world.bob, lst.pk, [world.alice.pk])  # twice is harmless
    assert {a.pk for a in lists.members(world.bob, lst.pk)} == {world.alice.pk, world.carol.pk}
    with pytest.raises(ValidationError):
        lists.add_members(world.bob, lst.pk, [world.alice.pk, world.eve.pk])  # all or nothing
    with pytest.raises(ValidationError):
        lists.add_members(world.bob, lst.pk, [])
    with pytest.raises(ValidationError):
        lists.add_members(world.bob, lst.pk, ["nope"])
    assert ListMember.objects.filter(list=lst).count() == 2
    assert [x.pk for x in lists.lists_with_member(world.bob, world.alice)] == [lst.pk]
    lists.remove_members(world.bob, lst.pk, [world.carol.pk])
    assert [a.pk for a in lists.members(world.bob, lst.pk)] == [world.alice.pk]


def test_list_timeline_shows_members_posts_through_the_door(world, run_tasks):
    w = world
    lst = _list(w.bob)
    lists.add_members(w.bob, lst.pk, [w.alice.pk])
    public = make_post(w.alice, "hello list")
    private = make_post(w.alice, "followers only", visibility="private")
    direct = make_post(w.alice, "@bob a secret", visibility="direct")
    held = make_post(w.alice, "held")
    Post.objects.filter(pk=held.pk).update(moderation_state="held")
    carol_post = make_post(w.carol, "not a member")
    dave_post = make_post(w.dave, "muted and not a member")
    ids = _ids(lists.list_timeline(w.bob, lst.pk, PageRequest()))
    assert ids == sorted([private.pk, public.pk], reverse=True)
    assert direct.pk not in ids and held.pk not in ids and carol_post.pk not in ids and dave_post.pk not in ids


def test_list_never_shows_what_the_owner_cannot_see(world, run_tasks):
    w = world
    accounts.follow(w.bob, w.dave)
    run_tasks()
    lst = _list(w.bob)
    lists.add_members(w.bob, lst.pk, [w.dave.pk, w.alice.pk])
    muted = make_post(w.dave, "bob mutes dave")
    assert muted.pk not in _ids(lists.list_timeline(w.bob, lst.pk, PageRequest()))
    # Blocked by the author: the door closes and the membership goes.
    post = make_post(w.alice, "before the block", visibility="private")
    assert post.pk in _ids(lists.list_timeline(w.bob, lst.pk, PageRequest()))
    accounts.block(w.alice, w.bob)
    assert lists.list_timeline(w.bob, lst.pk, PageRequest()).items == []  # even before the pipeline ran
    run_tasks()
    assert not ListMember.objects.filter(list=lst, account=w.alice).exists()


def test_unfollow_removes_from_lists(world, run_tasks):
    w = world
    lst = _list(w.bob)
    lists.add_members(w.bob, lst.pk, [w.alice.pk])
    post = make_post(w.alice, "hi")
    accounts.unfollow(w.bob, w.alice)
    assert post.pk not in _ids(lists.list_timeline(w.bob, lst.pk, PageRequest()))
    assert lists.members(w.bob, lst.pk) == []
    run_tasks()
    assert not ListMember.objects.filter(list=lst).exists()
    # Following again does not put them back.
    accounts.follow(w.bob, w.alice)
    run_tasks()
    assert lists.members(w.bob, lst.pk) == []


def test_blocking_a_member_removes_them(world, run_tasks):
    w = world
    lst = _list(w.bob)
    lists.add_members(w.bob, lst.pk, [w.carol.pk])
    accounts.block(w.bob, w.carol)
    run_tasks()
    assert not ListMember.objects.filter(list=lst).exists()


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        ("none", {"plain", "self", "to_owner"}),
        ("list", {"plain", "self", "to_owner", "to_member"}),
        ("followed", {"plain", "self", "to_owner", "to_member", "to_followed"}),
    ],
)
def test_replies_policy(world, run_tasks, policy, expected):
    w = world
    accounts.follow(w.bob, w.dave)
    accounts.unmute(w.bob, w.dave)
    run_tasks()
    lst = _list(w.bob, replies_policy=policy)
    lists.add_members(w.bob, lst.pk, [w.alice.pk, w.dave.pk])
    plain = make_post(w.alice, "plain")
    carol_post = make_post(w.carol, "carol speaks")
    bob_post = make_post(w.bob, "bob speaks")
    dave_post = make_post(w.dave, "dave speaks")
    eve_post = make_post(w.eve, "eve speaks")
    made = {
        "plain": plain,
        "self": make_post(w.alice, "more", in_reply_to_id=plain.pk),
        "to_owner": make_post(w.alice, "@bob yes", in_reply_to_id=bob_post.pk),
        "to_member": make_post(w.alice, "@dave yes", in_reply_to_id=dave_post.pk),
        "to_followed": make_post(w.alice, "@carol yes", in_reply_to_id=carol_post.pk),
        "to_stranger": make_post(w.dave, "@eve yes", in_reply_to_id=eve_post.pk),
    }
    shown = set(_ids(lists.list_timeline(w.bob, lst.pk, PageRequest(limit=40))))
    got = {name for name, p in made.items() if p.pk in shown}
    assert got == expected


def test_list_includes_reposts_only_when_wanted(world, run_tasks):
    w = world
    lst = _list(w.bob)
    lists.add_members(w.bob, lst.pk, [w.alice.pk])
    original = make_post(w.carol, "original")
    repost = posts.repost(w.alice, original.pk)
    assert repost.pk in _ids(lists.list_timeline(w.bob, lst.pk, PageRequest()))
    from rostra.accounts.models import Follow

    Follow.objects.filter(follower=w.bob, target=w.alice).update(show_reposts=False)
    assert repost.pk not in _ids(lists.list_timeline(w.bob, lst.pk, PageRequest()))


def test_list_timeline_paginates(world):
    w = world
    lst = _list(w.bob)
    lists.add_members(w.bob, lst.pk, [w.alice.pk])
    made = sorted(make_post(w.alice, f"post {i}").pk for i in range(5))
    first = lists.list_timeline(w.bob, lst.pk, PageRequest(limit=2))
    assert _ids(first) == made[::-1][:2]
    second = lists.list_timeline(w.bob, lst.pk, PageRequest(limit=2, max_id=first.next_max_id))
    assert _ids(second) == made[::-1][2:4]
    newer = lists.list_timeline(w.bob, lst.pk, PageRequest(limit=2, min_id=made[2]))
    assert _ids(newer) == [made[4], made[3]]


def test_list_timeline_query_count_is_fixed(world, django_assert_max_num_queries):
    w = world
    lst = _list(w.bob)
    lists.add_members(w.bob, lst.pk, [w.alice.pk, w.carol.pk])
    for i in range(3):
        make_post(w.alice, f"a {i}")
        make_post(w.carol, f"c {i}")
    with django_assert_max_num_queries(4) as few:
        lists.list_timeline(w.bob, lst.pk, PageRequest())
    for i in range(10):
        make_post(w.alice, f"more {i}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        lists.list_timeline(w.bob, lst.pk, PageRequest())


def test_exclusive_list_hides_members_from_home(world, run_tasks):
    w = world
    lst = _list(w.bob)
    lists.add_members(w.bob, lst.pk, [w.alice.pk])
    post = make_post(w.alice, "where do I show")
    run_tasks()
    assert post.pk in _ids(home(w.bob, PageRequest()))
    lists.update_list(w.bob, lst.pk, exclusive=True)
    assert post.pk not in _ids(home(w.bob, PageRequest()))
    assert post.pk in _ids(lists.list_timeline(w.bob, lst.pk, PageRequest()))
    assert post.pk in _ids(home(w.dave, PageRequest()))  # only the owner's home changes
