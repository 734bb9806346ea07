"""Sign-ins listed and revocable (issue 5, item 2): Settings → Security shows each web session and
each app token; one, all but this one, or an app can be ended; a password change ends every other
session but keeps this one; deleting an account purges its sessions through the table."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.test import Client

from rostra.accounts import actions as accounts
from rostra.accounts import sessions
from rostra.accounts.models import UserSession
from rostra.api.oauth import find_token
from rostra.core import clock
from rostra.streaming.hub import live_tokens
from rostra.testing.world import PASSWORD
from tests.api.conftest import password_grant, register_app

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"


def sign_in(username: str, *, ip: str = "192.0.2.10", agent: str = FIREFOX, password: str = PASSWORD) -> Client:
    """A browser that signs in through the login page, as a person does."""
    client = Client(REMOTE_ADDR=ip, HTTP_USER_AGENT=agent)
    r = client.post("/login", {"username": username, "password": password})
    assert r.status_code == 302, r.content
    return client


def signed_in(client: Client) -> bool:
    return client.get("/settings/security").status_code == 200


def row_of(client: Client) -> UserSession:
    return UserSession.objects.get(session_key=client.session.session_key)


def app_token(username: str, name: str = "Tusky") -> str:
    r = password_grant(register_app("read write", name=name, website="https://tusky.app"), username, password=PASSWORD)
    assert r.status_code == 200, r.content
    return str(r.json()["access_token"])


def test_signing_in_records_the_session_with_where_and_what(world):
    laptop = sign_in("alice", agent=FIREFOX + " x" * 400)
    row = row_of(laptop)
    assert row.user_id == world.alice.user.pk
    assert row.ip == "192.0.2.10"
    assert len(row.user_agent) == 300 and row.user_agent.startswith("Mozilla/5.0 (X11; Linux")
    assert row.created_at == row.last_seen_at


def test_the_security_page_lists_sessions_and_apps(world):
    laptop = sign_in("alice")
    sign_in("alice", ip="198.51.100.7", agent=IPHONE)
    sign_in("bob")  # someone else's: never listed
    app_token("alice", name="Tusky")
    page = laptop.get("/settings/security").content.decode()
    assert "Firefox on Linux" in page and "Safari on iPhone" in page
    assert "192.0.2.10" in page and "198.51.100.7" in page
    assert page.count("This browser") == 1
    assert page.count('/end"') == 2  # two sign-out buttons: alice's two sessions only
    assert "Tusky" in page and 'href="https://tusky.app"' in page
    assert laptop.session.session_key not in page  # the key itself is never shown


def test_sign_out_one_session(world):
    laptop, phone = sign_in("alice"), sign_in("alice", agent=IPHONE)
    phone_row = row_of(phone)
    r = laptop.post(f"/settings/security/sessions/{phone_row.pk}/end")
    assert r.status_code == 302 and r["Location"] == "/settings/security#sessions"
    assert not signed_in(phone)
    assert signed_in(laptop)
    assert not UserSession.objects.filter(pk=phone_row.pk).exists()
    assert not Session.objects.filter(session_key=phone_row.session_key).exists()


def test_someone_elses_session_is_not_found_and_stays(world):
    alice, bob = sign_in("alice"), sign_in("bob")
    bob_row = row_of(bob)
    assert alice.post(f"/settings/security/sessions/{bob_row.pk}/end").status_code == 404
    assert alice.post("/settings/security/sessions/not-a-number/end").status_code == 404
    assert signed_in(bob) and UserSession.objects.filter(pk=bob_row.pk).exists()


def test_signing_out_this_session_from_the_list_is_a_sign_out(world):
    laptop = sign_in("alice")
    row = row_of(laptop)
    r = laptop.post(f"/settings/security/sessions/{row.pk}/end")
    assert r.status_code == 302 and r["Location"] == "/"
    assert not signed_in(laptop)
    assert not UserSession.objects.filter(pk=row.pk).exists()


def test_sign_out_everywhere_else(world):
    laptop, phone, tablet = sign_in("alice"), sign_in("alice", agent=IPHONE), sign_in("alice", ip="203.0.113.5")
    bob = sign_in("bob")
    r = laptop.post("/settings/security/sessions/end-others")
    assert r.status_code == 302
    assert signed_in(laptop) and not signed_in(phone) and not signed_in(tablet)
    assert signed_in(bob)
    assert list(UserSession.objects.filter(user=world.alice.user).values_list("session_key", flat=True)) == [
        laptop.session.session_key
    ]


def test_logging_out_removes_the_row(world):
    laptop = sign_in("alice")
    key = laptop.session.session_key
    laptop.post("/logout")
    assert not UserSession.objects.filter(session_key=key).exists()


def test_revoking_an_app_ends_its_token_and_its_streams(world):
    laptop = sign_in("alice")
    token = app_token("alice")
    row = find_token(token)
    assert row is not None and live_tokens([row.pk]) == {row.pk}
    r = laptop.post(f"/settings/security/apps/{row.pk}/revoke")
    assert r.status_code == 302 and r["Location"] == "/settings/security#apps"
    assert find_token(token) is None
    assert live_tokens([row.pk]) == set()  # an open stream with it closes at its next check
    assert "Tusky" not in laptop.get("/settings/security").content.decode()
    # Again, or someone else's: not found, and nothing changes
    assert laptop.post(f"/settings/security/apps/{row.pk}/revoke").status_code == 404
    bob_token = find_token(app_token("bob"))
    assert bob_token is not None
    assert laptop.post(f"/settings/security/apps/{bob_token.pk}/revoke").status_code == 404
    assert find_token(app_token("bob")) is not None and live_tokens([bob_token.pk]) == {bob_token.pk}


def test_password_change_ends_other_sessions_but_not_this_one(world):
    laptop, phone = sign_in("alice"), sign_in("alice", agent=IPHONE)
    token = app_token("alice")
    laptop_row = row_of(laptop)
    r = laptop.post(
        "/settings/account", {"form": "password", "pw-old_password": PASSWORD, "pw-new_password": "a-brand-new-passphrase-2026"}
    )
    assert r.status_code == 302
    assert signed_in(laptop)
    assert not signed_in(phone)
    assert find_token(token) is None
    # This browser's row followed its new session key and is still "this browser", since the same sign-in
    rows = list(UserSession.objects.filter(user=world.alice.user))
    assert [(r.pk, r.session_key) for r in rows] == [(laptop_row.pk, laptop.session.session_key)]
    assert laptop.get("/settings/security").content.decode().count("This browser") == 1


def test_a_wrong_current_password_ends_nothing(world):
    laptop, phone = sign_in("alice"), sign_in("alice", agent=IPHONE)
    r = laptop.post(
        "/settings/account", {"form": "password", "pw-old_password": "wrong", "pw-new_password": "a-brand-new-passphrase-2026"}
    )
    assert r.status_code == 400
    assert signed_in(phone) and UserSession.objects.filter(user=world.alice.user).count() == 2


def test_deleting_the_account_purges_its_sessions_through_the_table(world):
    laptop, phone, bob = sign_in("alice"), sign_in("alice", agent=IPHONE), sign_in("bob")
    keys = [laptop.session.session_key, phone.session.session_key]
    accounts.delete_account(world.alice.user, PASSWORD)
    assert not Session.objects.filter(session_key__in=keys).exists()
    assert not UserSession.objects.filter(session_key__in=keys).exists()
    assert signed_in(bob) and Session.objects.filter(session_key=bob.session.session_key).exists()


def test_last_seen_is_written_at_most_once_a_minute(world, monkeypatch):
    start = clock.now()
    now = {"t": start}
    monkeypatch.setattr(clock, "now", lambda: now["t"])
    laptop = sign_in("alice")
    row = row_of(laptop)
    now["t"] = start + timedelta(seconds=30)
    laptop.get("/settings/security", REMOTE_ADDR="192.0.2.99")
    assert row_of(laptop).last_seen_at == row.last_seen_at  # within the minute: no write
    now["t"] = start + timedelta(seconds=61)
    laptop.get("/settings/security", REMOTE_ADDR="192.0.2.99")
    fresh = row_of(laptop)
    assert fresh.last_seen_at == start + timedelta(seconds=61) and fresh.ip == "192.0.2.99"


def test_a_signed_in_session_from_before_the_table_is_listed_from_its_next_request(world):
    laptop = sign_in("alice")
    UserSession.objects.all().delete()
    cache.delete(sessions._seen_key(laptop.session.session_key))  # and a minute has passed
    assert signed_in(laptop)
    assert row_of(laptop).user_id == world.alice.user.pk


def test_rows_of_sessions_that_ended_elsewhere_are_dropped_from_the_list(world):
    laptop, phone, tablet = sign_in("alice"), sign_in("alice", agent=IPHONE), sign_in("alice", ip="203.0.113.5")
    Session.objects.filter(session_key=phone.session.session_key).delete()  # e.g. `clearsessions`
    Session.objects.filter(session_key=tablet.session.session_key).update(expire_date=clock.now() - timedelta(seconds=1))
    listed = sessions.sign_ins(world.alice.user, laptop.session.session_key)
    assert [s.is_current for s in listed] == [True]
    assert UserSession.objects.filter(user=world.alice.user).count() == 1


@pytest.mark.parametrize(
    ("agent", "device"),
    [
        (FIREFOX, "Firefox on Linux"),
        (IPHONE, "Safari on iPhone"),
        ("curl/8.0", "Unknown browser"),
        (
            "Mozilla/5.0 (Windows NT 10.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36 Edg/131.0",
            "Edge on Windows",
        ),
    ],
)
def test_devices_are_named_from_the_user_agent(agent, device):
    assert sessions.describe_agent(agent) == device
