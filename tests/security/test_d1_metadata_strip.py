"""SECURITY-TESTS D1: no location, device or other metadata survives into what Rostra serves.

Each test image is built here with Pillow and carries everything a phone or an editor leaves
behind: EXIF with GPS, make, model and serial, XMP (with a location and a creator tool), a
comment, and an ICC colour profile. It is uploaded through the client API (post images) and the
settings page (avatar and header); every variant is then fetched over HTTP as a viewer would, and
read back with Pillow (``getexif()``, ``info``) and searched byte by byte.

Colour profiles: an embedded RGB profile (a phone's Display P3, say) is applied to the pixels,
converting them to sRGB, and then dropped with everything else: colours survive, the profile
(which can name the device) does not. A broken profile is ignored, not refused. See
docs/security.md "Media and metadata". Video is not accepted yet; custom emoji do not exist yet.
"""

from __future__ import annotations

import io
import struct

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image, ImageCms
from PIL.ExifTags import GPS, IFD, Base
from PIL.PngImagePlugin import PngInfo

from rostra.accounts.models import Account
from rostra.testing.world import make_post
from tests.api.conftest import bearer, password_token, register  # noqa: F401 - fixtures

SECRETS = [b"PhoneCorp", b"Spyphone", b"SN-4711", b"Secret Lane", b"52.5213", b"leaky-camera", b"Jane Doe"]
MARKERS = [
    b"GPS",
    b"Exif",
    b"<x:xmpmeta",
    b"http://ns.adobe.com/xap",
    b"XML:com.adobe.xmp",
    b"XMP DataXMP",
    b"ICC_PROFILE",
    b"iCCP",
    b"acsp",
]
METADATA_KEYS = {
    "exif",
    "xmp",
    "XML:com.adobe.xmp",
    "comment",
    "Comment",
    "icc_profile",
    "photoshop",
    "adobe",
    "dpi_exif",
    "Description",
    "Author",
    "extension",
}
XMP = (
    b'<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?>'
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    b'<rdf:Description xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmlns:exif="http://ns.adobe.com/exif/1.0/" '
    b'xmlns:dc="http://purl.org/dc/elements/1.1/" xmp:CreatorTool="leaky-camera 2.0" '
    b'exif:GPSLatitude="52.5213N" dc:creator="Jane Doe, 12 Secret Lane"/></rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
)


def revealing_exif() -> Image.Exif:
    exif = Image.Exif()
    exif[Base.Make] = "PhoneCorp"
    exif[Base.Model] = "Spyphone 3000"
    exif[Base.Software] = "leaky-camera 1.0"
    exif[Base.Orientation] = 1
    exif[IFD.GPSInfo] = {
        GPS.GPSLatitudeRef: "N",
        GPS.GPSLatitude: (52.0, 31.0, 12.5),
        GPS.GPSLongitudeRef: "E",
        GPS.GPSLongitude: (13.0, 24.0, 36.0),
    }
    exif.get_ifd(IFD.Exif)[0xA431] = "SN-4711"  # BodySerialNumber
    return exif


def _icc() -> bytes:
    return bytes(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())


def _gif_with_xmp_and_comment(img: Image.Image) -> bytes:
    out = io.BytesIO()
    img.convert("P").save(out, "GIF", comment=b"taken at 12 Secret Lane by Jane Doe")
    data = out.getvalue()
    # An XMP application extension, as editors write it, before the first image descriptor.
    blocks = b"".join(bytes([len(XMP[i : i + 255])]) + XMP[i : i + 255] for i in range(0, len(XMP), 255))
    ext = b"\x21\xff\x0bXMP DataXMP" + blocks + b"\x00"
    packed = data[10]
    at = 13 + (3 * 2 ** ((packed & 7) + 1) if packed & 0x80 else 0)  # after the header and global colour table
    return data[:at] + ext + data[at:]


