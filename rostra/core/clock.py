"""The clock. Everything that asks for 'now' asks here, so tests can move time explicitly."""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> datetime:
    return datetime.now(UTC)


def parse_iso(value: object) -> datetime | None:
    """An ISO 8601 date-time with a time zone (``Z`` or an offset), as ActivityStreams and the
    account archive write them; None for anything else (not a string, not a date, no zone)."""
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None
