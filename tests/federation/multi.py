"""Several real Rostra servers federating with each other on loopback, for live federation tests.

Each `Instance` is a real `rostra serve` (gunicorn + the task worker) bound to its own loopback
address (127.0.0.2, 127.0.0.3, ...) on a free port, with its own data directory, SQLite file and
task queue (its own PostgreSQL database when ``ROSTRA_TEST_DATABASE_URL`` is set; never a shared
Redis, whose one queue would mix the servers' tasks), ``ROSTRA_DOMAIN=127.0.0.N:port`` and
``ROSTRA_ALLOW_LOOPBACK_FEDERATION=1``, so they speak plain-http ActivityPub to each other through
the same outbound client, signatures and inbox as in production.

    with instances(tmp_path, 2) as (a, b):
        alice = a.user("alice")
        bob = b.user("bob")
        alice.follow(bob)
        wait_until(lambda: b.api("GET", f"/api/v1/accounts/{bob.id}").json()["followers_count"] == 1)

The same policy as the client tests applies (everything published), so what is tested is the
federation, not the screener's verdict on test strings.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

RBIN = str(Path(sys.executable).parent / "rostra")
PASSWORD = "a-long-test-password-42"
HOSTS = ("127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5")
T = TypeVar("T")

# Publish everything (as tests/clients do): the screener's verdict on test strings is not under test here.
LENIENT_POLICY = """
import django
django.setup()
from rostra.accounts.models import User
from rostra.moderation.actions import save_policy
from rostra.moderation.policy import default_document
doc = default_document()
for category in doc["categories"].values():
    category["thresholds"] = []
    category["new_account_thresholds"] = []
doc["spam_wave"]["action"] = "label"
doc["spam_wave"]["posts"] = 10_000
save_policy(User.objects.get(username="policykeeper"), doc, "federation tests: publish everything")
"""


class TimedOut(AssertionError):
    pass


def wait_until(predicate: Callable[[], T], timeout: float = 30.0, *, interval: float = 0.2, what: str = "") -> T:
    """Poll ``predicate`` until it returns something truthy (returned) or ``timeout`` seconds pass
    (AssertionError naming ``what`` and the last value or exception)."""
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        try:
            value = predicate()
        except (AssertionError, KeyError, IndexError, OSError) as exc:
            value, last = None, exc  # type: ignore[assignment]
        else:
            last = value
            if value:
                return value
        if time.monotonic() > deadline:
            raise TimedOut(f"not within {timeout:g}s: {what or getattr(predicate, '__name__', 'condition')} (last: {last!r})")
        time.sleep(interval)


def free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


@dataclass
class Response:
    status: int
    body: bytes
    headers: dict[str, str]

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class User:
    """A local user of ``instance`` with an OAuth token (read write follow push admin:read admin:write)."""

    instance: Instance
    username: str
    token: str
    id: str  # the account id on its own server

    @property
    def acct(self) -> str:
        """The handle other servers know it by: username@127.0.0.N:port."""
        return f"{self.username}@{self.instance.domain}"

    @property
    def actor_uri(self) -> str:
        """Its ActivityPub id."""
        return f"{self.instance.base}/users/{self.username}"

    def api(self, method: str, path: str, data: dict[str, Any] | None = None, *, expect: int | None = 200) -> Any:
        r = self.instance.api(method, path, data, token=self.token)
        if expect is not None and r.status != expect:
            raise AssertionError(f"{method} {path} on {self.instance.name}: {r.status} {r.body[:500]!r}")
        return r.json() if r.body else None

    def resolve(self, other: User) -> str:
        """``other``'s account id as this user's server knows it (resolved through search)."""
        found = self.api("GET", "/api/v2/search?" + urllib.parse.urlencode({"q": other.acct, "resolve": "true", "type": "accounts"}))
        accounts = [a for a in found["accounts"] if a["acct"] == other.acct]
        if not accounts:
            raise AssertionError(f"{self.instance.name} could not resolve {other.acct}: {found}")
        return str(accounts[0]["id"])

    def follow(self, other: User) -> str:
        """Follow ``other`` (on another server); returns its local account id."""
        remote_id = self.resolve(other)
        self.api("POST", f"/api/v1/accounts/{remote_id}/follow")
        return remote_id

    def post(self, status: str, **fields: Any) -> dict[str, Any]:
        result: dict[str, Any] = self.api("POST", "/api/v1/statuses", {"status": status, **fields})
        return result

    def home(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.api("GET", "/api/v1/timelines/home?limit=40")
        return result

    def notifications(self, *types: str) -> list[dict[str, Any]]:
        query = "&".join(f"types[]={t}" for t in types)
        result: list[dict[str, Any]] = self.api("GET", f"/api/v1/notifications?{query}")
        return result

    def find_status(self, uri: str) -> dict[str, Any] | None:
        """The status at ``uri`` (an ActivityPub id) as this user's server shows it, resolved by URL search."""
        found = self.api("GET", "/api/v2/search?" + urllib.parse.urlencode({"q": uri, "resolve": "true", "type": "statuses"}))
        return dict(found["statuses"][0]) if found["statuses"] else None


