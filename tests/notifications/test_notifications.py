"""Notifications: each kind, never to yourself, never across blocks or muted, once each, and gone
when what they are about is gone."""

from __future__ import annotations

from datetime import timedelta

import pytest

from rostra.accounts import actions as accounts
from rostra.accounts.models import Account, Mute
from rostra.core.clock import now
from rostra.core.models import Event
from rostra.core.pagination import PageRequest
from rostra.notifications import actions as notify_actions
from rostra.notifications.models import Kind, Notification
from rostra.notifications.queries import notifications, unread_count
from rostra.posts import actions as posts
from rostra.posts.models import Post
from rostra.testing.world import make_account, make_post


@pytest.fixture(autouse=True)
def _quiet(world):
    """Start from an empty inbox: building the world's follows told people things already."""
    Notification.objects.all().delete()


def _seen(account, **kwargs) -> list[tuple[str, int, int | None]]:
    """What ``account`` is shown: (kind, actor id, post id), newest first."""
    return [(n.kind, n.actor_id, n.post_id) for n in notifications(account, PageRequest(limit=40), **kwargs).items]


def test_mention(world, run_tasks):
    post = make_post(world.bob, "hey @alice and @carol")
    run_tasks()
    assert _seen(world.alice) == [(Kind.MENTION, world.bob.pk, post.pk)]
    assert _seen(world.carol) == [(Kind.MENTION, world.bob.pk, post.pk)]


def test_reply_is_told_once_as_a_reply(world, run_tasks):
    w = world
    root = make_post(w.alice, "root")
    reply = make_post(w.bob, "@alice agreed, @dave?", in_reply_to_id=root.pk)
    run_tasks()
    assert _seen(w.alice) == [(Kind.REPLY, w.bob.pk, reply.pk)]
    assert _seen(w.dave) == [(Kind.MENTION, w.bob.pk, reply.pk)]


def test_reblog_quote_and_favourite(world, run_tasks):
    w = world
    post = make_post(w.alice, "hello")
    posts.repost(w.bob, post.pk)
    quote = make_post(w.dave, "look", quote_of_id=post.pk)
    posts.like(w.carol, post.pk)
    run_tasks()
    assert _seen(w.alice) == [
        (Kind.LIKE, w.carol.pk, post.pk),
        (Kind.QUOTE, w.dave.pk, quote.pk),
        (Kind.REPOST, w.bob.pk, post.pk),
    ]


def test_follow_and_follow_request(world, run_tasks):
    w = world
    accounts.follow(w.eve, w.bob)
    accounts.follow(w.dave, w.carol)
    run_tasks()
    assert _seen(w.bob) == [(Kind.FOLLOW, w.eve.pk, None)]
    assert _seen(w.carol) == [(Kind.FOLLOW_REQUEST, w.dave.pk, None)]


def test_kinds_filter(world, run_tasks):
    post = make_post(world.alice, "hello @bob")
    posts.like(world.bob, post.pk)
    accounts.follow(world.alice, world.bob)
    run_tasks()
    assert [k for k, _, _ in _seen(world.bob, kinds=[Kind.MENTION])] == [Kind.MENTION]
    assert [k for k, _, _ in _seen(world.bob, exclude=[Kind.MENTION])] == [Kind.FOLLOW]


def test_no_notification_to_yourself(world, run_tasks):
    a = world.alice
    post = make_post(a, "talking to @alice")
    make_post(a, "answering myself", in_reply_to_id=post.pk)
    make_post(a, "quoting myself", quote_of_id=post.pk)
    posts.like(a, post.pk)
    posts.repost(a, post.pk)
    run_tasks()
    assert not Notification.objects.filter(recipient=a).exists()
    assert notify_actions.notify(a.pk, Kind.FOLLOW, a.pk) is None


def test_nothing_across_a_block(world, run_tasks):
    w = world  # alice blocks eve
    post = make_post(w.eve, "hey @alice")
    run_tasks()
    assert _seen(w.alice) == []
    assert notify_actions.notify(w.alice.pk, Kind.MENTION, w.eve.pk, post.pk) is None
    assert notify_actions.notify(w.eve.pk, Kind.FOLLOW, w.alice.pk) is None
    # A block made after the fact hides what came before it.
    post = make_post(w.dave, "hey @alice")
    run_tasks()
    assert _seen(w.alice) == [(Kind.MENTION, w.dave.pk, post.pk)]
    accounts.block(w.alice, w.dave)
    assert _seen(w.alice) == [] and unread_count(w.alice) == 0


def test_muted_actors(world, run_tasks):
    w = world  # bob mutes dave
    make_post(w.dave, "hey @bob")
    run_tasks()
    assert _seen(w.bob) == []
    accounts.mute(w.bob, w.dave, hide_notifications=False)
    post = make_post(w.dave, "hey again @bob")
    run_tasks()
    assert _seen(w.bob) == [(Kind.MENTION, w.dave.pk, post.pk)]


def test_an_expired_mute_no_longer_silences(world, run_tasks):
    w = world
    Mute.objects.filter(account=w.bob, target=w.dave).update(expires_at=now() - timedelta(minutes=1))
    post = make_post(w.dave, "hey @bob")
    run_tasks()
    assert _seen(w.bob) == [(Kind.MENTION, w.dave.pk, post.pk)]


