"""Scheduled posts: write now, publish later (Mastodon's scheduled statuses).

``schedule_post`` checks the draft as ``create_post`` would (text, media, poll, reply and quote
targets, mentions for a direct post) but neither screens nor publishes it. A periodic task
(``publish_due``, every minute) publishes due ones through ``create_post``, so the moderation
gate screens them at publish time, exactly like a post written then.

A scheduled post that cannot be published when due (the gate refuses it, the post it replies to
is gone, its author is suspended) is dropped: its row is deleted, its images are released
(unattached, still the author's), and the refusal is recorded by the moderation gate as for any
refused post. Publishing is idempotent: the post is created and the row deleted in one
transaction, so a task run twice (or two workers) publishes once.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import QuerySet

from rostra.accounts.models import Account
from rostra.core.clock import now
from rostra.core.errors import DomainError, NotFound, PermissionDenied, ValidationError
from rostra.core.pagination import Page, PageRequest, paginate
from rostra.posts.actions import Draft, check_draft, create_post
from rostra.posts.models import Media, Post, ScheduledPost, Visibility
from rostra.posts.polls import PollDraft

log = logging.getLogger(__name__)

MIN_LEAD = timedelta(minutes=5)
MAX_PENDING = 300
MAX_PER_DAY = 25
TOO_SOON = "scheduled_at must be at least 5 minutes in the future"


def _check_time(scheduled_at: datetime) -> datetime:
    if scheduled_at.tzinfo is None:
        raise ValidationError("scheduled_at needs a time zone (e.g. 2030-01-01T12:00:00Z)", field="scheduled_at")
    if scheduled_at < now() + MIN_LEAD:
        raise ValidationError(TOO_SOON, field="scheduled_at")
    return scheduled_at


def _check_quota(author: Account, scheduled_at: datetime, *, exclude: int | None = None) -> None:
    mine = ScheduledPost.objects.filter(account=author)
    if exclude is not None:
        mine = mine.exclude(pk=exclude)
    if exclude is None and mine.count() >= MAX_PENDING:
        raise ValidationError(f"You can have at most {MAX_PENDING} scheduled posts", field="scheduled_at")
    day = scheduled_at.replace(hour=0, minute=0, second=0, microsecond=0)
    if mine.filter(scheduled_at__gte=day, scheduled_at__lt=day + timedelta(days=1)).count() >= MAX_PER_DAY:
        raise ValidationError(f"You can schedule at most {MAX_PER_DAY} posts for one day", field="scheduled_at")


def _check_draft(author: Account, draft: Draft) -> list[Media]:
    """Everything ``create_post`` checks before screening, without writing anything."""
    if author.suspended_at is not None:
        raise PermissionDenied("Your account is suspended.")
    return check_draft(author, draft).media


def draft_params(draft: Draft) -> dict[str, Any]:
    """The draft as stored (and as Mastodon's ScheduledStatus ``params`` shows it)."""
    return {
        "text": draft.text,
        "visibility": draft.visibility,
        "spoiler_text": draft.spoiler_text or None,
        "sensitive": bool(draft.sensitive),
        "in_reply_to_id": draft.in_reply_to_id,
        "quote_of_id": draft.quote_of_id,
        "media_ids": [int(m) for m in draft.media_ids] or None,
        "language": draft.language or None,
        "idempotency": draft.idempotency_key,
        "poll": asdict(draft.poll) if draft.poll is not None else None,
    }


def draft_of(row: ScheduledPost) -> Draft:
    p = row.params
    poll = p.get("poll")
    return Draft(
        text=p.get("text") or "",
        visibility=p.get("visibility") or Visibility.PUBLIC,
        spoiler_text=p.get("spoiler_text") or "",
        sensitive=bool(p.get("sensitive")),
        in_reply_to_id=p.get("in_reply_to_id"),
        quote_of_id=p.get("quote_of_id"),
        media_ids=tuple(p.get("media_ids") or ()),
        language=p.get("language") or "",
        idempotency_key=f"scheduled:{row.pk}",
        poll=PollDraft(options=tuple(poll["options"]), expires_in=int(poll["expires_in"]), multiple=bool(poll.get("multiple")), hide_totals=bool(poll.get("hide_totals"))) if poll else None,
    )


def schedule_post(author: Account, draft: Draft, scheduled_at: datetime) -> ScheduledPost:
    """Check ``draft`` now and keep it for ``scheduled_at``. ValidationError/NotFound: nothing written."""
    _check_time(scheduled_at)
    if draft.idempotency_key:
        earlier = ScheduledPost.objects.filter(account=author, params__idempotency=draft.idempotency_key).first()
        if earlier is not None:
            return earlier
    media = _check_draft(author, draft)
    with transaction.atomic():
        _check_quota(author, scheduled_at)
        row = ScheduledPost.objects.create(account=author, scheduled_at=scheduled_at, params=draft_params(draft))
        if media:
            row.media.set(media)
    return row


def scheduled_posts(author: Account) -> QuerySet[ScheduledPost]:
    return ScheduledPost.objects.filter(account=author).prefetch_related("media")


def scheduled_page(author: Account, req: PageRequest) -> Page[ScheduledPost]:
    """The author's scheduled posts, newest first, paged by id as Mastodon pages them."""
    page = paginate(ScheduledPost.objects.filter(account=author), req)
    by_id = {r.pk: r for r in scheduled_posts(author).filter(pk__in=[r.pk for r in page.items])}
    return Page(items=[by_id[r.pk] for r in page.items if r.pk in by_id], next_max_id=page.next_max_id, prev_min_id=page.prev_min_id)


def get_scheduled(author: Account, scheduled_id: Any) -> ScheduledPost:
    """One of the author's scheduled posts; someone else's answers like a missing one."""
    try:
        pk = int(scheduled_id)
    except (TypeError, ValueError):
        raise NotFound("Record not found") from None
    row = scheduled_posts(author).filter(pk=pk).first()
    if row is None:
        raise NotFound("Record not found")
    return row


def reschedule(author: Account, scheduled_id: Any, scheduled_at: datetime) -> ScheduledPost:
    row = get_scheduled(author, scheduled_id)
    _check_time(scheduled_at)
    with transaction.atomic():
        _check_quota(author, scheduled_at, exclude=row.pk)
        row.scheduled_at = scheduled_at
        row.save(update_fields=["scheduled_at"])
    return row


def cancel(author: Account, scheduled_id: Any) -> None:
    """Forget a scheduled post; its images are released (unattached, still the author's)."""
    row = get_scheduled(author, scheduled_id)
    row.delete()


def media_of(row: ScheduledPost) -> list[Media]:
    order = {mid: i for i, mid in enumerate(row.params.get("media_ids") or ())}
    return sorted(row.media.all(), key=lambda m: order.get(m.pk, len(order)))


def publish(row_id: int) -> Post | None:
    """Publish one due scheduled post (or drop it if it cannot be published). Idempotent."""
    with transaction.atomic():
        row = ScheduledPost.objects.select_for_update().filter(pk=row_id, scheduled_at__lte=now()).select_related("account").first()
        if row is None:
            return None  # already published, cancelled or rescheduled
        draft = draft_of(row)
        row.media.clear()  # the reservation ends: create_post attaches the images to the post
        try:
            # Not in a savepoint of its own: a refusal's record by the gate must be kept.
            post = create_post(row.account, draft)
        except DomainError as exc:
            log.info("scheduled post %s dropped: %s", row.pk, exc.message)
            row.delete()
            return None
        row.delete()
    return post


def publish_due(limit: int = 500) -> int:
    """Publish every scheduled post whose time has come; the number published."""
    due: Sequence[int] = list(ScheduledPost.objects.filter(scheduled_at__lte=now()).order_by("scheduled_at").values_list("pk", flat=True)[:limit])
    published = 0
    for pk in due:
        try:
            if publish(pk) is not None:
                published += 1
        except Exception:
            log.exception("scheduled post %s could not be published; will retry", pk)
    return published