def leaky_image(fmt: str, size: tuple[int, int] = (48, 36)) -> bytes:
    """An image in ``fmt`` carrying GPS, device and serial EXIF, XMP, a comment and an ICC profile."""
    img = Image.new("RGB", size, (10, 120, 200))
    img.putpixel((1, 1), (250, 250, 0))
    out = io.BytesIO()
    if fmt == "JPEG":
        img.save(out, "JPEG", exif=revealing_exif(), comment=b"taken at 12 Secret Lane", xmp=XMP, icc_profile=_icc())
    elif fmt == "PNG":
        info = PngInfo()
        info.add_text("Comment", "taken at 12 Secret Lane")
        info.add_itxt("XML:com.adobe.xmp", XMP.decode())
        info.add_text("Author", "Jane Doe")
        img.save(out, "PNG", exif=revealing_exif(), pnginfo=info, icc_profile=_icc())
    elif fmt == "WEBP":
        img.save(out, "WEBP", exif=revealing_exif(), xmp=XMP, icc_profile=_icc(), lossless=True)
    else:
        return _gif_with_xmp_and_comment(img)
    return out.getvalue()


def assert_clean(data: bytes, where: str) -> None:
    with Image.open(io.BytesIO(data)) as img:
        img.load()
        assert dict(img.getexif()) == {}, where
        assert not img.getexif().get_ifd(IFD.GPSInfo), where
        assert not (METADATA_KEYS & set(img.info)), (where, set(img.info))
        assert not img.info.get("icc_profile"), where
        if hasattr(img, "text"):
            assert not img.text, (where, img.text)
    for needle in SECRETS + MARKERS:
        assert needle not in data, (where, needle)


def fetch(client: Client, url: str) -> bytes:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    assert response["X-Content-Type-Options"] == "nosniff"
    return b"".join(response.streaming_content)


def _path(url: str) -> str:
    return url.split("://", 1)[1].split("/", 1)[1].join(["/", ""]) if "://" in url else url


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "GIF"])
def test_d1_metadata_strip_the_test_images_really_leak(fmt):
    data = leaky_image(fmt)
    with Image.open(io.BytesIO(data)) as img:
        img.load()
        if fmt != "GIF":
            assert img.getexif().get_ifd(IFD.GPSInfo) and img.getexif()[Base.Model] == "Spyphone 3000"
            assert img.info.get("icc_profile")
        assert img.info.get("xmp") or img.info.get("XML:com.adobe.xmp") or img.info.get("extension") or fmt == "WEBP"
    assert b"Secret Lane" in data or b"SN-4711" in data


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "GIF"])
def test_d1_metadata_strip_post_images_every_variant(world, password_token, media_dir, fmt):  # noqa: F811 - fixture
    api = bearer(password_token(world.alice))
    upload = SimpleUploadedFile(f"photo.{fmt.lower()}", leaky_image(fmt), content_type=f"image/{fmt.lower()}")
    attachment = api.post("/api/v2/media", {"file": upload, "description": "a blue square"}).json()
    post = make_post(world.alice, "look", media_ids=[int(attachment["id"])])
    # Every variant, by every route a viewer has: the API's URLs (with their grant), the bare
    # /media/ URLs an anonymous visitor of a public post uses, and the files on disk.
    served = {
        "api original": fetch(Client(), _path(attachment["url"])),
        "api preview": fetch(Client(), _path(attachment["preview_url"])),
    }
    status = api.get(f"/api/v1/statuses/{post.pk}").json()
    for item in status["media_attachments"]:
        served["status original"] = fetch(Client(), _path(item["url"]))
        served["status preview"] = fetch(Client(), _path(item["preview_url"]))
    for path in sorted(media_dir.iterdir()):
        served[f"disk {path.name}"] = path.read_bytes()
        served[f"anonymous {path.name}"] = fetch(Client(), f"/media/{path.name}")
    assert len(served) == 8
    for where, data in served.items():
        assert_clean(data, f"{fmt} {where}")


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP", "GIF"])
def test_d1_metadata_strip_avatar_and_header(world, client_for, media_dir, fmt, django_capture_on_commit_callbacks):
    client = client_for(world.alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/settings/profile",
            {
                "display_name": "Alice",
                "note": "",
                "avatar": SimpleUploadedFile(f"a.{fmt.lower()}", leaky_image(fmt, (300, 300))),
                "header": SimpleUploadedFile(f"h.{fmt.lower()}", leaky_image(fmt, (900, 300))),
            },
        )
    assert response.status_code == 302, response.content.decode()[:2000]
    alice = Account.objects.get(pk=world.alice.pk)
    assert alice.avatar and alice.header
    for name in (alice.avatar, alice.header):
        assert_clean(fetch(Client(), f"/media/{name}"), f"{fmt} profile image {name}")
    # Only the variants in use are kept, and they are clean on disk as well.
    assert sorted(p.name for p in media_dir.iterdir()) == sorted([alice.avatar, alice.header])
    for path in media_dir.iterdir():
        assert_clean(path.read_bytes(), f"{fmt} disk {path.name}")


