"""The social graph: follows and their counters, locked accounts, blocks and mutes."""

from __future__ import annotations

from datetime import timedelta

import pytest

from rostra.accounts import actions as accounts
from rostra.accounts.models import Block, Follow, FollowRequest, Mute
from rostra.core.clock import now
from rostra.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from rostra.core.pagination import PageRequest
from rostra.posts.queries import get_post
from rostra.testing.world import make_post
from rostra.timelines.queries import home, local_public


def _counts(*accounts_):
    for a in accounts_:
        a.refresh_from_db()
    return [(a.followers_count, a.following_count) for a in accounts_]


def _ids(page):
    return [p.pk for p in page.items]


def test_the_world_has_real_counters(world):
    assert _counts(world.alice, world.bob, world.carol, world.dave) == [(2, 0), (0, 2), (1, 0), (0, 1)]


def test_follow_and_unfollow_keep_counters(world):
    w = world
    assert accounts.follow(w.alice, w.dave) == "following"
    assert _counts(w.alice, w.dave) == [(2, 1), (1, 1)]
    assert accounts.follow(w.alice, w.dave) == "following"  # again: nothing changes
    assert Follow.objects.filter(follower=w.alice, target=w.dave).count() == 1
    assert _counts(w.alice, w.dave) == [(2, 1), (1, 1)]
    accounts.unfollow(w.alice, w.dave)
    assert _counts(w.alice, w.dave) == [(2, 0), (0, 1)]
    accounts.unfollow(w.alice, w.dave)  # again: no negative counts
    assert _counts(w.alice, w.dave) == [(2, 0), (0, 1)]


def test_remove_follower(world):
    accounts.remove_follower(world.alice, world.bob)
    assert not Follow.objects.filter(follower=world.bob, target=world.alice).exists()
    assert _counts(world.alice, world.bob) == [(1, 0), (0, 1)]


def test_self_follow_block_and_mute_are_refused(world):
    a = world.alice
    with pytest.raises(ValidationError):
        accounts.follow(a, a)
    with pytest.raises(ValidationError):
        accounts.block(a, a)
    with pytest.raises(ValidationError):
        accounts.mute(a, a)
    assert not Follow.objects.filter(follower=a, target=a).exists()
    assert not Block.objects.filter(account=a, target=a).exists()
    assert not Mute.objects.filter(account=a, target=a).exists()
    assert _counts(a) == [(2, 0)]


def test_following_a_suspended_account_answers_not_found(world):
    world.dave.suspended_at = now()
    world.dave.save()
    with pytest.raises(NotFound):
        accounts.follow(world.alice, world.dave)


# --- locked accounts and follow requests


def test_following_a_locked_account_asks_first(world, run_tasks):
    w = world
    assert accounts.follow(w.dave, w.carol) == "requested"
    assert accounts.follow(w.dave, w.carol) == "requested"
    assert FollowRequest.objects.filter(requester=w.dave, target=w.carol).count() == 1
    assert not Follow.objects.filter(follower=w.dave, target=w.carol).exists()
    assert _counts(w.carol, w.dave) == [(1, 0), (0, 1)]
    accounts.accept_follow_request(w.carol, w.dave.pk)
    assert Follow.objects.filter(follower=w.dave, target=w.carol).exists()
    assert not FollowRequest.objects.exists()
    assert _counts(w.carol, w.dave) == [(2, 0), (0, 2)]
    with pytest.raises(NotFound):
        accounts.accept_follow_request(w.carol, w.dave.pk)


def test_rejecting_a_request(world):
    w = world
    accounts.follow(w.dave, w.carol)
    accounts.reject_follow_request(w.carol, w.dave.pk)
    assert not FollowRequest.objects.exists()
    assert not Follow.objects.filter(follower=w.dave, target=w.carol).exists()
    with pytest.raises(NotFound):
        accounts.reject_follow_request(w.carol, w.dave.pk)
    # Someone else cannot accept a request made to carol.
    accounts.follow(w.dave, w.carol)
    with pytest.raises(NotFound):
        accounts.accept_follow_request(w.alice, w.dave.pk)
    assert FollowRequest.objects.filter(requester=w.dave, target=w.carol).exists()


def test_unfollow_withdraws_a_request(world):
    accounts.follow(world.dave, world.carol)
    accounts.unfollow(world.dave, world.carol)
    assert not FollowRequest.objects.exists()


