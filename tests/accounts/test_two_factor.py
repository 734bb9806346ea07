"""Two-factor authentication: TOTP against RFC 6238, enrolment from Settings → Security, the
sign-in's second step (codes, recovery codes, replays, expiry) and switching it off."""

from __future__ import annotations

import base64
import dataclasses
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from rostra.accounts import twofactor
from rostra.accounts.models import Account, RecoveryCode, TwoFactor, User
from rostra.core import clock
from rostra.core.errors import Conflict, ValidationError
from rostra.testing.world import PASSWORD, make_account

T0 = datetime(2026, 5, 1, 12, 0, 10, tzinfo=UTC)  # 10 s into a 30-second step


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> dict[str, datetime]:
    """Rostra's clock stands still at T0 until a test moves ``frozen["now"]``."""
    state = {"now": T0}
    monkeypatch.setattr(clock, "now", lambda: state["now"])
    return state


@pytest.fixture
def zoe(db: None) -> Account:
    return make_account("zoe")


def user_of(account: Account) -> User:
    assert account.user is not None
    return account.user


def enable(account: Account) -> tuple[str, list[str]]:
    """Two-factor on for ``account`` (enrolled a minute before T0): its secret and recovery codes."""
    user = user_of(account)
    secret = twofactor.begin_enrolment(user, PASSWORD)
    codes = twofactor.confirm_enrolment(user, twofactor.totp(secret, T0 - timedelta(minutes=1)), at=T0 - timedelta(minutes=1))
    return secret, codes


def code_at(secret: str, at: datetime = T0) -> str:
    return twofactor.totp(secret, at)


def a_wrong_code(secret: str, at: datetime = T0) -> str:
    near = {twofactor.totp(secret, at + timedelta(seconds=30 * d)) for d in (-1, 0, 1)}
    return next(c for c in (f"{n:06d}" for n in range(123456, 10**6)) if c not in near)


def password_step(client: Client, username: str = "zoe", next_url: str = "") -> str:
    data = {"username": username, "password": PASSWORD} | ({"next": next_url} if next_url else {})
    r = client.post("/login", data)
    assert r.status_code == 302, r.content
    return str(r["Location"])


def signed_in(client: Client) -> bool:
    return client.get("/home").status_code == 200


def limits(settings, raw: str) -> None:
    settings.ROSTRA = dataclasses.replace(settings.ROSTRA, rate_limits=raw, redis_url=None)


