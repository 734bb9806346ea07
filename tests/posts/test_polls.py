"""Polls in the domain: creation rules, voting rules, the door, reads per viewer, and the end."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db.models import Count
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rostra.core import clock
from rostra.core.errors import NotFound, ValidationError
from rostra.notifications.models import Kind, Notification
from rostra.posts.actions import Draft, PollDraft, create_post, delete_post, edit_post, upload_media, vote
from rostra.posts.models import Poll, PollOption, PollVote, Post
from rostra.posts.polls import MAX_EXPIRATION_S, close_expired_polls
from rostra.posts.queries import get_poll, get_post, poll_for_post
from tests.web.helpers import image_bytes


def poll_post(author, options=("Tea", "Coffee"), *, expires_in=3600, multiple=False, hide_totals=False, **draft):
    return create_post(author, Draft(text="Which?", poll=PollDraft(options=list(options), expires_in=expires_in, multiple=multiple, hide_totals=hide_totals), **draft))


def end(poll: Poll) -> None:
    Poll.objects.filter(pk=poll.pk).update(expires_at=clock.now() - timedelta(seconds=1))


# --- Creation


def test_a_post_with_a_poll(world):
    post = poll_post(world.alice, ["Tea", " Coffee ", "Water"], multiple=True, hide_totals=True)
    poll = Poll.objects.get(post=post)
    assert list(poll.options.values_list("position", "title", "votes_count")) == [(0, "Tea", 0), (1, "Coffee", 0), (2, "Water", 0)]
    assert poll.multiple and poll.hide_totals and poll.votes_count == 0 and poll.voters_count == 0
    assert abs((poll.expires_at - post.created_at).total_seconds() - 3600) < 1


@pytest.mark.parametrize(
    ("options", "expires_in", "message"),
    [
        (["Only one"], 3600, "at least 2 options"),
        ([], 3600, "at least 2 options"),
        (["a", "b", "c", "d", "e"], 3600, "at most 4 options"),
        (["Tea", "  "], 3600, "cannot be empty"),
        (["Tea", "x" * 51], 3600, "at most 50 characters"),
        (["Tea", "tea"], 3600, "must all be different"),
        (["Tea", "Coffee"], 299, "at least 5 minutes"),
        (["Tea", "Coffee"], MAX_EXPIRATION_S + 1, "at most a month"),
    ],
)
def test_bad_polls_are_refused_and_nothing_is_written(world, options, expires_in, message):
    posts_before = Post.objects.count()
    with pytest.raises(ValidationError) as exc:
        poll_post(world.alice, options, expires_in=expires_in)
    assert message in exc.value.message and "poll" in exc.value.errors
    assert Post.objects.count() == posts_before and not Poll.objects.exists() and not PollOption.objects.exists()


def test_every_problem_is_listed(world):
    with pytest.raises(ValidationError) as exc:
        poll_post(world.alice, ["", "x" * 60, "a", "b", "c"], expires_in=10)
    assert len(exc.value.errors["poll"]) == 4


def test_the_limits_themselves_are_allowed(world):
    poll_post(world.alice, ["a", "b", "c", "x" * 50], expires_in=MAX_EXPIRATION_S)
    poll_post(world.bob, ["a", "b"], expires_in=300)
    assert Poll.objects.count() == 2


def test_a_poll_and_images_are_exclusive(world, media_dir):
    media = upload_media(world.alice, image_bytes())
    with pytest.raises(ValidationError, match="images or a poll"):
        poll_post(world.alice, media_ids=[media.pk])
    assert not Poll.objects.exists() and unattached(media)


def unattached(media) -> bool:
    media.refresh_from_db()
    return media.post_id is None


def test_editing_the_text_keeps_the_poll_and_its_votes(world):
    post = poll_post(world.alice)
    poll = Poll.objects.get(post=post)
    vote(world.bob, poll.pk, [1])
    edit_post(world.alice, post.pk, text="Which one, really?")
    poll.refresh_from_db()
    assert poll.votes_count == 1 and PollVote.objects.filter(poll=poll).count() == 1
    assert Post.objects.get(pk=post.pk).text == "Which one, really?"


def test_deleting_the_post_deletes_its_poll(world):
    post = poll_post(world.alice)
    vote(world.bob, Poll.objects.get(post=post).pk, [0])
    delete_post(world.alice, post.pk)
    assert not Poll.objects.exists() and not PollVote.objects.exists()


# --- Voting


def test_single_choice_vote(world):
    poll = Poll.objects.get(post=poll_post(world.alice))
    updated = vote(world.bob, poll.pk, [1])
    assert (updated.votes_count, updated.voters_count) == (1, 1)
    assert list(poll.options.values_list("votes_count", flat=True)) == [0, 1]


def test_multiple_choice_vote(world):
    poll = Poll.objects.get(post=poll_post(world.alice, ["a", "b", "c"], multiple=True))
    vote(world.bob, poll.pk, [0, 2])
    vote(world.dave, poll.pk, [2])
    poll.refresh_from_db()
    assert (poll.votes_count, poll.voters_count) == (3, 2)
    assert list(poll.options.values_list("votes_count", flat=True)) == [1, 0, 2]


@pytest.mark.parametrize(
    ("choices", "message"),
    [([], "Choose an option"), ([0, 1], "only one choice"), ([2], "does not exist"), ([-1], "does not exist")],
)
def test_bad_choices(world, choices, message):
    poll = Poll.objects.get(post=poll_post(world.alice))
    with pytest.raises(ValidationError, match=message):
        vote(world.bob, poll.pk, choices)
    assert not PollVote.objects.exists()


def test_repeated_choice_on_multiple(world):
    poll = Poll.objects.get(post=poll_post(world.alice, multiple=True))
    with pytest.raises(ValidationError, match="only once"):
        vote(world.bob, poll.pk, [1, 1])


def test_no_double_voting(world):
    poll = Poll.objects.get(post=poll_post(world.alice, multiple=True))
    vote(world.bob, poll.pk, [0])
    with pytest.raises(ValidationError, match="already voted"):
        vote(world.bob, poll.pk, [1])
    poll.refresh_from_db()
    assert (poll.votes_count, poll.voters_count) == (1, 1)


def test_no_voting_after_the_end(world):
    poll = Poll.objects.get(post=poll_post(world.alice))
    end(poll)
    with pytest.raises(ValidationError, match="already ended"):
        vote(world.bob, poll.pk, [0])


def test_the_author_may_vote_as_in_mastodon(world):
    poll = Poll.objects.get(post=poll_post(world.alice))
    vote(world.alice, poll.pk, [0])
    assert PollVote.objects.filter(account=world.alice).count() == 1


# --- The door


def test_who_cannot_see_the_post_cannot_vote_or_read_the_poll(world):
    # Followers only: bob and dave follow alice; carol does not; eve is blocked by alice.
    poll = Poll.objects.get(post=poll_post(world.alice, visibility="private"))
    for outsider in (world.carol, world.eve):
        with pytest.raises(NotFound):
            vote(outsider, poll.pk, [0])
        with pytest.raises(NotFound):
            get_poll(outsider, poll.pk)
    with pytest.raises(NotFound):
        get_poll(None, poll.pk)
    vote(world.bob, poll.pk, [0])
    assert get_poll(world.bob, poll.pk).voted
    assert PollVote.objects.count() == 1


def test_unknown_poll(world):
    with pytest.raises(NotFound):
        vote(world.bob, 123456789, [0])
    with pytest.raises(NotFound):
        get_poll(world.bob, "not-an-id")


# --- Reads


def test_the_poll_as_each_viewer_sees_it(world):
    post = poll_post(world.alice, ["a", "b", "c"], multiple=True)
    poll = Poll.objects.get(post=post)
    vote(world.bob, poll.pk, [0, 2])
    vote(world.dave, poll.pk, [0])
    bob = get_poll(world.bob, poll.pk)
    assert bob.voted and bob.own_votes == [0, 2] and not bob.can_vote
    assert [(o.title, o.votes_count, o.percent) for o in bob.options] == [("a", 2, 67), ("b", 0, 0), ("c", 1, 33)]
    assert (bob.votes_count, bob.voters_count, bob.expired, bob.multiple) == (3, 2, False, True)
    alice = get_poll(world.alice, poll.pk)
    assert alice.voted and alice.own_votes == [] and not alice.can_vote  # as Mastodon: the author counts as voted
    anonymous = get_poll(None, poll.pk)
    assert not anonymous.voted and not anonymous.can_vote
    # The same, read from a card's prefetched post.
    assert poll_for_post(world.bob, get_post(world.bob, post.pk)) == bob


def test_hidden_totals_show_to_nobody_until_the_end_not_even_the_author(world):
    poll = Poll.objects.get(post=poll_post(world.alice, hide_totals=True))
    vote(world.bob, poll.pk, [1])
    bob = get_poll(world.bob, poll.pk)
    assert not bob.totals_shown and [o.votes_count for o in bob.options] == [None, None]
    assert bob.votes_count == 1  # the total number of votes is public, as in Mastodon
    assert get_poll(world.alice, poll.pk).options[1].votes_count is None  # as in Mastodon
    end(poll)
    ended = get_poll(world.bob, poll.pk)
    assert ended.expired and ended.totals_shown and [o.votes_count for o in ended.options] == [0, 1]


# --- The end


def test_ended_polls_notify_voters_and_author_once(world, run_tasks):
    post = poll_post(world.alice)
    poll = Poll.objects.get(post=post)
    vote(world.bob, poll.pk, [0])
    vote(world.dave, poll.pk, [1])
    vote(world.alice, poll.pk, [1])
    other = Poll.objects.get(post=poll_post(world.bob))  # still running
    run_tasks()
    assert close_expired_polls() == 0
    end(poll)
    assert close_expired_polls() == 1
    assert close_expired_polls() == 0  # already closed: not announced again
    run_tasks()
    notified = set(Notification.objects.filter(kind=Kind.POLL, post=post).values_list("recipient_id", flat=True))
    assert notified == {world.alice.pk, world.bob.pk, world.dave.pk}
    assert set(Notification.objects.filter(kind=Kind.POLL).values_list("actor_id", flat=True)) == {world.alice.pk}
    # Running the handler again (at-least-once delivery) adds nothing.
    from rostra.notifications.actions import on_poll_ended

    on_poll_ended(post.pk)
    assert Notification.objects.filter(kind=Kind.POLL).count() == 3
    other.refresh_from_db()
    assert other.closed_at is None


def test_the_periodic_task_closes_polls(world, run_tasks):
    from rostra.pipeline.tasks import close_polls_task

    poll = Poll.objects.get(post=poll_post(world.alice))
    vote(world.bob, poll.pk, [0])
    end(poll)
    close_polls_task.call_local()
    run_tasks()
    poll.refresh_from_db()
    assert poll.closed_at is not None
    assert Notification.objects.filter(kind=Kind.POLL, recipient=world.bob).count() == 1


# --- Counters always equal the votes


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    multiple=st.booleans(),
    ballots=st.lists(st.tuples(st.integers(0, 4), st.lists(st.integers(-1, 3), max_size=4)), max_size=10),
)
def test_counters_equal_the_vote_rows(world, multiple, ballots):
    voters = [world.alice, world.bob, world.carol, world.dave, world.mod]
    poll = Poll.objects.get(post=poll_post(world.admin, ["a", "b", "c"], multiple=multiple))
    for who, choices in ballots:
        try:
            vote(voters[who], poll.pk, choices)
        except ValidationError:
            pass
    poll.refresh_from_db()
    rows = PollVote.objects.filter(poll=poll)
    assert poll.votes_count == rows.count()
    assert poll.voters_count == rows.values("account").distinct().count()
    per_choice = dict(rows.values_list("choice").annotate(n=Count("id")))
    assert {o.position: o.votes_count for o in poll.options.all()} == {i: per_choice.get(i, 0) for i in range(3)}
    if not multiple:
        assert poll.votes_count == poll.voters_count
