"""A fake remote server for the quote, poll and delivery-gap tests: a real HTTP server on
127.0.0.x that serves its actors' and notes' documents (GET), receives what this instance
delivers (POST, every signature checked against the keys it was told to trust), and signs
activities it POSTs into our inbox. Shaped like the helpers in test_receive.py and
test_delivery.py, both halves in one."""

from __future__ import annotations

import json
import threading
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import count
from typing import Any

from django.test import Client

from rostra.accounts.models import Account
from rostra.core import clock
from rostra.federation import actions as federation
from rostra.federation import actors, delivery, instance_actor, uris
from rostra.federation.models import InboxItem
from rostra.federation.signatures import generate_key_pair, sign_request, verify_request

AS = "application/activity+json"
PUBLIC = uris.PUBLIC
_KEYS: list[tuple[str, str]] = []


def key_pair() -> tuple[str, str]:
    if not _KEYS:
        _KEYS.append(generate_key_pair())
    return _KEYS[0]


class _Handler(BaseHTTPRequestHandler):
    server: FakeRemote
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _answer(self, status: int, body: bytes = b"", content_type: str = AS) -> None:
        self.send_response(status)
        if body:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        found = self.server.documents.get(self.path)
        self.server.fetched.append(self.path)
        if found is None:
            self._answer(404)
            return
        self._answer(200, json.dumps(found).encode())

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        srv = self.server
        try:
            verify_request("POST", self.path, dict(self.headers.items()), body, public_key_for=srv.keys.get, now=srv.now, scheme="http")
        except Exception as exc:
            srv.bad_signatures.append(str(exc))
            self._answer(401)
            return
        srv.received.append((self.path, json.loads(body)))
        self._answer(202)


class FakeRemote(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, host: str = "127.0.0.2") -> None:
        super().__init__((host, 0), _Handler)
        self.host = host
        self.documents: dict[str, dict[str, Any]] = {}
        self.fetched: list[str] = []
        self.received: list[tuple[str, dict[str, Any]]] = []
        self.bad_signatures: list[str] = []
        self.keys: dict[str, str] = {}
        self.now: datetime = clock.now()
        self.private_pem, self.public_pem = key_pair()
        self.numbers = count(1)
        self.thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> FakeRemote:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()

    @property
    def domain(self) -> str:
        return f"{self.host}:{self.server_address[1]}"

    @property
    def base(self) -> str:
        return f"http://{self.domain}"

    # --- its people and posts ---------------------------------------------------------------

    def actor(self, name: str, **extra: Any) -> str:
        uri = f"{self.base}/users/{name}"
        self.documents[f"/users/{name}"] = {
            "@context": [uris.AS_CONTEXT, uris.SECURITY_CONTEXT],
            "id": uri,
            "type": "Person",
            "preferredUsername": name,
            "name": name.title(),
            "inbox": f"{uri}/inbox",
            "followers": f"{uri}/followers",
            "endpoints": {"sharedInbox": f"{self.base}/inbox"},
            "publicKey": {"id": f"{uri}#main-key", "owner": uri, "publicKeyPem": self.public_pem},
            **extra,
        }
        return uri

    def account(self, name: str) -> Account:
        """The remote person as this instance knows them (fetched from this server)."""
        return actors.resolve(self.actor(name))

    def note(self, actor: str, text: str = "hello there", *, serve: bool = False, **extra: Any) -> dict[str, Any]:
        number = next(self.numbers)
        doc = {
            "id": f"{actor}/statuses/{number}",
            "type": "Note",
            "attributedTo": actor,
            "content": f"<p>{text}</p>",
            "to": [PUBLIC],
            "cc": [f"{actor}/followers"],
            "published": "2026-01-01T10:00:00Z",
            **extra,
        }
        if serve:
            self.documents[doc["id"].removeprefix(self.base)] = {"@context": uris.AS_CONTEXT, **doc}
        return doc

    def send(self, actor: str, kind: str, obj: Any, **extra: Any) -> InboxItem:
        """Sign and POST an activity to our shared inbox; its stored item (processed by run_tasks)."""
        doc = {"@context": uris.AS_CONTEXT, "id": f"{actor}/activities/{next(self.numbers)}", "type": kind, "actor": actor, "object": obj, **extra}
        body = json.dumps(doc).encode()
        headers = sign_request("POST", "http://testserver/inbox", {}, body, key_id=f"{actor}#main-key", private_key_pem=self.private_pem)
        headers.setdefault("Host", "testserver")
        meta = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
        response = Client().post("/inbox", data=body, content_type=AS, **meta)
        assert response.status_code == 202, response.content
        return InboxItem.objects.get(activity_id=doc["id"])

    # --- what it receives ---------------------------------------------------------------------

    def trust(self, *locals_: Account, instance: bool = False) -> None:
        """Know these local accounts' keys (and the instance actor's), as a real server would fetch them."""
        for account in locals_:
            self.keys[uris.key_id(account.username)] = federation.ensure_key(account).public_key_pem
        if instance:
            self.keys[instance_actor.key_id()] = instance_actor.public_key_pem()

    def deliver(self) -> list[dict[str, Any]]:
        """Send every due delivery now; the activities this server accepted, in order."""
        self.now = clock.now()
        while delivery.deliver_due(now=self.now, batch=50):
            pass
        assert self.bad_signatures == []
        return [body for _, body in self.received]
