"""Helpers for the web UI's tests: small real images and normalised HTML."""

from __future__ import annotations

import io
import re
from pathlib import Path

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from rostra.accounts.models import Account
from rostra.testing.world import PASSWORD

TOKENS = re.compile(r'(name="csrfmiddlewaretoken" value=")[^"]+|("X-CSRFToken": ")[^"]+')


def image_bytes(fmt: str = "PNG", size: tuple[int, int] = (40, 30), color: tuple[int, int, int] = (200, 40, 90)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, fmt)
    return out.getvalue()


def png(name: str = "picture.png", **kw: object) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, image_bytes("PNG", **kw), content_type="image/png")  # type: ignore[arg-type]


def jpeg(name: str = "photo.jpg", **kw: object) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, image_bytes("JPEG", **kw), content_type="image/jpeg")  # type: ignore[arg-type]


def normalise(html: bytes | str) -> str:
    """The page without its per-response CSRF tokens (they are masked afresh on every render)."""
    text = html.decode() if isinstance(html, bytes) else html
    return TOKENS.sub(lambda m: (m.group(1) or m.group(2)) + "TOKEN", text)


def files_in(path: Path) -> list[str]:
    return sorted(p.name for p in path.iterdir())


def reload(account: Account) -> Account:
    return Account.objects.get(pk=account.pk)


__all__ = ["PASSWORD", "files_in", "image_bytes", "jpeg", "normalise", "png", "reload"]
