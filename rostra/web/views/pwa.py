"""The installable app: the web app manifest, the service worker and the icons."""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache

from django.conf import settings
from django.contrib.staticfiles import finders
from django.http import Http404, HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.views.decorators.http import require_GET

from rostra.web.icons import SIZES, icon_png

THEME_COLOR = "#4f46e5"
BACKGROUND_COLOR = "#ffffff"
# What the service worker keeps for offline use: the shell, never anyone's pages.
SHELL_ASSETS = ("rostra/app.css", "rostra/app.js", "vendor/htmx.min.js", "rostra/icon.svg")


@require_GET
def manifest(request: HttpRequest) -> HttpResponse:
    cfg = settings.ROSTRA
    body = {
        "name": cfg.instance_name,
        "short_name": cfg.instance_name[:12],
        "description": cfg.instance_description,
        "id": "/",
        "start_url": "/home",
        "scope": "/",
        "display": "standalone",
        "theme_color": THEME_COLOR,
        "background_color": BACKGROUND_COLOR,
        "icons": [
            {"src": "/icons/icon-192.png", "sizes": "192x192", "type": "image/png", "purpose": "any"},
            {"src": "/icons/icon-512.png", "sizes": "512x512", "type": "image/png", "purpose": "any"},
            {"src": "/icons/icon-maskable-512.png", "sizes": "512x512", "type": "image/png", "purpose": "maskable"},
            {"src": static("rostra/icon.svg"), "sizes": "any", "type": "image/svg+xml", "purpose": "any"},
        ],
        "shortcuts": [
            {"name": "New post", "url": "/compose"},
            {"name": "Notifications", "url": "/notifications"},
        ],
    }
    response = HttpResponse(json.dumps(body, indent=2), content_type="application/manifest+json")
    response["Cache-Control"] = "public, max-age=3600"
    return response


@lru_cache(maxsize=1)
def _shell_version() -> str:
    """Changes whenever a shell asset changes, so installed workers replace their cache."""
    digest = hashlib.sha256()
    for name in SHELL_ASSETS:
        path = finders.find(name)
        if path:
            with open(path, "rb") as fh:
                digest.update(fh.read())
    return digest.hexdigest()[:12]


@require_GET
def service_worker(request: HttpRequest) -> HttpResponse:
    version = _shell_version() if not settings.DEBUG else _shell_version.__wrapped__()
    shell = ["/offline", *[static(name) for name in SHELL_ASSETS], "/icons/icon-192.png"]
    body = render_to_string("rostra/sw.js", {"version": version, "shell_json": json.dumps(shell)})
    response = HttpResponse(body, content_type="application/javascript; charset=utf-8")
    response["Service-Worker-Allowed"] = "/"
    response["Cache-Control"] = "no-cache"
    return response


@require_GET
def icon(request: HttpRequest, size: int, maskable: bool = False) -> HttpResponse:
    if size not in SIZES:
        raise Http404
    response = HttpResponse(icon_png(size, maskable), content_type="image/png")
    response["Cache-Control"] = "public, max-age=604800"
    return response


def maskable_icon(request: HttpRequest, size: int) -> HttpResponse:
    return icon(request, size, maskable=True)
