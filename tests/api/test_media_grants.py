"""Media URLs in the client API carry a grant for the viewer they were rendered for, so apps
(whose <img> requests carry no token or cookie) can load them; the door is asked again, for
that viewer, when the file is fetched."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from django.test import Client

from rostra.accounts import actions as accounts
from rostra.core import grants
from rostra.posts.actions import Draft, create_post, delete_post, upload_media
from rostra.testing.images import png_bytes
from tests.api.conftest import bearer


def _path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def _followers_only_image(world):  # type: ignore[no-untyped-def]
    media = upload_media(world.alice, png_bytes(), description="for followers")
    post = create_post(world.alice, Draft(text="followers only", visibility="private", media_ids=[media.pk]))
    return post, media


def test_a_followers_image_opens_by_its_grant_without_cookies_and_crosses_origins(world, password_token, media_dir):
    post, media = _followers_only_image(world)
    status = bearer(password_token(world.bob)).get(f"/api/v1/statuses/{post.pk}").json()  # bob follows alice
    url = status["media_attachments"][0]["url"]
    assert "?g=" in url and status["media_attachments"][0]["preview_url"]
    r = Client().get(_path(url))  # no token, no cookie: an <img> in an app
    assert r.status_code == 200 and r["Content-Type"] == "image/png"
    assert r["Cross-Origin-Resource-Policy"] == "cross-origin" and r["X-Content-Type-Options"] == "nosniff"
    assert Client().get(f"/media/{media.file}").status_code == 404  # the bare URL still asks the door


def test_a_grant_is_checked_again_through_the_door_and_cannot_be_forged(world, password_token, media_dir):
    post, media = _followers_only_image(world)
    url = bearer(password_token(world.bob)).get(f"/api/v1/statuses/{post.pk}").json()["media_attachments"][0]["url"]
    g = urlsplit(url).query.removeprefix("g=")
    viewer, expires, sig = g.split(".")
    # Another viewer's id, another expiry, another file, a broken signature: all 404.
    assert Client().get(f"/media/{media.file}?g={world.dave.pk}.{expires}.{sig}").status_code == 404
    assert Client().get(f"/media/{media.file}?g={viewer}.{int(expires) + 86400}.{sig}").status_code == 404
    assert Client().get(f"/media/{media.file}?g={viewer}.{expires}.{sig[:-2]}xx").status_code == 404
    assert Client().get(f"/media/{media.file}?g=nonsense").status_code == 404
    other = upload_media(world.bob, png_bytes())
    assert Client().get(f"/media/{other.file}?g={g}").status_code == 404
    # A grant made for carol (who does not follow alice) opens nothing: the door says no.
    assert Client().get(f"/media/{media.file}?g={grants.grant(media.file, world.carol.pk)}").status_code == 404
    # Once bob no longer follows alice, or the post is deleted, bob's grant opens nothing either.
    assert Client().get(_path(url)).status_code == 200
    accounts.unfollow(world.bob, world.alice)
    assert Client().get(_path(url)).status_code == 404
    accounts.follow(world.bob, world.alice)
    assert Client().get(_path(url)).status_code == 200
    delete_post(world.alice, post.pk)
    assert Client().get(_path(url)).status_code == 404


def test_a_grant_expires(world, media_dir):
    media = upload_media(world.alice, png_bytes())
    old = grants.grant(media.file, world.alice.pk, now=time.time() - 3 * 86400)
    assert grants.check(media.file, old) is None
    assert Client().get(f"/media/{media.file}?g={old}").status_code == 404
    fresh = grants.grant(media.file, world.alice.pk)
    assert grants.check(media.file, fresh) == world.alice.pk
    assert grants.grant(media.file, world.alice.pk) == fresh  # stable within a day, so caches work


def test_an_unattached_upload_previews_in_the_app_that_uploaded_it(world, password_token, media_dir):
    from tests.web.helpers import png

    body = bearer(password_token(world.alice)).post("/api/v2/media", {"file": png(size=(20, 20))}).json()
    assert Client().get(_path(body["url"])).status_code == 200
    assert Client().get(_path(body["preview_url"])).status_code == 200
