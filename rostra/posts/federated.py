"""Writes for what other servers bring besides a post's text: the post a remote post quotes, a
remote poll (a ``Question``) and its counts, and remote people's votes on local polls.

Federation parses the wire and calls these; each authorises as the local equivalent does (a
quote as ``check_draft`` does, a vote as ``polls.vote`` does) and raises domain errors.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F

from rostra.accounts.models import Account, Block
from rostra.core import clock, events
from rostra.core.errors import NotFound, ValidationError
from rostra.posts import policies
from rostra.posts.models import Poll, PollOption, PollVote, Post, QuoteState
from rostra.posts.queries import visible_among, visible_posts

MAX_REMOTE_OPTIONS = 20  # more than any server allows today; a longer list is refused
MAX_REMOTE_TITLE = 200
OPEN_ENDED = timedelta(days=3650)  # a Question without endTime: Poll needs an end, this is "never"


# --- Quotes ---------------------------------------------------------------------------------------


def attach_quote(post: Post, quoted: Post) -> bool:
    """Let a remote post quote ``quoted``, as a local quote is let: the quoted post is public or
    unlisted, its author can see it, and the quoted author does not block them. True when the
    quote holds (set now or before); False when it is not allowed (the post stays unquoted)."""
    if post.quote_of_id is not None:
        return post.quote_of_id == quoted.pk
    author = post.author
    if quoted.pk == post.pk or quoted.pk not in visible_among(author, [quoted.pk]):
        return False
    if not policies.can_quote(author, quoted) or Block.objects.filter(account_id=quoted.author_id, target=author).exists():
        return False
    with transaction.atomic():
        changed = Post.objects.filter(pk=post.pk, quote_of__isnull=True).update(quote_of=quoted, quote_state=QuoteState.ACCEPTED)
        if changed:
            Post.objects.filter(pk=quoted.pk).update(quotes_count=F("quotes_count") + 1)
    post.quote_of, post.quote_state = quoted, QuoteState.ACCEPTED
    return True


# --- Remote polls ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RemotePoll:
    """A poll as another server describes it (already parsed from its Question)."""

    titles: Sequence[str]
    counts: Sequence[int]
    multiple: bool
    expires_at: datetime | None
    closed_at: datetime | None
    voters_count: int | None  # None: the server did not say (then: the largest option count)


def _check(remote: RemotePoll) -> list[str]:
    titles = [t.replace("\x00", "").strip()[:MAX_REMOTE_TITLE] for t in remote.titles]
    if not 1 <= len(titles) <= MAX_REMOTE_OPTIONS:
        raise ValidationError(f"A poll has between 1 and {MAX_REMOTE_OPTIONS} options.", field="poll")
    if any(not t for t in titles) or len(remote.counts) != len(titles) or any(c < 0 for c in remote.counts):
        raise ValidationError("Every poll option needs a name and a count of at least 0.", field="poll")
    return titles


def _voters(remote: RemotePoll) -> int:
    if remote.voters_count is not None and remote.voters_count >= 0:
        return remote.voters_count
    return max(remote.counts, default=0) if remote.multiple else sum(remote.counts)


def write_remote_poll(post: Post, remote: RemotePoll) -> Poll:
    """A remote post's poll with the counts its server reported. Call inside the post's transaction."""
    if post.author.is_local:
        raise ValidationError("Only remote posts get their poll from another server.")
    titles = _check(remote)
    closed = remote.closed_at
    poll = Poll.objects.create(
        post=post,
        multiple=remote.multiple,
        expires_at=remote.expires_at or closed or post.created_at + OPEN_ENDED,
        votes_count=sum(remote.counts),
        voters_count=_voters(remote),
        closed_at=closed,
    )
    PollOption.objects.bulk_create(
        [PollOption(poll=poll, position=i, title=t, votes_count=c) for i, (t, c) in enumerate(zip(titles, remote.counts, strict=True))]
    )
    return poll


def update_remote_poll(post: Post, remote: RemotePoll) -> Poll | None:
    """New counts (and end) of a remote poll, from an Update of its Question. Options renamed or
    added make a new poll: the votes given here no longer mean anything, so they go (as Mastodon)."""
    if post.author.is_local:
        raise ValidationError("Only remote posts get their poll from another server.")
    titles = _check(remote)
    with transaction.atomic():
        poll = Poll.objects.select_for_update().filter(post=post).first()
        if poll is None:
            return write_remote_poll(post, remote)
        known = list(PollOption.objects.filter(poll=poll).order_by("position").values_list("title", flat=True))
        if known != titles:
            PollVote.objects.filter(poll=poll).delete()
            PollOption.objects.filter(poll=poll).delete()
            PollOption.objects.bulk_create([PollOption(poll=poll, position=i, title=t) for i, t in enumerate(titles)])
        for position, count in enumerate(remote.counts):
            PollOption.objects.filter(poll=poll, position=position).update(votes_count=count)
        was_open = poll.closed_at is None
        poll.multiple = remote.multiple
        poll.votes_count, poll.voters_count = sum(remote.counts), _voters(remote)
        if remote.expires_at is not None:
            poll.expires_at = remote.expires_at
        if remote.closed_at is not None and was_open:
            poll.closed_at, poll.expires_at = remote.closed_at, min(poll.expires_at, remote.closed_at)
        poll.save(update_fields=["multiple", "votes_count", "voters_count", "expires_at", "closed_at"])
        if remote.closed_at is not None and was_open:
            events.emit("poll.ended", poll_id=poll.pk, post_id=post.pk)  # local voters hear of it
    return poll


# --- Remote votes on local polls ------------------------------------------------------------------


def count_remote_vote(voter: Account, post_id: int, title: str) -> bool:
    """A remote person's vote for the option named ``title`` of a local poll (one vote Note per
    option chosen). Counted once per voter and option; a single-choice poll counts a voter's first
    option only. True when counted now, False when it was counted before. Raises NotFound (no
    poll here that the voter may see) or ValidationError (ended, unknown option, second choice)."""
    if voter.is_local:
        raise ValidationError("Local votes go through polls.vote.")
    if not visible_posts(voter).filter(pk=post_id, author__domain="", poll__isnull=False).exists():
        raise NotFound("No such poll.")
    with transaction.atomic():
        poll = Poll.objects.select_for_update().get(post_id=post_id)
        if poll.closed_at is not None or poll.expires_at <= clock.now():
            raise ValidationError("The poll has already ended.", field="choices")
        choice = PollOption.objects.filter(poll=poll, title=title.strip()).values_list("position", flat=True).first()
        if choice is None:
            raise ValidationError("The vote names no option of this poll.", field="choices")
        earlier = set(PollVote.objects.filter(poll=poll, account=voter).values_list("choice", flat=True))
        if choice in earlier:
            return False
        if earlier and not poll.multiple:
            raise ValidationError("This poll allows only one choice, and this voter's vote was already counted.", field="choices")
        PollVote.objects.create(poll=poll, account=voter, choice=choice)
        PollOption.objects.filter(poll=poll, position=choice).update(votes_count=F("votes_count") + 1)
        Poll.objects.filter(pk=poll.pk).update(
            votes_count=F("votes_count") + 1, voters_count=F("voters_count") + (0 if earlier else 1)
        )
        events.emit("poll.voted", poll_id=poll.pk, post_id=post_id, account_id=voter.pk)
    return True


__all__ = ["RemotePoll", "attach_quote", "count_remote_vote", "update_remote_poll", "write_remote_poll"]
