"""GET /api/v1/accounts/verify_credentials: the CredentialAccount entity from the real account."""

from __future__ import annotations

import re

from rostra.accounts import actions as accounts
from tests.api.conftest import bearer

TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def test_credential_account(world, password_token, run_tasks):
    accounts.follow(world.bob, world.alice)
    accounts.update_profile(
        world.alice, accounts.ProfileUpdate(display_name="Alice A.", note="Hello *there*", locked=True, fields=[("Site", "https://alice.example")])
    )
    world.alice.refresh_from_db()
    assert accounts.follow(world.carol, world.alice) == "requested"  # alice is locked now
    run_tasks()
    token = password_token(world.alice, scope="read")
    body = bearer(token).get("/api/v1/accounts/verify_credentials").json()
    world.alice.refresh_from_db()
    assert body["id"] == str(world.alice.pk)
    assert body["username"] == "alice" and body["acct"] == "alice" and body["display_name"] == "Alice A."
    assert body["locked"] is True and body["bot"] is False
    assert TIME_RE.match(body["created_at"]) and body["created_at"].endswith("T00:00:00.000Z")
    assert body["note"] == world.alice.note_html and body["source"]["note"] == "Hello *there*"
    assert body["url"].endswith("/@alice")
    assert body["avatar"].startswith("http") and body["avatar"].endswith("missing-avatar.png")
    assert body["header"].endswith("missing-header.png")
    assert body["followers_count"] == world.alice.followers_count
    assert body["statuses_count"] == world.alice.posts_count
    assert body["emojis"] == []
    assert body["fields"][0]["name"] == "Site" and "href" in body["fields"][0]["value"]
    assert body["source"]["fields"] == [{"name": "Site", "value": "https://alice.example", "verified_at": None}]
    assert body["source"]["follow_requests_count"] == 1
    assert body["source"]["privacy"] == "public"
    assert body["role"]["name"] == ""


def test_avatar_urls_point_at_the_media_route(world, password_token):
    world.alice.avatar = "abc123.png"
    world.alice.save()
    body = bearer(password_token(world.alice, scope="profile")).get("/api/v1/accounts/verify_credentials").json()
    assert body["avatar"].endswith("/media/abc123.png") and body["avatar_static"] == body["avatar"]


def test_last_status_at_is_a_date(world, password_token):
    from rostra.testing.world import make_post

    make_post(world.alice, "hello")
    body = bearer(password_token(world.alice)).get("/api/v1/accounts/verify_credentials").json()
    assert re.match(r"^\d{4}-\d\d-\d\d$", body["last_status_at"])


def test_admin_role(world, password_token):
    body = bearer(password_token(world.admin)).get("/api/v1/accounts/verify_credentials").json()
    assert body["role"]["name"] == "Admin" and body["role"]["permissions"] == "1"
