"""Polls as ``Question``, as Mastodon speaks them: a local poll on the wire and at its URL, remote
Questions stored with their polls and counts, local votes sent to a remote poll's author (one
Note per option), remote votes counted once, and the throttled Update of a local Question —
against a real fake remote on 127.0.0.2 that checks every signature it receives."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client

from rostra.accounts.models import Follow
from rostra.core import clock
from rostra.federation import documents, polls, uris
from rostra.federation.models import InboxState, OutboxActivity, RemotePost
from rostra.notifications.models import Kind, Notification
from rostra.posts.actions import Draft, PollDraft, create_post
from rostra.posts.models import Poll, PollOption, PollVote, Post, PostEdit
from rostra.posts.polls import close_expired_polls, vote
from rostra.testing.world import make_account
from tests.federation.content_remote import FakeRemote

pytestmark = pytest.mark.django_db


@pytest.fixture
def remote() -> Iterator[FakeRemote]:
    with FakeRemote("127.0.0.2") as server:
        yield server


def _poll_post(author, *options: str, multiple: bool = False, hide_totals: bool = False, expires_in: int = 3600) -> Post:
    draft = PollDraft(options=list(options), expires_in=expires_in, multiple=multiple, hide_totals=hide_totals)
    return create_post(author, Draft(text="Which one?", poll=draft))


def _question(remote: FakeRemote, actor: str, *options: tuple[str, int], multiple: bool = False, **extra: Any) -> dict[str, Any]:
    choices = [{"type": "Note", "name": n, "replies": {"type": "Collection", "totalItems": c}} for n, c in options]
    return remote.note(
        actor, "Tea or coffee?", type="Question", endTime="2099-01-01T00:00:00Z", **{"anyOf" if multiple else "oneOf": choices}, **extra
    )


def _stored(note: dict[str, Any]) -> Post:
    return RemotePost.objects.select_related("post").get(uri=note["id"]).post


def _vote_note(actor: str, question_id: str, name: str, number: int) -> dict[str, Any]:
    return {"id": f"{actor}#votes/{number}", "type": "Note", "name": name, "attributedTo": actor, "inReplyTo": question_id, "to": [question_id]}


# --- A local poll is a Question ---------------------------------------------------------------------


def test_a_local_poll_is_a_question_and_its_url_serves_it(run_tasks) -> None:
    alice, bob = make_account("alice"), make_account("bob")
    post = _poll_post(alice, "Tea", "Coffee")
    vote(bob, post.poll.pk, [1])
    doc = documents.note(Post.objects.get(pk=post.pk))
    assert doc["type"] == "Question" and "anyOf" not in doc
    assert doc["oneOf"] == [
        {"type": "Note", "name": "Tea", "replies": {"type": "Collection", "totalItems": 0}},
        {"type": "Note", "name": "Coffee", "replies": {"type": "Collection", "totalItems": 1}},
    ]
    assert doc["votersCount"] == 1 and doc["@context"][1]["votersCount"] == "toot:votersCount"
    assert doc["endTime"] == post.poll.expires_at.isoformat().replace("+00:00", "Z") and "closed" not in doc
    served = Client().get(f"/users/alice/statuses/{post.pk}", HTTP_ACCEPT="application/activity+json").json()
    assert served["type"] == "Question" and served["oneOf"][1]["replies"]["totalItems"] == 1
    # Several answers allowed: anyOf; totals hidden until the end: zeros
    multi = _poll_post(alice, "A", "B", multiple=True, hide_totals=True)
    vote(bob, multi.poll.pk, [0, 1])
    doc = documents.note(Post.objects.get(pk=multi.pk))
    assert "oneOf" not in doc and [o["replies"]["totalItems"] for o in doc["anyOf"]] == [0, 0] and doc["votersCount"] == 0
    Poll.objects.filter(pk=multi.poll.pk).update(expires_at=clock.now() - timedelta(seconds=1))
    close_expired_polls()
    doc = documents.note(Post.objects.get(pk=multi.pk))
    assert [o["replies"]["totalItems"] for o in doc["anyOf"]] == [1, 1] and doc["votersCount"] == 1 and doc["closed"]


# --- Remote Questions ---------------------------------------------------------------------------------


def test_a_remote_question_becomes_a_post_with_its_poll_and_updates_move_its_counts(run_tasks, remote) -> None:
    zoe = remote.actor("zoe")
    question = _question(remote, zoe, ("Tea", 3), ("Coffee", 1), votersCount=4)
    item = remote.send(zoe, "Create", question)
    run_tasks()
    item.refresh_from_db()
    assert item.state == InboxState.PROCESSED, item.outcome
    post = _stored(question)
    poll = Poll.objects.get(post=post)
    assert (poll.multiple, poll.votes_count, poll.voters_count, poll.expires_at.year) == (False, 4, 4, 2099)
    assert list(PollOption.objects.filter(poll=poll).values_list("title", "votes_count")) == [("Tea", 3), ("Coffee", 1)]
    # A local person votes; later the author's server sends new counts, then the end
    alice = make_account("alice")
    vote(alice, poll.pk, [1])
    run_tasks()
    remote.send(zoe, "Update", {**_question(remote, zoe, ("Tea", 3), ("Coffee", 5), votersCount=8), "id": question["id"]})
    run_tasks()
    assert list(PollOption.objects.filter(poll=poll).values_list("votes_count", flat=True)) == [3, 5]
    assert not PostEdit.objects.filter(post=post).exists()  # new counts are no edit
    closed = {**_question(remote, zoe, ("Tea", 3), ("Coffee", 6)), "id": question["id"], "closed": "2026-06-01T00:00:00Z"}
    remote.send(zoe, "Update", closed)
    run_tasks()
    poll.refresh_from_db()
    assert poll.closed_at is not None and poll.voters_count == 9  # one answer each: the sum of the counts
    assert Notification.objects.filter(recipient=alice, kind=Kind.POLL, post=post).count() == 1  # the voter hears it ended


def test_a_multiple_choice_question_and_a_question_that_is_no_poll(run_tasks, remote) -> None:
    zoe = remote.actor("zoe")
    multi = _question(remote, zoe, ("A", 2), ("B", 2), multiple=True)
    remote.send(zoe, "Create", multi)
    run_tasks()
    poll = Poll.objects.get(post=_stored(multi))
    assert poll.multiple and poll.voters_count == 2  # no votersCount: at least the largest option's count
    broken = remote.note(zoe, "no options", type="Question", oneOf=[{"type": "Note"}])
    item = remote.send(zoe, "Create", broken)
    run_tasks()
    item.refresh_from_db()
    assert item.state == InboxState.FAILED and "needs a name" in item.outcome
    assert not RemotePost.objects.filter(uri=broken["id"]).exists()
    empty = remote.note(zoe, "none at all", type="Question")
    item = remote.send(zoe, "Create", empty)
    run_tasks()
    item.refresh_from_db()
    assert item.state == InboxState.FAILED and "oneOf or anyOf" in item.outcome


# --- Votes out -----------------------------------------------------------------------------------------


def test_a_local_vote_on_a_remote_poll_goes_to_its_author_one_note_per_option(run_tasks, remote) -> None:
    zoe = remote.actor("zoe")
    question = _question(remote, zoe, ("Red", 0), ("Green", 0), ("Blue", 0), multiple=True)
    remote.send(zoe, "Create", question)
    run_tasks()
    alice = make_account("alice")
    remote.trust(alice)
    vote(alice, _stored(question).poll.pk, [0, 2])
    run_tasks()
    received = remote.deliver()
    assert [p for p, _ in remote.received] == ["/users/zoe/inbox", "/users/zoe/inbox"]  # the author's own inbox only
    actor = uris.actor_url("alice")
    assert sorted(b["object"]["name"] for b in received) == ["Blue", "Red"]
    for body in received:
        assert body["type"] == "Create" and body["actor"] == actor and body["to"] == [zoe]
        obj = body["object"]
        assert (obj["type"], obj["inReplyTo"], obj["attributedTo"], obj["to"]) == ("Note", question["id"], actor, [zoe])
        assert "content" not in obj
    run_tasks()  # the event again: nothing new
    assert remote.deliver() == received


# --- Votes in ------------------------------------------------------------------------------------------


def test_remote_votes_are_counted_once_per_voter_and_option(run_tasks, remote) -> None:
    alice = make_account("alice")
    single = _poll_post(alice, "Yes", "No")
    multi = _poll_post(alice, "A", "B", "C", multiple=True)
    zoe, yan = remote.actor("zoe"), remote.actor("yan")
    q1, q2 = uris.note_url("alice", single.pk), uris.note_url("alice", multi.pk)

    def send(actor: str, question: str, name: str, n: int) -> Any:
        item = remote.send(actor, "Create", _vote_note(actor, question, name, n))
        run_tasks()
        item.refresh_from_db()
        return item

    assert send(zoe, q1, "Yes", 1).state == InboxState.PROCESSED
    again = send(zoe, q1, "Yes", 2)
    assert again.state == InboxState.PROCESSED and "counted before" in again.outcome
    second = send(zoe, q1, "No", 3)
    assert second.state == InboxState.FAILED and "only one choice" in second.outcome
    assert send(yan, q1, "No", 4).state == InboxState.PROCESSED
    unknown = send(yan, q2, "Z", 5)
    assert unknown.state == InboxState.FAILED and "no option" in unknown.outcome
    for n, name in enumerate(["A", "C", "C"], start=6):
        send(zoe, q2, name, n)
    p1, p2 = Poll.objects.get(post=single), Poll.objects.get(post=multi)
    assert (p1.votes_count, p1.voters_count) == (2, 2)
    assert (p2.votes_count, p2.voters_count) == (2, 1)
    assert list(PollOption.objects.filter(poll=p2).values_list("votes_count", flat=True)) == [1, 0, 1]
    assert PollVote.objects.filter(poll__in=[p1, p2]).count() == 4
    assert Post.objects.filter(author__domain=remote.domain).count() == 0  # votes are never posts
    # An ended poll takes no more votes
    Poll.objects.filter(pk=p1.pk).update(expires_at=clock.now() - timedelta(seconds=1))
    late = send(remote.actor("xi"), q1, "Yes", 9)
    assert late.state == InboxState.FAILED and "already ended" in late.outcome


def test_new_counts_go_out_at_most_once_a_minute_and_at_the_close(run_tasks, remote) -> None:
    alice = make_account("alice")
    remote.trust(alice)
    zoe, yan, xi = remote.actor("zoe"), remote.actor("yan"), remote.actor("xi")
    Follow.objects.create(follower=remote.account("fan"), target=alice)
    post = _poll_post(alice, "Yes", "No")
    run_tasks()
    question = uris.note_url("alice", post.pk)
    assert [b["type"] for b in remote.deliver()] == ["Create"]

    def counts(body: dict[str, Any]) -> list[int]:
        return [o["replies"]["totalItems"] for o in body["object"]["oneOf"]]

    remote.send(zoe, "Create", _vote_note(zoe, question, "Yes", 1))
    run_tasks()
    updates = [b for b in remote.deliver() if b["type"] == "Update"]
    assert [counts(b) for b in updates] == [[1, 0]]  # the first change goes at once
    remote.send(yan, "Create", _vote_note(yan, question, "No", 2))
    remote.send(xi, "Create", _vote_note(xi, question, "No", 3))
    run_tasks()
    assert len([b for b in remote.deliver() if b["type"] == "Update"]) == 1  # within the minute: waits
    assert polls.flush_due(now=clock.now() + timedelta(seconds=61)) == 1
    assert polls.flush_due(now=clock.now() + timedelta(seconds=62)) == 0  # nothing changed since
    updates = [b for b in remote.deliver() if b["type"] == "Update"]
    assert [counts(b) for b in updates] == [[1, 0], [1, 2]] and updates[-1]["object"]["votersCount"] == 3
    Poll.objects.filter(pk=post.poll.pk).update(expires_at=clock.now() - timedelta(seconds=1))
    close_expired_polls()
    run_tasks()
    final = [b for b in remote.deliver() if b["type"] == "Update"][-1]
    assert final["object"]["closed"] and counts(final) == [1, 2]
    assert OutboxActivity.objects.filter(subject=question, activity_type="Update").count() == 3
