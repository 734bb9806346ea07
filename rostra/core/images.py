"""Image intake: verify, bound, re-encode without metadata, store under a random name.

Nothing of the upload is kept as sent: the pixels are decoded and written afresh, so EXIF
(GPS, device), XMP and comments are gone; only an sRGB-converted colour profile survives
as pixels. Names carry 128 random bits, so files cannot be guessed.
"""

from __future__ import annotations

import io
import secrets
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from rostra.core.errors import ValidationError

ALLOWED_FORMATS = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png"), "WEBP": ("image/webp", "webp"), "GIF": ("image/png", "png")}
THUMB_SIZE = (640, 640)


@dataclass(frozen=True)
class StoredImage:
    file: str
    thumbnail: str
    content_type: str
    width: int
    height: int
    size: int


def _encode(img: Image.Image, fmt: str) -> bytes:
    out = io.BytesIO()
    if fmt == "JPEG":
        img.convert("RGB").save(out, "JPEG", quality=86, optimize=True, progressive=True)
    elif fmt == "WEBP":
        img.save(out, "WEBP", quality=86, method=4)
    else:
        img.save(out, "PNG", optimize=True)
    return out.getvalue()


def process_image(data: bytes, *, max_bytes: int, max_pixels: int, field: str = "file") -> tuple[bytes, bytes, str, str, int, int]:
    """Decode and re-encode; return (image, thumbnail, content_type, extension, width, height)."""
    if not data:
        raise ValidationError("The file is empty.", field=field)
    if len(data) > max_bytes:
        raise ValidationError(f"The file is too large: the limit is {max_bytes // (1024 * 1024)} MiB.", field=field)
    Image.MAX_IMAGE_PIXELS = max_pixels  # decompression-bomb guard, checked before decoding
    try:
        with Image.open(io.BytesIO(data)) as probe:
            fmt = probe.format or ""
            if fmt not in ALLOWED_FORMATS:
                raise ValidationError("Only JPEG, PNG, WebP and GIF images are accepted.", field=field)
            w, h = probe.size
            if w * h > max_pixels:
                raise ValidationError(f"The image is too large: the limit is {max_pixels:,} pixels.", field=field)
            probe.verify()
        with Image.open(io.BytesIO(data)) as opened:
            opened.seek(0)
            opened.load()
            img: Image.Image = ImageOps.exif_transpose(opened)  # apply the rotation, then drop the EXIF
            if img.mode not in ("RGB", "RGBA", "L", "LA"):
                img = img.convert("RGBA" if "A" in img.getbands() or img.mode == "P" else "RGB")
            clean = Image.new(img.mode, img.size)
            clean.paste(img)
    except ValidationError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError, SyntaxError):
        raise ValidationError("This file is not an image Rostra can read.", field=field) from None
    out_fmt = "PNG" if fmt == "GIF" else fmt
    content_type, ext = ALLOWED_FORMATS[out_fmt]
    body = _encode(clean, out_fmt)
    thumb = clean.copy()
    thumb.thumbnail(THUMB_SIZE)
    thumb_body = _encode(thumb, out_fmt)
    return body, thumb_body, content_type, ext, clean.width, clean.height


def store_image(media_dir: Path, data: bytes, *, max_bytes: int, max_pixels: int, field: str = "file") -> StoredImage:
    body, thumb, content_type, ext, width, height = process_image(data, max_bytes=max_bytes, max_pixels=max_pixels, field=field)
    name = f"{secrets.token_hex(16)}.{ext}"
    thumb_name = f"{secrets.token_hex(16)}.{ext}"
    media_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    try:
        for fname, blob in ((name, body), (thumb_name, thumb)):
            path = media_dir / fname
            with open(path, "xb") as fh:
                written.append(path)
                fh.write(blob)
    except OSError:
        for path in written:
            path.unlink(missing_ok=True)
        raise ValidationError("The server could not store the file; please try again later.", field=field) from None
    return StoredImage(file=name, thumbnail=thumb_name, content_type=content_type, width=width, height=height, size=len(body))


def delete_files(media_dir: Path, names: list[str]) -> None:
    for name in names:
        if name and "/" not in name and not name.startswith("."):
            (media_dir / name).unlink(missing_ok=True)
