"""SECURITY-TESTS E2: two-factor authentication cannot be skipped, by any door, nor guessed.

The doors into an account: the web login, the OAuth consent page (which signs in through the web
login) and the OAuth password grant. With two-factor on, each needs the code or refuses."""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import urlencode

from django.http import HttpResponse
from django.test import Client

from rostra.accounts import twofactor
from rostra.accounts.models import Account
from rostra.api.models import AccessToken
from rostra.testing.world import PASSWORD, make_account
from tests.accounts.test_two_factor import T0, a_wrong_code, code_at, enable, frozen, limits, password_step, signed_in, zoe
from tests.api.conftest import App, password_grant, register_app

__all__ = ["frozen", "zoe"]  # fixtures used below

OOB = "urn:ietf:wg:oauth:2.0:oob"


def _register_app() -> App:
    return register_app("read write", name="Phone app")


def _password_grant(app: App, username: str = "zoe", ip: str = "127.0.0.1") -> HttpResponse:
    return password_grant(app, username, password=PASSWORD, ip=ip)


def test_e2_two_factor_cannot_be_skipped(zoe: Account, frozen: dict[str, datetime]) -> None:
    secret, _ = enable(zoe)
    app = _register_app()

    # The web: the right password alone signs nobody in; no page behind the login opens.
    client = Client()
    assert password_step(client) == "/login/2fa"
    for path in ("/home", "/notifications", "/settings/security", "/settings/account"):
        r = client.get(path)
        assert r.status_code == 302 and r["Location"].startswith("/login"), path
    assert client.post("/compose", {"text": "posted half-way"}).status_code == 302
    # Nor can the code page be reached without the password step.
    assert Client().post("/login/2fa", {"code": code_at(secret)}).status_code == 302

    # The OAuth password grant: refused with an OAuth error that says why; no token is made.
    r = _password_grant(app)
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_grant" and "two-factor" in r.json()["error_description"]
    assert not AccessToken.objects.filter(user=zoe.user).exists()

    # The OAuth consent page sends people to the web login, and so through the code page.
    query = urlencode({"response_type": "code", "client_id": app.client_id, "redirect_uri": OOB, "scope": "read"})
    authorize = f"/oauth/authorize?{query}"
    browser = Client()
    r = browser.get(authorize)
    assert r.status_code == 302 and r["Location"].startswith("/login?next=")
    assert password_step(browser, next_url=authorize) == "/login/2fa"
    r = browser.get(authorize)
    assert r.status_code == 302 and r["Location"].startswith("/login?next="), "half-way must not reach the consent page"
    r = browser.post("/login/2fa", {"code": code_at(secret)})
    assert r.status_code == 302 and r["Location"] == authorize
    assert "Phone app" in browser.get(authorize).content.decode()
    r = browser.post(
        "/oauth/authorize",
        {"response_type": "code", "client_id": app.client_id, "redirect_uri": OOB, "scope": "read", "decision": "approve"},
    )
    assert r.status_code == 200
    code = r.context["code"]
    r = Client().post(
        "/oauth/token",
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": OOB,
            "client_id": app.client_id,
            "client_secret": app.client_secret,
        },
    )
    assert r.status_code == 200 and r.json()["access_token"]

    assert signed_in(browser)
    # Someone without two-factor still gets a token by password.
    make_account("yann")
    assert _password_grant(app, "yann").status_code == 200


def test_e2_login_bruteforce_two_factor_codes_count_against_the_account_limit(
    zoe: Account, frozen: dict[str, datetime], settings
) -> None:
    secret, _ = enable(zoe)
    limits(settings, "login_account=3/1h")
    attacker = Client(REMOTE_ADDR="192.0.2.1")
    password_step(attacker)  # a right password is not a failure
    for _ in range(3):
        assert attacker.post("/login/2fa", {"code": a_wrong_code(secret)}).status_code == 400
    # The budget is spent: even the right code waits, from anywhere, and so does the password step.
    r = attacker.post("/login/2fa", {"code": code_at(secret)})
    assert r.status_code == 429 and int(r["Retry-After"]) > 0 and "Too many failed sign-ins" in r.content.decode()
    assert not signed_in(attacker)
    elsewhere = Client(REMOTE_ADDR="192.0.2.2")
    assert elsewhere.post("/login", {"username": "zoe", "password": PASSWORD}).status_code == 429


def test_e2_login_bruteforce_two_factor_codes_count_against_the_network_limit(
    zoe: Account, frozen: dict[str, datetime], settings
) -> None:
    secret, _ = enable(zoe)
    limits(settings, "login_ip=4/5m")
    client = Client(REMOTE_ADDR="192.0.2.9")
    password_step(client)  # 1 of 4
    assert client.post("/login/2fa", {"code": a_wrong_code(secret)}).status_code == 400  # 2
    assert client.post("/login/2fa", {"code": a_wrong_code(secret)}).status_code == 400  # 3
    assert client.post("/login/2fa", {"code": a_wrong_code(secret)}).status_code == 400  # 4
    r = client.post("/login/2fa", {"code": code_at(secret)})
    assert r.status_code == 429 and "from your network" in r.content.decode()
    assert not signed_in(client)


def test_e2_login_bruteforce_two_factor_disable_guesses_count_too(zoe: Account, frozen: dict[str, datetime], settings) -> None:
    secret, _ = enable(zoe)
    limits(settings, "login_account=2/1h")
    thief = Client()
    thief.force_login(zoe.user)  # a stolen session, without the phone
    url = "/settings/security/2fa/disable"
    for _ in range(2):
        assert thief.post(url, {"disable-password": PASSWORD, "disable-code": a_wrong_code(secret)}).status_code == 400
    r = thief.post(url, {"disable-password": PASSWORD, "disable-code": code_at(secret, T0 + timedelta(seconds=30))})
    assert r.status_code == 429
    assert twofactor.is_enabled(zoe.user)  # type: ignore[arg-type]
