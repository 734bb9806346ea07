"""SECURITY-TESTS D2: the uploaded original is never stored nor served, and file names cannot be
guessed.

Intake decodes and re-encodes every image (``rostra.core.images``), so no byte sequence of the
upload is kept: there is nothing for a URL trick to reach. What is served comes with its own
type, ``nosniff``, a script-forbidding CSP and an inline, random file name.
"""

from __future__ import annotations

import hashlib
import io
import math
import re
from collections import Counter

import pytest
from django.test import Client
from PIL import Image

from rostra.posts.actions import upload_media
from rostra.testing.world import make_post

NAME = re.compile(r"^(?P<random>[0-9a-f]+)\.(?P<ext>jpg|png|webp)$")


def _original(fmt: str = "JPEG") -> bytes:
    img = Image.new("RGB", (64, 48), (30, 60, 90))
    for x in range(0, 64, 3):
        img.putpixel((x, x % 48), (255, x * 4, 0))
    out = io.BytesIO()
    img.save(out, fmt, **({"quality": 95} if fmt == "JPEG" else {}))
    return out.getvalue()


def _body(response) -> bytes:  # type: ignore[no-untyped-def]
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "GIF"])
def test_d2_no_originals_nothing_stored_is_the_upload(world, media_dir, fmt):
    original = _original(fmt)
    media = upload_media(world.alice, original)
    digest = hashlib.sha256(original).hexdigest()
    stored = {p.name: p.read_bytes() for p in media_dir.iterdir()}
    assert sorted(stored) == sorted([media.file, media.thumbnail])
    for name, data in stored.items():
        assert hashlib.sha256(data).hexdigest() != digest, name
        assert original not in data and original[-64:] not in data, name
    # Nothing else anywhere under the data directory holds the upload either.
    for path in media_dir.parent.rglob("*"):
        if path.is_file():
            assert original not in path.read_bytes(), path


def test_d2_no_originals_no_url_reaches_an_original(world, media_dir):
    original = _original()
    media = upload_media(world.alice, original)
    make_post(world.alice, "public", media_ids=[media.pk])
    stem = media.file.rsplit(".", 1)[0]
    client = Client()
    served = _body(client.get(f"/media/{media.file}"))
    assert served and served != original
    tricks = [
        f"/media/{media.file}?original",
        f"/media/{media.file}?original=1",
        f"/media/{media.file}?size=original",
        f"/media/{media.file}?download=1",
        f"/media/{media.file}?format=raw",
    ]
    for url in tricks:  # the query is ignored: the same re-encoded file, never the upload
        response = client.get(url)
        assert response.status_code == 200 and _body(response) == served, url
    gone = [
        f"/media/{stem}",
        f"/media/{stem}.jpeg",
        f"/media/{stem}.JPG",
        f"/media/{stem}.png",
        f"/media/{stem}.webp",
        f"/media/{stem}.orig",
        f"/media/{stem}.jpg.orig",
        f"/media/{stem}_original.jpg",
        f"/media/original/{media.file}",
        f"/media/originals/{media.file}",
        f"/media/{media.file}/",
        f"/media/{media.file}%00.png",
        f"/media/{media.file}.bak",
        f"/media/{media.file.upper()}",
        f"/media/.{media.file}",
        f"/media/..%2F{media.file}",
        f"/media/%2e%2e/media/{media.file}",
        f"/media/{media.file}%2F..%2F{media.thumbnail}",
        "/media/",
        "/media/..",
        f"/media/{stem[:-1]}.jpg",
    ]
    for url in gone:
        response = client.get(url)
        assert response.status_code == 404, url
        assert original not in _body(response)


def _entropy_bits_per_hex_digit(names: list[str]) -> float:
    counts = Counter("".join(names))
    total = sum(counts.values())
    return -sum(c / total * math.log2(c / total) for c in counts.values())


def test_d2_no_originals_file_names_carry_at_least_64_random_bits(world, media_dir):
    media = [upload_media(world.alice, _original("PNG")) for _ in range(12)]
    names = [n for m in media for n in (m.file, m.thumbnail)]
    randoms = []
    for name in names:
        match = NAME.match(name)
        assert match, name
        randoms.append(match.group("random"))
    # Length: every hex digit is 4 bits; the names carry 128.
    assert all(len(r) * 4 >= 64 for r in randoms) and {len(r) for r in randoms} == {32}
    assert len(set(randoms)) == len(randoms)
    # Not a counter or a clock: no shared prefix beyond chance, and the digits are spread evenly
    # (a uniform hex string carries 4 bits a digit; 24 x 32 digits measure close to that).
    assert len({r[:3] for r in randoms}) >= len(randoms) - 2
    assert _entropy_bits_per_hex_digit(randoms) > 3.9
    # Not derived from the content either: the same upload twice gets unrelated names.
    assert media[0].file != media[1].file and media[0].file[:8] != media[1].file[:8]


def test_d2_no_originals_served_with_safe_headers(world, media_dir):
    media = upload_media(world.alice, _original())
    make_post(world.alice, "public", media_ids=[media.pk])
    for name in (media.file, media.thumbnail):
        response = Client().get(f"/media/{name}")
        assert response.status_code == 200
        assert response["Content-Type"] == "image/jpeg"  # its own type, from intake, never from the upload
        assert response["X-Content-Type-Options"] == "nosniff"
        csp = response["Content-Security-Policy"]
        assert "default-src 'none'" in csp and "sandbox" in csp and "script-src" not in csp
        disposition = response.get("Content-Disposition", "inline")
        assert disposition.startswith("inline") and ("filename" not in disposition or f'filename="{name}"' in disposition)
        assert "private" in response["Cache-Control"] or "public" in response["Cache-Control"]
