"""Polls over ActivityPub, as Mastodon speaks them.

* A local post with a poll is a ``Question`` (``note_extras.add_poll``); a remote ``Question``
  arriving in a Create or Update becomes (or refreshes) a remote post's poll (``parse_question``).
* A vote is a ``Note`` with a ``name`` (the option's title), ``inReplyTo`` the Question and no
  content, one per option chosen, sent to the poll's author only. A local vote on a remote poll
  sends them (``on_poll_voted``); a remote vote on a local poll is counted
  (``posts.federated.count_remote_vote``) and never stored as a post.
* The author's server tells everyone the new counts with an ``Update`` of the Question: at most
  once a minute per poll (``QuestionSync``; ``flush_due`` sends what waited), and always when
  the poll closes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q

from rostra.accounts.models import Account
from rostra.core import clock, html
from rostra.core.errors import ValidationError
from rostra.federation import activities, delivery, uris
from rostra.federation.models import OutboxActivity, QuestionSync, RemoteActor
from rostra.posts.federated import MAX_REMOTE_OPTIONS, RemotePoll
from rostra.posts.models import Poll, PollOption, PollVote, Post

THROTTLE = timedelta(minutes=1)  # at most one Update(Question) per poll in this time


# --- Reading -----------------------------------------------------------------------------------


def _count(option: dict[str, Any]) -> int:
    replies = option.get("replies")
    total = replies.get("totalItems") if isinstance(replies, dict) else None
    return total if isinstance(total, int) and not isinstance(total, bool) and total >= 0 else 0


def parse_question(note: dict[str, Any]) -> RemotePoll | None:
    """A Question's poll (None for any other object). ValidationError when the Question is not a
    poll: no options, options without a name."""
    if note.get("type") != "Question":
        return None
    any_of, one_of = note.get("anyOf"), note.get("oneOf")
    multiple = isinstance(any_of, list) and bool(any_of)
    options = any_of if multiple else one_of
    if not isinstance(options, list) or not options:
        raise ValidationError("A Question needs its options in oneOf or anyOf.", field="poll")
    if len(options) > MAX_REMOTE_OPTIONS:
        raise ValidationError(f"A Question has at most {MAX_REMOTE_OPTIONS} options here.", field="poll")
    if any(not isinstance(o, dict) or not isinstance(o.get("name"), str) or not o["name"].strip() for o in options):
        raise ValidationError("Every option of a Question needs a name.", field="poll")
    closed = note.get("closed")
    closed_at = clock.parse_iso(closed) or (clock.now() if closed is True else None)
    voters = note.get("votersCount")
    return RemotePoll(
        titles=[o["name"] for o in options],
        counts=[_count(o) for o in options],
        multiple=multiple,
        expires_at=clock.parse_iso(note.get("endTime")) or clock.parse_iso(note.get("closed")),
        closed_at=closed_at,
        voters_count=voters if isinstance(voters, int) and not isinstance(voters, bool) else None,
    )


def vote_of(note: dict[str, Any], find_local: Callable[[str], Post | None]) -> tuple[Post, str] | None:
    """(the local poll's post, the option's title) when the Note is a vote: a ``name``, no text,
    ``inReplyTo`` a local post with a poll. None otherwise (an ordinary Note)."""
    name = note.get("name")
    if note.get("type") != "Note" or not isinstance(name, str) or not name.strip():
        return None
    content = note.get("content")
    if isinstance(content, str) and html.to_plain_text(html.sanitize(content)).strip():
        return None
    reply_to = note.get("inReplyTo")
    post = find_local(reply_to) if isinstance(reply_to, str) else None
    if post is None or not Poll.objects.filter(post_id=post.pk).exists():
        return None
    return post, name


# --- Sending: votes --------------------------------------------------------------------------------


def vote_activity(voter: Account, vote: PollVote, title: str, question_id: str, author_uri: str) -> dict[str, Any]:
    actor = uris.actor_url(voter.username)
    note_id = f"{actor}#votes/{vote.pk}"
    return {
        "@context": uris.AS_CONTEXT,
        "id": f"{note_id}/activity",
        "type": "Create",
        "actor": actor,
        "to": [author_uri],
        "object": {
            "id": note_id,
            "type": "Note",
            "name": title,
            "attributedTo": actor,
            "inReplyTo": question_id,
            "to": [author_uri],
        },
    }


def on_poll_voted(poll_id: int, account_id: int) -> None:
    """``poll.voted``: a local vote on a remote poll goes to its author, one Create(Note) per
    option; any vote on a local poll makes its counts due to be announced."""
    poll = Poll.objects.select_related("post__author").filter(pk=poll_id).first()
    voter = Account.objects.filter(pk=account_id).first()
    if poll is None or voter is None:
        return
    post = poll.post
    if post.author.is_local:
        mark_changed(poll.pk)
        return
    if not voter.is_local:
        return
    author = RemoteActor.objects.filter(account_id=post.author_id).first()
    try:
        question_id = activities.note_uri(post)
    except activities.UnknownRemote:
        return  # a remote poll whose id was never learnt: nobody to tell
    if author is None:
        return
    titles = dict(PollOption.objects.filter(poll=poll).values_list("position", "title"))
    for vote in PollVote.objects.filter(poll=poll, account=voter).order_by("choice"):
        body = vote_activity(voter, vote, titles.get(vote.choice, ""), question_id, author.uri)
        delivery.enqueue(voter, body, [author.inbox], subject=question_id)


# --- Sending: new counts ---------------------------------------------------------------------------


def mark_changed(poll_id: int, *, now: datetime | None = None) -> None:
    """A local poll's counts changed: announce them now, or when the minute since the last
    announcement is over (``flush_due``)."""
    QuestionSync.objects.get_or_create(poll_id=poll_id)
    QuestionSync.objects.filter(poll_id=poll_id).update(dirty=True)
    flush_due(now=now, poll_ids=[poll_id])


def on_poll_ended(poll_id: int) -> None:
    """``poll.ended``: a local poll closed; the Question goes out with ``closed`` at once."""
    if not Poll.objects.filter(pk=poll_id, post__author__domain="").exists():
        return  # a remote poll ended: its own server says so
    QuestionSync.objects.get_or_create(poll_id=poll_id)
    QuestionSync.objects.filter(poll_id=poll_id).update(dirty=False, sent_at=clock.now())
    _send_update(poll_id)


def flush_due(*, now: datetime | None = None, poll_ids: list[int] | None = None) -> int:
    """Send the Update of every changed local poll whose last one is at least ``THROTTLE`` old
    (a periodic task, and right after a vote). Each is claimed by one update of its row, so two
    workers never both send it. Returns how many were sent."""
    at = now or clock.now()
    due = QuestionSync.objects.filter(Q(sent_at__isnull=True) | Q(sent_at__lte=at - THROTTLE), dirty=True)
    if poll_ids is not None:
        due = due.filter(poll_id__in=poll_ids)
    sent = 0
    for row in list(due[:500]):
        with transaction.atomic():
            claimed = QuestionSync.objects.filter(pk=row.pk, dirty=True, sent_at=row.sent_at).update(dirty=False, sent_at=at)
            if claimed:
                _send_update(row.poll_id)
                sent += 1
    return sent


def _send_update(poll_id: int) -> None:
    """Update(Question) with the counts as they stand, to everyone the Create went to, today's
    audience, and the remote voters — if the post ever went out."""
    post_id = Poll.objects.filter(pk=poll_id).values_list("post_id", flat=True).first()
    post = delivery._post(post_id) if post_id is not None else None
    if post is None or post.moderation_state not in delivery.DELIVERABLE:
        return
    subject = uris.note_url(post.author.username, post.pk)
    if not OutboxActivity.objects.filter(subject=subject, activity_type="Create").exists():
        return  # never federated: nobody out there knows the poll
    voters = PollVote.objects.filter(poll_id=poll_id).exclude(account__domain="").values_list("account_id", flat=True)
    audience = delivery._post_audience(post) | delivery._sent_to(subject) | delivery._inboxes(voters)
    delivery.enqueue(post.author, activities.update_note(post), audience, subject=subject)


__all__ = ["flush_due", "mark_changed", "on_poll_ended", "on_poll_voted", "parse_question", "vote_activity", "vote_of"]
