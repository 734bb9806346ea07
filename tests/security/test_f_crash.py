"""F. Crash and fault recovery, with real processes (docs/security.md, "Crash safety").

Every test here runs `rostra serve` (gunicorn, the task worker, the streaming process) and, where
it says so, a separate `rostra worker`, a private PostgreSQL cluster or a private redis-server, and
breaks them for real: SIGKILL to a whole process group, PostgreSQL stopped under load, FLUSHALL, a
media directory on a full filesystem. Then it checks what the promises say: every acknowledged
write survives, side effects happen once, Redis holds nothing that cannot be rebuilt.

In the PostgreSQL run (ROSTRA_TEST_DATABASE_URL) the server under test gets a fresh database on
that PostgreSQL server, and in the Redis run a private redis-server; otherwise SQLite and the
SQLite queue in its data dir. F1, F2 and F6 are here with the helpers; F3 (test_f3_db_restart.py)
brings its own PostgreSQL, F4 (test_f4_redis_wipe.py) its own Redis.
"""

from __future__ import annotations

import io
import json
import os
import random
import secrets
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from http.client import HTTPException
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from PIL import Image

from tests.live import free_port, serve

pytestmark = pytest.mark.live

PASSWORD = "a-long-crash-password-9"
PG_URL = os.environ.get("ROSTRA_TEST_DATABASE_URL")
REDIS_URL = os.environ.get("ROSTRA_TEST_REDIS_URL")
LIMITS = {"ROSTRA_RATE_LIMITS": "scale=1000"}  # hundreds of uploads a minute from one address are the point here
INSTALL_PG = "apt-get install postgresql (Debian's server binaries: initdb and pg_ctl in /usr/lib/postgresql/<version>/bin), or `make crash-deps`"
INSTALL_REDIS = "apt-get install redis-server, or `make crash-deps`"


# --- HTTP, as a client sees it ------------------------------------------------------------------


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: Any


def http(
    method: str,
    url: str,
    *,
    token: str | None = None,
    data: dict[str, Any] | None = None,
    files: dict[str, tuple[str, bytes, str]] | None = None,
    opener: urllib.request.OpenerDirector | None = None,
    timeout: float = 20,
) -> Answer:
    """One request. Connection failures (a killed server) raise OSError; HTTP errors are answers."""
    headers: dict[str, str] = {}
    body: bytes | None = None
    if files:
        boundary = secrets.token_hex(12)
        parts = []
        for name, value in (data or {}).items():
            parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
        for name, (filename, blob, ctype) in files.items():
            parts.append(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                f"Content-Type: {ctype}\r\n\r\n".encode()
                + blob
                + b"\r\n"
            )
        body = b"".join(parts) + f"--{boundary}--\r\n".encode()
        headers["Content-Type"] = f"multipart/form-data; boundary={boundary}"
    elif data is not None:
        body = urllib.parse.urlencode(data, doseq=True).encode()
    if token:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with (opener or urllib.request.build_opener()).open(req, timeout=timeout) as r:
            raw, status, got = r.read(), r.status, dict(r.headers)
    except urllib.error.HTTPError as err:
        raw, status, got = err.read(), err.code, dict(err.headers)
    except HTTPException as exc:  # a response cut off half-way (IncompleteRead, BadStatusLine)
        raise ConnectionError(f"{method} {url}: {exc!r}") from exc
    try:
        return Answer(status, got, json.loads(raw))
    except ValueError:
        return Answer(status, got, raw.decode(errors="replace"))


def png(seed: int, size: tuple[int, int] = (64, 48)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (seed * 37 % 256, seed * 91 % 256, seed * 13 % 256)).save(out, "PNG")
    return out.getvalue()


