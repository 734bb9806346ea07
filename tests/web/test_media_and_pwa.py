"""Uploaded files through the visibility door, and the installable app (manifest, worker, icons)."""

from __future__ import annotations

import io
import json

import pytest
from django.utils import timezone
from PIL import Image

from rostra.accounts.actions import ProfileUpdate, update_profile
from rostra.accounts.models import Account
from rostra.posts.actions import Draft, create_post, upload_media
from tests.web.helpers import image_bytes


def attached(author, visibility="public", text="A picture"):
    media = upload_media(author, image_bytes(), description="alt")
    create_post(author, Draft(text=text, visibility=visibility, media_ids=[media.pk]))
    media.refresh_from_db()
    return media


def test_media_of_a_public_post(world, client_for, media_dir):
    media = attached(world.alice)
    for viewer in (None, world.bob):
        for name in (media.file, media.thumbnail):
            response = client_for(viewer).get(f"/media/{name}")
            assert response.status_code == 200
            assert response["Content-Type"] == "image/png"
            assert response["X-Content-Type-Options"] == "nosniff"
            assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"
            assert response["Cache-Control"] == "private, max-age=3600"
            assert Image.open(io.BytesIO(b"".join(response.streaming_content))).size == (40, 30)


def test_media_follows_the_posts_visibility(world, client_for, media_dir):
    media = attached(world.alice, visibility="private")
    assert client_for(world.bob).get(f"/media/{media.file}").status_code == 200  # a follower
    for viewer in (None, world.carol, world.eve):
        assert client_for(viewer).get(f"/media/{media.file}").status_code == 404


def test_unattached_media_is_for_its_uploader_only(world, client_for, media_dir):
    media = upload_media(world.alice, image_bytes(), description="draft")
    assert client_for(world.alice).get(f"/media/{media.file}").status_code == 200
    assert client_for(world.bob).get(f"/media/{media.file}").status_code == 404
    assert client_for(None).get(f"/media/{media.file}").status_code == 404


@pytest.mark.parametrize(
    "path",
    ["/media/../secret_key", "/media/..%2Fsecret_key", "/media/%2e%2e%2fsecret_key", "/media/secret_key",
     "/media/..", "/media/.", "/media/", "/media/0123456789abcdef0123456789abcdef.png", "/media/x/../y.png",
     "/media/%00.png", "/media/0123456789ABCDEF0123456789ABCDEF.PNG"],
)
def test_path_tricks_and_unknown_names_are_404(world, client_for, media_dir, path):
    (media_dir / "secret_key").write_text("do not serve")
    response = client_for(world.alice).get(path)
    assert response.status_code == 404
    assert b"do not serve" not in (response.content if not response.streaming else b"".join(response.streaming_content))


def test_avatars_are_public_unless_suspended(world, client_for, media_dir):
    alice = update_profile(world.alice, ProfileUpdate(avatar=image_bytes(size=(64, 64)), header=image_bytes(size=(300, 100))))
    for name in (alice.avatar, alice.header):
        response = client_for(None).get(f"/media/{name}")
        assert response.status_code == 200 and response["X-Content-Type-Options"] == "nosniff"
    Account.objects.filter(pk=alice.pk).update(suspended_at=timezone.now())
    assert client_for(None).get(f"/media/{alice.avatar}").status_code == 404


# --- The installable app


def test_manifest(db, client_for):
    response = client_for(None).get("/manifest.webmanifest")
    assert response.status_code == 200 and response["Content-Type"] == "application/manifest+json"
    data = json.loads(response.content)
    assert data["name"] == "Rostra" and data["short_name"]
    assert data["start_url"] == "/home" and data["scope"] == "/" and data["display"] == "standalone"
    assert data["theme_color"].startswith("#") and data["background_color"].startswith("#")
    sizes = {(i["sizes"], i.get("purpose", "any")) for i in data["icons"]}
    assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= sizes
    for icon in data["icons"]:
        assert client_for(None).get(icon["src"]).status_code == 200, icon["src"]


def test_service_worker(db, client_for):
    response = client_for(None).get("/sw.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert response["Service-Worker-Allowed"] == "/"
    body = response.content.decode()
    assert "/offline" in body and "/static/rostra/app.css" in body and 'addEventListener("fetch"' in body
    assert client_for(None).get("/offline").status_code == 200


@pytest.mark.parametrize(("url", "size"), [("/icons/icon-192.png", 192), ("/icons/icon-512.png", 512), ("/icons/icon-maskable-512.png", 512)])
def test_icons_are_drawn(db, client_for, url, size):
    response = client_for(None).get(url)
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    image = Image.open(io.BytesIO(response.content))
    assert image.size == (size, size)
    if "maskable" in url:
        assert image.convert("RGBA").getpixel((0, 0))[3] == 255  # maskable icons fill the whole square


def test_unknown_icon_sizes_are_404(db, client_for):
    assert client_for(None).get("/icons/icon-100000.png").status_code == 404


def test_pages_link_the_manifest_icon_and_worker_script(db, client_for):
    html = client_for(None).get("/local").content.decode()
    assert '<link rel="manifest" href="/manifest.webmanifest">' in html
    assert '<meta name="theme-color"' in html and "/static/rostra/icon.svg" in html
    assert "/static/rostra/app.js" in html and "/static/vendor/htmx.min.js" in html
    assert client_for(None).get("/static/rostra/icon.svg").status_code == 200
    assert b"serviceWorker.register" in b"".join(client_for(None).get("/static/rostra/app.js").streaming_content)
