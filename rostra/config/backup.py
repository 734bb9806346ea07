"""Whole-instance backups: ``rostra backup`` and ``rostra restore`` (docs/operations.md, "Backups and restore").

A backup is one tar file holding ``manifest.json`` and its parts:

* ``database.sqlite3`` (SQLite: the online backup API, one consistent snapshot while the server
  keeps writing in WAL mode) or ``database.pgdump`` (PostgreSQL: ``pg_dump --format=custom``, a
  consistent snapshot too);
* ``media.tar``: the media directory (absent when media live in an object store, which the
  bucket's own versioning backs up);
* ``secret_key``: the generated key of ``<data dir>/secret_key`` (absent when ``ROSTRA_SECRET_KEY``
  supplies it; the manifest keeps a fingerprint either way, since sealed secrets need that key).

The manifest names the Rostra version, the applied migrations, the date, and each part's size and
sha256. A restore checks all of that before it touches anything, writes every part beside its
place and renames it in, then applies the migrations the backup predates.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import IO, Any, cast

FORMAT = "rostra-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
PART_FILES = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump", "media": "media.tar", "secret_key": "secret_key"}
INSTALL_PG_CLIENT = (
    "install PostgreSQL's client programs, of the server's major version or newer (Debian: apt-get install postgresql-client)"
)


class BackupError(Exception):
    """A backup or restore cannot go on; the message says why and what to do. Nothing was changed."""


# --- What this instance is -------------------------------------------------------------------


def _engine() -> str:
    from django.conf import settings

    engine = str(settings.DATABASES["default"]["ENGINE"])
    return "sqlite" if engine.endswith("sqlite3") else "postgresql"


def _sqlite_path() -> Path:
    from django.conf import settings

    return Path(str(settings.DATABASES["default"]["NAME"]))


def _media_dir() -> Path | None:
    """The local media directory, or None when media live elsewhere (an object store)."""
    from django.conf import settings

    if getattr(settings.ROSTRA, "media_s3_url", None):
        return None
    default = cast(dict[str, Any], settings.STORAGES["default"])
    if str(default["BACKEND"]) != "django.core.files.storage.FileSystemStorage":
        return None
    return Path(default.get("OPTIONS", {}).get("location") or settings.MEDIA_ROOT)


def _media_backend() -> str:
    from django.conf import settings

    if getattr(settings.ROSTRA, "media_s3_url", None):
        return "S3-compatible storage (ROSTRA_MEDIA_S3_URL)"
    default = cast(dict[str, Any], settings.STORAGES["default"])
    return str(default["BACKEND"])


def key_fingerprint(key: str) -> str:
    """Names a secret key without revealing it: restore compares it with the key in force."""
    return hashlib.sha256(b"rostra-secret-key:" + key.encode()).hexdigest()[:16]


def _key_from_environment() -> bool:
    return bool(os.environ.get("ROSTRA_SECRET_KEY", "").strip())


def _rostra_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("rostra")
    except PackageNotFoundError:  # pragma: no cover - running from a tree that was never installed
        return "unknown"


def _known_migrations() -> set[str]:
    from django.db.migrations.loader import MigrationLoader

    loader = MigrationLoader(None, ignore_no_migrations=True)
    return {f"{app}.{name}" for app, name in loader.disk_migrations}


def _pg_params() -> dict[str, str]:
    from django.conf import settings

    db = settings.DATABASES["default"]
    params = {
        "dbname": str(db.get("NAME") or ""),
        "user": str(db.get("USER") or ""),
        "password": str(db.get("PASSWORD") or ""),
        "host": str(db.get("HOST") or ""),
        "port": str(db.get("PORT") or ""),
    }
    return {k: v for k, v in params.items() if v}


def _pg_env(dbname: str | None = None) -> dict[str, str]:
    """libpq's variables for the configured server (no password on a command line)."""
    p = _pg_params()
    env = dict(os.environ)
    for key, var in (
        ("host", "PGHOST"),
        ("port", "PGPORT"),
        ("user", "PGUSER"),
        ("password", "PGPASSWORD"),
        ("dbname", "PGDATABASE"),
    ):
        env.pop(var, None)
        if key in p:
            env[var] = p[key]
    if dbname:
        env["PGDATABASE"] = dbname
    return env


