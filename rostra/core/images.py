"""Image intake: verify, bound, re-encode without metadata, store under a random name.

Nothing of the upload is kept as sent: the pixels are decoded and written afresh, so EXIF
(GPS, device), XMP, comments and colour profiles are gone. An embedded RGB colour profile (a
phone's Display P3, say) is applied first, converting the pixels to sRGB, so colours survive
without the profile (which can name the device). Names carry 128 random bits, so files cannot
be guessed.
"""

from __future__ import annotations

import errno
import io
import logging
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

from rostra.core.errors import ValidationError
from rostra.core.mediastore import MediaStore, as_store

# No space left, over quota, or over the process's file-size limit (RLIMIT_FSIZE): the disk is
# full for this upload, which is the server's fault and not the sender's.
log = logging.getLogger(__name__)
DISK_FULL = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


class StorageFull(Exception):
    """The media store cannot take the file. Not a domain error: the request was fine, the server is
    not, so the surfaces answer 507 (``rostra.web.middleware.FaultMiddleware``) and nothing is kept."""


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


_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


def _to_srgb(img: Image.Image, icc: bytes | None) -> Image.Image:
    """The pixels converted from their embedded RGB profile to sRGB; unchanged when there is no
    profile, it is not RGB, or it cannot be read (a broken profile is no reason to refuse a photo)."""
    if not icc or img.mode not in ("RGB", "RGBA"):
        return img
    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if source.profile.xcolor_space.strip() != "RGB":
            return img
        converted = ImageCms.profileToProfile(img, source, _SRGB, outputMode=img.mode)
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        return img
    return converted if converted is not None else img


def too_large(max_bytes: int, field: str = "file") -> ValidationError:
    return ValidationError(f"The file is too large: the limit is {max_bytes // (1024 * 1024)} MiB.", field=field)


def read_upload(upload: IO[bytes], *, size: int | None, max_bytes: int, field: str = "file") -> bytes:
    """An uploaded file's bytes, refused before it is read into memory when it is over the limit
    (and read at most one byte past the limit, whatever size the client declared)."""
    if size is not None and size > max_bytes:
        raise too_large(max_bytes, field)
    data = upload.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise too_large(max_bytes, field)
    return data


def process_image(data: bytes, *, max_bytes: int, max_pixels: int, field: str = "file") -> tuple[bytes, bytes, str, str, int, int]:
    """Decode and re-encode; return (image, thumbnail, content_type, extension, width, height)."""
    if not data:
        raise ValidationError("The file is empty.", field=field)
    if len(data) > max_bytes:
        raise too_large(max_bytes, field)
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
            img = _to_srgb(img, opened.info.get("icc_profile"))
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


def store_image(media_dir: MediaStore | Path, data: bytes, *, max_bytes: int, max_pixels: int, field: str = "file") -> StoredImage:
    """Re-encode ``data`` and store it and its thumbnail in the media store (``media_store()``;
    a directory is accepted too), under fresh 128-bit random names."""
    body, thumb, content_type, ext, width, height = process_image(data, max_bytes=max_bytes, max_pixels=max_pixels, field=field)
    name = f"{secrets.token_hex(16)}.{ext}"
    thumb_name = f"{secrets.token_hex(16)}.{ext}"
    store = as_store(media_dir)
    written: list[str] = []
    try:
        for fname, blob in ((name, body), (thumb_name, thumb)):
            written.append(fname)
            store.put(fname, blob, content_type)
    except OSError as exc:
        try:
            store.delete(written)
        except OSError:
            pass  # the orphan sweep (posts.actions.discard_orphan_files) removes what is left
        if exc.errno in DISK_FULL:
            raise StorageFull(f"the media store is full ({errno.errorcode.get(exc.errno or 0, exc.errno)})") from None
        raise ValidationError("The server could not store the file; please try again later.", field=field) from None
    return StoredImage(file=name, thumbnail=thumb_name, content_type=content_type, width=width, height=height, size=len(body))


def delete_files(media_dir: MediaStore | Path, names: list[str]) -> None:
    """Delete files from the media store (a directory is accepted too); unsafe names are ignored.
    A store that fails (a bucket out of reach) is logged, not raised: no row names those files any
    more, so the orphan sweep (``posts.actions.discard_orphan_files``) deletes them later."""
    try:
        as_store(media_dir).delete([n for n in names if n and "/" not in n and not n.startswith(".")])
    except OSError as exc:
        log.warning("media files not deleted yet (%s); the orphan sweep will retry", exc)
