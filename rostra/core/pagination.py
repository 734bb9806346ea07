"""Keyset pagination by opaque id: ``max_id`` (older than), ``min_id`` / ``since_id`` (newer)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.db.models import QuerySet

from rostra.core.ids import parse_id

T = TypeVar("T")

DEFAULT_LIMIT = 20
MAX_LIMIT = 40


@dataclass(frozen=True)
class PageRequest:
    max_id: int | None = None
    min_id: int | None = None
    since_id: int | None = None
    limit: int = DEFAULT_LIMIT

    @classmethod
    def from_params(cls, params: Mapping[str, Any], *, default_limit: int = DEFAULT_LIMIT) -> PageRequest:
        try:
            limit = int(params.get("limit", default_limit))
        except (TypeError, ValueError, OverflowError):  # OverflowError: a JSON body may say Infinity
            limit = default_limit
        return cls(
            max_id=parse_id(params.get("max_id")),
            min_id=parse_id(params.get("min_id")),
            since_id=parse_id(params.get("since_id")),
            limit=max(1, min(MAX_LIMIT, limit)),
        )


@dataclass
class Page(Generic[T]):
    items: list[T]
    next_max_id: int | None  # pass as max_id for older items
    prev_min_id: int | None  # pass as min_id for newer items


def paginate(qs: QuerySet[Any], req: PageRequest, *, key: str = "id") -> Page[Any]:
    """Newest first. ``min_id`` pages walk forward from a point (the items just above it)."""
    if req.max_id is not None:
        qs = qs.filter(**{f"{key}__lt": req.max_id})
    if req.since_id is not None:
        qs = qs.filter(**{f"{key}__gt": req.since_id})
    if req.min_id is not None:
        items = list(qs.filter(**{f"{key}__gt": req.min_id}).order_by(key)[: req.limit])
        items.reverse()
    else:
        items = list(qs.order_by(f"-{key}")[: req.limit])
    if not items:
        return Page(items=[], next_max_id=None, prev_min_id=None)
    first, last = getattr(items[0], key), getattr(items[-1], key)
    return Page(items=items, next_max_id=last if len(items) == req.limit else None, prev_min_id=first)
