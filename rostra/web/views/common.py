"""Rendering shared by the timeline-like pages: a page of cards, and "load more"."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from rostra.accounts.models import Account
from rostra.core.pagination import Page, PageRequest
from rostra.posts.models import Post
from rostra.timelines.filters import apply_filters
from rostra.web.cards import cards
from rostra.web.http import is_htmx


def page_request(request: HttpRequest) -> PageRequest:
    return PageRequest.from_params(request.GET)


def more_url(request: HttpRequest, next_max_id: int | None, keep: tuple[str, ...] = ("q", "type")) -> str | None:
    """The URL of the next (older) page: this path, the kept parameters, and ``max_id``."""
    if next_max_id is None:
        return None
    params = {k: request.GET[k] for k in keep if request.GET.get(k)}
    params["max_id"] = str(next_max_id)
    return f"{request.path}?{urlencode(params)}"


def render_timeline(
    request: HttpRequest,
    template: str,
    page: Page[Post],
    viewer: Account | None,
    context: dict[str, Any] | None = None,
    *,
    empty: str = "Nothing here yet.",
    filter_context: str | None = None,
) -> HttpResponse:
    """A full page, or for htmx's "load more" just the next cards and the next link.

    With ``filter_context`` (home, public, …) the viewer's filters apply: posts a "hide" filter
    matches are left out, and those a "warn" filter matches are shown collapsed under its title."""
    items = list(page.items)
    warnings: dict[int, Any] = {}
    if viewer is not None and filter_context is not None:
        items, warnings = apply_filters(viewer, items, filter_context)
    shown = cards(items, viewer)
    for card in shown:
        card.filtered = [r.filter.title for r in warnings.get(card.post.pk, [])]
    ctx = {
        "cards": shown,
        "more_url": more_url(request, page.next_max_id),
        "empty": empty,
        **(context or {}),
    }
    if is_htmx(request) and request.GET.get("max_id"):
        response = render(request, "rostra/partials/timeline_page.html", ctx)
    else:
        response = render(request, template, ctx)
    response["Vary"] = "HX-Request, Cookie"
    return response
