"""The password of a sign-up is hashed before any transaction opens, on every way in.

Argon2id takes tens of milliseconds; on SQLite a write transaction is one lock for the whole
database, so a hash computed inside one would queue every writer of the server behind it (about
four sign-ups a second per database, whatever the cores). The tests install a hasher that notes,
for each password it hashes, whether a transaction was open beyond the test's own (each test runs
inside transactions that are rolled back afterwards: those are the baseline).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import connection
from django.test import Client

from rostra.accounts import surge
from rostra.accounts.actions import check_sign_up, create_person, sign_up
from rostra.accounts.hashers import FastTestHasher
from rostra.accounts.models import Account, Invite, User
from rostra.core.errors import NotFound, ValidationError
from tests.api.conftest import bearer, register_app

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-secret-phrase-1"


class RecordingHasher(FastTestHasher):
    """The test hasher, noting for each hash whether a transaction beyond the test's own was open."""

    algorithm = "test_md5_recording"
    in_transaction: list[bool] = []
    baseline = 0  # the test's own transactions

    def encode(self, password: str, salt: str) -> str:
        RecordingHasher.in_transaction.append(len(connection.atomic_blocks) > RecordingHasher.baseline)
        return super().encode(password, salt)


@pytest.fixture(autouse=True)
def recording(settings) -> Iterator[list[bool]]:
    settings.PASSWORD_HASHERS = ["tests.accounts.test_sign_up_hash_outside_transactions.RecordingHasher"]
    RecordingHasher.in_transaction = []
    RecordingHasher.baseline = len(connection.atomic_blocks)
    surge.forget_cached()
    yield RecordingHasher.in_transaction
    surge.forget_cached()


def _app_token() -> str:
    app = register_app("read write follow")
    r = Client().post(
        "/oauth/token",
        {
            "grant_type": "client_credentials",
            "client_id": app.client_id,
            "client_secret": app.client_secret,
            "scope": "read write",
        },
    )
    assert r.status_code == 200, r.content
    return str(r.json()["access_token"])


def _form(username: str, **extra: str) -> dict[str, str]:
    return {
        "username": username,
        "email": f"{username}@example.net",
        "password": PASSWORD,
        "agreement": "true",
        "locale": "en",
        **extra,
    }


def test_the_action_hashes_outside_a_transaction(recording) -> None:
    user = sign_up("plain", "plain@example.net", PASSWORD)
    assert user.check_password(PASSWORD)
    assert recording[0] is False  # the sign-up's hash; check_password's own comes after


def test_the_api_sign_up_hashes_outside_a_transaction(recording) -> None:
    r = bearer(_app_token()).post("/api/v1/accounts", _form("apiuser"))
    assert r.status_code == 200, r.content
    assert recording == [False]
    assert User.objects.get(username="apiuser").check_password(PASSWORD)


def test_the_web_sign_up_hashes_outside_a_transaction(recording) -> None:
    r = Client().post("/signup", {"username": "webuser", "email": "webuser@example.net", "password": PASSWORD})
    assert r.status_code == 302, r.content
    assert recording == [False]


def test_an_invited_sign_up_hashes_outside_the_transaction_that_spends_the_invite(recording) -> None:
    surge.set_mode(None, "on", reason="test")
    invite = surge.create_invite(None)
    r = bearer(_app_token()).post("/api/v1/accounts", _form("guest", invite_code=invite.code))
    assert r.status_code == 200, r.content
    assert recording == [False]
    assert Invite.objects.get(pk=invite.pk).uses == 1


def test_an_admitted_waitlist_sign_up_hashes_outside_the_transaction_that_locks_the_entry(recording) -> None:
    surge.set_mode(None, "on", reason="test")
    entry = surge.join_waitlist("turn@example.net")
    surge.admit(None, 1)
    link = surge.link_for(entry).rsplit("/", 1)[1]
    user = surge.sign_up_admitted(link, "turn", PASSWORD)
    assert recording == [False]
    assert user.email == "turn@example.net"
    with pytest.raises(NotFound, match="already"):
        surge.sign_up_admitted(link, "turn2", PASSWORD)
    assert not User.objects.filter(username="turn2").exists()


def test_a_name_taken_between_the_check_and_the_insert_writes_nothing() -> None:
    """The hash now sits between the check and the insert: a concurrent sign-up of the same name
    in that window meets the unique index, and is told the name is taken."""
    checked = check_sign_up("Racer", "racer@example.net", PASSWORD)
    sign_up("racer", "other@example.net", PASSWORD)
    with pytest.raises(ValidationError, match="taken"):
        create_person(checked)
    assert list(User.objects.values_list("email", flat=True)) == ["other@example.net"]
    assert Account.objects.count() == 1


def test_an_invite_is_not_spent_by_a_refused_sign_up(recording) -> None:
    surge.set_mode(None, "on", reason="test")
    invite = surge.create_invite(None)
    sign_up("guest", "first@example.net", PASSWORD)
    with pytest.raises(ValidationError):
        surge.sign_up_with_invite(invite.code, "GUEST", "second@example.net", PASSWORD)
    assert recording == [False]  # the first sign-up's; the refused one never hashed
    assert Invite.objects.get(pk=invite.pk).uses == 0
    assert not User.objects.filter(email="second@example.net").exists()


def test_an_invited_api_sign_up_whose_token_cannot_be_issued_keeps_nothing(recording) -> None:
    """The token is written in the transaction that spends the invite: when it cannot be issued
    (the app's stored scopes name one this server does not know), the invite is not spent and no
    account is left without a token."""
    from rostra.api.models import Application

    surge.set_mode(None, "on", reason="test")
    invite = surge.create_invite(None)
    token = _app_token()
    Application.objects.update(scopes="read write retired:scope")
    r = bearer(token).post("/api/v1/accounts", _form("guest", invite_code=invite.code))
    assert r.status_code == 400, r.content
    assert r.json()["error"].startswith("No account was created")
    assert recording == [False]
    assert Invite.objects.get(pk=invite.pk).uses == 0
    assert not User.objects.filter(username="guest").exists() and not Account.objects.filter(username="guest").exists()
