"""Helpers for API tests: registered apps, tokens, bearer clients; and a live server for real clients."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from rostra.accounts.models import Account
from rostra.testing.world import PASSWORD

OOB = "urn:ietf:wg:oauth:2.0:oob"


@dataclass
class App:
    client_id: str
    client_secret: str
    body: dict[str, Any]


@pytest.fixture
def register(db: None) -> Callable[..., App]:
    def make(scopes: str = "read write follow push profile", redirect_uris: str = OOB, name: str = "Test client") -> App:
        r = Client().post("/api/v1/apps", {"client_name": name, "redirect_uris": redirect_uris, "scopes": scopes})
        assert r.status_code == 200, r.content
        body = r.json()
        return App(body["client_id"], body["client_secret"], body)

    return make


@pytest.fixture
def password_token(register: Callable[..., App]) -> Callable[..., str]:
    """A token for ``account`` by the password grant, with ``scope``."""

    def make(account: Account, scope: str = "read write follow push", app: App | None = None) -> str:
        app = app or register()
        r = Client().post(
            "/oauth/token",
            {"grant_type": "password", "username": account.username, "password": PASSWORD, "scope": scope,
             "client_id": app.client_id, "client_secret": app.client_secret},
        )
        assert r.status_code == 200, r.content
        return str(r.json()["access_token"])

    return make


def bearer(token: str) -> Client:
    """A client that sends ``Authorization: Bearer <token>`` and no cookies, like a phone app."""
    return Client(headers={"Authorization": f"Bearer {token}"})


# --- A live server for real third-party clients ------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer(str):
    """The base URL of a real `rostra serve`, with the environment to run `rostra` commands against it."""

    env: dict[str, str]

    def rostra(self, *args: str, stdin: str | None = None) -> str:
        out = subprocess.run(
            [str(Path(sys.executable).parent / "rostra"), *args], env=self.env, input=stdin, capture_output=True, text=True, check=True
        )
        return out.stdout


@pytest.fixture(scope="module")
def live_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    data = tmp_path_factory.mktemp("live-api")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ROSTRA_", "DJANGO_", "DATABASE_URL", "REDIS_URL"))}
    env.update(ROSTRA_DATA_DIR=str(data), ROSTRA_DOMAIN=f"127.0.0.1:{port}", ROSTRA_WEB_WORKERS="1", ROSTRA_TASK_WORKERS="1")
    log = open(data / "server.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "rostra"), "serve", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(base + "/api/v1/instance", timeout=2).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("rostra serve did not start:\n" + (data / "server.log").read_text()) from None
                time.sleep(0.3)
        live = LiveServer(base)
        live.env = env
        yield live
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
