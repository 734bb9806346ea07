"""Keyset pagination by opaque id: ``max_id`` (older than), ``min_id`` / ``since_id`` (newer)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
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


def paginate_kept(
    qs: QuerySet[Any], req: PageRequest, keep: Callable[[list[Any]], list[Any]], *, key: str = "id", max_scan: int = 4000
) -> Page[Any]:
    """``paginate`` for a condition asked in Python of each fetched chunk: ``keep`` returns the
    items of a chunk it lets through, in their order (e.g. those whose post the visibility door,
    as a prepared query, lets through). When it drops some, more rows are fetched (twice as many
    each time) until the page is full or the rows run out, so dropped items never shorten a page.
    One request reads at most about ``max_scan`` rows: past that, a short page says where the
    next one starts (``next_max_id``, or ``prev_min_id`` walking up), so a client pages on."""
    if req.max_id is not None:
        qs = qs.filter(**{f"{key}__lt": req.max_id})
    if req.since_id is not None:
        qs = qs.filter(**{f"{key}__gt": req.since_id})
    ascending = req.min_id is not None
    qs = qs.filter(**{f"{key}__gt": req.min_id}).order_by(key) if ascending else qs.order_by(f"-{key}")
    kept: list[Any] = []
    count, cursor, scanned, stopped = req.limit, None, 0, False
    while True:
        chunk_qs = qs if cursor is None else qs.filter(**{f"{key}__gt" if ascending else f"{key}__lt": cursor})
        chunk = list(chunk_qs[:count])
        scanned += len(chunk)
        kept.extend(keep(chunk) if chunk else [])
        if len(kept) >= req.limit or len(chunk) < count:
            break
        cursor = getattr(chunk[-1], key)
        if scanned >= max_scan:
            stopped = True
            break
        count = min(count * 2, 800)
    items = kept[: req.limit]
    if ascending:
        items.reverse()
    if stopped:  # short because this request read enough: the client continues from the cursor
        first = getattr(items[0], key) if items else None
        last = getattr(items[-1], key) if items else None
        return Page(items=items, next_max_id=last, prev_min_id=cursor) if ascending else Page(items=items, next_max_id=cursor, prev_min_id=first)
    if not items:
        return Page(items=[], next_max_id=None, prev_min_id=None)
    first, last = getattr(items[0], key), getattr(items[-1], key)
    return Page(items=items, next_max_id=last if len(items) == req.limit else None, prev_min_id=first)
