"""A separate media origin (issue 5, item 4; catalogue C5): with ROSTRA_MEDIA_URL every image URL
points at another host, which serves /media/ and nothing else, gets no cookie of the site, and
opens non-public images only by a viewer's grant, checked through the door at fetch time. An
uploaded file can then never run as, or be read as, part of the site's own origin."""

from __future__ import annotations

import dataclasses
import re

import pytest
from django.test import Client

from rostra.posts.actions import Draft, create_post, upload_media
from rostra.testing.images import png_bytes
from tests.api.conftest import bearer, password_token, register  # noqa: F401 - fixtures
from tests.api.test_media_grants import _path

MEDIA = "http://media.testserver"


@pytest.fixture
def media_origin(settings, media_dir):
    settings.ROSTRA = dataclasses.replace(settings.ROSTRA, media_url=MEDIA)
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver", "media.testserver"]
    return MEDIA


def _on_media_host(url: str) -> Client:
    assert url.startswith(MEDIA + "/media/"), url
    return Client(HTTP_HOST="media.testserver")


def _followers_only_image(world):  # type: ignore[no-untyped-def]
    media = upload_media(world.alice, png_bytes(), description="for followers")
    post = create_post(world.alice, Draft(text="followers only", visibility="private", media_ids=[media.pk]))
    public = upload_media(world.alice, png_bytes(color=(1, 2, 3)), description="for all")
    create_post(world.alice, Draft(text="for everyone", visibility="public", media_ids=[public.pk]))
    return post, media, public


def test_pages_point_images_at_the_media_origin_with_the_viewers_grant(world, client_for, media_origin):
    post, media, public = _followers_only_image(world)
    page = client_for(world.bob).get(f"/@alice/{post.pk}")  # bob follows alice
    assert page.status_code == 200
    html = page.content.decode()
    urls = re.findall(r'src="(http://media\.testserver/media/[^"]+)"', html)
    assert urls and all("?g=" in u for u in urls)
    for url in urls:
        r = _on_media_host(url).get(_path(url.replace("&amp;", "&")))  # no cookie travels to the media host
        assert r.status_code == 200 and r["Cross-Origin-Resource-Policy"] == "cross-origin"
        assert r["X-Content-Type-Options"] == "nosniff" and "sandbox" in r["Content-Security-Policy"]
        assert "Set-Cookie" not in r
    # The page allows images from the media origin, and no script from it.
    csp = page["Content-Security-Policy"]
    assert f"img-src 'self' {MEDIA}" in csp and MEDIA not in csp.split("script-src", 1)[1].split(";", 1)[0]
    # Without a grant the media host opens only what anybody may see.
    assert Client(HTTP_HOST="media.testserver").get(f"/media/{media.file}").status_code == 404
    assert Client(HTTP_HOST="media.testserver").get(f"/media/{public.file}").status_code == 200
    # A stranger's page has no grant for it, and a grant is the viewer's own.
    stranger = client_for(world.carol).get(f"/@alice/{post.pk}")
    assert stranger.status_code == 404


def test_the_api_and_feeds_point_at_the_media_origin(world, password_token, media_origin):  # noqa: F811 - fixture
    post, media, public = _followers_only_image(world)
    status = bearer(password_token(world.bob)).get(f"/api/v1/statuses/{post.pk}").json()
    url = status["media_attachments"][0]["url"]
    assert url.startswith(f"{MEDIA}/media/{media.file}?g=")
    assert _on_media_host(url).get(_path(url)).status_code == 200
    anonymous = Client().get("/api/v1/timelines/public").json()
    assert any(a["url"] == f"{MEDIA}/media/{public.file}" for s in anonymous for a in s["media_attachments"])
    feed = Client().get("/@alice.rss").content.decode()
    assert f"{MEDIA}/media/{public.file}" in feed


@pytest.mark.parametrize("path", ["/", "/about", "/login", "/api/v1/instance", "/static/rostra/app.css", "/oauth/authorize", "/@alice"])
def test_the_media_host_serves_nothing_but_media(world, media_origin, path):
    r = Client(HTTP_HOST="media.testserver").get(path)
    assert r.status_code == 404
    assert Client(HTTP_HOST="media.testserver").post("/login", {"username": "alice", "password": "x"}).status_code == 404


def test_without_a_media_origin_pages_use_their_own(world, client_for, media_dir):
    post, media, _ = _followers_only_image(world)
    html = client_for(world.bob).get(f"/@alice/{post.pk}").content.decode()
    assert f'src="/media/{media.thumbnail}"' in html and "?g=" not in html