def test_unlocking_accepts_whoever_was_waiting(world):
    w = world
    accounts.follow(w.dave, w.carol)
    accounts.follow(w.alice, w.carol)
    accounts.update_profile(w.carol, accounts.ProfileUpdate(locked=False))
    assert not FollowRequest.objects.exists()
    assert set(Follow.objects.filter(target=w.carol).values_list("follower_id", flat=True)) == {w.bob.pk, w.dave.pk, w.alice.pk}
    assert _counts(w.carol) == [(3, 0)]
    assert accounts.follow(w.eve, w.carol) == "following"


# --- blocks


def test_a_block_ends_follows_both_ways(world, run_tasks):
    w = world
    accounts.follow(w.alice, w.bob)
    accounts.follow(w.dave, w.carol)  # a pending request, to be withdrawn by the block below
    assert _counts(w.alice, w.bob) == [(2, 1), (1, 2)]
    accounts.block(w.alice, w.bob)
    assert not Follow.objects.filter(follower=w.alice, target=w.bob).exists()
    assert not Follow.objects.filter(follower=w.bob, target=w.alice).exists()
    assert _counts(w.alice, w.bob) == [(1, 0), (0, 1)]
    with pytest.raises(PermissionDenied):
        accounts.follow(w.bob, w.alice)
    with pytest.raises(Conflict):
        accounts.follow(w.alice, w.bob)
    accounts.block(w.carol, w.dave)
    assert not FollowRequest.objects.filter(requester=w.dave, target=w.carol).exists()


def test_a_block_hides_posts_both_ways(world, run_tasks):
    w = world
    by_alice = make_post(w.alice, "from alice")
    by_bob = make_post(w.bob, "from bob")
    run_tasks()
    assert by_alice.pk in _ids(home(w.bob, PageRequest()))
    accounts.block(w.alice, w.bob)
    run_tasks()
    for viewer, post in ((w.bob, by_alice), (w.alice, by_bob)):
        with pytest.raises(NotFound):
            get_post(viewer, post.pk)
        assert post.pk not in _ids(local_public(viewer, PageRequest()))
    assert by_alice.pk not in _ids(home(w.bob, PageRequest()))
    accounts.unblock(w.alice, w.bob)
    assert get_post(w.bob, by_alice.pk).pk == by_alice.pk
    assert not Follow.objects.filter(follower=w.bob, target=w.alice).exists()  # a follow is not restored


# --- mutes


def test_a_mute_hides_from_timelines_but_not_from_direct_reads(world, run_tasks):
    w = world  # bob mutes dave
    accounts.follow(w.bob, w.dave)
    post = make_post(w.dave, "muted words")
    run_tasks()
    assert post.pk not in _ids(home(w.bob, PageRequest()))
    assert post.pk not in _ids(local_public(w.bob, PageRequest()))
    assert post.pk in _ids(local_public(w.alice, PageRequest()))
    assert get_post(w.bob, post.pk).pk == post.pk
    accounts.unmute(w.bob, w.dave)
    assert post.pk in _ids(local_public(w.bob, PageRequest()))


def test_a_mute_hides_reposts_of_the_muted(world, run_tasks):
    from rostra.posts.actions import repost

    w = world
    post = make_post(w.dave, "dave says")
    rp = repost(w.alice, post.pk)  # bob follows alice, mutes dave
    run_tasks()
    assert rp.pk not in _ids(home(w.bob, PageRequest()))
    assert rp.pk in _ids(home(w.alice, PageRequest()))


def test_a_mute_with_a_duration_ends(world, run_tasks):
    w = world
    post = make_post(w.dave, "back soon")
    run_tasks()
    with pytest.raises(ValidationError):
        accounts.mute(w.bob, w.dave, duration_s=-5)
    accounts.mute(w.bob, w.dave, duration_s=3600)
    mute = Mute.objects.get(account=w.bob, target=w.dave)
    assert now() + timedelta(minutes=59) < mute.expires_at <= now() + timedelta(hours=1)
    assert post.pk not in _ids(local_public(w.bob, PageRequest()))
    # The hour passes: the mute no longer applies, anywhere.
    Mute.objects.filter(pk=mute.pk).update(expires_at=now() - timedelta(seconds=1))
    assert post.pk in _ids(local_public(w.bob, PageRequest()))
    accounts.follow(w.bob, w.dave)
    later = make_post(w.dave, "I am back")
    run_tasks()
    assert later.pk in _ids(home(w.bob, PageRequest()))


def test_muting_again_updates_the_mute(world):
    accounts.mute(world.bob, world.dave, hide_notifications=False)
    mute = Mute.objects.get(account=world.bob, target=world.dave)
    assert mute.hide_notifications is False and mute.expires_at is None
    assert Mute.objects.filter(account=world.bob).count() == 1
