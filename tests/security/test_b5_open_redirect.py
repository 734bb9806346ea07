"""SECURITY-TESTS B5: ``next=`` goes only to same-origin paths; OAuth redirects go only to
URIs an app registered, exactly as registered, and never to ``javascript:`` or ``data:``.

Every redirect is checked the way a browser would follow it (tabs and newlines dropped, ``\\``
read as ``/``, resolved against the page), so a Location that merely looks relative but leaves
the site fails here.
"""

from __future__ import annotations

from urllib.parse import parse_qs, quote, urljoin, urlsplit

import pytest
from django.test import Client

from rostra.accounts import actions as accounts
from rostra.api.models import Application, AuthorizationCode
from rostra.testing.world import PASSWORD, make_post

SITE = "https://rostra.example/somewhere/page"
OOB = "urn:ietf:wg:oauth:2.0:oob"
CALLBACK = "https://client.example/callback"

HOSTILE_NEXT = [
    "//evil.example",
    "//evil.example/x",
    "https://evil.example/",
    "http://evil.example",
    "HTTPS://evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/\\/evil.example",
    "\\/evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    " //evil.example",
    "///evil.example",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "java\tscript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "https:evil.example",
    "evil.example",
    "@evil.example",
]
# The same, sent percent-encoded in the raw query (once and twice): Django decodes once.
RAW_ENCODED = [
    "%2F%2Fevil.example",
    "%252F%252Fevil.example",
    "%2F%5Cevil.example",
    "%5C%5Cevil.example",
    "javascript%3Aalert(1)",
    "%09//evil.example",
]


def _browser_target(location: str) -> tuple[str, str]:
    """Where a browser goes for this Location: (scheme, host)."""
    cleaned = "".join(ch for ch in location if ch not in "\t\n\r").lstrip("".join(map(chr, range(0x21))))
    cleaned = cleaned.replace("\\", "/")
    parts = urlsplit(urljoin(SITE, cleaned))
    return parts.scheme.lower(), parts.netloc.lower()


def _assert_stays_home(response, default: str) -> None:
    assert response.status_code == 302, response.status_code
    location = response["Location"]
    assert _browser_target(location) == ("https", "rostra.example"), location
    assert location == default, location


@pytest.mark.parametrize("target", HOSTILE_NEXT)
def test_b5_open_redirect_login_next(world, target):
    # Logging in, and visiting /login while logged in, both follow next= only to this site.
    response = Client().post("/login", {"username": "alice", "password": PASSWORD, "next": target})
    _assert_stays_home(response, "/home")
    client = Client()
    client.force_login(world.alice.user)
    _assert_stays_home(client.get("/login", {"next": target}), "/home")


@pytest.mark.parametrize("raw", RAW_ENCODED)
def test_b5_open_redirect_encoded_next(world, client_for, raw):
    _assert_stays_home(client_for(world.alice).get(f"/login?next={raw}"), "/home")
    response = Client().post(f"/login?next={raw}", {"username": "alice", "password": PASSWORD})
    _assert_stays_home(response, "/home")


def test_b5_open_redirect_same_origin_paths_are_kept(world, client_for):
    # An encoded CR LF stays encoded inside this site's path: no header can be injected.
    for good in (
        "/local",
        "/@bob",
        "/tags/x?max_id=5",
        "/search?q=%2F%2Fevil.example",
        "/%0d%0aLocation:%20https://evil.example",
    ):
        response = Client().post("/login", {"username": "alice", "password": PASSWORD, "next": good})
        assert response["Location"] == good and _browser_target(good) == ("https", "rostra.example")
    # Logout takes no next= at all: it always lands on the front page.
    client = client_for(world.alice)
    assert client.post("/logout", {"next": "https://evil.example/"})["Location"] == "/"