def test_running_the_pipeline_twice_gives_one_notification(world, run_tasks):
    earlier = set(Event.objects.values_list("pk", flat=True))
    post = make_post(world.bob, "hey @alice")
    posts.like(world.bob, make_post(world.alice, "x").pk)
    run_tasks()
    assert Notification.objects.filter(recipient=world.alice).count() == 2
    Event.objects.exclude(pk__in=earlier).update(done_at=None)  # as if delivered again
    run_tasks()
    notify_actions.on_post_created(post.pk)
    assert Notification.objects.filter(recipient=world.alice).count() == 2


def test_unread_count_and_mark_all_read(world, run_tasks):
    w = world
    for i in range(3):
        make_post(w.bob, f"@alice number {i}")
    run_tasks()
    assert unread_count(w.alice) == 3
    assert notify_actions.mark_all_read(w.alice) == 3
    assert unread_count(w.alice) == 0
    assert notify_actions.mark_all_read(w.alice) == 0
    make_post(w.dave, "@alice one more")
    run_tasks()
    assert unread_count(w.alice) == 1
    assert len(_seen(w.alice)) == 4  # read ones are still listed


def test_dismiss_and_clear(world, run_tasks):
    make_post(world.bob, "@alice one")
    make_post(world.bob, "@alice two")
    run_tasks()
    first = Notification.objects.filter(recipient=world.alice).first()
    notify_actions.dismiss(world.bob, first.pk)  # not bob's to dismiss
    assert Notification.objects.filter(pk=first.pk).exists()
    notify_actions.dismiss(world.alice, first.pk)
    assert unread_count(world.alice) == 1
    notify_actions.clear(world.alice)
    assert _seen(world.alice) == []


@pytest.mark.parametrize("change", ["deleted", "held", "removed", "suspended", "unfollowed", "blocked-by-author"])
def test_notifications_about_posts_that_became_invisible_disappear(world, run_tasks, change):
    w = world
    mentioner = make_account("mentioner")
    accounts.follow(w.alice, mentioner)
    post = make_post(mentioner, "for followers and @alice", visibility="private")
    liked = make_post(w.alice, "like this")
    posts.like(mentioner, liked.pk)
    run_tasks()
    assert len(_seen(w.alice)) == 2 and unread_count(w.alice) == 2
    if change == "deleted":
        posts.delete_post(mentioner, post.pk)
    elif change in ("held", "removed"):
        Post.objects.filter(pk=post.pk).update(moderation_state=change)
    elif change == "suspended":
        Account.objects.filter(pk=mentioner.pk).update(suspended_at=now())
    elif change == "unfollowed":
        accounts.unfollow(w.alice, mentioner)
        # ...but she is mentioned, so she still sees it.
        assert (Kind.MENTION, mentioner.pk, post.pk) in _seen(w.alice)
        return
    else:
        accounts.block(mentioner, w.alice)
    run_tasks()
    assert (Kind.MENTION, mentioner.pk, post.pk) not in _seen(w.alice)
    if change == "suspended":
        assert _seen(w.alice) == []  # nothing from a suspended account at all
    assert unread_count(w.alice) == len(_seen(w.alice))


def test_notification_for_a_follower_only_post_needs_access(world, run_tasks):
    w = world
    post = make_post(w.carol, "followers only, mentioning @dave", visibility="private")
    run_tasks()
    # dave is mentioned, so he may see it and is told.
    assert _seen(w.dave) == [(Kind.MENTION, w.carol.pk, post.pk)]
    # A like of a post the liker can see, by someone the author cannot see? never created.
    assert notify_actions.notify(w.eve.pk, Kind.LIKE, w.bob.pk, post.pk) is None


def test_the_list_skips_notifications_whose_post_is_hidden_and_keeps_its_pages_full(world, run_tasks):
    """The client list asks the door of each fetched chunk instead of in SQL: every page, in every
    direction, is what the door-in-SQL query gives (hidden posts skipped, pages still full)."""
    from rostra.core.pagination import paginate
    from rostra.notifications.queries import _visible, notifications_for
    from rostra.posts.models import ModerationState, Post

    w = world
    fans = [make_account(f"liker{i}") for i in range(3)]
    mine = [make_post(w.alice, f"post {i}") for i in range(4)]
    theirs = []
    for i in range(12):
        fan = fans[i % 3]
        theirs.append(make_post(fan, f"@alice hello {i}"))
        if i < 6:
            posts.like(fan, mine[i % 4].pk)
    accounts.follow(fans[0], w.alice)
    run_tasks()
    # Hold a run of the mentions in the middle and some at the edges: their notifications drop out.
    hidden = [theirs[0], *theirs[4:9], theirs[11]]
    Post.objects.filter(pk__in=[p.pk for p in hidden]).update(moderation_state=ModerationState.HELD)
    rows = list(_visible(w.alice).order_by("-id").values_list("id", flat=True))
    assert 10 < len(rows) < Notification.objects.filter(recipient=w.alice).count()

    def ids(page):
        return [n.pk for n in page.items], page.next_max_id, page.prev_min_id

    for limit in (1, 2, 3, 5, 40):
        reqs = [PageRequest(limit=limit)]
        reqs += [PageRequest(limit=limit, max_id=r) for r in rows[::3]]
        reqs += [PageRequest(limit=limit, min_id=r) for r in rows[::4]]
        reqs += [PageRequest(limit=limit, since_id=rows[-1], max_id=rows[1])]
        for req in reqs:
            assert ids(notifications_for(w.alice, req)) == ids(paginate(_visible(w.alice), req)), req
