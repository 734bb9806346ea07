"""Password reset by email (issue 5, item 2): the same answer for every address, a link that works
once for an hour, a new password checked like a sign-up's, every session and token ended, and
two-factor left on."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client

from rostra.accounts import password_reset, twofactor
from rostra.accounts.models import User, UserSession
from rostra.api.oauth import find_token
from rostra.core import clock
from rostra.testing.world import PASSWORD
from tests.api.conftest import password_grant, register_app

NEW_PASSWORD = "a-fresh-passphrase-for-2027"
LINK = re.compile(r"https?://[^/\s]+(/password-reset/[^/\s]+/[^/\s]+)")


@pytest.fixture
def frozen(monkeypatch):
    state = {"now": clock.now()}
    monkeypatch.setattr(clock, "now", lambda: state["now"])
    return state


def ask(email: str, ip: str = "192.0.2.20"):
    return Client(REMOTE_ADDR=ip).post("/password-reset", {"email": email})


def link_for(email: str, run_tasks) -> str:
    mail.outbox.clear()
    assert ask(email).status_code == 302
    run_tasks()
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [email]
    found = LINK.search(mail.outbox[0].body)
    assert found is not None
    return found.group(1)


def sign_in(username: str, password: str = PASSWORD) -> Client:
    client = Client()
    assert client.post("/login", {"username": username, "password": password}).status_code == 302
    return client


def app_token(username: str) -> str:
    r = password_grant(register_app("read", name="App"), username, password=PASSWORD)
    return str(r.json()["access_token"])


def test_the_login_page_links_to_the_reset(db):
    assert 'href="/password-reset"' in Client().get("/login").content.decode()
    assert Client().get("/password-reset").status_code == 200


def test_the_same_answer_for_a_known_and_an_unknown_address(world, run_tasks):
    known, unknown = ask("alice@example.org"), ask("nobody-here@example.org")
    assert (known.status_code, known["Location"]) == (unknown.status_code, unknown["Location"]) == (302, "/password-reset/sent")
    page = Client().get(known["Location"])
    assert page.status_code == 200 and password_reset.SENT in page.content.decode()
    # Only the real address gets mail, and only after the request (the worker sends it).
    assert mail.outbox == []
    run_tasks()
    assert [m.to for m in mail.outbox] == [["alice@example.org"]]
    assert "@alice" in mail.outbox[0].body and "/password-reset/" in mail.outbox[0].body


def test_the_address_is_matched_without_regard_to_case(world, run_tasks):
    assert ask("  ALICE@Example.ORG ").status_code == 302
    run_tasks()
    assert [m.to for m in mail.outbox] == [["alice@example.org"]]


def test_a_malformed_address_is_a_form_error(db):
    r = ask("not an address")
    assert r.status_code == 400 and "valid email address" in r.content.decode()


def test_the_link_sets_a_new_password_and_ends_every_session_and_token(world, run_tasks):
    laptop = sign_in("alice")
    token = app_token("alice")
    path = link_for("alice@example.org", run_tasks)
    assert "Choose a new password" in Client().get(path).content.decode()
    r = Client().post(path, {"new_password": NEW_PASSWORD})
    assert r.status_code == 302 and r["Location"] == "/login"
    user = User.objects.get(username="alice")
    assert user.check_password(NEW_PASSWORD)
    assert laptop.get("/settings/security").status_code == 302  # signed out
    assert not UserSession.objects.filter(user=user).exists()
    assert find_token(token) is None
    assert sign_in("alice", NEW_PASSWORD).get("/settings/security").status_code == 200


def test_the_link_works_once(world, run_tasks):
    path = link_for("alice@example.org", run_tasks)
    assert Client().post(path, {"new_password": NEW_PASSWORD}).status_code == 302
    again = Client().post(path, {"new_password": "yet-another-passphrase-99"})
    assert again.status_code == 400 and password_reset.INVALID_LINK in again.content.decode()
    assert Client().get(path).status_code == 400
    assert User.objects.get(username="alice").check_password(NEW_PASSWORD)


def test_the_link_expires_after_an_hour(world, run_tasks, frozen):
    path = link_for("alice@example.org", run_tasks)
    frozen["now"] += timedelta(minutes=59)
    assert Client().get(path).status_code == 200
    frozen["now"] += timedelta(minutes=2)
    r = Client().post(path, {"new_password": NEW_PASSWORD})
    assert r.status_code == 400 and password_reset.INVALID_LINK in r.content.decode()
    assert User.objects.get(username="alice").check_password(PASSWORD)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda p: p[:-3] + "abc",  # a forged token
        lambda p: p.replace("/password-reset/", "/password-reset/x", 1),  # a broken id
        lambda p: "/password-reset/OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5/" + p.rsplit("/", 1)[1],  # an id out of range
        lambda p: "/password-reset/MQ/1-1",
    ],
)
def test_a_wrong_link_says_so_and_changes_nothing(world, run_tasks, mangle):
    path = mangle(link_for("alice@example.org", run_tasks))
    for r in (Client().get(path), Client().post(path, {"new_password": NEW_PASSWORD})):
        assert r.status_code == 400 and password_reset.INVALID_LINK in r.content.decode()
    assert User.objects.get(username="alice").check_password(PASSWORD)


def test_a_link_for_one_person_does_not_reset_another(world, run_tasks):
    path = link_for("alice@example.org", run_tasks)
    token = path.rsplit("/", 1)[1]
    bob_uid = password_reset.reset_link(world.bob.user).split("/")[-2]
    r = Client().post(f"/password-reset/{bob_uid}/{token}", {"new_password": NEW_PASSWORD})
    assert r.status_code == 400
    assert User.objects.get(username="bob").check_password(PASSWORD)


@pytest.mark.parametrize(
    ("password", "says"), [("short", "too short"), ("password123456", "too common"), ("alice-example", "too similar")]
)
def test_a_weak_new_password_is_refused_and_nothing_changes(world, run_tasks, password, says):
    laptop = sign_in("alice")
    path = link_for("alice@example.org", run_tasks)
    r = Client().post(path, {"new_password": password})
    assert r.status_code == 400 and says in r.content.decode()
    assert User.objects.get(username="alice").check_password(PASSWORD)
    assert laptop.get("/settings/security").status_code == 200  # still signed in
    assert Client().post(path, {"new_password": NEW_PASSWORD}).status_code == 302  # the link still works


def test_the_reset_leaves_two_factor_on(world, run_tasks):
    user = world.alice.user
    secret = twofactor.begin_enrolment(user, PASSWORD)
    twofactor.confirm_enrolment(user, twofactor.totp(secret, clock.now()))
    path = link_for("alice@example.org", run_tasks)
    assert Client().post(path, {"new_password": NEW_PASSWORD}).status_code == 302
    assert twofactor.is_enabled(User.objects.get(pk=user.pk))
    r = Client().post("/login", {"username": "alice", "password": NEW_PASSWORD})
    assert r.status_code == 302 and r["Location"] == "/login/2fa"  # the code is still asked for


def test_an_inactive_login_gets_no_mail(world, run_tasks):
    User.objects.filter(username="alice").update(is_active=False)
    assert ask("alice@example.org").status_code == 302
    run_tasks()
    assert mail.outbox == []
