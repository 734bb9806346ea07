"""SECURITY-TESTS D5: hostile files are refused with a clear 422 (API) or form error (web), and
nothing is written, inside the media root or outside it.

A file that is a real image with something else glued on (a GIFAR, an HTML polyglot) is not
refused: it is decoded and re-encoded, so only its pixels survive and the payload is gone. The
name a client gives a file is never used: stored names are random, so ``../`` and NUL in a
name cannot reach the file system.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from rostra.posts.models import Media, Post
from rostra.testing.images import png_bomb_header
from tests.api.conftest import bearer, password_token, register  # noqa: F401 - fixtures

SVG_SCRIPT = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(document.cookie)</script><rect width="10" height="10"/></svg>'


def _png(size: tuple[int, int] = (16, 16)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (9, 99, 199)).save(out, "PNG")
    return out.getvalue()


def _gif() -> bytes:
    out = io.BytesIO()
    Image.new("P", (16, 16), 3).save(out, "GIF")
    return out.getvalue()


def _zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\nMain-Class: Evil\n")
        z.writestr("Evil.class", b"\xca\xfe\xba\xbe" + b"\x00" * 32)
    return out.getvalue()


def _truncated() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (256, 256), (1, 2, 3)).save(out, "JPEG")
    return out.getvalue()[:300]


def _tiff() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8)).save(out, "TIFF")
    return out.getvalue()


REFUSED = {
    "bomb-10-gigapixels": png_bomb_header(),
    "bomb-over-the-limit": png_bomb_header(8000, 5000),
    "bomb-one-dimension": png_bomb_header(2_000_000, 1),
    "svg-with-script": SVG_SCRIPT,
    "html": b"<!doctype html><html><script>alert(1)</script></html>",
    "html-with-gif-magic": b"GIF89a<html><script>alert(1)</script></html>",
    "png-magic-then-html": b"\x89PNG\r\n\x1a\n<script>alert(1)</script>",
    "zip": _zip(),
    "truncated-jpeg": _truncated(),
    "truncated-png": _png((64, 64))[:60],
    "actor-json": b'{"@context": "https://www.w3.org/ns/activitystreams", "type": "Person", "id": "https://evil.example/u"}',
    "pdf": b"%PDF-1.7\n1 0 obj<<>>endobj\n",
    "empty": b"",
    "nul-bytes": b"\x00" * 1024,
    "tiff": _tiff(),
}

# Names and claimed types that do not match the content, or try to walk the file system.
NAMES = [
    "../../etc/x.png",
    "..\\..\\x.png",
    "/etc/passwd",
    "x.png\x00.html",
    "a\x01\x02\x1b[31m.png",
    "évil name .png",
    ".htaccess",
    "x.html",
    "x" * 300 + ".png",
]


def _tree(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


@pytest.fixture
def untouched(tmp_path, media_dir):  # type: ignore[no-untyped-def]
    """Everything under the data directory (the media root's parent), before and after."""
    before = _tree(tmp_path)

    def check() -> None:
        assert _tree(tmp_path) == before
        assert list(media_dir.iterdir()) == []
        assert not Media.objects.exists()

    return check


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
@pytest.mark.parametrize("name", sorted(REFUSED))
def test_d5_hostile_media_refused_by_the_api(world, password_token, untouched, name):  # noqa: F811 - fixture
    api = bearer(password_token(world.alice))
    response = api.post("/api/v2/media", {"file": SimpleUploadedFile("image.png", REFUSED[name], content_type="image/png")})
    assert response.status_code == 422, (name, response.status_code, response.content[:200])
    error = response.json()["error"]
    assert "image" in error.lower() or "file" in error.lower(), error
    untouched()


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
@pytest.mark.parametrize("name", ["bomb-10-gigapixels", "svg-with-script", "html-with-gif-magic", "truncated-jpeg", "zip"])
def test_d5_hostile_media_refused_by_the_web_forms(world, client_for, untouched, name):
    client = client_for(world.alice)
    response = client.post(
        "/compose",
        {"text": "look", "visibility": "public", "media_0": SimpleUploadedFile("x.png", REFUSED[name], content_type="image/png")},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "Image 1" in html or "image" in html.lower()
    assert not Post.objects.filter(author=world.alice, text="look").exists()
    response = client.post(
        "/settings/profile", {"display_name": "A", "avatar": SimpleUploadedFile("a.png", REFUSED[name], content_type="image/png")}
    )
    assert response.status_code == 400
    assert "not an image Rostra can read" in response.content.decode() or "too large" in response.content.decode()
    world.alice.refresh_from_db()
    assert world.alice.avatar == ""
    untouched()


@pytest.mark.parametrize("name", NAMES)
def test_d5_hostile_media_client_file_names_are_never_used(world, password_token, media_dir, tmp_path, name):  # noqa: F811 - fixture
    api = bearer(password_token(world.alice))
    response = api.post("/api/v2/media", {"file": SimpleUploadedFile(name, _png(), content_type="text/html")})
    assert response.status_code == 200, response.content
    media = Media.objects.get(pk=int(response.json()["id"]))
    assert media.content_type == "image/png"  # the content decides, not the name or the claimed type
    assert sorted(p.name for p in media_dir.iterdir()) == sorted([media.file, media.thumbnail])
    assert _tree(tmp_path) == {"media", f"media/{media.file}", f"media/{media.thumbnail}"}
    assert not Path("/etc/x.png").exists()
    served = Client().get(response.json()["url"].split("://", 1)[1].split("/", 1)[1].join(["/", ""]))
    assert served["Content-Type"] == "image/png" and served["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("kind", ["gifar", "gif-html-polyglot", "png-with-trailing-html", "jpeg-comment-html"])
def test_d5_hostile_media_polyglots_keep_only_their_pixels(world, password_token, media_dir, kind):  # noqa: F811 - fixture
    if kind == "gifar":
        data = _gif() + _zip()
    elif kind == "gif-html-polyglot":
        data = _gif()[:-1] + b"<html><script>alert(1)</script></html>\x3b"
    elif kind == "png-with-trailing-html":
        data = _png() + b"<html><script>alert(1)</script></html>"
    else:
        out = io.BytesIO()
        Image.new("RGB", (16, 16)).save(out, "JPEG", comment=b"<html><script>alert(1)</script></html>")
        data = out.getvalue()
    api = bearer(password_token(world.alice))
    response = api.post("/api/v2/media", {"file": SimpleUploadedFile("x.gif", data, content_type="image/gif")})
    if response.status_code == 422:  # refusing is fine too; what matters is nothing of it is kept
        assert list(media_dir.iterdir()) == []
        return
    assert response.status_code == 200, response.content
    for path in media_dir.iterdir():
        stored = path.read_bytes()
        for payload in (b"<script", b"<html", b"PK\x03\x04", b"META-INF", b"\xca\xfe\xba\xbe"):
            assert payload not in stored, (kind, path.name, payload)
        with Image.open(path) as img:
            assert img.format in ("PNG", "JPEG", "WEBP")
