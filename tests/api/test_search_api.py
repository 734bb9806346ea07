"""GET /api/v2/search, trends and hashtags through the client API."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.test import Client

from rostra.moderation import actions as moderation
from rostra.posts import actions as posts
from rostra.posts.models import Post, Visibility
from rostra.testing.world import make_post
from tests.api.conftest import bearer


def test_search_statuses_accounts_and_hashtags(world, password_token):
    p = make_post(world.alice, "Walrus sightings at the pier #walrus")
    make_post(world.alice, "nothing to see")
    c = bearer(password_token(world.bob, scope="read"))
    r = c.get("/api/v2/search", {"q": "walrus"})
    assert r.status_code == 200, r.content
    body = r.json()
    assert [s["id"] for s in body["statuses"]] == [str(p.pk)]
    assert body["statuses"][0]["favourited"] is False  # rendered for the viewer
    assert [h["name"] for h in body["hashtags"]] == ["walrus"]
    assert len(body["hashtags"][0]["history"]) == 7 and body["hashtags"][0]["history"][0]["uses"] == "1"
    body = c.get("/api/v2/search", {"q": "ali", "type": "accounts"}).json()
    assert [a["acct"] for a in body["accounts"]] == ["alice"] and body["statuses"] == [] and body["hashtags"] == []


def test_search_respects_the_door(world, password_token):
    make_post(world.alice, "secret walrus plans", visibility=Visibility.PRIVATE)
    eve = bearer(password_token(world.eve, scope="read"))
    assert eve.get("/api/v2/search", {"q": "walrus", "type": "statuses"}).json()["statuses"] == []
    bob = bearer(password_token(world.bob, scope="read:search"))
    assert len(bob.get("/api/v2/search", {"q": "walrus", "type": "statuses"}).json()["statuses"]) == 1


def test_search_account_id_offset_and_max_id(world, password_token):
    mine = sorted((make_post(world.alice, f"otter number {i}") for i in range(3)), key=lambda p: p.pk)  # ids order by time
    make_post(world.bob, "otter by bob")
    c = bearer(password_token(world.dave, scope="read"))
    body = c.get("/api/v2/search", {"q": "otter", "type": "statuses", "account_id": str(world.alice.pk)}).json()
    assert [s["id"] for s in body["statuses"]] == [str(p.pk) for p in reversed(mine)]
    body = c.get("/api/v2/search", {"q": "otter", "type": "statuses", "account_id": str(world.alice.pk), "limit": 1, "offset": 1}).json()
    assert [s["id"] for s in body["statuses"]] == [str(mine[1].pk)]
    body = c.get("/api/v2/search", {"q": "otter", "type": "statuses", "max_id": str(mine[1].pk)}).json()
    assert [s["id"] for s in body["statuses"]] == [str(mine[0].pk)]


def test_following_filter(world, password_token):
    c = bearer(password_token(world.bob, scope="read"))
    assert [a["acct"] for a in c.get("/api/v2/search", {"q": "a", "type": "accounts", "following": "true"}).json()["accounts"]] == ["alice"]


def test_anonymous_search(world):
    make_post(world.alice, "public walrus")
    c = Client()
    body = c.get("/api/v2/search", {"q": "walrus"}).json()
    assert body["statuses"] == []  # Mastodon searches statuses for signed-in people only
    assert c.get("/api/v2/search", {"q": "alice", "type": "accounts"}).json()["accounts"][0]["acct"] == "alice"
    r = c.get("/api/v2/search", {"q": "alice", "resolve": "true"})
    assert r.status_code == 401 and "resolve" in r.json()["error"]
    assert c.get("/api/v2/search", {"q": "alice", "offset": "5"}).status_code == 401


def test_bad_input(world, password_token):
    c = bearer(password_token(world.bob, scope="read"))
    assert c.get("/api/v2/search").status_code == 400
    assert c.get("/api/v2/search", {"q": "  "}).json()["error"].endswith(": q")
    assert c.get("/api/v2/search", {"q": "x", "type": "toots"}).status_code == 422
    assert c.get("/api/v2/search", {"q": "x", "limit": "many"}).status_code == 400
    # Query syntax is never passed through: operators and quotes cannot break the search.
    assert c.get("/api/v2/search", {"q": '"unbalanced OR (NEAR* -'}).status_code == 200


def test_scopes_and_tokens(world, password_token):
    assert bearer(password_token(world.bob, scope="write")).get("/api/v2/search", {"q": "x"}).status_code == 403
    assert bearer("nonsense").get("/api/v2/search", {"q": "x"}).status_code == 401
    assert Client().get("/api/v1/search", {"q": "x"}).status_code == 404  # removed in Mastodon 3


def test_resolve_local_urls_and_handles(world, password_token):
    p = make_post(world.alice, "look at this")
    hidden = make_post(world.alice, "followers only", visibility=Visibility.PRIVATE)
    base = settings.ROSTRA.base_url
    c = bearer(password_token(world.dave, scope="read"))
    body = c.get("/api/v2/search", {"q": f"{base}/@alice/{p.pk}", "resolve": "true"}).json()
    assert [s["id"] for s in body["statuses"]] == [str(p.pk)] and body["accounts"] == []
    body = c.get("/api/v2/search", {"q": f"{base}/@alice"}).json()
    assert [a["acct"] for a in body["accounts"]] == ["alice"]
    body = c.get("/api/v2/search", {"q": f"@alice@{settings.ROSTRA.domain}", "resolve": "1"}).json()
    assert [a["acct"] for a in body["accounts"]] == ["alice"]
    # A post the viewer may not see resolves to nothing, as a missing one does.
    eve = bearer(password_token(world.eve, scope="read"))
    assert eve.get("/api/v2/search", {"q": f"{base}/@alice/{hidden.pk}"}).json()["statuses"] == []
    assert c.get("/api/v2/search", {"q": "https://elsewhere.example/@alice/1"}).json() == {"accounts": [], "statuses": [], "hashtags": []}


# --- trends ---------------------------------------------------------------------------------------


def test_trending_tags_rank_by_people_with_history(world, password_token):
    for who in (world.alice, world.bob, world.dave):
        make_post(who, "#popular thing")
    make_post(world.alice, "#lonely one")
    make_post(world.alice, "#lonely two")
    make_post(world.bob, "#secret", visibility=Visibility.PRIVATE)
    r = Client().get("/api/v1/trends/tags")
    assert r.status_code == 200
    body = r.json()
    assert [t["name"] for t in body] == ["popular", "lonely"]
    today = body[0]["history"][0]
    assert today == {"day": today["day"], "uses": "3", "accounts": "3"} and len(body[0]["history"]) == 7
    assert body[1]["history"][0]["uses"] == "2" and body[1]["history"][0]["accounts"] == "1"
    assert int(body[0]["history"][0]["day"]) > int(body[0]["history"][1]["day"])
    assert Client().get("/api/v1/trends").json() == body
    page = Client().get("/api/v1/trends/tags", {"limit": 1})
    assert [t["name"] for t in page.json()] == ["popular"] and 'rel="next"' in page["Link"]
    assert [t["name"] for t in Client().get("/api/v1/trends/tags", {"limit": 1, "offset": 1}).json()] == ["lonely"]


def test_old_and_moderated_posts_do_not_trend(world, run_tasks):
    old = make_post(world.alice, "#stale news")
    Post.objects.filter(pk=old.pk).update(created_at=old.created_at - timedelta(days=10))
    removed = make_post(world.bob, "#bad stuff")
    moderation.act_on_post(world.mod.user, removed.pk, "remove", category="spam")
    limited = make_post(world.dave, "#limited reach")
    moderation.act_on_post(world.mod.user, limited.pk, "limit", category="spam")
    make_post(world.eve, "#eves tag")
    moderation.act_on_account(world.mod.user, world.eve.pk, "ban", category="spam")
    assert Client().get("/api/v1/trends/tags").json() == []


def test_trending_statuses(world, password_token, run_tasks):
    quiet = make_post(world.alice, "quiet")
    loved = make_post(world.alice, "loved")
    liked = make_post(world.carol, "liked once")
    for who in (world.bob, world.dave, world.carol):
        posts.like(who, loved.pk)
    posts.like(world.bob, liked.pk)
    labelled = make_post(world.dave, "labelled")
    posts.like(world.bob, labelled.pk)
    moderation.act_on_post(world.mod.user, labelled.pk, "label", category="spam")
    private = make_post(world.carol, "private", visibility=Visibility.PRIVATE)
    posts.like(world.bob, private.pk)
    run_tasks()
    body = Client().get("/api/v1/trends/statuses").json()
    assert [s["id"] for s in body] == [str(loved.pk), str(liked.pk)]
    assert str(quiet.pk) not in [s["id"] for s in body]
    # Through the viewer's door: eve is blocked by alice, so alice's post is not shown to her.
    eve = bearer(password_token(world.eve, scope="read"))
    assert [s["id"] for s in eve.get("/api/v1/trends/statuses").json()] == [str(liked.pk)]
    # Older engagement decays.
    Post.objects.filter(pk=loved.pk).update(created_at=loved.created_at - timedelta(days=2))
    assert [s["id"] for s in Client().get("/api/v1/trends/statuses").json()] == [str(liked.pk), str(loved.pk)]


def test_trending_links_and_tags(world, password_token):
    assert Client().get("/api/v1/trends/links").json() == []
    make_post(world.alice, "#Rostra rocks")
    body = Client().get("/api/v1/tags/rostra").json()
    assert body["name"].lower() == "rostra" and body["url"].endswith("/tags/rostra") and len(body["history"]) == 7
    assert Client().get("/api/v1/tags/%23ROSTRA").status_code == 200
    r = Client().get("/api/v1/tags/nosuchtag")
    assert r.status_code == 404 and "error" in r.json()
    assert bearer("nonsense").get("/api/v1/trends/tags").status_code == 401
    # Following hashtags: see tests/api/test_followed_tags_api.py.
    c = bearer(password_token(world.bob, scope="read write follow"))
    assert c.post("/api/v1/tags/rostra/follow").json()["following"] is True
    assert [t["name"].lower() for t in c.get("/api/v1/followed_tags").json()] == ["rostra"]
