"""Instance extras: peers, weekly activity, extended description, policy pages, languages."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from rostra.accounts.models import User
from rostra.core import clock
from rostra.posts.models import Post
from rostra.testing.world import make_post
from tests.api.conftest import bearer


def _monday(weeks_ago: int) -> int:
    today = datetime.now(UTC).date()
    monday = today - timedelta(days=today.weekday(), weeks=weeks_ago)
    return int(datetime(monday.year, monday.month, monday.day, tzinfo=UTC).timestamp())


def test_activity_counts_twelve_calendar_weeks(world):
    now = clock.now()
    this_week_posts = Post.objects.filter(author__domain="").count()
    make_post(world.alice, "this week")
    old = make_post(world.bob, "two weeks ago")
    Post.objects.filter(pk=old.pk).update(created_at=now - timedelta(weeks=2))
    ancient = make_post(world.bob, "long ago")
    Post.objects.filter(pk=ancient.pk).update(created_at=now - timedelta(weeks=20))
    User.objects.update(last_login=None)
    User.objects.filter(pk__in=[world.alice.user_id, world.bob.user_id]).update(last_login=now)
    User.objects.filter(pk=world.carol.user_id).update(last_login=now - timedelta(weeks=3), created_at=now - timedelta(weeks=3))

    r = Client().get("/api/v1/instance/activity")
    assert r.status_code == 200
    weeks = r.json()
    assert len(weeks) == 12
    assert all(set(w) == {"week", "statuses", "logins", "registrations"} for w in weeks)
    assert all(isinstance(v, str) for w in weeks for v in w.values())
    assert [int(w["week"]) for w in weeks] == [_monday(i) for i in range(12)]
    assert weeks[0]["statuses"] == str(this_week_posts + 1)
    assert weeks[2]["statuses"] == "1"
    assert sum(int(w["statuses"]) for w in weeks) == this_week_posts + 2  # the 20-week-old post is out of range
    assert weeks[0]["logins"] == "2" and weeks[3]["logins"] == "1"
    assert weeks[0]["registrations"] == "6" and weeks[3]["registrations"] == "1"


def test_activity_empty_instance(db):
    weeks = Client().get("/api/v1/instance/activity").json()
    assert len(weeks) == 12 and all(w["statuses"] == w["logins"] == w["registrations"] == "0" for w in weeks)


def test_peers_and_domain_blocks_are_empty_without_federation(db):
    for path in ("/api/v1/instance/peers", "/api/v1/instance/domain_blocks"):
        r = Client().get(path)
        assert r.status_code == 200 and r.json() == [], path


def test_translation_languages_is_an_empty_object(db):
    r = Client().get("/api/v1/instance/translation_languages")
    assert r.status_code == 200 and r.json() == {}


def test_languages(db):
    r = Client().get("/api/v1/instance/languages")
    assert r.status_code == 200
    langs = r.json()
    assert {"code": "en", "name": "English"} in langs and {"code": "fr", "name": "French"} in langs
    codes = [lang["code"] for lang in langs]
    assert len(codes) == len(set(codes)) > 150
    assert all(len(c) == 2 and c.islower() for c in codes)


def test_extended_description(db, settings):
    settings.ROSTRA = dataclasses.replace(settings.ROSTRA, instance_description="A place for <gardeners> & friends")
    r = Client().get("/api/v1/instance/extended_description")
    assert r.status_code == 200
    assert r.json() == {"updated_at": None, "content": "<p>A place for &lt;gardeners&gt; &amp; friends</p>"}
    settings.ROSTRA = dataclasses.replace(settings.ROSTRA, instance_description="")
    assert Client().get("/api/v1/instance/extended_description").json() == {"updated_at": None, "content": ""}


@pytest.mark.parametrize("path", ["/api/v1/instance/privacy_policy", "/api/v1/instance/terms_of_service"])
def test_no_privacy_policy_or_terms_is_404(db, path):
    r = Client().get(path)
    assert r.status_code == 404 and r.json() == {"error": "Record not found"}


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/instance/peers",
        "/api/v1/instance/activity",
        "/api/v1/instance/extended_description",
        "/api/v1/instance/translation_languages",
        "/api/v1/instance/domain_blocks",
        "/api/v1/instance/languages",
    ],
)
def test_a_token_is_not_needed_and_a_bad_one_is_ignored_like_the_instance_endpoint(db, path):
    assert Client().get(path).status_code == 200
    assert bearer("whatever").get(path).status_code == 200


def test_openapi_describes_them(db):
    paths = Client().get("/api/openapi.json").json()["paths"]
    for name in (
        "peers",
        "activity",
        "extended_description",
        "privacy_policy",
        "terms_of_service",
        "translation_languages",
        "domain_blocks",
        "languages",
    ):
        assert "get" in paths[f"/api/v1/instance/{name}"], name