@pytest.mark.parametrize("target", [*HOSTILE_NEXT, "%2F%2Fevil.example"])
def test_b5_open_redirect_actions_next(world, client_for, target):
    """Every form action that goes ``back`` (likes, reposts, follows, tag follows, follow
    requests, compose, delete) ignores a hostile next= and goes to its own default."""
    w = world
    post = make_post(w.bob, "a post to act on")
    accounts.follow(w.carol, w.alice)  # alice's world may make this a request; either way an answer exists
    client = client_for(w.alice)
    cases = [
        (f"/posts/{post.pk}/like", {}, "/home"),
        (f"/posts/{post.pk}/unlike", {}, "/home"),
        (f"/posts/{post.pk}/bookmark", {}, "/home"),
        (f"/posts/{post.pk}/repost", {}, "/home"),
        ("/@dave/follow", {}, "/@dave"),
        ("/@dave/unfollow", {}, "/@dave"),
        ("/tags/rostra/follow", {}, "/tags/rostra"),
        ("/tags/rostra/unfollow", {}, "/tags/rostra"),
    ]
    for url, data, default in cases:
        response = client.post(url, {**data, "next": target})
        _assert_stays_home(response, default)
    # Compose goes to the new post; deleting it goes to the author's profile.
    response = client.post("/compose", {"text": "hello", "visibility": "public", "next": target})
    assert response.status_code == 302 and _browser_target(response["Location"]) == ("https", "rostra.example")
    assert response["Location"].startswith("/@alice/")
    post_id = response["Location"].rsplit("/", 1)[1]
    response = client.post(f"/posts/{post_id}/delete", {"next": target})
    _assert_stays_home(response, "/@alice")
    # Pages that put next= into a hidden field render only a safe value there.
    for page in (f"/compose?next={quote(target)}", f"/posts/{post.pk}/delete?next={quote(target)}"):
        html = client.get(page).content.decode()
        assert "evil.example" not in html and "javascript:" not in html.lower()


# --- OAuth redirect_uri


def _register(uris: str) -> object:
    return Client().post("/api/v1/apps", {"client_name": "App", "redirect_uris": uris, "scopes": "read"})


@pytest.mark.parametrize(
    "uri",
    [
        "javascript:alert(1)",
        "JavaScript:alert(document.cookie)",
        "data:text/html,<script>alert(1)</script>",
        "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
        "vbscript:msgbox(1)",
        "file:///etc/passwd",
        "blob:https://client.example/1",
        "about:blank",
        "https:///no-host",
        "https://client.example/cb#fragment",
        "/relative/only",
        "not a uri",
    ],
)
def test_b5_open_redirect_oauth_registration_refuses_dangerous_uris(db, uri):
    response = _register(uri)
    assert response.status_code == 422, (uri, response.content)
    assert "redirect" in response.json()["error"].lower()  # Mastodon-style {"error": ...} naming the field
    # Also when hidden among good ones: nothing is registered at all.
    assert _register(f"{CALLBACK}\n{uri}").status_code == 422
    assert not Application.objects.exists()


def test_b5_open_redirect_oauth_registration_keeps_what_apps_need(db):
    for uri in (OOB, CALLBACK, "http://127.0.0.1:8912/cb", "com.example.app://oauth", "org.joinmastodon.app:/callback"):
        assert _register(uri).status_code == 200, uri


@pytest.mark.parametrize(
    "asked",
    [
        "https://evil.example/",
        CALLBACK + "/../../evil",
        CALLBACK + "x",
        CALLBACK + "/",
        CALLBACK + "?next=https://evil.example",
        CALLBACK + "#x",
        "https://client.example.evil.example/callback",
        "https://client.example@evil.example/callback",
        "HTTPS://CLIENT.EXAMPLE/callback",
        "http://client.example/callback",
        "//client.example/callback",
        OOB,
        "javascript:alert(1)",
    ],
)
def test_b5_open_redirect_oauth_redirect_uri_must_match_exactly(world, client_for, asked):
    body = _register(CALLBACK).json()
    params = {"response_type": "code", "client_id": body["client_id"], "redirect_uri": asked, "scope": "read", "state": "s"}
    browser = client_for(world.alice)
    for response in (
        browser.get("/oauth/authorize", params),
        browser.post("/oauth/authorize", {**params, "decision": "approve"}),
    ):
        # Shown here, never redirected anywhere, and no code issued.
        assert response.status_code == 400, (asked, response.status_code)
        assert not response.has_header("Location")
    assert not AuthorizationCode.objects.exists()


def test_b5_open_redirect_oauth_registered_and_oob_work(world, client_for):
    body = _register(f"{OOB}\n{CALLBACK}").json()
    browser = client_for(world.alice)
    base = {"response_type": "code", "client_id": body["client_id"], "scope": "read", "state": "s"}
    response = browser.post("/oauth/authorize", {**base, "redirect_uri": CALLBACK, "decision": "approve"})
    assert response.status_code == 302 and response["Location"].startswith(CALLBACK + "?")
    code = parse_qs(urlsplit(response["Location"]).query)["code"][0]
    # The code is bound to the redirect URI it was issued for.
    token = Client().post(
        "/oauth/token",
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": "https://evil.example/",
            "client_id": body["client_id"],
            "client_secret": body["client_secret"],
        },
    )
    assert token.status_code in (400, 401) and "access_token" not in token.json()
    response = browser.post("/oauth/authorize", {**base, "redirect_uri": OOB, "decision": "approve"})
    assert response.status_code == 200 and not response.has_header("Location")
