"""Who is active: ``Account.last_active_at``, refreshed at most once an hour when a person uses
the web (a signed-in session) or the API (a token). Fan-out skips followers away for longer than
``ROSTRA_INACTIVE_DAYS``; when one comes back, the refresh notices the gap and rebuilds their
home timeline before the request that brought them back reads it.
"""

from __future__ import annotations

from datetime import timedelta

from rostra.accounts.models import Account
from rostra.core import clock
from rostra.timelines.actions import active_cutoff, rebuild_home

RESOLUTION = timedelta(hours=1)


def note_active(account: Account | None) -> bool:
    """Refresh ``account.last_active_at`` if it is more than an hour old (a comparison on the
    loaded row otherwise: no query). Returns True when the home timeline was rebuilt."""
    if account is None or account.pk is None or not account.is_local:
        return False
    now = clock.now()
    last = account.last_active_at
    if last is not None and now - last < RESOLUTION:
        return False
    # Only the request that moves the date rebuilds (two racing requests: one wins the update).
    moved = Account.objects.filter(pk=account.pk, last_active_at=last).update(last_active_at=now)
    account.last_active_at = now
    if moved and last is not None and last < active_cutoff():
        rebuild_home(account.pk)
        return True
    return False
