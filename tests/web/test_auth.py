"""Signing up, logging in and out, and where people land."""

from __future__ import annotations

import pytest
from django.test import Client

from rostra.accounts.models import Account, User
from tests.web.helpers import PASSWORD

GOOD = {"username": "newton", "email": "newton@example.org", "password": "apples-fall-down-1687"}


@pytest.mark.django_db
def test_signup_form_renders_labelled_fields():
    response = Client().get("/signup")
    assert response.status_code == 200
    html = response.content.decode()
    for field in ("username", "email", "password"):
        assert f'for="id_{field}"' in html and f'id="id_{field}"' in html


@pytest.mark.django_db
def test_signup_creates_the_person_logs_them_in_and_goes_home():
    client = Client()
    response = client.post("/signup", GOOD)
    assert response.status_code == 302 and response["Location"] == "/home"
    user = User.objects.get(username="newton")
    assert Account.objects.filter(user=user, username="newton").exists()
    home = client.get("/home")
    assert home.status_code == 200
    assert "Welcome to" in home.content.decode()


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"username": "not valid!"}, "username", "letters, digits or underscores"),
        ({"username": "admin"}, "username", "reserved"),
        ({"username": "settings"}, "username", "reserved"),
        ({"username": "alice"}, "username", "taken"),
        ({"username": "ALICE"}, "username", "taken"),
        ({"password": "password"}, "password", "too common"),
        ({"password": "short"}, "password", "too short"),
        ({"email": "not-an-email"}, "email", "valid email"),
        ({"email": "alice@example.org"}, "email", "already exists"),
    ],
)
def test_signup_refuses_bad_input_and_writes_nothing(world, change, field, message):
    users, accounts = User.objects.count(), Account.objects.count()
    client = Client()
    response = client.post("/signup", {**GOOD, **change})
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html
    assert 'class="field-errors"' in html  # shown next to the field
    assert User.objects.count() == users and Account.objects.count() == accounts
    assert client.get("/home").status_code == 302  # not logged in


@pytest.mark.django_db
def test_closed_registrations_show_a_page_and_refuse_posts(registrations_closed):
    client = Client()
    page = client.get("/signup")
    assert page.status_code == 200
    assert "Sign-ups are closed" in page.content.decode()
    refused = client.post("/signup", GOOD)
    assert refused.status_code == 403
    assert not User.objects.filter(username="newton").exists()
    assert "Create account" not in client.get("/").content.decode()


def test_login_with_username_or_email(world):
    for identifier in ("alice", "Alice", "alice@example.org", "ALICE@example.org"):
        client = Client()
        response = client.post("/login", {"username": identifier, "password": PASSWORD})
        assert response.status_code == 302 and response["Location"] == "/home", identifier
        assert client.get("/home").status_code == 200


def test_login_failures_share_one_generic_message(world):
    wrong = Client().post("/login", {"username": "alice", "password": "nope-nope-nope"})
    unknown = Client().post("/login", {"username": "nobody", "password": "nope-nope-nope"})
    assert wrong.status_code == unknown.status_code == 400
    message = "That username or email and password do not match."
    assert message in wrong.content.decode() and message in unknown.content.decode()


@pytest.mark.parametrize(
    ("next_url", "expected"),
    [("/local", "/local"), ("https://evil.example/", "/home"), ("//evil.example/x", "/home"), ("/\\evil.example", "/home"), ("javascript:alert(1)", "/home")],
)
def test_login_only_follows_same_origin_next(world, next_url, expected):
    response = Client().post("/login", {"username": "alice", "password": PASSWORD, "next": next_url})
    assert response.status_code == 302 and response["Location"] == expected


def test_logout_is_post_only(world, client_for):
    client = client_for(world.alice)
    assert client.get("/logout").status_code == 405
    assert client.get("/home").status_code == 200
    response = client.post("/logout")
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/home").status_code == 302


def test_landing_for_visitors_home_for_members(world, client_for):
    from rostra.testing.world import make_post

    make_post(world.alice, "Visible on the landing page")
    anonymous = Client().get("/")
    assert anonymous.status_code == 200
    html = anonymous.content.decode()
    assert "Visible on the landing page" in html and 'href="/signup"' in html and 'href="/login"' in html
    member = client_for(world.alice).get("/")
    assert member.status_code == 302 and member["Location"] == "/home"


def test_member_pages_send_visitors_to_login(db):
    for url in ("/home", "/notifications", "/bookmarks", "/compose", "/settings/profile", "/follow-requests"):
        response = Client().get(url)
        assert response.status_code == 302 and response["Location"].startswith(f"/login?next={url}"), url