def test_d1_metadata_strip_orientation_is_applied_not_kept(world, media_dir):
    """The one EXIF tag that matters to how the picture looks is applied to the pixels, then dropped."""
    from rostra.posts.actions import upload_media

    img = Image.new("RGB", (40, 20), (0, 0, 0))
    exif = revealing_exif()
    exif[Base.Orientation] = 6  # rotate 90° clockwise to display
    out = io.BytesIO()
    img.save(out, "JPEG", exif=exif)
    media = upload_media(world.alice, out.getvalue())
    assert (media.width, media.height) == (20, 40)
    assert_clean((media_dir / media.file).read_bytes(), "rotated")


def test_d1_metadata_strip_gif_xmp_block_is_really_there():
    data = leaky_image("GIF")
    assert b"XMP DataXMP" in data and b"Secret Lane" in data
    assert struct.unpack("<HH", data[6:10]) == (48, 36)


def _swapped_primaries_icc() -> bytes:
    """An RGB profile that is not sRGB: sRGB's with the red and green primaries swapped, so a
    conversion is unmistakable (its pure red is sRGB's pure green)."""
    data = bytearray(_icc())
    count = struct.unpack(">I", data[128:132])[0]
    tags = {}
    for i in range(count):
        sig, offset, size = struct.unpack(">4sII", data[132 + 12 * i : 144 + 12 * i])
        tags[sig] = (offset, size)
    (ro, rs), (go, gs) = tags[b"rXYZ"], tags[b"gXYZ"]
    red, green = bytes(data[ro : ro + rs]), bytes(data[go : go + gs])
    data[ro : ro + rs], data[go : go + gs] = green, red
    data[84:100] = b"\0" * 16  # no profile id: it would no longer match
    return bytes(data)


@pytest.mark.parametrize(
    ("icc", "expected"),
    [("swapped", (0, 255, 0)), ("srgb", (255, 0, 0)), ("broken", (255, 0, 0)), ("none", (255, 0, 0))],
)
@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_d1_metadata_strip_colour_profile_is_applied_then_dropped(world, media_dir, fmt, icc, expected):
    from rostra.posts.actions import upload_media

    profile = {"swapped": _swapped_primaries_icc(), "srgb": _icc(), "broken": b"not an icc profile at all", "none": None}[icc]
    out = io.BytesIO()
    Image.new("RGB", (16, 16), (255, 0, 0)).save(
        out, fmt, **({"icc_profile": profile} if profile else {}), **({"lossless": True} if fmt == "WEBP" else {})
    )
    media = upload_media(world.alice, out.getvalue())
    for name in (media.file, media.thumbnail):
        data = (media_dir / name).read_bytes()
        assert_clean(data, f"{fmt} {icc}")
        with Image.open(io.BytesIO(data)) as img:
            pixel = img.convert("RGB").getpixel((8, 8))
        assert all(abs(a - b) <= 8 for a, b in zip(pixel, expected, strict=True)), (fmt, icc, pixel)
