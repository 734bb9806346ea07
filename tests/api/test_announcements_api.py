"""Announcements: the moderation policy's changes, with per-account read state."""

from __future__ import annotations

from datetime import timedelta

from django.test import Client

from rostra.accounts.models import Account, AnnouncementRead
from rostra.core import clock
from rostra.moderation import actions as moderation_actions
from rostra.moderation.models import PolicyVersion
from rostra.moderation.policy import default_document
from tests.api.conftest import bearer

KEYS = {
    "id",
    "content",
    "starts_at",
    "ends_at",
    "all_day",
    "published_at",
    "updated_at",
    "read",
    "mentions",
    "statuses",
    "tags",
    "emojis",
    "reactions",
}


def _save(world, note: str) -> PolicyVersion:
    return moderation_actions.save_policy(world.admin.user, default_document(), note)


def test_no_policy_change_no_announcements(world, password_token):
    r = bearer(password_token(world.alice, "read")).get("/api/v1/announcements")
    assert r.status_code == 200 and r.json() == []


def test_a_policy_change_is_an_announcement(world, password_token, settings):
    v = _save(world, "Threats are now <refused> outright.")
    r = bearer(password_token(world.alice, "read")).get("/api/v1/announcements")
    assert r.status_code == 200
    [a] = r.json()
    assert set(a) == KEYS
    assert a["id"] == str(v.version) and a["read"] is False and a["all_day"] is False
    assert a["starts_at"] is None and a["ends_at"] is None
    assert a["published_at"].endswith("Z") and a["updated_at"] == a["published_at"]
    assert "Threats are now &lt;refused&gt; outright." in a["content"]  # the admin's note, escaped
    assert settings.ROSTRA.instance_name in a["content"] and "/about/rules" in a["content"]
    assert a["reactions"] == [] and a["mentions"] == [] and a["emojis"] == []


def test_oldest_first_and_old_changes_expire(world, password_token):
    first, second = _save(world, "one"), _save(world, "two")
    old = _save(world, "ancient")
    PolicyVersion.objects.filter(pk=old.pk).update(created_at=clock.now() - timedelta(days=31))
    PolicyVersion.objects.filter(pk=first.pk).update(created_at=clock.now() - timedelta(days=2))
    ids = [a["id"] for a in bearer(password_token(world.alice, "read")).get("/api/v1/announcements").json()]
    assert ids == [str(first.version), str(second.version)]


def test_people_who_joined_after_the_change_do_not_see_it(world, password_token):
    _save(world, "before bob")
    Account.objects.filter(pk=world.bob.pk).update(created_at=clock.now() + timedelta(seconds=1))
    assert bearer(password_token(world.bob, "read")).get("/api/v1/announcements").json() == []


def test_dismiss_marks_read_for_that_person_only(world, password_token):
    v = _save(world, "news")
    alice = bearer(password_token(world.alice))
    r = alice.post(f"/api/v1/announcements/{v.version}/dismiss")
    assert r.status_code == 200 and r.json() == {}
    assert alice.post(f"/api/v1/announcements/{v.version}/dismiss").status_code == 200  # idempotent
    assert AnnouncementRead.objects.filter(account=world.alice, announcement=v.version).count() == 1
    [a] = alice.get("/api/v1/announcements").json()
    assert a["read"] is True
    [b] = bearer(password_token(world.bob)).get("/api/v1/announcements").json()
    assert b["read"] is False


def test_dismiss_unknown_or_expired_is_404_and_writes_nothing(world, password_token):
    old = _save(world, "old")
    PolicyVersion.objects.filter(pk=old.pk).update(created_at=clock.now() - timedelta(days=60))
    alice = bearer(password_token(world.alice))
    for bad in (str(old.version), "999", "abc", "99999999999999999999"):
        r = alice.post(f"/api/v1/announcements/{bad}/dismiss")
        assert r.status_code == 404 and r.json() == {"error": "Record not found"}, bad
    assert not AnnouncementRead.objects.exists()


def test_scopes_and_authentication(world, password_token, register):
    v = _save(world, "news")
    assert Client().get("/api/v1/announcements").status_code == 401
    assert Client().post(f"/api/v1/announcements/{v.version}/dismiss").status_code == 401
    read_only = bearer(password_token(world.alice, "read"))
    r = read_only.post(f"/api/v1/announcements/{v.version}/dismiss")
    assert r.status_code == 403 and r.json() == {"error": "This action is outside the authorized scopes"}
    assert (
        bearer(password_token(world.alice, "write:accounts")).post(f"/api/v1/announcements/{v.version}/dismiss").status_code
        == 200
    )
    app = register()
    token = (
        Client()
        .post(
            "/oauth/token", {"grant_type": "client_credentials", "client_id": app.client_id, "client_secret": app.client_secret}
        )
        .json()["access_token"]
    )
    assert bearer(token).get("/api/v1/announcements").status_code == 422  # an app token has no person


def test_reactions_are_not_supported(world, password_token):
    v = _save(world, "news")
    alice = bearer(password_token(world.alice))
    for method in (alice.put, alice.delete):
        r = method(f"/api/v1/announcements/{v.version}/reactions/%F0%9F%91%8D")
        assert r.status_code == 422 and r.json() == {"error": "Reactions are not supported"}
    r = bearer(password_token(world.alice, "read")).put(f"/api/v1/announcements/{v.version}/reactions/x")
    assert r.status_code == 403