def _pg_tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise BackupError(
            f"{name} is not on PATH, and a PostgreSQL instance is backed up and restored with it: {INSTALL_PG_CLIENT}."
        )
    return found


def _run(cmd: list[str], env: dict[str, str], what: str) -> None:
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)  # noqa: S603 - pg_dump/pg_restore found on PATH
    if out.returncode != 0:
        detail = (out.stderr or out.stdout).strip().splitlines()
        raise BackupError(f"{what} failed: {' / '.join(detail[-3:]) or f'exit code {out.returncode}'}")


# --- Backup ----------------------------------------------------------------------------------


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _snapshot_sqlite(dest: Path) -> tuple[list[str], dict[str, int]]:
    """Copy the live database with SQLite's online backup API in one step: one read transaction,
    so one consistent state, while writers go on (WAL). Returns its migrations and counts."""
    src_path = _sqlite_path()
    if not src_path.exists():
        raise BackupError(
            f"there is no database at {src_path}: run `rostra migrate` first (or point ROSTRA_DATA_DIR at the instance)."
        )
    src = sqlite3.connect(str(src_path), timeout=30)
    dst = sqlite3.connect(str(dest))
    try:
        src.execute("PRAGMA busy_timeout=30000")
        src.backup(dst)  # pages=-1: the whole file under one read lock
    except sqlite3.Error as exc:
        raise BackupError(f"copying the SQLite database failed: {exc}") from None
    finally:
        src.close()
    try:
        ok = dst.execute("PRAGMA quick_check").fetchone()
        if not ok or ok[0] != "ok":
            raise BackupError(f"the copied SQLite database fails its integrity check: {ok}")
        migrations = sorted(f"{a}.{n}" for a, n in dst.execute("SELECT app, name FROM django_migrations"))
        counts = {what: _count(dst, table) for what, table in _count_tables().items()}
    except sqlite3.Error as exc:
        raise BackupError(f"the SQLite database is not a migrated Rostra database ({exc}): run `rostra migrate` first.") from None
    finally:
        dst.close()
    return migrations, counts


def _count_tables() -> dict[str, str]:
    from django.apps import apps

    return {
        "accounts": apps.get_model("accounts", "Account")._meta.db_table,
        "users": apps.get_model("accounts", "User")._meta.db_table,
        "posts": apps.get_model("posts", "Post")._meta.db_table,
    }


def _count(conn: sqlite3.Connection, table: str) -> int:
    try:
        return int(conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0])  # noqa: S608 - a model's table name
    except sqlite3.Error:
        return 0


def _dump_postgres(dest: Path) -> tuple[list[str], dict[str, int]]:
    from django.db import connection
    from django.db.migrations.recorder import MigrationRecorder

    pg_dump = _pg_tool("pg_dump")
    migrations = sorted(f"{a}.{n}" for a, n in MigrationRecorder(connection).applied_migrations())
    if not migrations:
        raise BackupError("the PostgreSQL database is not migrated: run `rostra migrate` first.")
    counts = {}
    with connection.cursor() as cur:
        for what, table in _count_tables().items():
            cur.execute(f'SELECT count(*) FROM "{table}"')  # noqa: S608 - a model's table name
            counts[what] = int(cur.fetchone()[0])
    connection.close()
    _run([pg_dump, "--format=custom", "--no-owner", "--no-privileges", "--file", str(dest)], _pg_env(), "pg_dump")
    return migrations, counts


def _tar_media(media: Path, dest: Path) -> int:
    """The media directory as a tar; files deleted while we walk are left out (their posts are gone)."""
    files = 0
    with tarfile.open(dest, "w", format=tarfile.PAX_FORMAT) as tar:
        for root, dirs, names in os.walk(media):
            dirs.sort()
            for name in sorted(names):
                path = Path(root) / name
                if not path.is_file() or path.is_symlink():
                    continue
                try:
                    tar.add(str(path), arcname=path.relative_to(media).as_posix(), recursive=False)
                except FileNotFoundError:
                    continue
                files += 1
    return files