def app_token(base: str, username: str) -> str:
    app = http(
        "POST",
        base + "/api/v1/apps",
        data={"client_name": "crash tests", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob", "scopes": "read write follow"},
    )
    assert app.status == 200, app.body
    grant = http(
        "POST",
        base + "/oauth/token",
        data={
            "grant_type": "password",
            "username": username,
            "password": PASSWORD,
            "scope": "read write follow",
            "client_id": app.body["client_id"],
            "client_secret": app.body["client_secret"],
        },
    )
    assert grant.status == 200, grant.body
    return str(grant.body["access_token"])


def eventually(check: Any, what: str, timeout: float = 30.0) -> Any:
    """Poll ``check`` until it returns something truthy (a correctness bound, not a speed test)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            got = check()
        except OSError:
            got = None
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:.0f}s")
        time.sleep(0.2)


# --- Running code inside the server's own configuration -----------------------------------------


def django(env: dict[str, str], code: str, *args: str, stdin: str = "") -> Any:
    """Run ``code`` (with ``args`` as sys.argv[1:]) in a fresh process configured exactly as the server
    is; it prints one JSON line."""
    script = "import django, json, sys\ndjango.setup()\n" + code
    out = subprocess.run(
        [sys.executable, "-c", script, *args],
        env={**env, "DJANGO_SETTINGS_MODULE": "rostra.config.settings"},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-4000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


SWEEP = """
from rostra.pipeline.runner import sweep
print(json.dumps(sweep(older_than_s=0)))
"""


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """`rostra worker` in its own process group (so that SIGKILL takes its threads too)."""
    with open(log, "ab") as out:
        return subprocess.Popen(
            [str(Path(sys.executable).parent / "rostra"), "worker"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def kill9(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, 9)
    proc.wait(timeout=10)


# --- Databases and Redis of the server's own ------------------------------------------------


def create_database(server_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')


@contextmanager
def fresh_test_database() -> Iterator[str]:
    """A database of its own on the PostgreSQL server of the PostgreSQL run, dropped afterwards."""
    import psycopg

    assert PG_URL
    name = f"rostra_crash_{secrets.token_hex(4)}"
    admin = urlunsplit(urlsplit(PG_URL)._replace(path="/postgres"))
    create_database(admin, name)
    try:
        yield urlunsplit(urlsplit(PG_URL)._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def private_redis(where: Path) -> Iterator[str]:
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not os.access(binary, os.X_OK):
        pytest.fail(f"this test starts its own Redis and needs redis-server: {INSTALL_REDIS}", pytrace=False)
    import redis

    port = free_port()
    with open(where / "redis.log", "ab") as log:
        proc = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(where)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"redis://127.0.0.1:{port}/0"

    def pong() -> bool:
        try:
            return bool(redis.Redis.from_url(url).ping())
        except redis.RedisError:
            assert proc.poll() is None, (where / "redis.log").read_text()
            return False

    try:
        eventually(pong, "redis-server to start", 20)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@contextmanager
def backends(where: Path) -> Iterator[dict[str, str]]:
    """The server's settings for this run: SQLite (default), or PostgreSQL and Redis of its own."""
    with ExitStack() as stack:
        env = dict(LIMITS)
        if PG_URL:
            env["DATABASE_URL"] = stack.enter_context(fresh_test_database())
        if REDIS_URL:
            env["REDIS_URL"] = stack.enter_context(private_redis(where))
        yield env


# --- F1: kill -9 the web server during a stream of posts with images ----------------------------


@dataclass
class Stream:
    """What the clients saw: acknowledged posts, uploads cut off by a kill, anything unexpected."""

    base: str = ""
    up: threading.Event = field(default_factory=threading.Event)
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    acked: list[tuple[str, str, str]] = field(default_factory=list)  # (post id, text, media id)
    cut_uploads: int = 0
    attempts: int = 0
    unexpected: list[str] = field(default_factory=list)


def client(stream: Stream, token: str, who: int) -> None:
    n = 0
    while not stream.stop.is_set():
        if not stream.up.wait(0.2):
            continue
        base, n = stream.base, n + 1
        text = f"Harbour walk, photo {who}-{n}: the fishing boats are back in."
        with stream.lock:
            stream.attempts += 1
        try:
            up = http(
                "POST", base + "/api/v2/media", token=token, files={"file": (f"{who}-{n}.png", png(who * 1000 + n), "image/png")}
            )
        except OSError:
            with stream.lock:
                stream.cut_uploads += 1
            continue
        if up.status != 200:
            stream.unexpected.append(f"upload answered {up.status}: {up.body}")
            continue
        try:
            made = http("POST", base + "/api/v1/statuses", token=token, data={"status": text, "media_ids[]": up.body["id"]})
        except OSError:
            continue  # cut off: it may or may not exist, but never in part
        if made.status != 200:
            stream.unexpected.append(f"post answered {made.status}: {made.body}")
            continue
        with stream.lock:
            stream.acked.append((made.body["id"], text, up.body["id"]))


CHECK_F1 = """
import os
from pathlib import Path
from django.conf import settings
from django.db import connection
from PIL import Image
from rostra.accounts.models import Account
from rostra.posts.models import Media, Post

acked = json.loads(sys.stdin.read())
media_dir = Path(settings.ROSTRA.media_dir)
problems = []

def decodes(name):
    try:
        with Image.open(media_dir / name) as im:
            im.load()
            return im.size
    except OSError as exc:
        return str(exc)

for post_id, text, media_id in acked:
    post = Post.objects.filter(pk=int(post_id)).first()
    if post is None:
        problems.append(f"acknowledged post {post_id} is missing")
        continue
    if post.text != text:
        problems.append(f"post {post_id}: text {post.text!r}")
    media = list(Media.objects.filter(post=post))
    if [m.pk for m in media] != [int(media_id)]:
        problems.append(f"post {post_id}: media {[m.pk for m in media]} instead of {media_id}")
    for m in media:
        if decodes(m.file) != (64, 48) or not isinstance(decodes(m.thumbnail), tuple):
            problems.append(f"post {post_id}: image {m.file} does not decode: {decodes(m.file)}")
for m in Media.objects.all():
    for name in (m.file, m.thumbnail):
        if not (media_dir / name).is_file():
            problems.append(f"media row {m.pk} without its file {name}")
referenced = {n for pair in Media.objects.values_list("file", "thumbnail") for n in pair}
referenced |= {n for pair in Account.objects.values_list("avatar", "header") for n in pair if n}
orphans = sorted(set(os.listdir(media_dir)) - referenced)
integrity = "ok"
if connection.vendor == "sqlite":
    with connection.cursor() as cursor:
        integrity = cursor.execute("PRAGMA integrity_check").fetchone()[0]
print(json.dumps({
    "problems": problems, "orphans": orphans, "integrity": integrity, "posts": Post.objects.count(),
    "media": Media.objects.count(), "unattached": Media.objects.filter(post__isnull=True).count(),
}))
"""


def test_f1_kill9_web_every_acknowledged_post_survives(tmp_path: Path) -> None:
    kills, clients = 3, 3
    data = tmp_path / "data"
    data.mkdir()
    stream = Stream()
    threads: list[threading.Thread] = []
    rng = random.Random()
    with backends(tmp_path) as env:
        for round_ in range(kills + 1):
            restart = ("--no-migrate",) if round_ else ()  # a restart after a crash: the schema is there already
            with serve(data, ready_path="/api/v1/instance", extra_env=env, new_session=True, args=restart) as live:
                if round_ == 0:
                    live.rostra("users", "create", "mira", "--email", "mira@example.org", "--password", PASSWORD)
                    token = app_token(live, "mira")
                    threads = [threading.Thread(target=client, args=(stream, token, i), daemon=True) for i in range(clients)]
                    for t in threads:
                        t.start()
                stream.base = str(live)
                stream.up.set()
                if round_ < kills:
                    time.sleep(rng.uniform(1.0, 3.0))
                    live.kill9()  # mid-stream: uploads and posts in flight are cut off
                    stream.up.clear()
                    continue
                so_far = len(stream.acked)
                eventually(lambda so_far=so_far: len(stream.acked) > so_far, "a post after the last restart")
                stream.stop.set()
                for t in threads:
                    t.join(timeout=30)
                report = django(live.env, CHECK_F1, stdin=json.dumps(stream.acked))
                # An orphan file (written, its row never committed) is unreachable: no row, no door, 404.
                for name in report["orphans"]:
                    assert http("GET", f"{live}/media/{name}").status == 404
    assert not stream.unexpected, stream.unexpected[:5]
    assert stream.acked and report["posts"] >= len(stream.acked), (len(stream.acked), report)
    assert report["problems"] == [], report["problems"][:10]
    assert report["integrity"] == "ok"
    # All or nothing, accounted for: only an upload cut off by a kill can leave files without a row
    # (its image and its thumbnail), and nothing else lies in the media directory.
    assert len(report["orphans"]) <= 2 * stream.cut_uploads, (report["orphans"], stream.cut_uploads)
    print(
        f"F1: {stream.attempts} attempts, {len(stream.acked)} acknowledged posts, {kills} kills, "
        f"{stream.cut_uploads} uploads cut off, {len(report['orphans'])} orphan files, {report['unattached']} unattached uploads"
    )


# --- F2: kill -9 the task worker in the middle of a fan-out --------------------------------------

FOLLOWERS = 10_000  # five committed batches of home rows (timelines.actions.BATCH): a window to kill in
MENTIONED = 5

# As in tests/clients/conftest.py: a policy that publishes everything, saved by an admin the way the
# policy page saves one, so the screener's view of the test's sentence cannot hold the post back.
LENIENT_POLICY = """
from rostra.accounts.models import Role
from rostra.moderation.actions import save_policy
from rostra.moderation.policy import default_document
doc = default_document()
for category in doc["categories"].values():
    category["thresholds"] = []
    category["new_account_thresholds"] = []
doc["spam_wave"]["action"] = "label"
doc["spam_wave"]["posts"] = 10_000
save_policy(sign_up("keeper", "keeper@example.org", password, role=Role.ADMIN), doc, "crash tests: publish everything")
"""

# One helper process in the server's configuration: it makes the people (an author, the mentioned,
# many followers), then waits for "<post id> <worker pid> <expected>" and kills the worker's group the
# moment the post's fan-out is partly written (some batches of home rows committed, not all); then,
# on "look", reports what the killed worker left behind.
HELPER_F2 = (
    """
import os, signal, time
from django.db import transaction
from rostra.accounts.actions import sign_up
from rostra.accounts.models import Account, Follow, User
from rostra.core.models import Event
from rostra.timelines.store import get_store
n, password, m = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
"""
    + LENIENT_POLICY
    + """
ada = sign_up("ada", "ada@example.org", password).account
mentioned = [sign_up(f"met{i}", f"met{i}@example.org", password).account.pk for i in range(m)]
with transaction.atomic():
    users = User.objects.bulk_create([User(username=f"fan{i}", email=f"fan{i}@example.org", password="!") for i in range(n)], batch_size=2000)
    fans = Account.objects.bulk_create([Account(user_id=u.pk, username=u.username) for u in users], batch_size=2000)
    Follow.objects.bulk_create([Follow(follower_id=a.pk, target_id=ada.pk) for a in fans], batch_size=2000)
print(json.dumps({"ada": ada.pk, "mentioned": mentioned}), flush=True)
post_id, pgid, expected = map(int, sys.stdin.readline().split())
store, audience = get_store(), [ada.pk, *(a.pk for a in fans)]  # database rows, or Redis sets with REDIS_URL
deadline, seen = time.monotonic() + 90, 0
while time.monotonic() < deadline:
    if store.name == "database":
        seen = len(store.owners_of(post_id, audience))
    else:  # the homes go to Redis in one pipelined write: watch a key it writes early, cheaply
        seen = int(store.has(audience[1], post_id))
    if 0 < seen < expected:
        os.killpg(pgid, signal.SIGKILL)
        break
    if seen >= expected:
        break
    time.sleep(0.002)
print(json.dumps({"seen": seen}), flush=True)
sys.stdin.readline()  # the worker has been reaped
done = Event.objects.filter(kind="post.created", payload__post_id=post_id).values_list("done_at", flat=True).first()
print(json.dumps({"homes": len(store.owners_of(post_id, audience)), "done": done is not None}), flush=True)
"""
)

RECOVER_F2 = """
from rostra.core.models import Event
from rostra.notifications.models import Notification
from rostra.pipeline.dispatch import handlers_for
from rostra.pipeline.runner import sweep
from rostra.accounts.models import Account
from rostra.posts.models import Post
from rostra.timelines.models import HomeEntry
from rostra.timelines.store import get_store
post_id = int(sys.argv[1])
store = get_store()

def effects():
    event = Event.objects.filter(kind="post.created", payload__post_id=post_id).values("done_at").first()
    if store.name == "database":  # one row per home: a duplicate would show as homes > owners
        homes = list(HomeEntry.objects.filter(post_id=post_id).values_list("owner_id", flat=True))
    else:  # Redis sets hold a member once
        homes = sorted(store.owners_of(post_id, Account.objects.values_list("pk", flat=True)))
    notes = list(Notification.objects.filter(post_id=post_id).values_list("recipient_id", "kind"))
    return {"homes": len(homes), "owners": len(set(homes)), "notes": notes, "done": event["done_at"] is not None,
            "state": Post.objects.get(pk=post_id).moderation_state}

# The sweeper: what the worker's periodic task runs every minute, here without waiting for events to age 30 s.
swept = sweep(older_than_s=0)
done = effects()
# A duplicate delivery (the queue's retry and the sweeper both running one event) changes nothing.
for handler in handlers_for("post.created"):
    handler({"post_id": post_id})
print(json.dumps({"swept": swept, "done": done, "again": effects()}))
"""


def test_f2_kill9_worker_mid_fanout_redone_once(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    with backends(tmp_path) as env, serve(data, ready_path="/api/v1/instance", extra_env=env, args=("--no-worker",)) as live:
        helper = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import django, json, sys\ndjango.setup()\n" + HELPER_F2,
                str(FOLLOWERS),
                PASSWORD,
                str(MENTIONED),
            ],
            env={**live.env, "DJANGO_SETTINGS_MODULE": "rostra.config.settings"},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert helper.stdout is not None and helper.stdin is not None

        def tell(line: str) -> Any:
            assert helper.stdin is not None and helper.stdout is not None
            if line:
                helper.stdin.write(line + "\n")
                helper.stdin.flush()
            got = helper.stdout.readline()
            assert got, f"the helper process failed (exit {helper.wait()})"
            return json.loads(got)

        people = tell("")
        token = app_token(live, "ada")
        names = " ".join(f"@met{i}" for i in range(MENTIONED))
        made = http(
            "POST",
            live + "/api/v1/statuses",
            token=token,
            data={"status": f"Market opens at nine tomorrow, see you there {names}"},
        )
        assert made.status == 200, made.body
        post_id, expected = made.body["id"], FOLLOWERS + 1  # the followers and the author
        worker = start_worker(live.env, data / "worker.log")
        try:
            caught = tell(f"{post_id} {worker.pid} {expected}")
            worker.wait(timeout=30)
            after_kill = tell("look")
            helper.wait(timeout=30)
            # With Redis the fan-out is one pipelined write that Redis finishes once sent: the kill
            # lands between the homes and the event's end, all of them or part of them written.
            assert 0 < after_kill["homes"] <= (expected if REDIS_URL else expected - 1), (caught, after_kill)
            assert not after_kill["done"], (caught, after_kill)
            # Restart the worker; the sweeper runs what the killed one dropped (the queue had handed it over).
            worker = start_worker(live.env, data / "worker.log")
            recovered = django(live.env, RECOVER_F2, post_id)
        finally:
            kill9(worker)
            if helper.poll() is None:
                helper.kill()
    assert recovered["swept"] >= 1
    done = recovered["done"]
    for effects in (done, recovered["again"]):
        assert effects["done"] and effects["state"] == "published", effects
        assert effects["homes"] == effects["owners"] == expected, effects
        assert sorted(effects["notes"]) == sorted([pk, "mention"] for pk in people["mentioned"]), effects["notes"]
    print(
        f"F2: worker killed with {after_kill['homes']} of {expected} home rows written; after the sweeper {done['homes']}, "
        f"{len(done['notes'])} notifications; a duplicate run added nothing"
    )


# --- F6: the media disk is full ------------------------------------------------------------------


@contextmanager
def full_media_dir(data: Path) -> Iterator[tuple[dict[str, Any], str]]:
    """The media directory on a filesystem that is really full: a 1 MiB tmpfs filled to the last
    byte where mounting is allowed (root), else a file-size limit on the server (EFBIG, as ENOSPC)."""
    media = data / "media"
    media.mkdir(parents=True)
    mounted = (
        os.geteuid() == 0
        and subprocess.run(
            ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(media)], capture_output=True, check=False
        ).returncode
        == 0
    )
    try:
        if mounted:
            fd = os.open(media / "filler", os.O_WRONLY | os.O_CREAT, 0o600)
            try:
                while True:
                    os.write(fd, b"\0" * 4096)
            except OSError:
                pass  # ENOSPC: full to the last page
            finally:
                os.close(fd)
            yield {}, "tmpfs"
        else:
            import resource
            import signal

            def limit() -> None:  # runs in the server process before exec; the limit is inherited by its children
                signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
                resource.setrlimit(resource.RLIMIT_FSIZE, (8 << 20, 8 << 20))

            yield {"preexec_fn": limit}, "RLIMIT_FSIZE"
    finally:
        if mounted:
            subprocess.run(["umount", "-l", str(media)], capture_output=True, check=False)


