"""Opaque, time-ordered 64-bit ids.

Layout (63 bits, so it fits a signed BIGINT): 42 bits of milliseconds since 2024-01-01 UTC
(good until 2163) followed by 21 random bits. Ids sort by creation time, which keyset pagination
needs, but neighbours are 2 million random values apart, so walking ids finds nothing.
Authorisation protects data; unguessable ids are only a second wall.
"""

from __future__ import annotations

import secrets
import threading
import time
from datetime import datetime

EPOCH_MS = 1_704_067_200_000  # 2024-01-01T00:00:00Z
RANDOM_BITS = 21
_lock = threading.Lock()
_last_ms = -1
_used: set[int] = set()


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def new_id(at_ms: int | None = None) -> int:
    """A fresh id; never the same twice within this process."""
    global _last_ms
    ms = (_now_ms() if at_ms is None else at_ms) - EPOCH_MS
    if ms < 0:
        raise ValueError("ids cannot be made for times before 2024-01-01")
    with _lock:
        if at_ms is None and ms != _last_ms:
            _last_ms = ms
            _used.clear()
        while True:
            value = (ms << RANDOM_BITS) | secrets.randbits(RANDOM_BITS)
            if value not in _used:
                if at_ms is None:
                    _used.add(value)
                return value


def id_at(when: datetime) -> int:
    """An id made for a given moment (bulk loading, imports keeping their dates)."""
    return new_id(int(when.timestamp() * 1000))


def lowest_id_at(when: datetime) -> int:
    """The smallest id that can exist at a moment: for 'posts since <time>' queries."""
    return max(0, int(when.timestamp() * 1000) - EPOCH_MS) << RANDOM_BITS


def id_time_ms(value: int) -> int:
    return (value >> RANDOM_BITS) + EPOCH_MS


def parse_id(raw: object) -> int | None:
    """An id from a URL or form; None for anything that is not one (never raises)."""
    if isinstance(raw, bool):  # True is an int to Python, never an id
        return None
    if isinstance(raw, int):
        return raw if 0 < raw < (1 << 63) else None
    # ASCII digits only: str.isdigit() also accepts '²' (which int() refuses) and other scripts' digits.
    if not isinstance(raw, str) or len(raw) > 19 or not raw.isascii() or not raw.isdigit():
        return None
    value = int(raw)
    return value if 0 < value < (1 << 63) else None
