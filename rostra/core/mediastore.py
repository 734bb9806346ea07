"""The media store: where uploaded and cached images live.

One interface, two stores:

* ``FileSystemStore`` — ``<data dir>/media`` (the embedded default, one machine);
* ``S3Store`` — a bucket on any S3-compatible service (``ROSTRA_MEDIA_S3_URL``), so every web
  process and worker on every machine sees the same files.

Every part of Rostra that writes, reads or deletes a media file goes through ``media_store()``
(uploads and their derived sizes, avatars and headers, the remote-media cache, exports, account
restores, deletion, the orphan sweep, and serving). File names stay 128 random bits in hex
(``rostra.core.images``); nothing is ever listed to a visitor, and the bucket needs no public
access: ``rostra.web.views.media`` asks the visibility door first, then streams the object.

``ROSTRA_MEDIA_S3_URL`` is one URL, like ``DATABASE_URL``::

    https://ACCESS_KEY:SECRET@s3.eu-west-1.example.com/bucket[/prefix][?region=eu-west-1]

the endpoint (scheme, host, port), the bucket (first path segment), an optional key prefix (the
rest of the path), and the region (``us-east-1`` when not given). Key and secret are
URL-encoded. Plain ``http://`` is accepted only for a loopback endpoint (a local MinIO or test
server), since the objects would cross the network in clear.
"""

from __future__ import annotations

import errno
import os
import re
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any
from urllib.parse import parse_qs, unquote, urlsplit

from django.conf import settings

# What a stored name may look like: what rostra.core.images.store_image makes, and nothing with a
# path separator or a leading dot (so no name can escape the directory or the prefix).
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_PREFIX = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")


class MediaStoreError(OSError):
    """The store could not do what was asked (a network or permission failure)."""


class S3UrlError(ValueError):
    """``ROSTRA_MEDIA_S3_URL`` is malformed; the message says how."""


def safe_name(name: str) -> bool:
    return bool(name) and _SAFE_NAME.match(name) is not None and ".." not in name


# What Rostra itself names a file (rostra.core.images, exports): 128 random bits in hex and an
# extension. The orphan sweep only ever considers such names, so a bucket (or prefix) shared with
# anything else never loses that other data.
_OWN_NAME = re.compile(r"^[0-9a-f]{32}\.[a-z0-9]{2,5}$")


def own_name(name: str) -> bool:
    return _OWN_NAME.match(name) is not None


class MediaStore(ABC):
    """Flat namespace of files named by ``rostra.core.images`` (no folders)."""

    @abstractmethod
    def put(self, name: str, data: bytes, content_type: str) -> None:
        """Store a new file. Raises ``OSError`` (``MediaStoreError`` for S3) on failure."""

    @abstractmethod
    def open(self, name: str) -> tuple[IO[bytes], int | None]:
        """A readable stream of the file and its size; ``FileNotFoundError`` when missing."""

    @abstractmethod
    def exists(self, name: str) -> bool: ...

    @abstractmethod
    def delete(self, names: Iterable[str]) -> None:
        """Delete the files (missing ones are fine); names that are not safe are ignored."""

    @abstractmethod
    def names_older_than(self, timestamp: float) -> Iterator[str]:
        """Every stored name last written before ``timestamp`` (the orphan sweep)."""

    @abstractmethod
    def describe(self) -> str: ...

    def read(self, name: str) -> bytes:
        handle, _ = self.open(name)
        with handle:
            return handle.read()

    def writable(self) -> tuple[bool, str]:
        """Whether the store accepts writes now (``rostra check``), and what it is."""
        return True, self.describe()


class FileSystemStore(MediaStore):
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, name: str) -> Path:
        if not safe_name(name):
            raise FileNotFoundError(name)
        return self.root / name

    def put(self, name: str, data: bytes, content_type: str) -> None:
        path = self._path(name)
        self.root.mkdir(parents=True, exist_ok=True)
        with open(path, "xb") as fh:  # never over another file
            try:
                fh.write(data)
            except OSError:
                path.unlink(missing_ok=True)  # ours, half-written (a full disk)
                raise

    def open(self, name: str) -> tuple[IO[bytes], int | None]:
        handle = open(self._path(name), "rb")  # noqa: SIM115 - the caller closes it
        return handle, os.fstat(handle.fileno()).st_size

    def exists(self, name: str) -> bool:
        return safe_name(name) and (self.root / name).is_file()

    def delete(self, names: Iterable[str]) -> None:
        for name in names:
            if safe_name(name):
                (self.root / name).unlink(missing_ok=True)

    def names_older_than(self, timestamp: float) -> Iterator[str]:
        if not self.root.is_dir():
            return
        with os.scandir(self.root) as entries:
            for entry in entries:
                if entry.name.startswith(".") or not entry.is_file(follow_symlinks=False):
                    continue
                if entry.stat(follow_symlinks=False).st_mtime < timestamp:
                    yield entry.name

    def describe(self) -> str:
        return str(self.root)

    def writable(self) -> tuple[bool, str]:
        return os.access(self.root, os.W_OK), str(self.root)


