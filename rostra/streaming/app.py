"""The ASGI application of the streaming process: Mastodon's /api/v1/streaming.

* WebSocket ``/api/v1/streaming?stream=user&access_token=...`` (the token may also come in
  ``Authorization: Bearer`` or ``Sec-WebSocket-Protocol``); ``{"type": "subscribe", "stream":
  "hashtag", "tag": "x"}`` and ``unsubscribe`` messages; frames ``{"stream": [...], "event": ...,
  "payload": "<JSON string>"}``.
* Server-sent events: ``/api/v1/streaming/user``, ``/user/notification``, ``/public``,
  ``/public/local``, ``/public/remote`` (each also ``/media``), ``/hashtag?tag=``,
  ``/hashtag/local?tag=``, ``/list?list=``, ``/direct``; ``event: update`` / ``data: <JSON>``,
  and a ``:thump`` comment every few seconds.
* ``/api/v1/streaming/health`` answers ``OK``.

Written against the bare ASGI interface: no Django request handling runs here, only the ORM
(in ``hub``'s thread pool) to check tokens and render what is sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qs

from django.conf import settings

from rostra.streaming.hub import Hub, StreamError, Subscriber, authenticate, check_stream

log = logging.getLogger("rostra.streaming")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

PREFIX = "/api/v1/streaming"
HEARTBEAT_S = 15.0


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


def _query(scope: Scope) -> dict[str, str]:
    parsed = parse_qs(scope.get("query_string", b"").decode("utf-8", "replace"), keep_blank_values=True)
    return {k: v[-1] for k, v in parsed.items()}


def _bearer(headers: dict[str, str]) -> str | None:
    value = headers.get("authorization", "")
    if value[:7].lower() == "bearer ":
        return value[7:].strip() or None
    return None


async def _json(send: Send, status: int, body: dict[str, Any], extra: list[tuple[bytes, bytes]] | None = None) -> None:
    data = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json; charset=utf-8"), (b"content-length", str(len(data)).encode()), *(extra or [])]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})


class StreamingApp:
    def __init__(self) -> None:
        self.hub = Hub()
        self._task: asyncio.Task[None] | None = None

    @property
    def anonymous_public(self) -> bool:
        # ROSTRA_API_REQUIRE_AUTH closes the whole client API to anonymous clients, streams included.
        return bool(settings.ROSTRA.streaming_anonymous) and not settings.ROSTRA.api_require_auth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await self.lifespan(receive, send)
        elif kind == "http":
            await self.http(scope, receive, send)
        elif kind == "websocket":
            await self.websocket(scope, receive, send)

    async def lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self.start()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.stop()
                await send({"type": "lifespan.shutdown.complete"})
                return

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self.hub.run())

    async def stop(self) -> None:
        for sub in list(self.hub.subscribers):
            self.hub.remove(sub)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None

    # --- HTTP: health and server-sent events -------------------------------------------------

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope["path"].rstrip("/")
        if scope["method"] not in ("GET", "HEAD"):
            await _json(send, 405, {"error": "Method not allowed"})
            return
        if path == f"{PREFIX}/health":
            await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
            await send({"type": "http.response.body", "body": b"OK"})
            return
        if not path.startswith(f"{PREFIX}/"):
            await _json(send, 404, {"error": "Not found"})
            return
        if scope["method"] != "GET":
            await _json(send, 405, {"error": "Method not allowed"})
            return
        name = path[len(PREFIX) + 1 :].replace("/", ":")
        headers, params = _headers(scope), _query(scope)
        token = params.get("access_token") or _bearer(headers)
        try:
            auth = await self.hub.run_db(authenticate, token, self.anonymous_public)
            stream = await self.hub.run_db(check_stream, auth, name, params)
        except StreamError as exc:
            await _json(send, exc.status, {"error": exc.message})
            return
        sub = Subscriber(auth=auth, streams={stream})
        self.hub.add(sub)
        try:
            await send({
                "type": "http.response.start", "status": 200,
                "headers": [
                    (b"content-type", b"text/event-stream"), (b"cache-control", b"no-store"),
                    (b"x-accel-buffering", b"no"), (b"access-control-allow-origin", b"*"),
                ],
            })
            await send({"type": "http.response.body", "body": b":)\n\n", "more_body": True})

            async def disconnected() -> None:
                while (await receive())["type"] != "http.disconnect":
                    pass
                sub.close()

            watcher = asyncio.create_task(disconnected())
            try:
                while True:
                    try:
                        item = await asyncio.wait_for(sub.queue.get(), timeout=HEARTBEAT_S)
                    except TimeoutError:
                        await send({"type": "http.response.body", "body": b":thump\n\n", "more_body": True})
                        continue
                    if item is None:
                        break
                    _stream, event, payload = item
                    chunk = f"event: {event}\ndata: {payload}\n\n".encode()
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                with contextlib.suppress(Exception):
                    await send({"type": "http.response.body", "body": b"", "more_body": False})
            finally:
                watcher.cancel()
        except OSError:
            pass
        finally:
            self.hub.remove(sub)

    # --- WebSocket ------------------------------------------------------------------------------

    async def _reject(self, scope: Scope, send: Send, status: int, message: str) -> None:
        if "websocket.http.response" in scope.get("extensions", {}):
            data = json.dumps({"error": message}).encode()
            await send({
                "type": "websocket.http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json; charset=utf-8"), (b"content-length", str(len(data)).encode())],
            })
            await send({"type": "websocket.http.response.body", "body": data})
        else:
            await send({"type": "websocket.close", "code": 1008, "reason": message})

    async def websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        first = await receive()
        if first["type"] != "websocket.connect":
            return
        if scope["path"].rstrip("/") != PREFIX:
            await self._reject(scope, send, 404, "Not found")
            return
        headers, params = _headers(scope), _query(scope)
        protocols = [p.strip() for p in headers.get("sec-websocket-protocol", "").split(",") if p.strip()]
        token = params.get("access_token") or _bearer(headers) or (protocols[0] if protocols else None)
        try:
            auth = await self.hub.run_db(authenticate, token, self.anonymous_public)
            initial = None
            if params.get("stream"):
                initial = await self.hub.run_db(check_stream, auth, params["stream"], params)
        except StreamError as exc:
            await self._reject(scope, send, exc.status, exc.message)
            return
        subprotocol = protocols[0] if protocols and token == protocols[0] else None
        await send({"type": "websocket.accept", "subprotocol": subprotocol})
        sub = Subscriber(auth=auth, streams={initial} if initial else set())
        self.hub.add(sub)

        async def reader() -> None:
            while True:
                message = await receive()
                if message["type"] == "websocket.disconnect":
                    return
                text = message.get("text") or (message.get("bytes") or b"").decode("utf-8", "replace")
                await self._command(sub, text)

        async def writer() -> None:
            while True:
                item = await sub.queue.get()
                if item is None:
                    return
                stream, event, payload = item
                if event == "error":  # Mastodon sends errors as a bare {"error": ..., "status": ...} frame
                    await send({"type": "websocket.send", "text": payload})
                    continue
                await send({"type": "websocket.send", "text": json.dumps({"stream": stream, "event": event, "payload": payload})})

        reading, writing = asyncio.create_task(reader()), asyncio.create_task(writer())
        try:
            done, _pending = await asyncio.wait({reading, writing}, return_when=asyncio.FIRST_COMPLETED)
            if writing in done and not reading.done():
                # Closed from our side: a revoked token, a suspension, or a subscriber too far behind.
                with contextlib.suppress(Exception):
                    await send({"type": "websocket.close", "code": 1000})
        except OSError:
            pass
        finally:
            reading.cancel()
            writing.cancel()
            self.hub.remove(sub)

    async def _command(self, sub: Subscriber, text: str) -> None:
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        if not isinstance(data, dict) or data.get("type") not in ("subscribe", "unsubscribe"):
            self._error(sub, 400, "Unknown message type")
            return
        params = {k: str(v) for k, v in data.items() if isinstance(v, str | int)}
        try:
            stream = await self.hub.run_db(check_stream, sub.auth, str(data.get("stream") or ""), params)
        except StreamError as exc:
            self._error(sub, exc.status, exc.message)
            return
        if data["type"] == "subscribe":
            sub.streams.add(stream)
        else:
            sub.streams.discard(stream)

    def _error(self, sub: Subscriber, status: int, message: str) -> None:
        sub.push(["error"], "error", json.dumps({"error": message, "status": status}))


application = StreamingApp()
