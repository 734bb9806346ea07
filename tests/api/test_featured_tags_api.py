"""Featured hashtags through the client API: /api/v1/featured_tags (list, feature, unfeature,
suggestions), an account's featured_tags, and the instance's limits."""

from __future__ import annotations

import re

from django.test import Client

from rostra.posts.featured_tags import MAX_FEATURED_TAGS
from rostra.posts.models import FeaturedTag, Hashtag, ModerationState, Post
from rostra.testing.world import make_post
from tests.api.conftest import bearer

DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def test_feature_list_and_unfeature(world, password_token):
    c = bearer(password_token(world.alice, scope="read write"))
    assert c.get("/api/v1/featured_tags").json() == []
    r = c.post("/api/v1/featured_tags", {"name": "Foo"})
    assert r.status_code == 200, r.content
    foo = r.json()
    assert foo["name"] == "Foo" and foo["id"] and foo["statuses_count"] == "0" and foo["last_status_at"] is None
    assert foo["url"].endswith("/tags/foo")
    assert Hashtag.objects.filter(name="foo").exists()  # created, as Mastodon does
    bar = c.post("/api/v1/featured_tags", {"name": "#bar"}, content_type="application/json").json()
    assert bar["name"] == "bar"
    assert [t["name"] for t in c.get("/api/v1/featured_tags").json()] == ["bar", "Foo"]  # latest first
    r = c.delete(f"/api/v1/featured_tags/{foo['id']}")
    assert r.status_code == 200 and r.json() == {}
    assert [t["id"] for t in c.get("/api/v1/featured_tags").json()] == [bar["id"]]
    assert c.delete(f"/api/v1/featured_tags/{foo['id']}").status_code == 404  # gone already


def test_counts_come_from_public_posts_through_the_door(world, password_token):
    make_post(world.alice, "One #Python post")
    latest = make_post(world.alice, "Two #python posts")
    make_post(world.alice, "Followers only #python", visibility="private")
    make_post(world.alice, "Unlisted #python", visibility="unlisted")
    make_post(world.bob, "Someone else's #python")
    make_post(world.alice, "No tag here")
    held = make_post(world.alice, "Held #python")
    Post.objects.filter(pk=held.pk).update(moderation_state=ModerationState.HELD)
    c = bearer(password_token(world.alice, scope="read write"))
    tag = c.post("/api/v1/featured_tags", {"name": "python"}).json()
    # The author sees their held post counted; others do not.
    assert tag["statuses_count"] == "3" and DATE.match(tag["last_status_at"])
    assert tag["last_status_at"] == held.created_at.date().isoformat()
    theirs = Client().get(f"/api/v1/accounts/{world.alice.pk}/featured_tags")
    assert theirs.status_code == 200
    [shown] = theirs.json()
    assert shown["id"] == tag["id"] and shown["statuses_count"] == "2"
    assert shown["last_status_at"] == latest.created_at.date().isoformat()
    assert set(shown) == {"id", "name", "url", "statuses_count", "last_status_at"}
    # A moderator's removal takes the post out of everyone else's count.
    Post.objects.filter(pk=latest.pk).update(moderation_state=ModerationState.REMOVED)
    assert Client().get(f"/api/v1/accounts/{world.alice.pk}/featured_tags").json()[0]["statuses_count"] == "1"


def test_invalid_names_and_duplicates_answer_422_and_write_nothing(world, password_token):
    c = bearer(password_token(world.alice, scope="write:accounts"))
    hashtags = Hashtag.objects.count()
    for name in ("", "123", "foo-bar", "a" * 101, "#", "café!"):
        r = c.post("/api/v1/featured_tags", {"name": name})
        assert r.status_code == 422, (name, r.content)
        assert "error" in r.json()
    assert c.post("/api/v1/featured_tags", {}).status_code == 422
    assert Hashtag.objects.count() == hashtags and not FeaturedTag.objects.exists()
    assert c.post("/api/v1/featured_tags", {"name": "topic"}).status_code == 200
    again = c.post("/api/v1/featured_tags", {"name": "TOPIC"})
    assert again.status_code == 422 and "already" in again.json()["error"]
    assert FeaturedTag.objects.count() == 1