@dataclass(frozen=True)
class S3Location:
    endpoint: str  # scheme://host[:port]
    bucket: str
    prefix: str  # "" or "some/prefix/"
    region: str
    access_key: str
    secret_key: str = ""

    def __repr__(self) -> str:  # never print the secret
        return f"S3Location(endpoint={self.endpoint!r}, bucket={self.bucket!r}, prefix={self.prefix!r}, region={self.region!r})"


def _loopback(host: str) -> bool:
    import ipaddress

    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def parse_s3_url(raw: str) -> S3Location:
    """Read ``ROSTRA_MEDIA_S3_URL``; ``S3UrlError`` says what is wrong (never echoing the secret)."""
    try:
        parts = urlsplit(raw.strip())
        port = parts.port
    except ValueError:
        raise S3UrlError("it is not a URL (https://ACCESS_KEY:SECRET@endpoint/bucket).") from None
    if parts.scheme not in ("https", "http"):
        raise S3UrlError("it must start with https:// (the endpoint), like https://ACCESS_KEY:SECRET@s3.example.com/bucket.")
    host = parts.hostname or ""
    if not host:
        raise S3UrlError("it names no endpoint host.")
    if parts.scheme == "http" and not _loopback(host):
        raise S3UrlError(
            f"plain http:// is only for an endpoint on this machine (127.0.0.1, localhost), not {host}: use https://."
        )
    if not parts.username or not parts.password:
        raise S3UrlError("it needs the access key and the secret before the host: https://ACCESS_KEY:SECRET@endpoint/bucket.")
    segments = [s for s in parts.path.split("/") if s]
    if not segments:
        raise S3UrlError("it names no bucket: https://ACCESS_KEY:SECRET@endpoint/bucket.")
    bucket, prefix = segments[0], "/".join(segments[1:])
    if not _BUCKET.match(bucket) or ".." in bucket:
        raise S3UrlError(f"{bucket!r} is not a valid bucket name (3-63 lowercase letters, digits, dots and hyphens).")
    if prefix and (not _PREFIX.match(prefix) or any(seg in (".", "..") for seg in segments[1:])):
        raise S3UrlError(f"the key prefix {prefix!r} may only hold letters, digits, '.', '_', '-' and '/'.")
    query = parse_qs(parts.query, keep_blank_values=True)
    unknown = sorted(set(query) - {"region"})
    if unknown:
        raise S3UrlError(f"unknown option(s) {', '.join(unknown)}: only region= is understood.")
    region = (query.get("region") or ["us-east-1"])[0].strip() or "us-east-1"
    if not re.match(r"^[a-z0-9-]{2,32}$", region):
        raise S3UrlError(f"region={region!r} is not a region name like eu-west-1.")
    netloc = host if port is None else f"{host}:{port}"
    if ":" in host:
        netloc = f"[{host}]" if port is None else f"[{host}]:{port}"
    return S3Location(
        endpoint=f"{parts.scheme}://{netloc}",
        bucket=bucket,
        prefix=f"{prefix}/" if prefix else "",
        region=region,
        access_key=unquote(parts.username),
        secret_key=unquote(parts.password),
    )