def backup(target: Path) -> tuple[Path, dict[str, Any]]:
    """Write a backup of this instance to ``target`` (a directory: a dated file inside it)."""
    from django.conf import settings

    target = target.expanduser()
    if target.is_dir():
        target = target / f"rostra-backup-{datetime.now(UTC).strftime('%Y%m%d-%H%M%S')}.tar"
    if target.exists():
        raise BackupError(f"{target} already exists: give another file name or a directory.")
    if not target.parent.is_dir():
        raise BackupError(f"{target.parent} is not a directory.")
    engine = _engine()
    staging = Path(tempfile.mkdtemp(prefix=".rostra-backup-", dir=target.parent))
    partial = target.with_name(target.name + ".partial")
    try:
        parts: dict[str, Path] = {}
        db_file = staging / PART_FILES[engine]
        migrations, counts = _snapshot_sqlite(db_file) if engine == "sqlite" else _dump_postgres(db_file)
        parts["database"] = db_file
        media_dir = _media_dir()
        if media_dir is not None:
            media_info: dict[str, Any] = {"storage": "filesystem", "files": _tar_media(media_dir, staging / PART_FILES["media"])}
            parts["media"] = staging / PART_FILES["media"]
        else:
            media_info = {
                "storage": _media_backend(),
                "note": "media live in an object store and are not in this backup: keep the bucket's own versioning on",
            }
        key = str(settings.SECRET_KEY)
        if _key_from_environment():
            key_info = {"source": "environment", "fingerprint": key_fingerprint(key)}
        else:
            key_info = {"source": "file", "fingerprint": key_fingerprint(key)}
            (staging / PART_FILES["secret_key"]).write_text(key + "\n")
            parts["secret_key"] = staging / PART_FILES["secret_key"]
        manifest: dict[str, Any] = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "rostra_version": _rostra_version(),
            "created": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
            "database": {"engine": engine},
            "migrations": migrations,
            "counts": counts,
            "media": media_info,
            "secret_key": key_info,
            "parts": {
                name: {"file": path.name, "size": path.stat().st_size, "sha256": _sha256_file(path)}
                for name, path in parts.items()
            },
        }
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # it holds the secret key
        with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
            tar.add(str(staging / MANIFEST), arcname=MANIFEST)
            for path in parts.values():
                tar.add(str(path), arcname=path.name)
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(partial, target)
        return target, manifest
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


# --- Reading and checking a backup -----------------------------------------------------------


@contextmanager
def _open_archive(archive: Path) -> Iterator[tarfile.TarFile]:
    if not archive.is_file():
        raise BackupError(f"{archive} does not exist or is not a file.")
    try:
        tar = tarfile.open(archive, "r:")  # noqa: SIM115 - closed below
    except (tarfile.TarError, OSError) as exc:
        raise BackupError(f"{archive} is not a Rostra backup (not a readable tar file: {exc}).") from None
    try:
        yield tar
    finally:
        tar.close()


def _member(tar: tarfile.TarFile, name: str, archive: Path) -> IO[bytes]:
    try:
        info = tar.getmember(name)
        fh = tar.extractfile(info) if info.isfile() else None
    except KeyError:
        fh = None
    except tarfile.TarError as exc:
        raise BackupError(f"{archive} is damaged ({exc}).") from None
    if fh is None:
        raise BackupError(f"{archive} has no {name}: the backup is incomplete.")
    return fh


def read_manifest(archive: Path) -> dict[str, Any]:
    with _open_archive(archive) as tar:
        return _checked_manifest(tar, archive)


