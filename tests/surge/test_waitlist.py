"""During a surge, sign-ups (web and API) join a waitlist with a place; admins admit; invites skip it."""

from __future__ import annotations

import dataclasses
import re
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client

from rostra.accounts import surge
from rostra.accounts.models import Invite, User, WaitlistEntry
from rostra.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from rostra.moderation.models import AuditEntry
from tests.api.conftest import bearer, register_app

pytestmark = [pytest.mark.django_db]

PASSWORD = "a-long-secret-phrase-1"


def _join(client: Client, email: str) -> str:
    r = client.post("/signup", {"email": email})
    assert r.status_code == 302, r.content
    return str(r["Location"])


def test_without_a_surge_sign_up_is_as_before(world) -> None:
    r = Client().post("/signup", {"username": "plain", "email": "plain@example.net", "password": PASSWORD})
    assert r.status_code == 302 and r["Location"] == "/home"
    assert not WaitlistEntry.objects.exists()


def test_web_sign_up_joins_the_waitlist_with_a_place_and_a_link(world, surging, run_tasks) -> None:
    page = Client().get("/signup")
    assert page.status_code == 200 and b"Join the waitlist" in page.content and b"queued" in page.content
    first = _join(Client(), "first@example.net")
    second = _join(Client(), "second@example.net")
    assert first.startswith("/signup/waitlist/")
    assert b"You are number 1" in Client().get(first).content
    body = Client().get(second).content
    assert b"You are number 2" in body and b"1 person is ahead of you" in body
    assert not User.objects.filter(email__in=["first@example.net", "second@example.net"]).exists()
    run_tasks()
    sent = [m for m in mail.outbox if "waitlist" in m.subject]
    assert {m.to[0] for m in sent} == {"first@example.net", "second@example.net"}
    assert any(first in m.body for m in sent)  # the link, by email


def test_bad_or_repeated_addresses_are_refused_and_nothing_is_written(world, surging) -> None:
    for email, message in (("not an address", b"valid email"), ("alice@example.org", b"already exists")):
        r = Client().post("/signup", {"email": email})
        assert r.status_code == 400 and message in r.content
    _join(Client(), "once@example.net")
    r = Client().post("/signup", {"email": "ONCE@example.net"})
    assert r.status_code == 400 and b"already on the waitlist" in r.content
    assert WaitlistEntry.objects.count() == 1
    with pytest.raises(Conflict):
        surge.join_waitlist("once@example.net")


def test_admitted_people_create_their_account_through_their_link_once(world, surging, run_tasks) -> None:
    link = _join(Client(), "turn@example.net")
    _join(Client(), "later@example.net")
    r = Client().post(link, {"username": "turn", "password": PASSWORD})
    assert r.status_code == 403 and not User.objects.filter(username="turn").exists()  # not yet
    admitted = surge.admit(world.admin.user, 1)
    assert [e.email for e in admitted] == ["turn@example.net"]
    assert AuditEntry.objects.filter(verb="surge.admitted", actor_name="@ada").exists()
    run_tasks()
    assert any(m.to == ["turn@example.net"] and "create your account now" in m.subject and link in m.body for m in mail.outbox)
    assert (
        b"You are number 1"
        in Client().get(f"/signup/waitlist/{surge.token_for(WaitlistEntry.objects.get(email='later@example.net'))}").content
    )
    page = Client().get(link)
    assert page.status_code == 200 and b"It is your turn" in page.content
    bad = Client().post(link, {"username": "turn", "password": "short"})
    assert bad.status_code == 400 and not User.objects.filter(username="turn").exists()
    browser = Client()
    r = browser.post(link, {"username": "turn", "password": PASSWORD})
    assert r.status_code == 302 and r["Location"] == "/home"
    user = User.objects.get(username="turn")
    assert user.email == "turn@example.net" and browser.get("/home").status_code == 200
    assert Client().get(link).status_code == 404  # used: the link is spent
    assert Client().post(link, {"username": "turn2", "password": PASSWORD}).status_code == 404
    assert not User.objects.filter(username="turn2").exists()


def test_forged_links_are_refused(world, surging) -> None:
    link = _join(Client(), "real@example.net")
    entry_id = link.rsplit("/", 1)[1].split("-")[0]
    for token in (f"{entry_id}-{'0' * 32}", "garbage", f"{int(entry_id) + 1}-abc", ""):
        assert Client().get(f"/signup/waitlist/{token}").status_code == 404
    with pytest.raises(NotFound):
        surge.entry_for_token("12-34")
    # Not ASCII: refused like any forgery, never a 500.
    assert Client().get(f"/signup/waitlist/{entry_id}-%C3%A9").status_code == 404
    with pytest.raises(NotFound):
        surge.entry_for_token(f"{entry_id}-é")


def test_an_admitted_link_creates_nothing_once_sign_ups_are_closed(world, surging, settings) -> None:
    link = _join(Client(), "late@example.net")
    surge.admit(world.admin.user, 1)
    settings.ROSTRA = dataclasses.replace(settings.ROSTRA, registrations="closed")
    r = Client().post(link, {"username": "late", "password": PASSWORD})
    assert r.status_code == 404 and not User.objects.filter(username="late").exists()  # the sign-up pages are closed
    with pytest.raises(PermissionDenied, match="closed"):  # and so is the action behind them
        surge.sign_up_admitted(link.rsplit("/", 1)[1], "late", PASSWORD)
    assert not User.objects.filter(username="late").exists()


