"""The media API: upload (v1 and v2), read, describe and delete one's uploads."""

from __future__ import annotations

import json

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from rostra.posts.models import Media
from rostra.testing.world import make_post
from tests.api.conftest import bearer
from tests.web.helpers import jpeg, png


def _client(password_token, account, scope: str = "read write") -> Client:
    return bearer(password_token(account, scope=scope))


def test_upload_v2_answers_200_with_the_attachment(world, password_token, media_dir):
    c = _client(password_token, world.alice)
    r = c.post("/api/v2/media", {"file": png(size=(40, 30)), "description": "a red square", "focus": "0.5,-0.25"})
    assert r.status_code == 200, r.content
    body = r.json()
    media = Media.objects.get(pk=int(body["id"]))
    assert media.owner == world.alice and media.post_id is None
    assert body["type"] == "image" and body["description"] == "a red square"
    assert body["url"].startswith("http") and body["url"].split("?")[0].endswith(media.file) and body["preview_url"]
    assert body["meta"]["original"]["width"] == 40 and body["meta"]["original"]["height"] == 30
    assert body["meta"]["focus"] == {"x": 0.5, "y": -0.25}


def test_upload_v1_works_too(world, password_token, media_dir):
    r = _client(password_token, world.alice).post("/api/v1/media", {"file": jpeg()})
    assert r.status_code == 200 and r.json()["type"] == "image"


def test_bad_uploads_are_422_and_write_nothing(world, password_token, media_dir):
    c = _client(password_token, world.alice)
    assert c.post("/api/v2/media", {}).status_code == 422
    r = c.post("/api/v2/media", {"file": SimpleUploadedFile("x.png", b"not an image", content_type="image/png")})
    assert r.status_code == 422 and "image" in r.json()["error"]
    r = c.post("/api/v2/media", {"file": SimpleUploadedFile("clip.mp4", b"\x00\x00\x00\x18ftypmp42", content_type="video/mp4")})
    assert r.status_code == 422 and "video and audio are not supported" in r.json()["error"]
    r = c.post("/api/v2/media", {"file": SimpleUploadedFile("a.mp3", b"ID3", content_type="audio/mpeg")})
    assert r.status_code == 422
    assert c.post("/api/v2/media", {"file": png(), "focus": "2,0"}).status_code == 422
    assert c.post("/api/v2/media", {"file": png(), "focus": "left"}).status_code == 422
    assert c.post("/api/v2/media", {"file": png(), "description": "x" * 1501}).status_code == 422
    assert not Media.objects.exists() and list(media_dir.iterdir()) == []


def test_upload_scopes(world, password_token, media_dir):
    assert Client().post("/api/v2/media", {"file": png()}).status_code == 401
    assert _client(password_token, world.alice, scope="read write:statuses").post("/api/v2/media", {"file": png()}).status_code == 403
    assert _client(password_token, world.alice, scope="write:media").post("/api/v2/media", {"file": png()}).status_code == 200


def test_get_and_update_an_upload(world, password_token, media_dir):
    c = _client(password_token, world.alice)
    mid = c.post("/api/v2/media", {"file": png()}).json()["id"]
    assert c.get(f"/api/v1/media/{mid}").json()["id"] == mid
    r = c.put(f"/api/v1/media/{mid}", data="description=new+words&focus=-1.0,1.0", content_type="application/x-www-form-urlencoded")
    assert r.status_code == 200 and r.json()["description"] == "new words" and r.json()["meta"]["focus"] == {"x": -1.0, "y": 1.0}
    r = c.put(f"/api/v1/media/{mid}", data=json.dumps({"description": "json words"}), content_type="application/json")
    assert r.status_code == 200 and r.json()["description"] == "json words"
    r = c.put(f"/api/v1/media/{mid}", data=json.dumps({"focus": "3,3"}), content_type="application/json")
    assert r.status_code == 422 and Media.objects.get(pk=int(mid)).focus_x == -1.0


def test_someone_elses_or_attached_upload_is_404(world, password_token, media_dir):
    c = _client(password_token, world.alice)
    mid = c.post("/api/v2/media", {"file": png()}).json()["id"]
    bob = _client(password_token, world.bob)
    assert bob.get(f"/api/v1/media/{mid}").status_code == 404
    assert bob.put(f"/api/v1/media/{mid}", data=json.dumps({"description": "mine"}), content_type="application/json").status_code == 404
    assert bob.delete(f"/api/v1/media/{mid}").status_code == 404
    assert c.get("/api/v1/media/nonsense").status_code == 404
    make_post(world.alice, "with a picture", media_ids=[int(mid)])
    assert c.get(f"/api/v1/media/{mid}").status_code == 404  # in a post: edit it through the status
    assert Media.objects.get(pk=int(mid)).description == ""


def test_delete_an_unattached_upload(world, password_token, media_dir):
    c = _client(password_token, world.alice)
    mid = c.post("/api/v2/media", {"file": png()}).json()["id"]
    r = c.delete(f"/api/v1/media/{mid}")
    assert r.status_code == 200 and r.json() == {}
    assert not Media.objects.exists()
    mid = c.post("/api/v2/media", {"file": png()}).json()["id"]
    make_post(world.alice, "with a picture", media_ids=[int(mid)])
    r = c.delete(f"/api/v1/media/{mid}")
    assert r.status_code == 422 and r.json()["error"] == "Media attachment is currently used by a status"
    assert Media.objects.filter(pk=int(mid)).exists()


def test_post_with_uploaded_media(world, password_token, media_dir):
    c = _client(password_token, world.alice)
    ids = [c.post("/api/v2/media", {"file": png()}).json()["id"] for _ in range(2)]
    r = c.post("/api/v1/statuses", {"status": "two", "media_ids[]": ids})
    assert r.status_code == 200 and [m["id"] for m in r.json()["media_attachments"]] == ids
    theirs = _client(password_token, world.bob).post("/api/v2/media", {"file": png()}).json()["id"]
    r = c.post("/api/v1/statuses", {"status": "stolen", "media_ids[]": [theirs]})
    assert r.status_code == 422
