"""SECURITY-TESTS D6: over-size and over-resolution media are refused, with the limit named.

The limits are settings: ``ROSTRA_MEDIA_MAX_BYTES`` (default 16 MiB) and
``ROSTRA_MEDIA_MAX_PIXELS`` (default 33,177,600, e.g. 7680x4320). The byte limit is checked
before the upload is read into memory (``rostra.core.images.read_upload``); the pixel limit
before a single pixel is decoded.
"""

from __future__ import annotations

import dataclasses
import os

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from rostra.accounts.models import Account
from rostra.config.env import ConfigError, load
from rostra.posts.models import Media, Post
from rostra.testing.images import png_bomb_header, png_bytes
from tests.api.conftest import bearer, password_token, register  # noqa: F401 - fixtures

MIB = 1024 * 1024


def _oversize(n: int = 16 * MIB + 1) -> bytes:
    # Only the size matters: it is refused before anything looks at the content.
    return png_bytes() + os.urandom(n - len(png_bytes()))


def test_d6_size_limits_defaults_are_settings(tmp_path):
    cfg = load({"ROSTRA_DATA_DIR": str(tmp_path / "data")})
    assert cfg.media_max_bytes == 16 * MIB and cfg.media_max_pixels == 33_177_600
    cfg = load(
        {"ROSTRA_DATA_DIR": str(tmp_path / "data"), "ROSTRA_MEDIA_MAX_BYTES": str(8 * MIB), "ROSTRA_MEDIA_MAX_PIXELS": "1000000"}
    )
    assert cfg.media_max_bytes == 8 * MIB and cfg.media_max_pixels == 1_000_000
    for name, bad in (("ROSTRA_MEDIA_MAX_BYTES", "lots"), ("ROSTRA_MEDIA_MAX_PIXELS", "0")):
        with pytest.raises(ConfigError) as err:
            load({"ROSTRA_DATA_DIR": str(tmp_path / "data"), name: bad})
        assert name in str(err.value)


def test_d6_size_limits_api_over_16_mib_is_422(world, password_token, media_dir, settings):  # noqa: F811 - fixture
    assert settings.ROSTRA.media_max_bytes == 16 * MIB
    api = bearer(password_token(world.alice))
    response = api.post("/api/v2/media", {"file": SimpleUploadedFile("big.png", _oversize(), content_type="image/png")})
    assert response.status_code == 422
    assert "16 MiB" in response.json()["error"]
    assert not Media.objects.exists() and list(media_dir.iterdir()) == []
    # Exactly at the limit is accepted: a small PNG with 16 MiB of junk after it, which
    # re-encoding drops (only the pixels are kept).
    response = api.post("/api/v2/media", {"file": SimpleUploadedFile("big.png", _oversize(16 * MIB), content_type="image/png")})
    assert response.status_code == 200, response.content[:300]
    assert all(p.stat().st_size < 10_000 for p in media_dir.iterdir())


def test_d6_size_limits_api_profile_images(world, password_token, media_dir):  # noqa: F811 - fixture
    from django.test.client import MULTIPART_CONTENT, encode_multipart

    api = bearer(password_token(world.alice))
    for field in ("avatar", "header"):
        body = encode_multipart("BoUnDaRy", {field: SimpleUploadedFile("a.png", _oversize())})
        response = api.patch(
            "/api/v1/accounts/update_credentials", body, content_type=MULTIPART_CONTENT.replace("BoUnDaRyStRiNg", "BoUnDaRy")
        )
        assert response.status_code == 422, (field, response.content[:300])
        assert "16 MiB" in response.json()["error"]
    assert Account.objects.get(pk=world.alice.pk).avatar == "" and list(media_dir.iterdir()) == []


def test_d6_size_limits_web_over_16_mib_is_a_form_error(world, client_for, media_dir):
    client = client_for(world.alice)
    response = client.post(
        "/compose", {"text": "big", "visibility": "public", "media_0": SimpleUploadedFile("big.png", _oversize())}
    )
    assert response.status_code == 400 and "the limit is 16 MiB" in response.content.decode()
    assert not Post.objects.filter(text="big").exists()
    response = client.post("/settings/profile", {"display_name": "A", "header": SimpleUploadedFile("h.png", _oversize())})
    assert response.status_code == 400 and "the limit is 16 MiB" in response.content.decode()
    assert list(media_dir.iterdir()) == [] and not Media.objects.exists()


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_d6_size_limits_over_the_pixel_limit_is_422(world, password_token, client_for, media_dir, settings):  # noqa: F811 - fixture
    assert settings.ROSTRA.media_max_pixels == 33_177_600
    api = bearer(password_token(world.alice))
    over = png_bomb_header(7681, 4320)  # one column more than 8K UHD: a few hundred bytes on the wire
    response = api.post("/api/v2/media", {"file": SimpleUploadedFile("wide.png", over)})
    assert response.status_code == 422 and "33,177,600 pixels" in response.json()["error"]
    response = client_for(world.alice).post(
        "/compose", {"text": "wide", "visibility": "public", "media_0": SimpleUploadedFile("w.png", over)}
    )
    assert response.status_code == 400 and "33,177,600 pixels" in response.content.decode()
    assert list(media_dir.iterdir()) == [] and not Media.objects.exists()


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_d6_size_limits_follow_the_settings(world, password_token, media_dir, settings):  # noqa: F811 - fixture
    settings.ROSTRA = dataclasses.replace(settings.ROSTRA, media_max_bytes=1 * MIB, media_max_pixels=10_000)
    api = bearer(password_token(world.alice))
    response = api.post("/api/v2/media", {"file": SimpleUploadedFile("b.png", _oversize(MIB + 1))})
    assert response.status_code == 422 and "1 MiB" in response.json()["error"]
    response = api.post("/api/v2/media", {"file": SimpleUploadedFile("p.png", png_bytes((101, 100)))})
    assert response.status_code == 422 and "10,000 pixels" in response.json()["error"]
    assert api.post("/api/v2/media", {"file": SimpleUploadedFile("ok.png", png_bytes((100, 100)))}).status_code == 200
    assert Media.objects.count() == 1
