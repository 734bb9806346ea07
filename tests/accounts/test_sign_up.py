"""Sign-up: every rule, case-insensitive uniqueness, nothing written on failure; the Argon2id hasher."""

from __future__ import annotations

import time

import pytest
from django.contrib.auth.hashers import check_password, identify_hasher, make_password

from rostra.accounts.actions import sign_up
from rostra.accounts.hashers import RostraArgon2Hasher
from rostra.accounts.models import Account, Role, User
from rostra.core.errors import ValidationError

GOOD_PASSWORD = "quiet-lantern-orbit-42"


@pytest.fixture
def alice(db):
    return sign_up("alice", "alice@example.org", GOOD_PASSWORD).account


def _counts() -> tuple[int, int]:
    return User.objects.count(), Account.objects.count()


def test_sign_up_creates_the_login_and_the_account(db):
    user = sign_up("@Newbie", " newbie@example.org ", GOOD_PASSWORD, display_name="N" * 80)
    assert user.username == "Newbie"  # a leading @ is forgiven; the case typed is kept
    assert user.email == "newbie@example.org"
    assert user.role == Role.MEMBER
    assert user.check_password(GOOD_PASSWORD)
    account = user.account
    assert (account.username, account.domain, account.is_local) == ("Newbie", "", True)
    assert account.display_name == "N" * 60
    assert account.acct == "Newbie"


@pytest.mark.parametrize(
    ("username", "message"),
    [
        ("", "Choose a username"),
        ("   ", "Choose a username"),
        ("@", "Choose a username"),
        ("has space", "1 to 30 letters"),
        ("dash-ed", "1 to 30 letters"),
        ("dot.ted", "1 to 30 letters"),
        ("x" * 31, "1 to 30 letters"),
        ("ålice", "1 to 30 letters"),
        ("bob\x00", "1 to 30 letters"),
        ("admin", "reserved"),
        ("Admin", "reserved"),
        ("SETTINGS", "reserved"),
        ("alice", "taken"),
        ("ALICE", "taken"),
        ("  Alice\n", "taken"),
    ],
)
def test_username_rules(alice, username, message):
    before = _counts()
    with pytest.raises(ValidationError) as err:
        sign_up(username, "someone@example.org", GOOD_PASSWORD)
    assert message in err.value.errors["username"][0]
    assert _counts() == before


@pytest.mark.parametrize(
    ("email", "message"),
    [
        ("", "valid email"),
        ("nobody", "valid email"),
        ("a@b", "valid email"),
        ("a b@example.org", "valid email"),
        ("alice@example.org", "already exists"),
        ("ALICE@Example.ORG", "already exists"),
    ],
)
def test_email_rules(alice, email, message):
    before = _counts()
    with pytest.raises(ValidationError) as err:
        sign_up("newcomer", email, GOOD_PASSWORD)
    assert message in err.value.errors["email"][0]
    assert _counts() == before


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("", "too short"),
        ("short", "too short"),
        ("password123", "too common"),
        ("8675309123456", "entirely numeric"),
        ("newcomer-newcomer", "too similar"),
    ],
)
def test_password_rules(db, password, message):
    with pytest.raises(ValidationError) as err:
        sign_up("newcomer", "newcomer@example.org", password)
    assert any(message in m for m in err.value.errors["password"])
    assert _counts() == (0, 0)


def test_a_bad_role_is_refused(db):
    with pytest.raises(ValidationError) as err:
        sign_up("newcomer", "newcomer@example.org", GOOD_PASSWORD, role="emperor")
    assert "role" in err.value.errors
    assert _counts() == (0, 0)


def test_every_problem_is_reported_at_once(alice):
    with pytest.raises(ValidationError) as err:
        sign_up("alice", "not-an-email", "123")
    assert set(err.value.errors) == {"username", "email", "password"}
    assert err.value.message == err.value.errors["username"][0]


def test_usernames_and_emails_are_unique_whatever_the_case(db):
    sign_up("Zoe", "Zoe@Example.org", GOOD_PASSWORD)
    with pytest.raises(ValidationError):
        sign_up("zOE", "other@example.org", GOOD_PASSWORD)
    with pytest.raises(ValidationError):
        sign_up("zoe2", "zoe@EXAMPLE.ORG", GOOD_PASSWORD)
    assert _counts() == (1, 1)


def test_username_of_a_remote_account_is_free_locally(db):
    Account.objects.create(username="zed", domain="remote.example")
    user = sign_up("zed", "zed@example.org", GOOD_PASSWORD)
    assert user.account.domain == ""


# --- the Argon2id hasher


def test_argon2id_round_trip_and_parameters():
    hasher = RostraArgon2Hasher()
    started = time.perf_counter()
    encoded = hasher.encode("correct horse", hasher.salt())
    elapsed_ms = (time.perf_counter() - started) * 1000
    print(f"one Argon2id hash (m=19456 KiB, t=2, p=1): {elapsed_ms:.1f} ms")
    assert encoded.startswith("argon2$argon2id$v=19$m=19456,t=2,p=1$")
    assert hasher.verify("correct horse", encoded)
    assert not hasher.verify("correct horsE", encoded)
    assert not hasher.must_update(encoded)
    decoded = hasher.decode(encoded)
    assert (decoded["memory_cost"], decoded["time_cost"], decoded["parallelism"]) == (19456, 2, 1)
    # Two hashes of one password differ (random salt), and both verify.
    again = hasher.encode("correct horse", hasher.salt())
    assert again != encoded and hasher.verify("correct horse", again)


def test_argon2id_through_django(settings):
    settings.PASSWORD_HASHERS = ["rostra.accounts.hashers.RostraArgon2Hasher"]
    encoded = make_password("correct horse")
    assert isinstance(identify_hasher(encoded), RostraArgon2Hasher)
    assert check_password("correct horse", encoded)
    assert not check_password("wrong", encoded)


def test_weaker_argon2_hashes_are_upgraded():
    weak = RostraArgon2Hasher()
    weak.memory_cost, weak.time_cost = 1024, 1
    encoded = weak.encode("pw", weak.salt())
    assert RostraArgon2Hasher().verify("pw", encoded)
    assert RostraArgon2Hasher().must_update(encoded)
