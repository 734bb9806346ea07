"""`rostra backup` and `rostra restore` (docs/operations.md, "Backups and restore").

A real instance is backed up while posts are being written through the API, restored into a fresh
data dir (and, in the PostgreSQL run, a fresh database), served again, and read back: posts, media
and accounts (passwords and app tokens) are there. Every bad archive is refused before anything is
written.
"""

from __future__ import annotations

import io
import json
import os
import secrets
import subprocess
import sys
import tarfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.live import RBIN, serve
from tests.security.test_f_crash import LIMITS, PASSWORD, PG_URL, app_token, create_database, eventually, http, png

pytestmark = pytest.mark.live

ENGINES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.skipif(not PG_URL, reason="the PostgreSQL run only"))]


def base_env(data: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ROSTRA_", "DJANGO_", "DATABASE_URL", "REDIS_URL"))}
    env.update(ROSTRA_DATA_DIR=str(data), **(extra or {}))
    return env


def rostra(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([RBIN, *args], env=env, capture_output=True, text=True, timeout=300, check=False)


def ok(env: dict[str, str], *args: str) -> str:
    out = rostra(env, *args)
    assert out.returncode == 0, f"rostra {' '.join(args)}:\n{out.stdout}\n{out.stderr}"
    return out.stdout


BATCH = """
import contextlib, io, json, sys
from rostra.config.cli import main
answers = []
for args in json.loads(sys.argv[1]):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(args)
        except SystemExit as exc:
            code = exc.code
    answers.append([code, out.getvalue(), err.getvalue()])
print(json.dumps(answers))
"""


def refused_all(env: dict[str, str], *commands: list[str]) -> list[str]:
    """``refused`` for many commands in one process (the same `main` the rostra script calls; Django is
    set up once, which saves seconds a command)."""
    got = subprocess.run(
        [sys.executable, "-c", BATCH, json.dumps(commands)], env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert got.returncode == 0, got.stderr[-3000:]
    answers = json.loads(got.stdout.strip().splitlines()[-1])
    for args, (code, _, err) in zip(commands, answers, strict=True):
        assert code == 2, f"rostra {' '.join(args)} exited {code}: {err}"
        assert err.startswith("rostra: ") and "Traceback" not in err, err
    return [err for _, _, err in answers]


def refused(env: dict[str, str], *args: str) -> str:
    """The command exits 2 with one clear line, never a traceback."""
    out = rostra(env, *args)
    assert out.returncode == 2, f"rostra {' '.join(args)} exited {out.returncode}:\n{out.stdout}\n{out.stderr}"
    assert "Traceback" not in out.stderr, out.stderr
    assert out.stderr.startswith("rostra: "), out.stderr
    return out.stderr


@contextmanager
def databases(engine: str) -> Iterator[tuple[dict[str, str], dict[str, str]]]:
    """The source and target instances' database settings: SQLite in their data dirs, or two
    databases of their own on the PostgreSQL server (the target one is made by the restore)."""
    if engine == "sqlite":
        yield {}, {}
        return
    import psycopg

    assert PG_URL
    admin = urlunsplit(urlsplit(PG_URL)._replace(path="/postgres"))
    names = [f"rostra_ops_{secrets.token_hex(4)}", f"rostra_ops_{secrets.token_hex(4)}"]
    create_database(admin, names[0])
    try:
        yield tuple({"DATABASE_URL": urlunsplit(urlsplit(PG_URL)._replace(path=f"/{n}"))} for n in names)  # type: ignore[misc]
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            for name in names:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            left = conn.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", [f"{names[1]}_%"]).fetchall()
        assert not left, f"scratch databases left behind: {left}"


def manifest_of(archive: Path) -> dict:  # type: ignore[type-arg]
    with tarfile.open(archive) as tar:
        return json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr,no-any-return]


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


@pytest.mark.parametrize("engine", ENGINES)
def test_backup_while_posting_then_restore_into_a_fresh_instance(tmp_path: Path, engine: str) -> None:
    src, dst, out = tmp_path / "src", tmp_path / "dst", tmp_path / "backups"
    for d in (src, dst, out):
        d.mkdir()
    with databases(engine) as (src_db, dst_db):
        ok(base_env(src, src_db), "migrate")  # before serve(), whose start-up deadline a loaded machine can miss
        with serve(src, ready_path="/api/v1/instance", extra_env={**src_db, **LIMITS}) as live:
            live.rostra("users", "create", "ines", "--email", "ines@example.org", "--password", PASSWORD)
            token = app_token(live, "ines")
            up = http("POST", live + "/api/v2/media", token=token, files={"file": ("lighthouse.png", png(7), "image/png")})
            assert up.status == 200, up.body
            pic = http(
                "POST",
                live + "/api/v1/statuses",
                token=token,
                data={"status": "The lighthouse, at dusk.", "media_ids[]": up.body["id"]},
            )
            assert pic.status == 200, pic.body
            image_url = pic.body["media_attachments"][0]["url"]
            image = http("GET", image_url, token=token)
            assert image.status == 200

            acked: list[tuple[float, str, str]] = []
            stop = threading.Event()

            def keep_posting() -> None:
                n = 0
                while not stop.is_set():
                    n += 1
                    text = f"Note {n} from the keeper's log."
                    got = http("POST", live + "/api/v1/statuses", token=token, data={"status": text})
                    assert got.status == 200, got.body
                    acked.append((time.monotonic(), got.body["id"], text))

            poster = threading.Thread(target=keep_posting, daemon=True)
            poster.start()
            try:
                eventually(lambda: len(acked) >= 5, "posts before the backup")
                started = time.monotonic()
                made = ok(live.env, "backup", str(out))
                finished = time.monotonic()
                eventually(lambda: any(t > finished for t, _, _ in acked), "posts after the backup")
            finally:
                stop.set()
                poster.join(timeout=30)
            assert "backed up" in made
            before = [(i, text) for t, i, text in acked if t < started]
            during = [t for t, _, _ in acked if started <= t <= finished]
            assert before
        archive = next(out.glob("rostra-backup-*.tar"))
        assert archive.stat().st_mode & 0o777 == 0o600  # it holds the secret key
        manifest = manifest_of(archive)
        assert manifest["database"]["engine"] == engine
        assert set(manifest["parts"]) == {"database", "media", "secret_key"}
        assert manifest["media"]["files"] >= 1 and manifest["counts"]["accounts"] >= 1
        assert manifest["counts"]["posts"] >= len(before) + 1
        print(f"{len(during)} posts were acknowledged while the backup ran")

        dst_env = base_env(dst, dst_db)
        if engine == "postgresql":  # PostgreSQL's own tools missing: a clear message, nothing written
            no_tools = {"PATH": str(tmp_path / "empty")}
            assert "pg_dump is not on PATH" in refused({**base_env(src, src_db), **no_tools}, "backup", str(out / "no.tar"))
            assert "pg_restore is not on PATH" in refused({**dst_env, **no_tools}, "restore", str(archive))
            assert not (out / "no.tar").exists() and not (out / "no.tar.partial").exists()
        check = ok(dst_env, "restore", "--check", str(archive))
        assert "sound backup" in check
        restored = ok(dst_env, "restore", str(archive))
        assert "restored the backup" in restored
        assert (dst / "secret_key").read_text() == (src / "secret_key").read_text()

        with serve(dst, ready_path="/api/v1/instance", extra_env={**dst_db, **LIMITS}) as back:
            # The app token made before the backup still works: accounts, tokens and the key came back.
            me = http("GET", back + "/api/v1/accounts/verify_credentials", token=token)
            assert me.status == 200 and me.body["username"] == "ines", me.body
            assert app_token(back, "ines")  # and so does the password
            for post_id, text in [(pic.body["id"], "The lighthouse, at dusk."), *before]:
                got = http("GET", back + f"/api/v1/statuses/{post_id}", token=token)
                assert got.status == 200 and text in got.body["content"], (post_id, got.status)
            again = http("GET", back + path_of(image_url), token=token)
            assert again.status == 200 and again.body == image.body
            page = http("GET", back + f"/@ines/{pic.body['id']}")  # the web pages too
            assert page.status == 200 and "The lighthouse, at dusk." in str(page.body)

        # The restored instance is no longer empty: a second restore needs --force.
        assert "--force" in refused(dst_env, "restore", str(archive))
        ok(dst_env, "restore", "--force", str(archive))


# --- Bad input -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_backup(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A backup of a small SQLite instance (one account, one media file), made without a server."""
    where = tmp_path_factory.mktemp("small")
    env = base_env(where / "data")
    ok(env, "migrate")
    ok(env, "users", "create", "ines", "--email", "ines@example.org", "--password", PASSWORD)
    (where / "data" / "media" / "0123456789abcdef0123456789abcdef.png").write_bytes(png(3))
    ok(env, "backup", str(where / "small.tar"))
    return where / "small.tar"


def rewrite(archive: Path, dest: Path, *, manifest: dict | None = None, drop: str = "", change: str = "") -> Path:  # type: ignore[type-arg]
    """A copy of ``archive`` with its manifest replaced, one member left out or one member's first byte changed."""
    with tarfile.open(archive) as tar, tarfile.open(dest, "w") as new:
        for info in tar.getmembers():
            if info.name == drop:
                continue
            data = tar.extractfile(info).read()  # type: ignore[union-attr]
            if info.name == "manifest.json" and manifest is not None:
                data = json.dumps(manifest).encode()
            if info.name == change:
                data = bytes([data[0] ^ 0xFF]) + data[1:]
            info.size = len(data)
            new.addfile(info, io.BytesIO(data))
    return dest


def untouched(data: Path) -> None:
    assert not (data / "rostra.sqlite3").exists()
    assert not list((data / "media").iterdir())
    assert not [p for p in data.iterdir() if p.name.startswith(".rostra-restore-")]


def test_bad_archives_are_refused_before_anything_is_written(small_backup: Path, tmp_path: Path) -> None:
    env = base_env(tmp_path / "target")
    good = manifest_of(small_backup)

    (tmp_path / "noise.tar").write_bytes(os.urandom(5000))
    half = tmp_path / "half.tar"
    half.write_bytes(small_backup.read_bytes()[: small_backup.stat().st_size // 2])
    parts = {k: v for k, v in good["parts"].items() if k != "secret_key"}
    newer = rewrite(
        small_backup, tmp_path / "n.tar", manifest={**good, "migrations": [*good["migrations"], "posts.9999_from_the_future"]}
    )
    cases = [
        (tmp_path / "nothing.tar", "does not exist"),
        (tmp_path / "noise.tar", "not a Rostra backup"),
        (half, "damaged|has no"),  # cut inside a part, or before it
        (rewrite(small_backup, tmp_path / "m.tar", drop="manifest.json"), "has no manifest.json"),
        (rewrite(small_backup, tmp_path / "f.tar", manifest={**good, "format_version": 99}), "backup format 99"),
        (rewrite(small_backup, tmp_path / "o.tar", manifest={"format": "something-else"}), "not a Rostra backup"),
        (rewrite(small_backup, tmp_path / "d.tar", change="database.sqlite3"), "the database part is damaged"),
        (rewrite(small_backup, tmp_path / "dm.tar", change="media.tar"), "the media part is damaged"),
        (rewrite(small_backup, tmp_path / "k.tar", drop="secret_key"), "has no secret_key"),
        (
            rewrite(small_backup, tmp_path / "k2.tar", manifest={**good, "parts": parts}, drop="secret_key"),
            "secret_key part is missing",
        ),
        (newer, "newer Rostra"),
    ]
    said = refused_all(env, *[["restore", str(path)] for path, _ in cases], ["restore", "--check", str(newer)])
    for (path, expected), message in zip(cases, said, strict=False):
        assert any(e in message for e in expected.split("|")), (path.name, message)
    assert "newer Rostra" in said[-1]
    untouched(tmp_path / "target")

    # The wrong kind of instance, and a different secret key in force.
    assert "holds a sqlite database" in refused(
        {**env, "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/rostra_ops_never"}, "restore", str(small_backup)
    )
    assert "ROSTRA_SECRET_KEY here is another one" in refused(
        {**env, "ROSTRA_SECRET_KEY": "k" * 40}, "restore", str(small_backup)
    )
    untouched(tmp_path / "target")


def test_backup_refuses_bad_targets_and_unmigrated_instances(small_backup: Path, tmp_path: Path) -> None:
    env = base_env(tmp_path / "fresh")
    unmigrated, exists, nowhere = refused_all(
        env, ["backup", str(tmp_path)], ["backup", str(small_backup)], ["backup", str(tmp_path / "no" / "such" / "b.tar")]
    )
    assert "run `rostra migrate` first" in unmigrated
    assert not list(tmp_path.glob("rostra-backup-*")) and not list(tmp_path.glob(".rostra-backup-*"))
    assert "already exists" in exists
    assert "is not a directory" in nowhere


def test_restoring_an_older_backup_applies_the_newer_migrations(tmp_path: Path) -> None:
    old = base_env(tmp_path / "old")
    ok(old, "migrate")
    # Make this instance one migration behind the code: undo a leaf migration that can be undone.
    script = """
import django, sys
django.setup()
from django.core.management import call_command
from django.db import connection
from django.db.migrations.loader import MigrationLoader
loader = MigrationLoader(connection)
for app, name in sorted(loader.graph.leaf_nodes()):
    parents = [p for p in loader.graph.node_map[(app, name)].parents if p.key[0] == app]
    if not parents:
        continue
    try:
        call_command("migrate", app, parents[0].key[1], verbosity=0)
    except Exception:
        continue
    print(f"{app}.{name}")
    break
"""
    undone = (
        subprocess.run(
            [sys.executable, "-c", script],
            env={**old, "DJANGO_SETTINGS_MODULE": "rostra.config.settings"},
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    ok(old, "backup", str(tmp_path / "old.tar"))
    manifest = manifest_of(tmp_path / "old.tar")
    assert undone not in manifest["migrations"]

    new = base_env(tmp_path / "new")
    said = ok(new, "restore", str(tmp_path / "old.tar"))
    assert "applied 1 newer migrations" in said or "newer migrations" in said, said
    check = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup()\nfrom django.db.migrations.recorder import MigrationRecorder\n"
            "from django.db import connection\nprint(sorted(f'{a}.{n}' for a, n in MigrationRecorder(connection).applied_migrations()))",
        ],
        env={**new, "DJANGO_SETTINGS_MODULE": "rostra.config.settings"},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert undone in check.stdout