def test_at_most_ten(world, password_token):
    c = bearer(password_token(world.alice, scope="write:accounts"))
    for i in range(MAX_FEATURED_TAGS):
        assert c.post("/api/v1/featured_tags", {"name": f"tag{i}"}).status_code == 200
    r = c.post("/api/v1/featured_tags", {"name": "one_too_many"})
    assert r.status_code == 422 and "10" in r.json()["error"]
    assert FeaturedTag.objects.filter(account=world.alice).count() == MAX_FEATURED_TAGS
    assert not Hashtag.objects.filter(name="one_too_many").exists()
    # Someone else's limit is their own.
    assert bearer(password_token(world.bob, scope="write:accounts")).post("/api/v1/featured_tags", {"name": "tag0"}).status_code == 200


def test_someone_elses_featured_tag_is_404(world, password_token):
    alice = bearer(password_token(world.alice, scope="read write"))
    tag = alice.post("/api/v1/featured_tags", {"name": "mine"}).json()
    bob = bearer(password_token(world.bob, scope="read write"))
    r = bob.delete(f"/api/v1/featured_tags/{tag['id']}")
    assert r.status_code == 404 and "error" in r.json()
    assert bob.delete("/api/v1/featured_tags/not-an-id").status_code == 404
    assert FeaturedTag.objects.filter(pk=int(tag["id"])).exists()
    assert bob.get("/api/v1/featured_tags").json() == []  # only one's own


def test_scopes_and_authentication(world, password_token):
    assert Client().get("/api/v1/featured_tags").status_code == 401
    assert Client().post("/api/v1/featured_tags", {"name": "x"}).status_code == 401
    assert Client().get("/api/v1/featured_tags/suggestions").status_code == 401
    reader = bearer(password_token(world.alice, scope="read:accounts"))
    assert reader.get("/api/v1/featured_tags").status_code == 200
    assert reader.get("/api/v1/featured_tags/suggestions").status_code == 200
    assert reader.post("/api/v1/featured_tags", {"name": "x"}).status_code == 403
    writer = bearer(password_token(world.alice, scope="write:accounts"))
    assert writer.get("/api/v1/featured_tags").status_code == 403
    tag = writer.post("/api/v1/featured_tags", {"name": "x"}).json()
    assert bearer(password_token(world.alice, scope="write:statuses")).delete(f"/api/v1/featured_tags/{tag['id']}").status_code == 403
    assert FeaturedTag.objects.count() == 1


def test_suggestions_are_ones_most_used_unfeatured_tags(world, password_token):
    make_post(world.alice, "#cats #dogs")
    make_post(world.alice, "#cats again")
    make_post(world.alice, "#cats and #birds")
    make_post(world.bob, "#fish #fish #fish")  # someone else's
    c = bearer(password_token(world.alice, scope="read write"))
    names = [t["name"] for t in c.get("/api/v1/featured_tags/suggestions").json()]
    assert names[0] == "cats" and set(names) == {"cats", "dogs", "birds"}
    c.post("/api/v1/featured_tags", {"name": "cats"})
    body = c.get("/api/v1/featured_tags/suggestions").json()
    assert {t["name"] for t in body} == {"dogs", "birds"}
    assert all(len(t["history"]) == 7 and "url" in t for t in body)
    assert bearer(password_token(world.carol, scope="read")).get("/api/v1/featured_tags/suggestions").json() == []


def test_account_featured_tags(world, password_token):
    bearer(password_token(world.alice, scope="write")).post("/api/v1/featured_tags", {"name": "art"})
    r = bearer(password_token(world.bob, scope="read")).get(f"/api/v1/accounts/{world.alice.pk}/featured_tags")
    assert r.status_code == 200 and [t["name"] for t in r.json()] == ["art"]
    assert Client().get(f"/api/v1/accounts/{world.bob.pk}/featured_tags").json() == []
    assert Client().get("/api/v1/accounts/999999/featured_tags").status_code == 404


def test_instance_limits(db):
    accounts = Client().get("/api/v2/instance").json()["configuration"]["accounts"]
    assert accounts["max_featured_tags"] == MAX_FEATURED_TAGS
    assert accounts["max_pinned_statuses"] == 5


def test_openapi_describes_the_endpoints(db):
    paths = Client().get("/api/openapi.json").json()["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/featured_tags"])
    assert "delete" in paths["/api/v1/featured_tags/{featured_tag_id}"]
    assert "get" in paths["/api/v1/featured_tags/suggestions"]