def _checked_manifest(tar: tarfile.TarFile, archive: Path) -> dict[str, Any]:
    try:
        manifest = json.loads(_member(tar, MANIFEST, archive).read())
    except (ValueError, tarfile.TarError, OSError) as exc:
        raise BackupError(f"{archive}: manifest.json is damaged ({exc}).") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{archive} is not a Rostra backup (its manifest.json is not one).")
    version = manifest.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION or version < 1:
        raise BackupError(
            f"{archive} is in backup format {version!r} (made by Rostra {manifest.get('rostra_version', '?')}); this Rostra "
            f"({_rostra_version()}) reads format {FORMAT_VERSION}: restore it with that Rostra version or newer."
        )
    engine = (manifest.get("database") or {}).get("engine")
    parts = manifest.get("parts")
    if engine not in ("sqlite", "postgresql") or not isinstance(parts, dict) or "database" not in parts:
        raise BackupError(f"{archive}: manifest.json names no database part; the backup is incomplete.")
    if not isinstance(manifest.get("migrations"), list):
        raise BackupError(f"{archive}: manifest.json lists no migrations.")
    for name, part in parts.items():
        if name not in ("database", "media", "secret_key") or not isinstance(part, dict):
            raise BackupError(f"{archive}: manifest.json names an unknown part {name!r}.")
        expected = PART_FILES[engine] if name == "database" else PART_FILES[name]
        if part.get("file") != expected or not isinstance(part.get("size"), int) or not isinstance(part.get("sha256"), str):
            raise BackupError(f"{archive}: manifest.json describes the {name} part wrongly.")
    if (manifest.get("media") or {}).get("storage") == "filesystem" and "media" not in parts:
        raise BackupError(f"{archive}: the media part is missing from manifest.json.")
    if (manifest.get("secret_key") or {}).get("source") == "file" and "secret_key" not in parts:
        raise BackupError(f"{archive}: the secret_key part is missing from manifest.json.")
    return manifest


def verify(archive: Path) -> dict[str, Any]:
    """Check the manifest, then every part's presence, size and sha256. Returns the manifest."""
    with _open_archive(archive) as tar:
        manifest = _checked_manifest(tar, archive)
        for name, part in manifest["parts"].items():
            fh = _member(tar, part["file"], archive)
            h, size = hashlib.sha256(), 0
            try:
                while chunk := fh.read(1 << 20):
                    h.update(chunk)
                    size += len(chunk)
            except (tarfile.TarError, OSError, EOFError) as exc:
                raise BackupError(f"{archive}: the {name} part is damaged ({exc}).") from None
            if size != part["size"] or h.hexdigest() != part["sha256"]:
                raise BackupError(f"{archive}: the {name} part is damaged: its size or sha256 differs from the manifest's.")
    return manifest


def check(archive: Path) -> tuple[dict[str, Any], list[str]]:
    """``verify``, then whether this Rostra can restore it: returns the manifest and the migrations
    a restore will apply after it (the backup is older); refuses a backup from a newer Rostra."""
    manifest = verify(archive)
    known = _known_migrations()
    unknown = sorted(set(manifest["migrations"]) - known)
    if unknown:
        raise BackupError(
            f"{archive} comes from a newer Rostra ({manifest.get('rostra_version', '?')}; this is {_rostra_version()}): its "
            f"database has migrations this version does not know ({', '.join(unknown[:5])}). Upgrade Rostra, then restore."
        )
    return manifest, sorted(known - set(manifest["migrations"]))


# --- Restore ---------------------------------------------------------------------------------


def _instance_is_empty() -> tuple[bool, str]:
    """Whether this instance holds nothing a restore would destroy (no accounts, no media)."""
    from django.db import DatabaseError, connection

    media = _media_dir()
    if media is not None and media.is_dir() and any(p.is_file() for p in media.rglob("*")):
        return False, f"its media directory {media} has files"
    try:
        tables = set(connection.introspection.table_names())
        for what, table in _count_tables().items():
            if table in tables:
                with connection.cursor() as cur:
                    cur.execute(f'SELECT 1 FROM "{table}" LIMIT 1')  # noqa: S608 - a model's table name
                    if cur.fetchone():
                        return False, f"its database has {what}"
    except DatabaseError:
        pass  # no database yet (a PostgreSQL database not created): nothing to lose
    finally:
        connection.close()
    return True, ""