def noise_png(size: tuple[int, int]) -> bytes:
    out = io.BytesIO()
    Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3)).save(out, "PNG", compress_level=1)
    return out.getvalue()


COUNT_MEDIA = """
from rostra.posts.models import Media
print(json.dumps(Media.objects.count()))
"""


def test_f6_disk_full_upload_answers_507_and_leaves_nothing(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with (
        full_media_dir(data) as (how, kind),
        backends(tmp_path) as env,
        serve(data, ready_path="/api/v1/instance", extra_env=env, **how) as live,
    ):
        live.rostra("users", "create", "tove", "--email", "tove@example.org", "--password", PASSWORD)
        token = app_token(live, "tove")
        before = sorted(os.listdir(data / "media"))
        # On the full tmpfs any image fails where the media store writes it (core.images.store_image);
        # under the file-size limit a bigger one fails already where Django spools the upload to a file.
        image = noise_png((1900, 1500)) if kind == "RLIMIT_FSIZE" else png(7)
        up = http("POST", live + "/api/v2/media", token=token, files={"file": ("big.png", image, "image/png")})
        assert up.status == 507, (up.status, up.body)
        assert up.body == {"error": "The server's disk is full, so the upload was not stored. Please try again later."}
        assert sorted(os.listdir(data / "media")) == before  # no partial file left behind
        assert django(live.env, COUNT_MEDIA) == 0  # and no row
        text = http("POST", live + "/api/v1/statuses", token=token, data={"status": "Text still goes out when the disk is full."})
        assert text.status == 200, text.body
        if kind == "tmpfs":  # space freed: uploads work again, nothing to restart
            (data / "media" / "filler").unlink()
            assert (
                http("POST", live + "/api/v2/media", token=token, files={"file": ("ok.png", png(8), "image/png")}).status == 200
            )
