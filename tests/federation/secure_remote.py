"""A fake remote server that checks signatures as a strict peer does, for the authorised-fetch,
key-rotation, signed-fetch and double-knocking tests.

It listens on 127.0.0.3 (a real socket; the outbound client reaches it through the test-only
hatch) and can:

* serve actor documents and notes, refusing unsigned GETs (``require_signed_gets``) and checking
  each GET's signature against the key it was told belongs to our instance actor;
* rotate an actor's key (``rotate``), serving the new one from then on;
* take POSTs at its inbox signed the RFC 9421 way, the draft-cavage way, or both
  (``inbox_schemes``), answering 401 to the rest, as a peer that speaks one scheme only;
* answer every request with a chosen status (``fail_with``), like a remote that is down.

Every request is recorded (method, path, headers) so tests can say what was sent.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import count
from typing import Any

from django.test import Client

from rostra.federation import uris
from rostra.federation.signatures import SignatureError, generate_key_pair, sign_request, sign_request_rfc9421, verify_request

AS = "application/activity+json"


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    status: int = 0


@dataclass
class _State:
    documents: dict[str, dict[str, Any]] = field(default_factory=dict)
    keys: dict[str, tuple[str, str]] = field(default_factory=dict)  # actor name -> (private, public)
    seen: list[Seen] = field(default_factory=list)
    trusted: dict[str, str] = field(default_factory=dict)  # keyId -> public PEM it accepts signatures from
    require_signed_gets: bool = False
    inbox_schemes: frozenset[str] = frozenset({"rfc9421", "cavage"})
    fail_with: int | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Handler(BaseHTTPRequestHandler):
    server: SecureRemote

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _answer(self, seen: Seen, status: int, doc: dict[str, Any] | None = None) -> None:
        seen.status = status
        body = json.dumps(doc).encode() if doc is not None else b""
        self.send_response(status)
        if doc is not None:
            self.send_header("Content-Type", AS)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _verified(self, method: str, body: bytes) -> bool:
        state = self.server.state
        try:
            verify_request(
                method,
                self.path,
                dict(self.headers.items()),
                body,
                public_key_for=state.trusted.get,
                scheme="http",
            )
        except SignatureError as exc:
            self.server.refusals.append(str(exc))
            return False
        return True

    def do_GET(self) -> None:
        state = self.server.state
        seen = Seen("GET", self.path, dict(self.headers.items()))
        with state.lock:
            state.seen.append(seen)
        if state.fail_with is not None:
            self._answer(seen, state.fail_with)
            return
        if state.require_signed_gets and not self._verified("GET", b""):
            self._answer(seen, 401, {"error": "signature required"})
            return
        found = state.documents.get(self.path)
        self._answer(seen, 200 if found is not None else 404, found)

    def do_POST(self) -> None:
        state = self.server.state
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        seen = Seen("POST", self.path, dict(self.headers.items()))
        with state.lock:
            state.seen.append(seen)
        if state.fail_with is not None:
            self._answer(seen, state.fail_with)
            return
        scheme = "rfc9421" if "Signature-Input" in self.headers else "cavage"
        if scheme not in state.inbox_schemes or not self._verified("POST", body):
            self._answer(seen, 401, {"error": f"{scheme} signatures are not accepted here"})
            return
        self._answer(seen, 202)


class SecureRemote(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, host: str = "127.0.0.3") -> None:
        super().__init__((host, 0), _Handler)
        self.state = _State()
        self.refusals: list[str] = []
        self.numbers = count(1)

    @property
    def base(self) -> str:
        return f"http://{self.server_address[0]}:{self.server_address[1]}"

    @property
    def domain(self) -> str:
        return f"{self.server_address[0]}:{self.server_address[1]}"

    def trust(self, key_id: str, public_pem: str) -> None:
        """Accept signatures made with this key (our instance actor's, a local account's)."""
        self.state.trusted[key_id] = public_pem

    def actor(self, name: str, key_pair: tuple[str, str] | None = None) -> str:
        uri = f"{self.base}/users/{name}"
        self.state.keys[name] = key_pair or generate_key_pair()
        self.state.documents[f"/users/{name}"] = {
            "@context": [uris.AS_CONTEXT, uris.SECURITY_CONTEXT],
            "id": uri,
            "type": "Person",
            "preferredUsername": name,
            "name": name.title(),
            "inbox": f"{uri}/inbox",
            "endpoints": {"sharedInbox": f"{self.base}/inbox"},
            "publicKey": {"id": f"{uri}#main-key", "owner": uri, "publicKeyPem": self.state.keys[name][1]},
        }
        return uri

    def rotate(self, name: str) -> tuple[str, str]:
        """A new key pair for the actor, served from now on; the old one is forgotten."""
        pair = generate_key_pair()
        self.state.keys[name] = pair
        self.state.documents[f"/users/{name}"]["publicKey"]["publicKeyPem"] = pair[1]
        return pair

    def gets(self, path: str | None = None) -> list[Seen]:
        return [s for s in self.state.seen if s.method == "GET" and (path is None or s.path == path)]

    def posts(self) -> list[Seen]:
        return [s for s in self.state.seen if s.method == "POST"]

    def signed_headers(self, name: str, method: str, url: str, body: bytes | None, *, rfc9421: bool = False) -> dict[str, str]:
        sign: Callable[..., dict[str, str]] = sign_request_rfc9421 if rfc9421 else sign_request
        key_id = f"{self.base}/users/{name}#main-key"
        headers = sign(method, url, {}, body, key_id=key_id, private_key_pem=self.state.keys[name][0])
        headers.setdefault("Host", "testserver")
        return headers

    def get_from_us(self, name: str, path: str, *, accept: str = AS, rfc9421: bool = False, sign_path: str | None = None) -> Any:
        """GET one of our documents through Django's test client, signed as this remote's actor."""
        headers = self.signed_headers(name, "GET", f"http://testserver{sign_path or path}", None, rfc9421=rfc9421)
        meta = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
        meta["HTTP_ACCEPT"] = accept
        return Client().get(path, **meta)

    def send(self, name: str, kind: str, obj: Any, *, path: str = "/inbox") -> Any:
        """Sign and POST an activity to our inbox as this remote's actor; the response."""
        actor = f"{self.base}/users/{name}"
        doc = {
            "@context": uris.AS_CONTEXT,
            "id": f"{actor}/activities/{next(self.numbers)}",
            "type": kind,
            "actor": actor,
            "object": obj,
        }
        body = json.dumps(doc).encode()
        headers = self.signed_headers(name, "POST", f"http://testserver{path}", body)
        meta = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
        response = Client().post(path, data=body, content_type=AS, **meta)
        response.activity_id = doc["id"]
        return response


@contextmanager
def running(host: str = "127.0.0.3") -> Iterator[SecureRemote]:
    server = SecureRemote(host)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