def _check_key(manifest: dict[str, Any], archive: Path) -> None:
    from django.conf import settings

    info = manifest.get("secret_key") or {}
    wanted = info.get("fingerprint")
    if info.get("source") == "environment":
        if not _key_from_environment() or key_fingerprint(str(settings.SECRET_KEY)) != wanted:
            raise BackupError(
                f"{archive} was made with ROSTRA_SECRET_KEY set (fingerprint {wanted}), and secrets in the database are "
                "sealed with it: set ROSTRA_SECRET_KEY to that same key, then restore."
            )
    elif _key_from_environment() and key_fingerprint(str(settings.SECRET_KEY)) != wanted:
        raise BackupError(
            f"{archive} brings its own secret key (fingerprint {wanted}), but ROSTRA_SECRET_KEY here is another one and "
            "would override it: unset ROSTRA_SECRET_KEY (or set it to the backed-up key), then restore."
        )


def _extract_media(tar_path: Path, dest: Path, archive: Path) -> int:
    files = 0
    try:
        with tarfile.open(tar_path, "r:") as media:
            for info in media:
                rel = PurePosixPath(info.name)
                if info.isdir():
                    continue
                if not info.isfile() or rel.is_absolute() or ".." in rel.parts or not rel.parts:
                    raise BackupError(f"{archive}: the media part holds an unsafe entry {info.name!r}; not restoring it.")
                out = dest.joinpath(*rel.parts)
                out.parent.mkdir(parents=True, exist_ok=True)
                src = media.extractfile(info)
                assert src is not None
                with open(out, "wb") as fh:
                    shutil.copyfileobj(src, fh, 1 << 20)
                files += 1
    except tarfile.TarError as exc:
        raise BackupError(f"{archive}: the media part is damaged ({exc}).") from None
    return files


def _copy_part(tar: tarfile.TarFile, part: dict[str, Any], dest: Path, archive: Path) -> None:
    src = _member(tar, part["file"], archive)
    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        shutil.copyfileobj(src, fh, 1 << 20)
        fh.flush()
        os.fsync(fh.fileno())


def _swap_sqlite(new_db: Path) -> None:
    db = _sqlite_path()
    db.parent.mkdir(parents=True, exist_ok=True)
    # Staged beside the database (a rename never crosses file systems), the old database and its
    # WAL moved aside (SQLite would replay an old WAL onto the restored file), swapped, and only
    # then the old files deleted; a failure puts the old ones back.
    staged = db.with_name(db.name + ".restoring")
    if new_db != staged:
        shutil.copyfile(new_db, staged)
        new_db.unlink(missing_ok=True)
    aside = [(Path(str(db) + suffix), Path(str(db) + suffix + ".old")) for suffix in ("", "-wal", "-shm", "-journal")]
    moved: list[tuple[Path, Path]] = []
    try:
        for live, old in aside:
            if live.exists():
                os.replace(live, old)
                moved.append((live, old))
        os.replace(staged, db)
    except OSError as exc:
        for live, old in moved:
            os.replace(old, live)
        staged.unlink(missing_ok=True)
        raise BackupError(f"the restored database could not be swapped in ({exc}); the old database is back in place.") from None
    for _live, old in moved:
        old.unlink(missing_ok=True)


def _restore_postgres(dump: Path) -> None:
    import psycopg
    from psycopg import sql

    pg_restore = _pg_tool("pg_restore")
    params = _pg_params()
    target = params.get("dbname")
    if not target:
        raise BackupError("DATABASE_URL names no database.")
    admin = {**params, "dbname": "postgres"}
    scratch = f"{target[:40]}_restore_{secrets.token_hex(4)}"
    try:
        with psycopg.connect(**admin, autocommit=True) as conn:  # type: ignore[arg-type]
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(scratch)))
    except psycopg.Error as exc:
        raise BackupError(
            f"cannot create the scratch database {scratch} to restore into ({exc}); the role needs CREATEDB."
        ) from None
    swapped = False
    try:
        _run(
            [pg_restore, "--no-owner", "--no-privileges", "--exit-on-error", "--dbname", scratch, str(dump)],
            _pg_env(scratch),
            "pg_restore",
        )
        old = f"{target[:40]}_replaced_{secrets.token_hex(4)}"
        with psycopg.connect(**admin, autocommit=True) as conn:  # type: ignore[arg-type]
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (target,)).fetchone()
            try:
                with conn.transaction():
                    if exists:
                        conn.execute(
                            sql.SQL("ALTER DATABASE {} RENAME TO {}").format(sql.Identifier(target), sql.Identifier(old))
                        )
                    conn.execute(
                        sql.SQL("ALTER DATABASE {} RENAME TO {}").format(sql.Identifier(scratch), sql.Identifier(target))
                    )
            except psycopg.Error as exc:
                raise BackupError(
                    f"cannot put the restored database in place of {target} ({str(exc).strip()}): stop every Rostra process "
                    "(web, worker, streaming) using it, then restore again."
                ) from None
            swapped = True
            if exists:
                conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(old)))
    finally:
        if not swapped:
            with psycopg.connect(**admin, autocommit=True) as conn:  # type: ignore[arg-type]
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(scratch)))


