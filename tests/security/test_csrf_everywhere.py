"""CSRF everywhere in the web UI (issue 5, item 7): every web route refuses a POST that lacks
the CSRF token, for a signed-in person, before any view code runs.

The routes are read from the URLconf, so a view added tomorrow is checked without anyone
remembering to list it. Only the OAuth token endpoints and the API, which authenticate by bearer
token and never by cookie, are exempt (Mastodon's clients post to them cross-origin).
"""

from __future__ import annotations

import re

from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from rostra.accounts.models import Account

# Bearer-token surfaces: no cookie ever authenticates them, so there is nothing to forge.
EXEMPT_PREFIXES = ("api/", "oauth/token", "oauth/revoke", ".well-known/", "nodeinfo/")
# Federation: servers authenticate by HTTP Signatures, never by cookie (rostra/federation/urls.py).
EXEMPT_PREFIXES += ("inbox", "users/")


def _routes(patterns: list, prefix: str = "") -> list[str]:
    found: list[str] = []
    for p in patterns:
        if isinstance(p, URLResolver):
            found += _routes(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            found.append(prefix + str(p.pattern))
    return found


def _concrete(route: str, username: str) -> str:
    """A real path for a route: regex groups and converters filled with plausible values."""
    route = route.lstrip("^").rstrip("$")
    route = re.sub(r"\(\?P<username>[^)]*\)", username, route)
    route = re.sub(r"\(\?P<\w+>\[0-9\][^)]*\)", "123456789012345", route)
    route = re.sub(r"\(\?P<\w+>[^)]*\)", "x", route)
    route = re.sub(r"<int:\w+>", "192", route)
    route = re.sub(r"<(?:str:|slug:|path:)?\w+>", "123456789012345", route)
    return "/" + route.replace("\\", "")


def test_every_web_post_without_the_csrf_token_is_refused(world):
    alice: Account = world.alice
    client = Client(enforce_csrf_checks=True)
    assert alice.user is not None
    client.force_login(alice.user)
    checked = 0
    for route in _routes(get_resolver().url_patterns):
        if route.lstrip("^").startswith(EXEMPT_PREFIXES):
            continue
        path = _concrete(route, alice.username)
        response = client.post(path, {"text": "forged", "confirm": "yes"})
        assert response.status_code == 403, f"POST {path} ({route}) answered {response.status_code} without a CSRF token"
        checked += 1
    assert checked > 60  # the whole web UI, not a handful


def test_the_same_post_with_the_token_goes_through(world):
    client = Client(enforce_csrf_checks=True)
    assert world.alice.user is not None
    client.force_login(world.alice.user)
    page = client.get("/compose")
    token = page.cookies["csrftoken"].value
    response = client.post("/compose", {"text": "Hello with a token", "visibility": "public", "csrfmiddlewaretoken": token})
    assert response.status_code in (200, 302)
    assert world.alice.posts.filter(text="Hello with a token").exists()