@dataclass
class Instance:
    name: str
    host: str
    port: int
    data: Path
    env: dict[str, str]
    proc: subprocess.Popen[bytes] | None = None
    users: dict[str, User] = field(default_factory=dict)
    _app: tuple[str, str] | None = None

    @property
    def domain(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def base(self) -> str:
        return f"http://{self.domain}"

    def log(self) -> str:
        path = self.data / "server.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def rostra(self, *args: str) -> str:
        done = subprocess.run([RBIN, *args], env=self.env, capture_output=True, text=True, check=False)
        if done.returncode:
            raise AssertionError(f"rostra {' '.join(args)} on {self.name} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def python(self, code: str) -> str:
        """Run ``code`` (which calls django.setup()) against this server's database and settings."""
        env = {**self.env, "DJANGO_SETTINGS_MODULE": "rostra.config.settings"}
        done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False)
        if done.returncode:
            raise AssertionError(f"script on {self.name} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def query(self, code: str) -> Any:
        """Run ``code`` (Django set up; it assigns ``result``) against this server's database; ``result`` as JSON."""
        out = self.python("import django, json\ndjango.setup()\n" + code + "\nprint('RESULT=' + json.dumps(result, default=str))")
        return json.loads(out.rsplit("RESULT=", 1)[1])

    def request(self, method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> Response:
        req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return Response(resp.status, resp.read(), {k.lower(): v for k, v in resp.getheaders()})
        except urllib.error.HTTPError as err:
            return Response(err.code, err.read(), {k.lower(): v for k, v in err.headers.items()})

    def api(self, method: str, path: str, data: dict[str, Any] | None = None, *, token: str | None = None) -> Response:
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        body = None
        if data is not None:
            body, headers["Content-Type"] = json.dumps(data).encode(), "application/json"
        return self.request(method, self.base + path, body, headers)

    def activitypub(self, url: str) -> Response:
        return self.request("GET", url, headers={"Accept": "application/activity+json"})

    def user(self, username: str, *, role: str | None = None, locked: bool = False) -> User:
        """Create a user with ``rostra users create`` and sign in with the OAuth password grant."""
        if username in self.users:
            return self.users[username]
        self.rostra("users", "create", username, "--email", f"{username}@{self.host}.example", "--password", PASSWORD,
                    *(["--role", role] if role else []))
        user = self.sign_in(username)
        if locked:
            user.api("PATCH", "/api/v1/accounts/update_credentials", {"locked": True})
        return user

    def sign_in(self, username: str) -> User:
        """A token for an existing user (all scopes, admin ones included) by the OAuth password grant."""
        if username in self.users:
            return self.users[username]
        if self._app is None:
            app = self.api("POST", "/api/v1/apps", {"client_name": "federation tests", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob",
                                                     "scopes": "read write follow push admin:read admin:write"}).json()
            self._app = (app["client_id"], app["client_secret"])
        form = urllib.parse.urlencode({"grant_type": "password", "client_id": self._app[0], "client_secret": self._app[1],
                                       "username": username, "password": PASSWORD, "scope": "read write follow push admin:read admin:write"})
        r = self.request("POST", self.base + "/oauth/token", form.encode(), {"Content-Type": "application/x-www-form-urlencoded"})
        if r.status != 200:
            raise AssertionError(f"no token for {username} on {self.name}: {r.status} {r.body!r}")
        token = r.json()["access_token"]
        me = self.api("GET", "/api/v1/accounts/verify_credentials", token=token).json()
        user = User(self, username, token, str(me["id"]))
        self.users[username] = user
        return user


def _database_env(name: str) -> dict[str, str]:
    """PostgreSQL and Redis for this server when the suite runs on them: a database per server."""
    env: dict[str, str] = {}
    pg = os.environ.get("ROSTRA_TEST_DATABASE_URL")
    if pg:
        parts = urlsplit(pg)
        # One database per server and per test process (xdist workers may start servers at once).
        env["DATABASE_URL"] = urlunsplit(parts._replace(path=f"{parts.path.rstrip('/') or '/rostra'}_fed{os.getpid()}_{name}"))
    return env


def _create_database(url: str, *, template: str | None = None) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    copy = f' TEMPLATE "{urlsplit(template).path.lstrip("/")}"' if template else ""
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"{copy}')


@contextmanager
def instances(root: Path, count: int = 2, *, extra_env: dict[str, str] | None = None, task_workers: int = 2) -> Iterator[list[Instance]]:
    """Start ``count`` servers on 127.0.0.2, 127.0.0.3, ... at once; stop them afterwards."""
    if count > len(HOSTS):
        raise ValueError(f"at most {len(HOSTS)} servers")
    servers: list[Instance] = []
    for index, host in enumerate(HOSTS[:count]):
        name = "abcd"[index]
        port = free_port(host)
        data = root / f"server-{name}"
        data.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ROSTRA_", "DJANGO_", "DATABASE_URL", "REDIS_URL"))}
        env.update(
            ROSTRA_DATA_DIR=str(data), ROSTRA_DOMAIN=f"{host}:{port}", ROSTRA_ALLOW_LOOPBACK_FEDERATION="1",
            ROSTRA_WEB_WORKERS="1", ROSTRA_TASK_WORKERS=str(task_workers), ROSTRA_RATE_LIMITS="scale=1000",
            ROSTRA_INSTANCE_NAME=f"Server {name.upper()}",
        )
        env.update(_database_env(name))
        env.update(extra_env or {})
        servers.append(Instance(name, host, port, data, env))
    _migrate_once(servers)
    with ExitStack() as stack:
        for server in servers:
            log = stack.enter_context(open(server.data / "server.log", "w"))
            server.proc = subprocess.Popen(
                [RBIN, "serve", "--host", server.host, "--port", str(server.port), "--no-streaming", "--no-migrate"],
                env=server.env, stdout=log, stderr=subprocess.STDOUT,
            )
            if "DATABASE_URL" in server.env:
                stack.callback(_drop_database, server.env["DATABASE_URL"])
            stack.callback(_stop, server)
        deadline = time.monotonic() + 300
        for server in servers:
            while True:
                try:
                    urllib.request.urlopen(server.base + "/api/v1/instance", timeout=2).close()
                    break
                except OSError:
                    assert server.proc is not None
                    if server.proc.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(f"rostra serve on {server.domain} did not start:\n{server.log()}") from None
                    time.sleep(0.3)
        with ThreadPoolExecutor(len(servers)) as pool:
            list(pool.map(_lenient, servers))
        yield servers


def _lenient(server: Instance) -> None:
    server.rostra("users", "create", "policykeeper", "--email", f"policykeeper@{server.host}.example", "--password", PASSWORD, "--admin")
    server.python(LENIENT_POLICY)


def _drop_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{parts.path.lstrip("/")}" WITH (FORCE)')


def _migrate_once(servers: list[Instance]) -> None:
    """Migrate the first server's database and copy it for the others (nothing in a freshly
    migrated database names its instance): one migration instead of one per server."""
    first = servers[0]
    if "DATABASE_URL" in first.env:
        _create_database(first.env["DATABASE_URL"])
    first.rostra("migrate")
    for server in servers[1:]:
        if "DATABASE_URL" in server.env:
            _create_database(server.env["DATABASE_URL"], template=first.env["DATABASE_URL"])
        else:
            shutil.copyfile(first.data / "rostra.sqlite3", server.data / "rostra.sqlite3")


def _stop(server: Instance) -> None:
    proc = server.proc
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
