"""Notifications follow what they are about: undone reposts and answered requests clean up."""

from __future__ import annotations

from rostra.accounts import actions as accounts
from rostra.core.pagination import PageRequest
from rostra.notifications.models import Kind, Notification
from rostra.notifications.queries import notifications
from rostra.posts import actions as posts
from rostra.posts.queries import likers
from rostra.testing.world import make_account, make_post
from rostra.timelines.queries import hashtag


def kinds(account):
    return [(n.kind, n.actor.username) for n in notifications(account, PageRequest()).items]


def test_undoing_a_repost_removes_its_notification(world, run_tasks):
    post = make_post(world.alice, "repost me")
    posts.repost(world.bob, post.pk)
    run_tasks()
    assert (Kind.REPOST, "bob") in kinds(world.alice)
    posts.unrepost(world.bob, post.pk)
    run_tasks()
    assert (Kind.REPOST, "bob") not in kinds(world.alice)


def test_accepting_a_request_does_not_also_say_followed_you(world, run_tasks):
    zoe = make_account("zoe")
    accounts.follow(zoe, world.carol)
    run_tasks()
    assert kinds(world.carol).count((Kind.FOLLOW_REQUEST, "zoe")) == 1
    accounts.accept_follow_request(world.carol, zoe.pk)
    run_tasks()
    assert (Kind.FOLLOW, "zoe") not in kinds(world.carol)
    assert (Kind.FOLLOW_REQUEST, "zoe") not in kinds(world.carol)
    assert not Notification.objects.filter(recipient=world.carol, actor=zoe).exists()


def test_a_plain_follow_still_notifies(world, run_tasks):
    zoe = make_account("zoe")
    accounts.follow(zoe, world.alice)
    run_tasks()
    assert (Kind.FOLLOW, "zoe") in kinds(world.alice)


def test_likers_are_not_shown_across_a_block(world, run_tasks):
    post = make_post(world.bob, "like me")
    posts.like(world.eve, post.pk)
    posts.like(world.dave, post.pk)
    assert {a.username for a in likers(world.alice, post)} == {"dave"}  # alice blocks eve
    assert {a.username for a in likers(world.bob, post)} == {"dave", "eve"}


def test_hashtag_timeline_accepts_a_leading_hash(world, run_tasks):
    post = make_post(world.alice, "all about #Gardening")
    assert [p.pk for p in hashtag(None, "#gardening", PageRequest()).items] == [post.pk]
    assert [p.pk for p in hashtag(None, " Gardening ", PageRequest()).items] == [post.pk]
