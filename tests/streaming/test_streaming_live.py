"""/api/v1/streaming against a real `rostra serve` (gunicorn + worker + the streaming process):
real sockets with the `websockets` client and a plain HTTP read for server-sent events."""

from __future__ import annotations

import asyncio
import json
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.live import LiveServer, serve

pytestmark = [pytest.mark.live, pytest.mark.own_sqlite]

PASSWORD = "a-long-streaming-password-7"
WAIT = 30.0  # the worker's queue polls back off to a few seconds when idle; delivery takes less
QUIET = 3.0  # how long "nothing arrives" is watched for


@dataclass
class Person:
    id: str
    token: str


def call(live: LiveServer, method: str, path: str, token: str | None = None, data: dict[str, Any] | None = None) -> tuple[int, Any]:
    body = urllib.parse.urlencode(data or {}, doseq=True).encode() if data is not None else None
    req = urllib.request.Request(live + path, data=body, method=method)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=20) as r:
            raw = r.read()
            status = r.status
    except urllib.error.HTTPError as err:
        raw, status = err.read(), err.code
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with serve(tmp_path_factory.mktemp("live-streaming"), ready_path="/api/v1/instance") as server:
        yield server


@pytest.fixture(scope="module")
def app(live: LiveServer) -> dict[str, str]:
    status, body = call(live, "POST", "/api/v1/apps", data={"client_name": "streaming tests", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob", "scopes": "read write follow"})
    assert status == 200, body
    return body


def log_in(live: LiveServer, app: dict[str, str], username: str, scope: str = "read write follow") -> str:
    status, body = call(live, "POST", "/oauth/token", data={
        "grant_type": "password", "username": username, "password": PASSWORD, "scope": scope,
        "client_id": app["client_id"], "client_secret": app["client_secret"],
    })
    assert status == 200, body
    return str(body["access_token"])


@pytest.fixture(scope="module")
def people(live: LiveServer, app: dict[str, str]) -> dict[str, Person]:
    out = {}
    for name in ("alice", "bob", "carol", "dave"):
        live.rostra("users", "create", name, "--email", f"{name}@example.org", "--password", PASSWORD)
        token = log_in(live, app, name)
        status, me = call(live, "GET", "/api/v1/accounts/verify_credentials", token)
        assert status == 200, me
        out[name] = Person(me["id"], token)
    # bob and dave follow alice; carol follows nobody.
    for name in ("bob", "dave"):
        status, rel = call(live, "POST", f"/api/v1/accounts/{out['alice'].id}/follow", out[name].token, {})
        assert status == 200 and rel["following"], rel
    return out


def post(live: LiveServer, who: Person, text: str, visibility: str = "public") -> dict[str, Any]:
    status, body = call(live, "POST", "/api/v1/statuses", who.token, {"status": text, "visibility": visibility})
    assert status == 200, body
    return body


def ws_url(live: LiveServer, **params: str) -> str:
    return f"{live.streaming}/api/v1/streaming?{urllib.parse.urlencode(params)}"


async def next_event(ws: ClientConnection, event: str, *, timeout: float = WAIT, where: Any = None) -> dict[str, Any]:
    """The next frame of kind ``event`` (others, e.g. an earlier post's, are skipped), matching ``where``."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"no {event!r} within {timeout}s")
        frame = json.loads(await asyncio.wait_for(ws.recv(), timeout=left))
        if frame.get("event") == event and (where is None or where(json.loads(frame["payload"]))):
            return frame


async def nothing_about(ws: ClientConnection, status_id: str, *, quiet: float = QUIET) -> None:
    deadline = time.monotonic() + quiet
    while (left := deadline - time.monotonic()) > 0:
        try:
            frame = json.loads(await asyncio.wait_for(ws.recv(), timeout=left))
        except TimeoutError:
            return
        assert status_id not in frame.get("payload", ""), frame


def run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, timeout=120))


# --- Tests -------------------------------------------------------------------------------------


def test_health_and_the_instance_advertises_the_streaming_url(live):
    with urllib.request.urlopen(live.streaming.replace("ws://", "http://") + "/api/v1/streaming/health", timeout=5) as r:
        assert r.read() == b"OK"
    status, v1 = call(live, "GET", "/api/v1/instance")
    assert status == 200 and v1["urls"]["streaming_api"] == live.streaming
    status, v2 = call(live, "GET", "/api/v2/instance")
    assert status == 200 and v2["configuration"]["urls"]["streaming"] == live.streaming


def test_a_post_reaches_followers_and_the_public_stream_but_a_private_one_only_followers(live, people):
    alice, bob, carol = people["alice"], people["bob"], people["carol"]

    async def scenario() -> None:
        async with (
            connect(ws_url(live, stream="user", access_token=bob.token)) as bob_ws,
            connect(ws_url(live, stream="user", access_token=carol.token)) as carol_ws,
            connect(ws_url(live, stream="public")) as public_ws,
            connect(ws_url(live, stream="public:local", access_token=carol.token)) as carol_public,
        ):
            await asyncio.sleep(0.3)
            loud = await asyncio.to_thread(post, live, alice, "Good morning, everyone. The weather is lovely today.")
            frame = await next_event(bob_ws, "update")
            assert frame["stream"] == ["user"]
            assert isinstance(frame["payload"], str)  # a JSON-encoded Status, as Mastodon sends it
            status = json.loads(frame["payload"])
            assert status["id"] == loud["id"] and status["account"]["id"] == alice.id and "Good morning, everyone. The weather is lovely today." in status["content"]
            frame = await next_event(public_ws, "update")
            assert frame["stream"] == ["public"] and json.loads(frame["payload"])["id"] == loud["id"]
            frame = await next_event(carol_public, "update")
            assert frame["stream"] == ["public:local"] and json.loads(frame["payload"])["id"] == loud["id"]
            await nothing_about(carol_ws, loud["id"], quiet=1)  # carol follows nobody: not in her home

            quiet = await asyncio.to_thread(post, live, alice, "Tea in the garden this afternoon with friends.", "private")
            frame = await next_event(bob_ws, "update")
            assert json.loads(frame["payload"])["id"] == quiet["id"]
            assert json.loads(frame["payload"])["visibility"] == "private"
            await nothing_about(carol_ws, quiet["id"])
            await nothing_about(carol_public, quiet["id"], quiet=0.5)
            await nothing_about(public_ws, quiet["id"], quiet=0.5)

    run(scenario())


def test_delete_arrives(live, people):
    alice, bob = people["alice"], people["bob"]

    async def scenario() -> None:
        async with connect(ws_url(live, stream="user", access_token=bob.token)) as bob_ws:
            await asyncio.sleep(0.3)
            doomed = await asyncio.to_thread(post, live, alice, "Reading a good book about rivers.")
            frame = await next_event(bob_ws, "update")
            assert json.loads(frame["payload"])["id"] == doomed["id"]
            status, _ = await asyncio.to_thread(call, live, "DELETE", f"/api/v1/statuses/{doomed['id']}", alice.token)
            assert status == 200
            frame = await next_event(bob_ws, "delete")
            assert frame["payload"] == doomed["id"] and frame["stream"] == ["user"]

    run(scenario())


def test_a_notification_arrives_on_the_user_and_notification_streams(live, people):
    alice, carol = people["alice"], people["carol"]

    async def scenario() -> None:
        async with (
            connect(ws_url(live, stream="user", access_token=alice.token)) as alice_ws,
            connect(ws_url(live, stream="user:notification", access_token=alice.token)) as alice_notes,
        ):
            await asyncio.sleep(0.3)
            liked = await asyncio.to_thread(post, live, alice, "Baking bread this weekend.")
            status, _ = await asyncio.to_thread(call, live, "POST", f"/api/v1/statuses/{liked['id']}/favourite", carol.token, {})
            assert status == 200
            for ws, stream in ((alice_ws, ["user"]), (alice_notes, ["user:notification"])):
                frame = await next_event(ws, "notification", where=lambda n: n["type"] == "favourite")
                note = json.loads(frame["payload"])
                assert frame["stream"] == stream
                assert note["type"] == "favourite" and note["account"]["id"] == carol.id and note["status"]["id"] == liked["id"]

    run(scenario())


def test_subscribe_to_a_hashtag_over_the_socket(live, people):
    alice, carol = people["alice"], people["carol"]

    async def scenario() -> None:
        async with connect(ws_url(live, access_token=carol.token)) as ws:
            await ws.send(json.dumps({"type": "subscribe", "stream": "hashtag", "tag": "Cats"}))
            await ws.send(json.dumps({"type": "subscribe", "stream": "nonsense"}))
            error = json.loads(await asyncio.wait_for(ws.recv(), timeout=10))
            assert error == {"error": "Unknown stream type", "status": 404}
            await asyncio.sleep(0.3)
            tagged = await asyncio.to_thread(post, live, alice, "Photos of my garden and #cats today.")
            frame = await next_event(ws, "update")
            assert frame["stream"] == ["hashtag", "cats"] and json.loads(frame["payload"])["id"] == tagged["id"]
            await ws.send(json.dumps({"type": "unsubscribe", "stream": "hashtag", "tag": "cats"}))
            await asyncio.sleep(0.3)
            again = await asyncio.to_thread(post, live, alice, "More photos of #cats sleeping in the sun.")
            await nothing_about(ws, again["id"])

    run(scenario())


def test_token_in_the_header_or_the_subprotocol(live, people):
    bob = people["bob"]

    async def scenario() -> None:
        async with connect(ws_url(live, stream="user"), additional_headers={"Authorization": f"Bearer {bob.token}"}) as ws:
            await ws.ping()
        async with connect(ws_url(live, stream="user"), subprotocols=[bob.token]) as ws:  # type: ignore[list-item]
            assert ws.subprotocol == bob.token
            await ws.ping()

    run(scenario())


def test_refusals(live, people, app):
    write_only = log_in(live, app, "carol", scope="write")

    async def status_of(url: str) -> int:
        with pytest.raises(InvalidStatus) as err:
            async with connect(url):
                pass
        return err.value.response.status_code

    async def scenario() -> None:
        assert await status_of(ws_url(live, stream="user", access_token="not-a-token")) == 401
        assert await status_of(ws_url(live, stream="user")) == 401  # the user stream needs a token
        assert await status_of(ws_url(live, stream="user", access_token=write_only)) == 403
        assert await status_of(ws_url(live, stream="nonsense", access_token=people["bob"].token)) == 404
        assert await status_of(ws_url(live, stream="hashtag", access_token=people["bob"].token)) == 400

    run(scenario())
    base = live.streaming.replace("ws://", "http://") + "/api/v1/streaming"
    for path, code in (("/user", 401), ("/user?access_token=nope", 401), (f"/user?access_token={write_only}", 403), ("/nope", 404), ("/list?list=1", 401)):
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(base + path, timeout=5)
        assert err.value.code == code, path
        assert "error" in json.loads(err.value.read())


def sse_events(live: LiveServer, path: str, token: str, want: int, ready: Any, timeout: float = WAIT) -> list[tuple[str, str]]:
    """Read ``want`` events from an SSE stream (with a raw socket: the read is bounded by ``timeout``)."""
    host, port = live.streaming.removeprefix("ws://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=timeout)
    try:
        sock.sendall(f"GET /api/v1/streaming{path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n".encode())
        buf = b""
        while b"\r\n\r\n" not in buf:
            buf += sock.recv(4096)
        head, buf = buf.split(b"\r\n\r\n", 1)
        assert b" 200 " in head.split(b"\r\n")[0] and b"text/event-stream" in head.lower(), head
        ready()
        events: list[tuple[str, str]] = []
        deadline = time.monotonic() + timeout
        text = ""
        while len(events) < want and time.monotonic() < deadline:
            chunk = sock.recv(65536)
            if not chunk:
                break
            text += chunk.decode()
            # Chunked transfer framing lines are hex sizes; keep only SSE fields.
            while "\n\n" in text and len(events) < want:
                block, text = text.split("\n\n", 1)
                lines = [ln for ln in block.replace("\r\n", "\n").split("\n") if ln.startswith(("event:", "data:"))]
                fields = dict(ln.split(": ", 1) for ln in lines if ": " in ln)
                if "event" in fields:
                    events.append((fields["event"], fields.get("data", "")))
        return events
    finally:
        sock.close()


def test_server_sent_events(live, people):
    alice, bob = people["alice"], people["bob"]
    posted: dict[str, Any] = {}

    def ready() -> None:
        time.sleep(0.3)
        posted.update(post(live, alice, "Walking by the lake this evening."))

    events = sse_events(live, "/user", bob.token, 1, ready)
    assert events and events[0][0] == "update"
    assert json.loads(events[0][1])["id"] == posted["id"]


def test_revoking_the_token_closes_the_socket(live, people, app):
    token = log_in(live, app, "dave")

    async def scenario() -> None:
        async with connect(ws_url(live, stream="user", access_token=token)) as ws:
            await ws.ping()
            status, _ = await asyncio.to_thread(call, live, "POST", "/oauth/revoke", None, {"client_id": app["client_id"], "client_secret": app["client_secret"], "token": token})
            assert status == 200
            started = time.monotonic()
            with pytest.raises(ConnectionClosed):
                while True:
                    await asyncio.wait_for(ws.recv(), timeout=15)
            assert time.monotonic() - started < 15

    run(scenario())
