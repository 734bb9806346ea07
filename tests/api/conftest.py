"""Helpers for API tests: registered apps, tokens, bearer clients; and a live server for real clients."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.http import HttpResponse
from django.test import Client

from rostra.accounts.models import Account
from rostra.testing.world import PASSWORD
from tests.live import LiveServer, serve

OOB = "urn:ietf:wg:oauth:2.0:oob"


@dataclass
class App:
    client_id: str
    client_secret: str
    body: dict[str, Any]


def register_app(scopes: str = "read write follow push profile", redirect_uris: str = OOB, name: str = "Test client", **extra: str) -> App:
    """An OAuth app registered as a client registers one (``POST /api/v1/apps``)."""
    r = Client().post("/api/v1/apps", {"client_name": name, "redirect_uris": redirect_uris, "scopes": scopes, **extra})
    assert r.status_code == 200, r.content
    body = r.json()
    return App(body["client_id"], body["client_secret"], body)


def password_grant(app: App, username: str, *, password: str = PASSWORD, scope: str = "read", ip: str = "127.0.0.1") -> HttpResponse:
    """The answer to an OAuth password grant, sent from ``ip``."""
    return Client(REMOTE_ADDR=ip).post(
        "/oauth/token",
        {"grant_type": "password", "username": username, "password": password, "scope": scope,
         "client_id": app.client_id, "client_secret": app.client_secret},
    )


@pytest.fixture
def register(db: None) -> Callable[..., App]:
    return register_app


@pytest.fixture
def password_token(register: Callable[..., App]) -> Callable[..., str]:
    """A token for ``account`` by the password grant, with ``scope``."""

    def make(account: Account, scope: str = "read write follow push", app: App | None = None) -> str:
        r = password_grant(app or register(), account.username, scope=scope)
        assert r.status_code == 200, r.content
        return str(r.json()["access_token"])

    return make


@pytest.fixture
def tok(password_token: Callable[..., str]) -> Callable[..., str]:
    """``tok(account, scope)``: one token per account and scope, made once per test."""
    made: dict[tuple[int, str], str] = {}

    def get(account: Account, scope: str = "read write follow") -> str:
        key = (account.pk, scope)
        if key not in made:
            made[key] = password_token(account, scope)
        return made[key]

    return get


def link_params(response: Any) -> dict[str, dict[str, list[str]]]:
    """A response's ``Link`` header as ``{rel: {"path": [path], param: [values]}}``."""
    out: dict[str, dict[str, list[str]]] = {}
    for part in response["Link"].split(", "):
        url, rel = part.split("; ")
        parts = urlsplit(url.strip("<>"))
        out[rel.split('"')[1]] = {"path": [parts.path], **parse_qs(parts.query)}
    return out


def bearer(token: str) -> Client:
    """A client that sends ``Authorization: Bearer <token>`` and no cookies, like a phone app."""
    return Client(headers={"Authorization": f"Bearer {token}"})


# --- A live server for real third-party clients ------------------------------------------------


@pytest.fixture(scope="module")
def live_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with serve(tmp_path_factory.mktemp("live-api"), ready_path="/api/v1/instance") as live:
        yield live
