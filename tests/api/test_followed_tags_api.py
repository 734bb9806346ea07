"""Following hashtags through the client API: follow, unfollow, followed_tags, and ``following``."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from django.test import Client

from rostra.posts.models import Hashtag
from rostra.testing.world import make_post
from rostra.timelines.models import FollowedTag
from tests.api.conftest import bearer


def _link(response, rel: str) -> str:
    """The path and query of the ``Link`` header's ``rel`` part."""
    for part in response["Link"].split(", "):
        if f'rel="{rel}"' in part:
            url = urlsplit(part.split(";")[0].strip("<>"))
            return f"{url.path}?{url.query}"
    raise AssertionError(f"no {rel} link in {response['Link']}")


def test_follow_creates_the_tag_and_shows_following(world, password_token):
    c = bearer(password_token(world.carol, scope="read write"))
    r = c.post("/api/v1/tags/NewTopic/follow")
    assert r.status_code == 200, r.content
    tag = r.json()
    assert tag["name"] == "NewTopic" and tag["following"] is True and tag["id"]
    assert tag["url"].endswith("/tags/newtopic") and len(tag["history"]) == 7
    assert Hashtag.objects.filter(name="newtopic").count() == 1
    # Again, in another case: the same tag, still one follow.
    again = c.post("/api/v1/tags/newtopic/follow").json()
    assert again["id"] == tag["id"] and again["following"] is True
    assert FollowedTag.objects.filter(account=world.carol).count() == 1
    shown = c.get("/api/v1/tags/newtopic").json()
    assert shown["following"] is True and shown["id"] == tag["id"]
    # Someone else sees the same tag, not followed by them; an anonymous reader gets no "following".
    assert bearer(password_token(world.dave, scope="read")).get("/api/v1/tags/newtopic").json()["following"] is False
    assert "following" not in Client().get("/api/v1/tags/newtopic").json()


def test_unfollow(world, password_token):
    c = bearer(password_token(world.carol, scope="read write"))
    followed = c.post("/api/v1/tags/python/follow").json()
    r = c.post("/api/v1/tags/Python/unfollow")
    assert r.status_code == 200, r.content
    assert r.json()["id"] == followed["id"] and r.json()["following"] is False
    assert not FollowedTag.objects.exists()
    again = c.post("/api/v1/tags/python/unfollow")  # not following: still 200
    assert again.status_code == 200 and again.json()["following"] is False
    unknown = c.post("/api/v1/tags/neverused/unfollow")
    assert unknown.status_code == 404 and "error" in unknown.json()


def test_invalid_names_answer_422_and_write_nothing(world, password_token):
    c = bearer(password_token(world.carol, scope="write:follows"))
    before = Hashtag.objects.count()
    for name in ("123", "a" * 101, "foo-bar", "foo%20bar", "%20", "%23", "caf%C3%A9!"):
        r = c.post(f"/api/v1/tags/{name}/follow")
        assert r.status_code == 422, (name, r.content)
        assert "error" in r.json()
        assert c.post(f"/api/v1/tags/{name}/unfollow").status_code == 422
    assert Hashtag.objects.count() == before and not FollowedTag.objects.exists()
    # A leading '#' (encoded) and the longest name are fine.
    assert c.post("/api/v1/tags/%23Fine/follow").json()["name"] == "Fine"
    assert c.post(f"/api/v1/tags/{'b' * 100}/follow").status_code == 200


def test_scopes_and_authentication(world, password_token):
    read_only = bearer(password_token(world.carol, scope="read"))
    assert read_only.post("/api/v1/tags/python/follow").status_code == 403
    assert read_only.post("/api/v1/tags/python/unfollow").status_code == 403
    write_only = bearer(password_token(world.carol, scope="write:follows"))
    assert write_only.post("/api/v1/tags/python/follow").status_code == 200
    assert write_only.get("/api/v1/followed_tags").status_code == 403
    assert bearer(password_token(world.carol, scope="read:follows")).get("/api/v1/followed_tags").status_code == 200
    follow_scope = bearer(password_token(world.carol, scope="follow"))  # implies read:follows and write:follows
    assert follow_scope.post("/api/v1/tags/python/unfollow").status_code == 200
    assert follow_scope.get("/api/v1/followed_tags").json() == []
    anonymous = Client()
    assert anonymous.post("/api/v1/tags/python/follow").status_code == 401
    assert anonymous.post("/api/v1/tags/python/unfollow").status_code == 401
    assert anonymous.get("/api/v1/followed_tags").status_code == 401
    assert bearer("not-a-token").get("/api/v1/followed_tags").status_code == 401
    assert not FollowedTag.objects.exists()