def restore(archive: Path, *, force: bool = False) -> dict[str, Any]:
    """Replace this instance's database, media and secret key with the backup's, then migrate."""
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connections

    archive = archive.expanduser()
    manifest, _ = check(archive)
    engine = _engine()
    if manifest["database"]["engine"] != engine:
        have = "PostgreSQL (DATABASE_URL)" if engine == "postgresql" else "SQLite"
        raise BackupError(
            f"{archive} holds a {manifest['database']['engine']} database and this instance uses {have}: restore it into an "
            "instance of the same kind (set or unset DATABASE_URL)."
        )
    if engine == "postgresql":
        _pg_tool("pg_restore")  # before anything is written
    _check_key(manifest, archive)
    if not force:
        empty, why = _instance_is_empty()
        if not empty:
            raise BackupError(f"this instance is not empty ({why}): restoring would replace it. Add --force to do so.")
    parts = manifest["parts"]
    media_dir = _media_dir()
    if "media" in parts and media_dir is None:
        raise BackupError(
            f"{archive} has a media directory but this instance keeps media in {_media_backend()}: copy them there yourself."
        )

    data_dir = Path(settings.ROSTRA.data_dir)
    aside = Path(tempfile.mkdtemp(prefix=".rostra-restore-", dir=data_dir))
    connections.close_all()
    try:
        with _open_archive(archive) as tar:
            new_db = aside / PART_FILES[engine]
            _copy_part(tar, parts["database"], new_db, archive)
            new_media = aside / "media"
            new_media.mkdir()
            if "media" in parts:
                _copy_part(tar, parts["media"], aside / PART_FILES["media"], archive)
            new_key = aside / PART_FILES["secret_key"]
            if "secret_key" in parts:
                _copy_part(tar, parts["secret_key"], new_key, archive)
        media_files = _extract_media(aside / PART_FILES["media"], new_media, archive) if "media" in parts else 0
        if "secret_key" in parts and len(new_key.read_text().strip()) < 32:
            raise BackupError(f"{archive}: the secret_key part is not a key.")
        if engine == "sqlite":
            conn = sqlite3.connect(str(new_db))
            try:
                if conn.execute("PRAGMA quick_check").fetchone() != ("ok",):
                    raise BackupError(f"{archive}: the database part fails SQLite's integrity check.")
            finally:
                conn.close()
        # Everything is written beside its place: now swap each part in with a rename.
        if engine == "postgresql":
            _restore_postgres(new_db)
        else:
            _swap_sqlite(new_db)
        if media_dir is not None and "media" in parts:
            old_media = aside / "media.replaced"
            if media_dir.exists():
                os.replace(media_dir, old_media)
            os.replace(new_media, media_dir)
        if "secret_key" in parts:
            os.replace(new_key, data_dir / "secret_key")
    finally:
        shutil.rmtree(aside, ignore_errors=True)
    pending = sorted(_known_migrations() - set(manifest["migrations"]))
    connections.close_all()
    if pending:
        call_command("migrate", interactive=False, verbosity=0)
    connections.close_all()
    return {"manifest": manifest, "media_files": media_files, "migrated": len(pending)}
