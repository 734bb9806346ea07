"""Small images made with Pillow for tests: plain ones, ones carrying GPS and device metadata,
and hostile ones (a decompression bomb header, a truncated file). Never imported by production code.
"""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image
from PIL.ExifTags import GPS, IFD, Base

GPS_LATITUDE = (52.0, 31.0, 12.5)
GPS_LONGITUDE = (13.0, 24.0, 36.0)


def png_bytes(size: tuple[int, int] = (8, 8), color: tuple[int, int, int] = (200, 40, 40)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "PNG")
    return out.getvalue()


def revealing_exif() -> Image.Exif:
    """EXIF with a GPS position, a camera make and model, and a serial number."""
    exif = Image.Exif()
    exif[Base.Make] = "PhoneCorp"
    exif[Base.Model] = "Spyphone 3000"
    exif[Base.Software] = "leaky-camera 1.0"
    exif[IFD.GPSInfo] = {
        GPS.GPSLatitudeRef: "N",
        GPS.GPSLatitude: GPS_LATITUDE,
        GPS.GPSLongitudeRef: "E",
        GPS.GPSLongitude: GPS_LONGITUDE,
    }
    return exif


def image_with_gps(fmt: str = "JPEG", size: tuple[int, int] = (32, 24)) -> bytes:
    """An image in ``fmt`` (JPEG, PNG or WEBP) carrying GPS and device EXIF, and a text comment."""
    img = Image.new("RGB", size, (10, 120, 200))
    out = io.BytesIO()
    exif = revealing_exif()
    if fmt == "PNG":
        from PIL.PngImagePlugin import PngInfo

        info = PngInfo()
        info.add_text("Comment", "taken at home, 12 Secret Lane")
        img.save(out, "PNG", exif=exif, pnginfo=info)
    elif fmt == "JPEG":
        img.save(out, "JPEG", exif=exif, comment=b"taken at home, 12 Secret Lane")
    else:
        img.save(out, fmt, exif=exif)
    return out.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_bomb_header(width: int = 100_000, height: int = 100_000) -> bytes:
    """A tiny PNG that declares ``width`` x ``height`` pixels (10 gigapixels by default)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit greyscale
    idat = zlib.compress(b"\x00" * 1024)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")
