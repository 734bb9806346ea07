"""Markers: where a person stopped reading their home and notifications (Mastodon's Marker).

As in Mastodon, setting a marker overwrites it (it may move backwards) and bumps its version;
a person only ever reads and writes their own markers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.db import transaction
from django.db.models import F

from rostra.accounts.models import Account
from rostra.core.clock import now
from rostra.core.errors import ValidationError
from rostra.core.ids import parse_id
from rostra.timelines.models import Marker, MarkerTimeline

TIMELINES = tuple(MarkerTimeline.values)


def get_markers(account: Account, timelines: Iterable[str] = TIMELINES) -> dict[str, Marker]:
    """The account's markers for the named timelines that have one (unknown names are ignored)."""
    wanted = [t for t in timelines if t in TIMELINES]
    return {m.timeline: m for m in Marker.objects.filter(account_id=account.pk, timeline__in=wanted)}


def set_markers(account: Account, positions: Mapping[str, Any]) -> dict[str, Marker]:
    """Set ``{timeline: last_read_id}``; every marker given is validated before any is written."""
    if not positions:
        raise ValidationError("Name a timeline (home or notifications) and its last read id.")
    cleaned: dict[str, int] = {}
    for timeline, raw in positions.items():
        if timeline not in TIMELINES:
            raise ValidationError(f"Unknown timeline {timeline!r}: use home or notifications.", field="timeline")
        last = parse_id(raw)
        if last is None:
            raise ValidationError("last_read_id must be an id.", field=f"{timeline}[last_read_id]")
        cleaned[timeline] = last
    with transaction.atomic():
        for timeline, last in cleaned.items():
            updated = Marker.objects.filter(account_id=account.pk, timeline=timeline).update(
                last_read_id=last, version=F("version") + 1, updated_at=now()  # .update() skips auto_now
            )
            if not updated:
                Marker.objects.get_or_create(account_id=account.pk, timeline=timeline, defaults={"last_read_id": last, "version": 1})
    return get_markers(account, cleaned)

