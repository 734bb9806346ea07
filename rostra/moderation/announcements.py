"""Announcements to the instance's people: the changes of its written moderation policy.

Rostra has no free-form announcements. What it does have is a versioned policy that admins
change (``PolicyVersion``); a new version changes the rules everyone posts under, which is
exactly what an announcement is for. Each saved version is an announcement for
``ANNOUNCEMENT_DAYS`` days, shown to the people who were already here when it was saved (someone
who joined later agreed to the rules as they are). Dismissing one is remembered per account
(``AnnouncementRead``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import QuerySet

from rostra.accounts.models import Account, AnnouncementRead
from rostra.core.clock import now
from rostra.core.errors import NotFound
from rostra.moderation.models import PolicyVersion

ANNOUNCEMENT_DAYS = 30


@dataclass(frozen=True)
class Announcement:
    """A policy change as an announcement: ``id`` is the policy version."""

    id: int
    note: str  # the admin's "what changed and why" (may be empty)
    published_at: datetime
    read: bool


def _current(account: Account) -> QuerySet[PolicyVersion]:
    since = now() - timedelta(days=ANNOUNCEMENT_DAYS)
    if account.created_at is not None and account.created_at > since:
        since = account.created_at
    return PolicyVersion.objects.filter(created_at__gte=since)


def announcements(account: Account) -> list[Announcement]:
    """The current announcements for ``account``, oldest first (as Mastodon lists them), each
    with whether the account dismissed it. Two queries."""
    rows = list(_current(account).order_by("created_at", "version").values_list("version", "note", "created_at"))
    read = set(
        AnnouncementRead.objects.filter(account=account, announcement__in=[r[0] for r in rows]).values_list(
            "announcement", flat=True
        )
    )
    return [Announcement(id=v, note=note, published_at=at, read=v in read) for v, note, at in rows]


def dismiss(account: Account, announcement_id: int) -> None:
    """Mark a current announcement as read for ``account`` (idempotent); NotFound for any other id."""
    if not _current(account).filter(pk=announcement_id).exists():
        raise NotFound("Record not found")
    AnnouncementRead.objects.get_or_create(account=account, announcement=announcement_id)
