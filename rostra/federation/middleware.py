"""Content negotiation on the pages people share: ``/@user`` and ``/@user/<id>``.

A browser gets the page; a server asking for ActivityStreams (``Accept: application/activity+json``
or ``application/ld+json``) gets the actor or the note, so a profile or post URL pasted into a
remote server's search resolves. The web UI never imports federation, so the choice is made here,
after URL resolution, by the name of the page's route; both answers carry ``Vary: Accept`` so
caches keep them apart.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers

from rostra.federation import views

NEGOTIATED = {"profile": views.actor, "thread": views.note}


class ContentNegotiationMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        match = request.resolver_match
        if match is not None and match.url_name in NEGOTIATED:
            patch_vary_headers(response, ("Accept",))
        return response

    def process_view(
        self, request: HttpRequest, view: Callable[..., HttpResponse], args: Any, kwargs: Any
    ) -> HttpResponse | None:
        match = request.resolver_match
        if match is None or match.url_name not in NEGOTIATED or request.method not in ("GET", "HEAD"):
            return None
        if not views.wants_activity_json(request):
            return None
        return NEGOTIATED[match.url_name](request, **kwargs)
