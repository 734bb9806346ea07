"""Every write to polls: checking a draft poll, writing it with its post, voting, and closing.

The limits are Mastodon's and are not settings: clients read them from the instance's
configuration and a federated poll must fit them everywhere. Reads (a poll as a viewer sees it)
are in ``posts.queries``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F

from rostra.accounts.models import Account
from rostra.core import clock, events
from rostra.core.errors import NotFound, PermissionDenied, ValidationError
from rostra.posts.models import Poll, PollOption, PollVote, Post
from rostra.posts.queries import visible_posts

MAX_OPTIONS = 4
MIN_OPTIONS = 2
MAX_OPTION_CHARS = 50
MIN_EXPIRATION_S = 5 * 60
MAX_EXPIRATION_S = 2_629_746  # Mastodon's 1.month (30.44 days)


@dataclass(frozen=True)
class PollDraft:
    options: Sequence[str]
    expires_in: int  # seconds from now
    multiple: bool = False
    hide_totals: bool = False


def check_poll(draft: PollDraft, *, has_media: bool) -> list[str]:
    """The cleaned option titles; ValidationError (field "poll") listing every problem otherwise."""
    problems: list[str] = []
    if has_media:
        problems.append("A post can have images or a poll, not both.")
    options = [(o or "").replace("\x00", "").strip() for o in draft.options]
    if len(options) < MIN_OPTIONS:
        problems.append(f"A poll needs at least {MIN_OPTIONS} options.")
    if len(options) > MAX_OPTIONS:
        problems.append(f"A poll can have at most {MAX_OPTIONS} options.")
    if any(not o for o in options):
        problems.append("Poll options cannot be empty.")
    if any(len(o) > MAX_OPTION_CHARS for o in options):
        problems.append(f"A poll option is at most {MAX_OPTION_CHARS} characters.")
    if len({o.casefold() for o in options if o}) < len([o for o in options if o]):
        problems.append("Poll options must all be different.")
    expires_in = draft.expires_in
    if isinstance(expires_in, bool) or not isinstance(expires_in, int):
        problems.append("Choose how long the poll runs.")
    elif expires_in < MIN_EXPIRATION_S:
        problems.append(f"A poll runs for at least {MIN_EXPIRATION_S // 60} minutes.")
    elif expires_in > MAX_EXPIRATION_S:
        problems.append("A poll runs for at most a month.")
    if problems:
        raise ValidationError(problems[0], errors={"poll": problems})
    return options


def write_poll(post: Post, draft: PollDraft, options: list[str], created: datetime) -> Poll:
    """Inside the post's transaction: the poll and its options (already checked by check_poll)."""
    poll = Poll.objects.create(
        post=post, multiple=bool(draft.multiple), hide_totals=bool(draft.hide_totals),
        expires_at=created + timedelta(seconds=draft.expires_in),
    )
    PollOption.objects.bulk_create([PollOption(poll=poll, position=i, title=t) for i, t in enumerate(options)])
    return poll


def vote(account: Account, poll_id: int, choices: Sequence[int]) -> Poll:
    """Vote once on a poll the account can see (its author included, as in Mastodon).

    Raises NotFound (no such poll, or its post is not visible), ValidationError (ended, already
    voted, wrong number of choices, unknown or repeated choice). Returns the updated poll.
    """
    if account.suspended_at is not None:
        raise PermissionDenied("Your account is suspended.")
    # The door: a poll on a post you may not see answers like one that does not exist.
    if not visible_posts(account).filter(poll__pk=poll_id).exists():
        raise NotFound("No such poll.")
    picked = list(choices)
    with transaction.atomic():
        # Lock the poll row so two requests of one voter cannot both pass the "already voted" check.
        poll = Poll.objects.select_for_update().get(pk=poll_id)
        if poll.expires_at <= clock.now():
            raise ValidationError("The poll has already ended.", field="choices")
        if PollVote.objects.filter(poll=poll, account=account).exists():
            raise ValidationError("You have already voted on this poll.", field="choices")
        n_options = PollOption.objects.filter(poll=poll).count()
        if not picked:
            raise ValidationError("Choose an option to vote.", field="choices")
        if not poll.multiple and len(picked) > 1:
            raise ValidationError("This poll allows only one choice.", field="choices")
        if len(set(picked)) != len(picked):
            raise ValidationError("Each option can be chosen only once.", field="choices")
        if any(isinstance(c, bool) or not isinstance(c, int) or not 0 <= c < n_options for c in picked):
            raise ValidationError("The chosen vote option does not exist.", field="choices")
        PollVote.objects.bulk_create([PollVote(poll=poll, account=account, choice=c) for c in picked])
        PollOption.objects.filter(poll=poll, position__in=picked).update(votes_count=F("votes_count") + 1)
        Poll.objects.filter(pk=poll.pk).update(votes_count=F("votes_count") + len(picked), voters_count=F("voters_count") + 1)
        events.emit("poll.voted", poll_id=poll.pk, post_id=poll.post_id, account_id=account.pk)
    poll.refresh_from_db()
    return poll


def poll_unchanged(post: Post, draft: PollDraft | None) -> bool:
    """Whether an edit's poll is the post's poll as it stands (same options in the same order and
    the same ``multiple``; the duration and ``hide_totals`` are not compared), or both are absent. Editing a poll is not supported: clients
    resend the poll unchanged with every edit, and that must keep working."""
    poll = Poll.objects.filter(post=post).first()
    if poll is None or draft is None:
        return poll is None and draft is None
    titles = list(PollOption.objects.filter(poll=poll).order_by("position").values_list("title", flat=True))
    wanted = [(o or "").replace("\x00", "").strip() for o in draft.options]
    return titles == wanted and poll.multiple == bool(draft.multiple)


def close_expired_polls(limit: int = 500) -> int:
    """Mark polls whose time is up as closed and announce each once ("poll.ended"). Idempotent."""
    due = list(
        Poll.objects.filter(closed_at__isnull=True, expires_at__lte=clock.now()).order_by("expires_at").values_list("pk", "post_id")[:limit]
    )
    closed = 0
    for poll_id, post_id in due:
        with transaction.atomic():
            # Only the run that flips closed_at announces: a second worker finds nothing to do.
            if Poll.objects.filter(pk=poll_id, closed_at__isnull=True).update(closed_at=clock.now()):
                events.emit("poll.ended", poll_id=poll_id, post_id=post_id)
                closed += 1
    return closed


__all__ = [
    "MAX_EXPIRATION_S", "MAX_OPTIONS", "MAX_OPTION_CHARS", "MIN_EXPIRATION_S", "MIN_OPTIONS", "PollDraft",
    "check_poll", "close_expired_polls", "poll_unchanged", "vote", "write_poll",
]