class S3Store(MediaStore):
    """Objects in one bucket under one prefix; private (no ACL is ever granted to anyone else)."""

    def __init__(self, location: S3Location) -> None:
        import boto3
        from botocore.config import Config

        self.location = location
        self.client: Any = boto3.client(
            "s3",
            endpoint_url=location.endpoint,
            region_name=location.region,
            aws_access_key_id=location.access_key,
            aws_secret_access_key=location.secret_key,
            config=Config(
                signature_version="s3v4",
                s3={"addressing_style": "path"},
                connect_timeout=5,
                read_timeout=30,
                retries={"max_attempts": 3, "mode": "standard"},
            ),
        )

    def _key(self, name: str) -> str:
        if not safe_name(name):
            raise FileNotFoundError(name)
        return self.location.prefix + name

    def _fail(self, what: str, exc: Exception) -> MediaStoreError:
        code = _error_code(exc)
        return MediaStoreError(errno.EIO, f"the media bucket could not {what} ({code or type(exc).__name__})")

    def put(self, name: str, data: bytes, content_type: str) -> None:
        try:
            self.client.put_object(Bucket=self.location.bucket, Key=self._key(name), Body=data, ContentType=content_type)
        except Exception as exc:  # noqa: BLE001 - botocore raises many kinds; all mean "not stored"
            raise self._fail("store a file", exc) from None

    def open(self, name: str) -> tuple[IO[bytes], int | None]:
        try:
            found = self.client.get_object(Bucket=self.location.bucket, Key=self._key(name))
        except Exception as exc:  # noqa: BLE001
            if _error_code(exc) in ("NoSuchKey", "404", "NotFound"):
                raise FileNotFoundError(name) from None
            raise self._fail("read a file", exc) from None
        return found["Body"], int(found.get("ContentLength") or 0) or None

    def exists(self, name: str) -> bool:
        if not safe_name(name):
            return False
        try:
            self.client.head_object(Bucket=self.location.bucket, Key=self._key(name))
        except Exception as exc:  # noqa: BLE001
            if _error_code(exc) in ("NoSuchKey", "404", "NotFound"):
                return False
            raise self._fail("look up a file", exc) from None
        return True

    def delete(self, names: Iterable[str]) -> None:
        keys = [self._key(n) for n in names if safe_name(n)]
        for start in range(0, len(keys), 1000):  # DeleteObjects takes at most 1,000 keys
            chunk = keys[start : start + 1000]
            try:
                answer = self.client.delete_objects(
                    Bucket=self.location.bucket, Delete={"Objects": [{"Key": k} for k in chunk], "Quiet": True}
                )
            except Exception as exc:  # noqa: BLE001
                raise self._fail("delete files", exc) from None
            if answer.get("Errors"):
                first = answer["Errors"][0]
                raise MediaStoreError(
                    errno.EIO, f"the media bucket refused to delete {len(answer['Errors'])} file(s) ({first.get('Code')})"
                )
            self._delete_versions(chunk)

    def _delete_versions(self, keys: list[str]) -> None:
        """On a versioned bucket a delete only adds a marker and the image stays: deletion must
        really delete, so every version (and marker) of these keys goes too."""
        versions: list[dict[str, str]] = []
        try:
            for key in keys:
                page = self.client.list_object_versions(Bucket=self.location.bucket, Prefix=key)
                for item in [*page.get("Versions", ()), *page.get("DeleteMarkers", ())]:
                    if item["Key"] == key:
                        versions.append({"Key": key, "VersionId": item["VersionId"]})
            for start in range(0, len(versions), 1000):
                self.client.delete_objects(Bucket=self.location.bucket, Delete={"Objects": versions[start : start + 1000], "Quiet": True})
        except Exception as exc:  # noqa: BLE001
            if _error_code(exc) in ("NotImplemented", "AccessDenied"):
                return  # a store without versioning support (or rights to list them): the plain delete was all there is
            raise self._fail("delete old versions of files", exc) from None

    def names_older_than(self, timestamp: float) -> Iterator[str]:
        cutoff = datetime.fromtimestamp(timestamp, tz=UTC)
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.location.bucket, Prefix=self.location.prefix)
        try:
            for page in pages:
                for item in page.get("Contents", ()):
                    name = item["Key"][len(self.location.prefix) :]
                    if own_name(name) and item["LastModified"] < cutoff:
                        yield name
        except Exception as exc:  # noqa: BLE001
            raise self._fail("list its files", exc) from None

    def describe(self) -> str:
        loc = self.location
        return f"S3 bucket {loc.bucket} at {loc.endpoint}" + (f", prefix {loc.prefix}" if loc.prefix else "")

    def writable(self) -> tuple[bool, str]:
        try:
            self.client.head_bucket(Bucket=self.location.bucket)
        except Exception as exc:  # noqa: BLE001
            return False, f"{self.describe()}: {_error_code(exc) or type(exc).__name__}"
        return True, self.describe()


def _error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


_lock = threading.Lock()
_s3_stores: dict[str, S3Store] = {}


def media_store() -> MediaStore:
    """The store this instance is configured with (read from settings at each call, so a test
    that swaps ``settings.ROSTRA`` gets its own; S3 clients are made once per URL)."""
    cfg = settings.ROSTRA
    url = getattr(cfg, "media_s3_url", None)
    if not url:
        return FileSystemStore(cfg.media_dir)
    store = _s3_stores.get(url)
    if store is None:
        with _lock:
            store = _s3_stores.get(url) or S3Store(parse_s3_url(url))
            _s3_stores[url] = store
    return store


def as_store(where: MediaStore | Path | str) -> MediaStore:
    """A store from a store or a directory (older call sites and tests pass the directory)."""
    return where if isinstance(where, MediaStore) else FileSystemStore(Path(where))
