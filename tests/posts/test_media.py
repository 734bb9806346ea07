"""Media intake: metadata stripped, hostile and oversized files refused, nothing left behind."""

from __future__ import annotations

import dataclasses
import io
import re

import pytest
from PIL import Image

from rostra.core.errors import NotFound, ValidationError
from rostra.posts import actions as posts
from rostra.posts.models import Media
from rostra.posts.queries import media_for_viewer
from rostra.testing.images import image_with_gps, png_bomb_header, png_bytes
from rostra.testing.world import make_post


def _metadata(path) -> dict[str, object]:
    with Image.open(path) as img:
        img.load()
        return {
            "exif": dict(img.getexif()),
            "gps": dict(img.getexif().get_ifd(0x8825)),
            "info": {k: v for k, v in img.info.items() if k in {"exif", "comment", "Comment", "xmp", "XML:com.adobe.xmp"}},
        }


@pytest.mark.parametrize(("fmt", "content_type"), [("JPEG", "image/jpeg"), ("PNG", "image/png"), ("WEBP", "image/webp")])
def test_upload_strips_gps_and_device_metadata(world, media_dir, fmt, content_type):
    upload = image_with_gps(fmt)
    with Image.open(io.BytesIO(upload)) as sent:  # the test image really does carry them
        assert sent.getexif().get_ifd(0x8825)
    media = posts.upload_media(world.alice, upload, description=" a blue rectangle ")
    assert (media.content_type, media.width, media.height, media.description) == (content_type, 32, 24, "a blue rectangle")
    for name in (media.file, media.thumbnail):
        assert _metadata(media_dir / name) == {"exif": {}, "gps": {}, "info": {}}
        raw = (media_dir / name).read_bytes()
        assert b"Spyphone" not in raw and b"PhoneCorp" not in raw and b"Secret Lane" not in raw
    assert media.size == (media_dir / media.file).stat().st_size


def test_file_names_are_random_and_unguessable(world, media_dir):
    media = posts.upload_media(world.alice, png_bytes())
    for name in (media.file, media.thumbnail):
        assert re.fullmatch(r"[0-9a-f]{32}\.png", name)  # 128 random bits
    assert media.file != media.thumbnail
    assert sorted(p.name for p in media_dir.iterdir()) == sorted([media.file, media.thumbnail])


def test_a_gif_is_stored_as_png(world, media_dir):
    out = io.BytesIO()
    Image.new("P", (10, 10)).save(out, "GIF")
    assert posts.upload_media(world.alice, out.getvalue()).content_type == "image/png"


def test_the_thumbnail_is_bounded(world, media_dir):
    media = posts.upload_media(world.alice, png_bytes((1600, 900)))
    with Image.open(media_dir / media.thumbnail) as thumb:
        assert thumb.size == (640, 360)


def _truncated_jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 64), (1, 2, 3)).save(out, "JPEG")
    return out.getvalue()[:200]


HOSTILE = {
    "empty": b"",
    "text": b"hello, I am not an image",
    "svg-with-script": b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>",
    "html": b"<!doctype html><script>alert(1)</script>",
    "actor-json": b'{"@context": "https://www.w3.org/ns/activitystreams", "type": "Person", "id": "https://x"}',
    "pdf": b"%PDF-1.7\n1 0 obj<<>>endobj",
    "bomb": png_bomb_header(),
    "bomb-just-over": png_bomb_header(8000, 5000),
    "truncated-jpeg": _truncated_jpeg(),
    "bmp": b"BM" + b"\x00" * 60,
}


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_files_are_refused_and_nothing_is_written(world, media_dir, name):
    with pytest.raises(ValidationError) as err:
        posts.upload_media(world.alice, HOSTILE[name])
    assert err.value.field == "file"
    assert list(media_dir.iterdir()) == []
    assert not Media.objects.exists()


def test_other_formats_are_refused(world, media_dir):
    out = io.BytesIO()
    Image.new("RGB", (8, 8)).save(out, "BMP")
    with pytest.raises(ValidationError, match="JPEG, PNG, WebP and GIF"):
        posts.upload_media(world.alice, out.getvalue())
    assert list(media_dir.iterdir()) == []


def test_oversize_files_are_refused(world, media_dir, settings):
    settings.ROSTRA = dataclasses.replace(settings.ROSTRA, media_max_bytes=2 * 1024 * 1024)
    big = Image.frombytes("RGB", (1100, 1100), bytes(range(256)) * (1100 * 1100 * 3 // 256) + b"\x00" * (1100 * 1100 * 3 % 256))
    out = io.BytesIO()
    big.save(out, "PNG", compress_level=0)
    assert len(out.getvalue()) > 2 * 1024 * 1024
    with pytest.raises(ValidationError, match="too large: the limit is 2 MiB"):
        posts.upload_media(world.alice, out.getvalue())
    assert list(media_dir.iterdir()) == []


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_over_resolution_is_refused(world, media_dir, settings):
    settings.ROSTRA = dataclasses.replace(settings.ROSTRA, media_max_pixels=10_000)
    posts.upload_media(world.alice, png_bytes((100, 100)))
    files = set(media_dir.iterdir())
    with pytest.raises(ValidationError, match="10,000 pixels"):
        posts.upload_media(world.alice, png_bytes((101, 100)))
    assert set(media_dir.iterdir()) == files
    assert Media.objects.count() == 1


def test_alt_text_and_focus(world, media_dir):
    with pytest.raises(ValidationError):
        posts.upload_media(world.alice, png_bytes(), description="d" * 1501)
    assert list(media_dir.iterdir()) == []
    media = posts.upload_media(world.alice, png_bytes(), description="d" * 1500)
    posts.update_media(world.alice, media.pk, description="  new alt ", focus=(-0.5, 1.0))
    media.refresh_from_db()
    assert (media.description, media.focus_x, media.focus_y) == ("new alt", -0.5, 1.0)
    for focus in ((1.5, 0.0), (0.0, -1.01)):
        with pytest.raises(ValidationError):
            posts.update_media(world.alice, media.pk, focus=focus)
    with pytest.raises(NotFound):
        posts.update_media(world.bob, media.pk, description="mine now")
    media.refresh_from_db()
    assert media.description == "new alt"


def test_media_follows_its_post_through_the_door(world, media_dir):
    w = world
    loose = posts.upload_media(w.alice, png_bytes())
    for viewer in (None, w.bob):
        with pytest.raises(NotFound):
            media_for_viewer(viewer, loose.file)  # not yet in a post: its owner only
    assert media_for_viewer(w.alice, loose.thumbnail).pk == loose.pk
    make_post(w.alice, "followers see this", visibility="private", media_ids=[loose.pk])
    assert media_for_viewer(w.bob, loose.file).pk == loose.pk
    for viewer in (None, w.eve, w.mod):
        with pytest.raises(NotFound):
            media_for_viewer(viewer, loose.file)
    for name in ("", "nope.png", "../secret_key", loose.file.upper()):
        with pytest.raises(NotFound):
            media_for_viewer(w.alice, name)
