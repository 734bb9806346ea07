"""Mastodon's OAuth scopes and how they imply one another.

A parent scope implies its children (``read`` → ``read:statuses``; ``admin:read`` →
``admin:read:accounts``), and ``follow`` implies the follow-, block- and mute-related read and
write scopes, as in Mastodon 4.x.
"""

from __future__ import annotations

from collections.abc import Iterable

READ = (
    "accounts",
    "blocks",
    "bookmarks",
    "favourites",
    "filters",
    "follows",
    "lists",
    "mutes",
    "notifications",
    "search",
    "statuses",
)
WRITE = (
    "accounts",
    "blocks",
    "bookmarks",
    "conversations",
    "favourites",
    "filters",
    "follows",
    "lists",
    "media",
    "mutes",
    "notifications",
    "reports",
    "statuses",
)
ADMIN = ("accounts", "reports", "domain_allows", "domain_blocks", "ip_blocks", "email_domain_blocks", "canonical_email_blocks")
FOLLOW_IMPLIES = frozenset({"read:follows", "read:blocks", "read:mutes", "write:follows", "write:blocks", "write:mutes"})

TOP_LEVEL = ("read", "write", "follow", "push", "profile", "admin:read", "admin:write")
ALL: tuple[str, ...] = (
    *TOP_LEVEL,
    *(f"read:{s}" for s in READ),
    *(f"write:{s}" for s in WRITE),
    *(f"admin:read:{s}" for s in ADMIN),
    *(f"admin:write:{s}" for s in ADMIN),
)
_KNOWN = frozenset(ALL)


class ScopeError(ValueError):
    """A scope that Mastodon does not define."""


def parse(raw: str | Iterable[str] | None, *, default: str = "read") -> frozenset[str]:
    """A scope string ("read write", or "read+write" as some clients send it) to a set; unknown scopes raise."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        raw = default
    words = raw.replace("+", " ").split() if isinstance(raw, str) else [w for s in raw for w in s.split()]
    unknown = sorted(set(words) - _KNOWN)
    if unknown:
        raise ScopeError(f"Unknown scope: {' '.join(unknown)}")
    return frozenset(words)


def implied_by(scope: str) -> frozenset[str]:
    """Every scope that grants ``scope``: itself and its parents."""
    out = {scope}
    parts = scope.split(":")
    for i in range(1, len(parts)):
        out.add(":".join(parts[:i]))
    out.discard("admin")  # "admin" alone is not a scope
    if scope in FOLLOW_IMPLIES:
        out.add("follow")
    return frozenset(out)


def covers(granted: Iterable[str], scope: str) -> bool:
    """Whether the granted scopes include ``scope`` directly or through a parent."""
    return not implied_by(scope).isdisjoint(set(granted))


def all_covered(granted: Iterable[str], requested: Iterable[str]) -> bool:
    granted = set(granted)
    return all(covers(granted, s) for s in requested)


def to_string(scopes: Iterable[str]) -> str:
    """A stable, readable order: the order of ``ALL``."""
    chosen = set(scopes)
    return " ".join(s for s in ALL if s in chosen)