# --- TOTP itself --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("unix_time", "expected"),
    [
        (59, "94287082"),
        (1111111109, "07081804"),
        (1111111111, "14050471"),
        (1234567890, "89005924"),
        (2000000000, "69279037"),
        (20000000000, "65353130"),
    ],
)
def test_hotp_matches_the_rfc_6238_sha1_test_vectors(unix_time: int, expected: str) -> None:
    secret = base64.b32encode(b"12345678901234567890").decode()
    assert twofactor.hotp(secret, unix_time // 30, digits=8) == expected
    assert twofactor.totp(secret, datetime.fromtimestamp(unix_time, UTC)) == expected[-6:]


def test_secrets_are_160_bits_and_the_uri_is_what_apps_read() -> None:
    secret = twofactor.new_secret()
    assert len(secret) == 32 and len(base64.b32decode(secret)) == 20 and secret != twofactor.new_secret()
    uri = twofactor.provisioning_uri("ABCD", account_name="zoe@example.org", issuer="My Town")
    assert uri == "otpauth://totp/My%20Town:zoe@example.org?secret=ABCD&issuer=My+Town&algorithm=SHA1&digits=6&period=30"
    # A colon in the instance's name must not move the label's issuer/account split.
    assert twofactor.provisioning_uri("ABCD", account_name="zoe", issuer="Town: North").startswith(
        "otpauth://totp/Town%20%20North:zoe?"
    )


def test_codes_from_the_neighbouring_steps_are_accepted_but_not_further(zoe: Account) -> None:
    secret, _ = enable(zoe)
    user = user_of(zoe)
    with pytest.raises(ValidationError, match="not right"):
        twofactor.verify(user, code_at(secret, T0 - timedelta(seconds=60)), at=T0)
    assert twofactor.verify(user, code_at(secret, T0 - timedelta(seconds=30)), at=T0) == "totp"
    assert twofactor.verify(user, code_at(secret, T0 + timedelta(seconds=30)), at=T0) == "totp"
    # The step of the last accepted code is remembered: the current one is now too old.
    with pytest.raises(ValidationError, match="already used"):
        twofactor.verify(user, code_at(secret, T0), at=T0)
    assert TwoFactor.objects.get(user=user).last_used_step == twofactor.step_at(T0) + 1


def test_recovery_codes_are_stored_hashed_and_accepted_in_any_case_once(zoe: Account) -> None:
    _, codes = enable(zoe)
    user = user_of(zoe)
    assert len(codes) == 10 and len(set(codes)) == 10
    assert all(re.fullmatch(r"[a-z0-9]{4}(-[a-z0-9]{4}){3}", c) for c in codes)
    stored = list(RecoveryCode.objects.filter(user=user).values_list("code_hash", flat=True))
    assert len(stored) == 10 and not any(c.replace("-", "") in h or c in h for c in codes for h in stored)
    assert twofactor.verify(user, f"  {codes[3].upper()} ", at=T0) == "recovery"
    with pytest.raises(ValidationError, match="already used"):
        twofactor.verify(user, codes[3], at=T0)
    assert twofactor.status(user).recovery_codes_left == 9


# --- Enrolment from Settings → Security -----------------------------------------------------------


def test_enrolment_happy_path_shows_the_qr_then_codes_once(zoe: Account, frozen: dict[str, datetime]) -> None:
    client = Client()
    client.force_login(user_of(zoe))
    page = client.get("/settings/security")
    assert page.status_code == 200 and "Set up" in page.content.decode()
    assert 'href="/settings/security"' in page.content.decode()  # in the settings navigation
    # A wrong password starts nothing.
    r = client.post("/settings/security/2fa/setup", {"enrol-password": "wrong"})
    assert r.status_code == 400 and "password is not right" in r.content.decode()
    assert not TwoFactor.objects.filter(user=user_of(zoe)).exists()
    r = client.post("/settings/security/2fa/setup", {"enrol-password": PASSWORD})
    assert r.status_code == 302 and r["Location"].startswith("/settings/security")
    sealed = TwoFactor.objects.get(user=user_of(zoe)).secret
    secret = twofactor.unseal(sealed)
    assert secret is not None and secret not in sealed  # never stored in the clear
    page = client.get("/settings/security").content.decode()
    assert "<svg" in page and 'class="segno"' in page  # the QR code, inline
    assert " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)) in page
    assert not twofactor.is_enabled(user_of(zoe))
    # The code is checked before anything is switched on.
    r = client.post("/settings/security/2fa/confirm", {"confirm-code": a_wrong_code(secret)})
    assert r.status_code == 400 and "That code is not right" in r.content.decode()
    assert not twofactor.is_enabled(user_of(zoe)) and not RecoveryCode.objects.exists()
    r = client.post("/settings/security/2fa/confirm", {"confirm-code": code_at(secret)})
    assert r.status_code == 200
    shown = re.findall(r"<code>([a-z0-9-]{19})</code>", r.content.decode())
    assert len(shown) == 10 and twofactor.is_enabled(user_of(zoe))
    # From now on neither the secret nor the codes appear again.
    page = client.get("/settings/security").content.decode()
    assert "is on" in page and "segno" not in page and secret[:8] not in page and not any(c in page for c in shown)
    assert "10</strong> of 10" in page


def test_setting_up_again_while_on_is_refused_and_cancel_drops_a_pending_secret(zoe: Account) -> None:
    enable(zoe)
    with pytest.raises(Conflict):
        twofactor.begin_enrolment(user_of(zoe), PASSWORD)
    other = make_account("yann")
    twofactor.begin_enrolment(user_of(other), PASSWORD)
    client = Client()
    client.force_login(user_of(other))
    assert client.post("/settings/security/2fa/cancel").status_code == 302
    assert not TwoFactor.objects.filter(user=user_of(other)).exists()


# --- Signing in ---------------------------------------------------------------------------------


def test_sign_in_needs_the_code_and_the_session_is_not_signed_in_between(zoe: Account, frozen: dict[str, datetime]) -> None:
    secret, _ = enable(zoe)
    client = Client()
    assert password_step(client) == "/login/2fa"
    # Half-way is not signed in: pages still send the person to log in.
    r = client.get("/home")
    assert r.status_code == 302 and r["Location"].startswith("/login")
    assert client.get("/settings/security").status_code == 302
    page = client.get("/login/2fa")
    assert page.status_code == 200 and "authenticator app" in page.content.decode()
    r = client.post("/login/2fa", {"code": a_wrong_code(secret)})
    assert r.status_code == 400 and "That code is not right" in r.content.decode() and not signed_in(client)
    r = client.post("/login/2fa", {"code": "abc"})
    assert r.status_code == 400 and not signed_in(client)
    r = client.post("/login/2fa", {})
    assert r.status_code == 400 and "This field is required" in r.content.decode() and not signed_in(client)
    r = client.post("/login/2fa", {"code": code_at(secret)})
    assert r.status_code == 302 and r["Location"] == "/home"
    assert signed_in(client)
    # The page of the second step is spent.
    assert client.get("/login/2fa").status_code == 302


def test_a_code_is_accepted_once_only(zoe: Account, frozen: dict[str, datetime]) -> None:
    secret, _ = enable(zoe)
    first = Client()
    password_step(first)
    assert first.post("/login/2fa", {"code": code_at(secret)}).status_code == 302
    # Someone watching over the shoulder replays it within the same 30 seconds.
    second = Client()
    password_step(second)
    r = second.post("/login/2fa", {"code": code_at(secret)})
    assert r.status_code == 400 and "already used" in r.content.decode() and not signed_in(second)
    frozen["now"] = T0 + timedelta(seconds=30)
    assert second.post("/login/2fa", {"code": code_at(secret, frozen["now"])}).status_code == 302
    assert signed_in(second)


def test_recovery_codes_sign_in_once_each(zoe: Account, frozen: dict[str, datetime]) -> None:
    _, codes = enable(zoe)
    client = Client()
    password_step(client)
    r = client.post("/login/2fa", {"code": codes[0]}, follow=True)
    assert r.status_code == 200 and "9 left" in r.content.decode()
    assert signed_in(client)
    again = Client()
    password_step(again)
    r = again.post("/login/2fa", {"code": codes[0]})
    assert r.status_code == 400 and "already used" in r.content.decode() and not signed_in(again)
    assert again.post("/login/2fa", {"code": codes[1]}).status_code == 302


def test_the_second_step_expires_after_five_minutes(zoe: Account, frozen: dict[str, datetime]) -> None:
    secret, _ = enable(zoe)
    client = Client()
    password_step(client, next_url="/settings/profile")
    frozen["now"] = T0 + timedelta(minutes=5, seconds=1)
    r = client.post("/login/2fa", {"code": code_at(secret, frozen["now"])})
    assert r.status_code == 302 and r["Location"] == "/login"
    assert not signed_in(client)
    assert client.get("/login/2fa").status_code == 302  # forgotten, not merely refused once
    # Starting again works, and goes where the person was going.
    password_step(client, next_url="/settings/profile")
    r = client.post("/login/2fa", {"code": code_at(secret, frozen["now"])})
    assert r.status_code == 302 and r["Location"] == "/settings/profile"


def test_without_two_factor_the_password_signs_in_at_once(zoe: Account) -> None:
    client = Client()
    assert password_step(client) == "/home"
    assert signed_in(client)
    assert Client().get("/login/2fa").status_code == 302


# --- Switching it off, new recovery codes -------------------------------------------------------


def test_disabling_needs_the_password_and_a_code(zoe: Account, frozen: dict[str, datetime]) -> None:
    secret, _ = enable(zoe)
    client = Client()
    client.force_login(user_of(zoe))
    url = "/settings/security/2fa/disable"
    r = client.post(url, {"disable-password": "wrong", "disable-code": code_at(secret)})
    assert r.status_code == 400 and "password is not right" in r.content.decode()
    r = client.post(url, {"disable-password": PASSWORD, "disable-code": a_wrong_code(secret)})
    assert r.status_code == 400 and "That code is not right" in r.content.decode()
    r = client.post(url, {"disable-password": PASSWORD})
    assert r.status_code == 400
    assert twofactor.is_enabled(user_of(zoe)) and RecoveryCode.objects.filter(user=user_of(zoe)).count() == 10
    r = client.post(url, {"disable-password": PASSWORD, "disable-code": code_at(secret)})
    assert r.status_code == 302
    assert not twofactor.is_enabled(user_of(zoe)) and not RecoveryCode.objects.filter(user=user_of(zoe)).exists()
    assert password_step(Client()) == "/home"


def test_new_recovery_codes_need_the_password_and_replace_the_old(zoe: Account, frozen: dict[str, datetime]) -> None:
    _, old = enable(zoe)
    client = Client()
    client.force_login(user_of(zoe))
    url = "/settings/security/2fa/recovery-codes"
    r = client.post(url, {"codes-password": "wrong"})
    assert r.status_code == 400 and RecoveryCode.objects.filter(user=user_of(zoe)).count() == 10
    r = client.post(url, {"codes-password": PASSWORD})
    new = re.findall(r"<code>([a-z0-9-]{19})</code>", r.content.decode())
    assert r.status_code == 200 and len(new) == 10 and not set(new) & set(old)
    with pytest.raises(ValidationError):
        twofactor.verify(user_of(zoe), old[0], at=T0)
    assert twofactor.verify(user_of(zoe), new[0], at=T0) == "recovery"


def test_deleting_the_login_deletes_its_second_factor(zoe: Account) -> None:
    enable(zoe)
    user_of(zoe).delete()
    assert not TwoFactor.objects.exists() and not RecoveryCode.objects.exists()


def test_a_secret_sealed_under_another_secret_key_lets_only_recovery_codes_in(zoe: Account, settings) -> None:
    secret, codes = enable(zoe)
    settings.SECRET_KEY = "another-secret-key-" + "x" * 40
    user = user_of(zoe)
    with pytest.raises(ValidationError):
        twofactor.verify(user, code_at(secret, T0 + timedelta(minutes=5)), at=T0 + timedelta(minutes=5))
    assert twofactor.verify(user, codes[0], at=T0 + timedelta(minutes=5)) == "recovery"
