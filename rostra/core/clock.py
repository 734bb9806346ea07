"""The clock. Everything that asks for 'now' asks here, so tests can move time explicitly."""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> datetime:
    return datetime.now(UTC)