def test_followed_tags_lists_only_yours_with_pagination(world, password_token):
    c = bearer(password_token(world.dave, scope="read write"))
    for i in range(5):
        assert c.post(f"/api/v1/tags/topic{i}/follow").status_code == 200
    bearer(password_token(world.bob, scope="write")).post("/api/v1/tags/bobs/follow")
    everything = c.get("/api/v1/followed_tags")
    # Newest first by the follow's time-ordered id (follows made in the same millisecond: either way).
    order = list(FollowedTag.objects.filter(account=world.dave).order_by("-id").values_list("hashtag__name", flat=True))
    assert sorted(order) == [f"topic{i}" for i in range(5)]
    assert [t["name"] for t in everything.json()] == order
    assert all(t["following"] is True and len(t["history"]) == 7 for t in everything.json())
    r = c.get("/api/v1/followed_tags", {"limit": 2})
    assert [t["name"] for t in r.json()] == order[:2]
    link = r["Link"]
    assert 'rel="next"' in link and 'rel="prev"' in link and "limit=2" in link
    r2 = c.get(_link(r, "next"))
    assert [t["name"] for t in r2.json()] == order[2:4]
    last = c.get(_link(r2, "next"))
    assert [t["name"] for t in last.json()] == order[4:] and 'rel="next"' not in last["Link"]
    back = c.get(_link(last, "prev"))
    assert [t["name"] for t in back.json()] == order[2:4]
    assert c.get("/api/v1/followed_tags", {"limit": 500}).status_code == 200  # clamped, as Mastodon


def test_following_in_trends_for_signed_in_viewers(world, password_token, run_tasks):
    make_post(world.alice, "#Trending now")
    make_post(world.bob, "#trending too")
    run_tasks()
    c = bearer(password_token(world.dave, scope="read write"))
    c.post("/api/v1/tags/trending/follow")
    trends = c.get("/api/v1/trends/tags").json()
    assert trends and all("following" in t for t in trends)
    assert all("following" not in t for t in Client().get("/api/v1/trends/tags").json())
    found = c.get("/api/v2/search", {"q": "trending", "type": "hashtags"}).json()["hashtags"]
    assert [(t["name"].lower(), t["following"]) for t in found] == [("trending", True)]
    assert next(t for t in trends if t["name"].lower() == "trending")["following"] is True


def test_followed_tag_posts_reach_the_home_timeline(world, password_token, run_tasks):
    """End to end: carol follows #rust; a public post by someone she does not follow arrives."""
    carol = bearer(password_token(world.carol, scope="read write"))
    assert carol.post("/api/v1/tags/rust/follow").status_code == 200
    dave = bearer(password_token(world.dave, scope="write"))
    public = dave.post("/api/v1/statuses", json.dumps({"status": "Learning #Rust today"}), content_type="application/json")
    unlisted = dave.post("/api/v1/statuses", {"status": "quiet #rust", "visibility": "unlisted"})
    untagged = dave.post("/api/v1/statuses", {"status": "no tag here"})
    assert public.status_code == unlisted.status_code == untagged.status_code == 200
    run_tasks()
    home = [s["id"] for s in carol.get("/api/v1/timelines/home").json()]
    assert public.json()["id"] in home
    assert unlisted.json()["id"] not in home and untagged.json()["id"] not in home
    # After unfollowing, new posts stop arriving; the delivered one stays.
    assert carol.post("/api/v1/tags/rust/unfollow").status_code == 200
    later = dave.post("/api/v1/statuses", {"status": "more #rust"}).json()
    run_tasks()
    home = [s["id"] for s in carol.get("/api/v1/timelines/home").json()]
    assert public.json()["id"] in home and later["id"] not in home


def test_openapi_describes_the_endpoints(world):
    paths = Client().get("/api/openapi.json").json()["paths"]
    assert "post" in paths["/api/v1/tags/{name}/follow"] and "post" in paths["/api/v1/tags/{name}/unfollow"]
    assert "get" in paths["/api/v1/followed_tags"]