def test_admitting_needs_an_admin_and_a_sane_count(world, surging) -> None:
    surge.join_waitlist("x@example.net")
    with pytest.raises(PermissionDenied):
        surge.admit(world.mod.user, 1)
    for bad in (0, -1, 10**9, True, "3"):
        with pytest.raises(ValidationError):
            surge.admit(world.admin.user, bad)  # type: ignore[arg-type]
    assert surge.waiting_count() == 1 and not AuditEntry.objects.filter(verb="surge.admitted").exists()


def test_an_invite_link_skips_the_waitlist_for_its_uses_until_it_expires(world, surging, client_for) -> None:
    invite = surge.create_invite(world.mod.user, max_uses=2, expires_in_days=1)
    assert AuditEntry.objects.filter(verb="invite.created", actor_name="@maya").exists()
    url = f"/signup?invite={invite.code}"
    form = Client().get(url)
    assert form.status_code == 200 and b"You were invited" in form.content
    for name in ("guest1", "guest2"):
        r = Client().post(
            "/signup", {"invite": invite.code, "username": name, "email": f"{name}@example.net", "password": PASSWORD}
        )
        assert r.status_code == 302 and r["Location"] == "/home"
    assert Invite.objects.get(pk=invite.pk).uses == 2
    r = Client().post(
        "/signup", {"invite": invite.code, "username": "guest3", "email": "guest3@example.net", "password": PASSWORD}
    )
    assert r.status_code == 400 and b"used up" in r.content and not User.objects.filter(username="guest3").exists()
    # a bad sign-up does not spend a use
    other = surge.create_invite(world.admin.user, max_uses=1)
    r = Client().post("/signup", {"invite": other.code, "username": "alice", "email": "dup@example.net", "password": PASSWORD})
    assert r.status_code == 400 and Invite.objects.get(pk=other.pk).uses == 0
    # expired and withdrawn invites
    Invite.objects.filter(pk=other.pk).update(expires_at=other.created_at - timedelta(seconds=1))
    assert Client().get(f"/signup?invite={other.code}").status_code == 404
    third = surge.create_invite(world.admin.user)
    surge.revoke_invite(world.mod.user, third.pk)
    assert Client().get(f"/signup?invite={third.code}").status_code == 404
    assert Client().get("/signup?invite=nope").status_code == 404


def test_only_moderators_make_invites_and_bad_numbers_are_refused(world, client_for) -> None:
    with pytest.raises(PermissionDenied):
        surge.create_invite(world.alice.user)
    for kwargs in ({"max_uses": 0}, {"max_uses": 10**6}, {"expires_in_days": 0}, {"expires_in_days": 1000}):
        with pytest.raises(ValidationError):
            surge.create_invite(world.mod.user, **kwargs)  # type: ignore[arg-type]
    assert not Invite.objects.exists()
    mod = client_for(world.mod)
    r = mod.post("/admin/surge", {"action": "invite", "max_uses": "5", "expires_in_days": "3"})
    assert r.status_code == 200 and b"/signup?invite=" in r.content
    r = mod.post("/admin/surge", {"action": "invite", "max_uses": "lots"})
    assert r.status_code == 400
    assert Invite.objects.count() == 1
    code = Invite.objects.get().pk
    assert mod.post("/admin/surge", {"action": "revoke", "invite": str(code)}).status_code == 302
    assert Invite.objects.get().revoked_at is not None
    assert mod.post("/admin/surge", {"action": "revoke", "invite": "x"}).status_code == 404


def _app_token() -> str:
    app = register_app(scopes="read write follow")
    r = Client().post(
        "/oauth/token",
        {
            "grant_type": "client_credentials",
            "client_id": app.client_id,
            "client_secret": app.client_secret,
            "scope": "read write follow",
        },
    )
    return str(r.json()["access_token"])


def test_api_registration_answers_429_with_the_waitlist_place(world, surging) -> None:
    token = _app_token()
    data = {"username": "apiwait", "email": "apiwait@example.net", "password": PASSWORD, "agreement": "true", "locale": "en"}
    r = bearer(token).post("/api/v1/accounts", data)
    assert r.status_code == 429, r.content
    body = r.json()
    assert "waitlist" in body["error"] and "number 1" in body["error"]
    assert body["waitlist"]["position"] == 1 and re.search(r"/signup/waitlist/\d+-[0-9a-f]{32}$", body["waitlist"]["url"])
    assert r["Retry-After"]
    assert not User.objects.filter(username="apiwait").exists()
    again = bearer(token).post("/api/v1/accounts", data)
    assert again.status_code == 422 and "already on the waitlist" in again.json()["details"]["email"][0]["description"]
    bad = bearer(token).post("/api/v1/accounts", {**data, "email": "nope"})
    assert bad.status_code == 422


def test_api_registration_with_an_invite_code(world, surging) -> None:
    token = _app_token()
    invite = surge.create_invite(world.mod.user)
    data = {"username": "apiguest", "email": "apiguest@example.net", "password": PASSWORD, "agreement": "true", "locale": "en"}
    r = bearer(token).post("/api/v1/accounts", {**data, "invite_code": invite.code})
    assert r.status_code == 200, r.content
    assert User.objects.filter(username="apiguest").exists()
    r = bearer(token).post(
        "/api/v1/accounts", {**data, "username": "apiguest2", "email": "g2@example.net", "invite_code": invite.code}
    )
    assert r.status_code == 422 and "invite" in r.json()["details"]
