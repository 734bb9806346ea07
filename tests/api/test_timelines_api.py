"""The client API's timelines, lists and markers: shapes, scopes, filters, pagination."""

from __future__ import annotations

import json

from django.test import Client

from rostra.posts import actions as posts
from rostra.testing.images import png_bytes
from rostra.testing.world import make_post
from rostra.timelines import filters
from rostra.timelines.models import List, ListMember, Marker
from tests.api.conftest import bearer, link_params


def _ids(r) -> list[str]:
    assert r.status_code == 200, r.content
    return [s["id"] for s in r.json()]


# --- timelines ------------------------------------------------------------------------------------


def test_home_timeline(world, tok, run_tasks):
    w = world
    mine = make_post(w.bob, "my own")
    hers = make_post(w.alice, "from alice")
    make_post(w.eve, "a stranger's")
    muted = make_post(w.dave, "muted dave")
    run_tasks()
    ids = _ids(bearer(tok(w.bob)).get("/api/v1/timelines/home"))
    assert str(mine.pk) in ids and str(hers.pk) in ids
    assert str(muted.pk) not in ids
    assert ids == sorted(ids, key=int, reverse=True)
    body = bearer(tok(w.bob)).get("/api/v1/timelines/home").json()[0]
    assert {"id", "account", "content", "visibility", "favourited", "reblog", "filtered"} <= set(body)


def test_home_needs_a_token_and_the_scope(world, tok):
    assert Client().get("/api/v1/timelines/home").status_code == 401
    assert bearer("nope").get("/api/v1/timelines/home").status_code == 401
    r = bearer(tok(world.bob, "read:accounts")).get("/api/v1/timelines/home")
    assert r.status_code == 403 and r.json() == {"error": "This action is outside the authorized scopes"}
    assert bearer(tok(world.bob, "read:statuses")).get("/api/v1/timelines/home").status_code == 200


def test_home_pagination_with_link_header(world, tok, run_tasks):
    made = [make_post(world.alice, f"post {i}") for i in range(5)]
    run_tasks()
    c = bearer(tok(world.bob))
    r = c.get("/api/v1/timelines/home?limit=2")
    assert _ids(r) == [str(made[4].pk), str(made[3].pk)]
    links = link_params(r)
    assert links["next"]["path"] == ["/api/v1/timelines/home"] and links["next"]["limit"] == ["2"]
    r2 = c.get(f"/api/v1/timelines/home?limit=2&max_id={links['next']['max_id'][0]}")
    assert _ids(r2) == [str(made[2].pk), str(made[1].pk)]
    r3 = c.get(f"/api/v1/timelines/home?limit=2&min_id={made[0].pk}")
    assert _ids(r3) == [str(made[2].pk), str(made[1].pk)]
    assert _ids(c.get(f"/api/v1/timelines/home?since_id={made[3].pk}")) == [str(made[4].pk)]


def test_public_timeline_is_open_to_anonymous_readers(world, tok):
    w = world
    pub = make_post(w.alice, "hello public")
    unlisted = make_post(w.alice, "unlisted", visibility="unlisted")
    private = make_post(w.alice, "private", visibility="private")
    ids = _ids(Client().get("/api/v1/timelines/public"))
    assert str(pub.pk) in ids and str(unlisted.pk) not in ids and str(private.pk) not in ids
    assert Client().get("/api/v1/timelines/public").json()[0]["favourited"] is None
    assert str(pub.pk) in _ids(Client().get("/api/v1/timelines/public?local=true"))
    assert _ids(Client().get("/api/v1/timelines/public?remote=true")) == []  # no remote posts yet
    assert str(pub.pk) in _ids(Client().get("/api/v1/timelines/public?local=1&remote=1"))
    # A bad token is a 401 even where anonymous readers are welcome; a signed-in reader gets flags.
    assert bearer("nope").get("/api/v1/timelines/public").status_code == 401
    body = bearer(tok(w.bob)).get("/api/v1/timelines/public").json()
    assert body[0]["favourited"] is False
    assert bearer(tok(w.bob, "read:accounts")).get("/api/v1/timelines/public").status_code == 403
    # eve is blocked by alice: neither sees the other's posts.
    assert str(pub.pk) not in _ids(bearer(tok(w.eve)).get("/api/v1/timelines/public"))


def test_public_only_media(world):
    w = world
    pic = make_post(w.alice, "picture", media_ids=[posts.upload_media(w.alice, png_bytes()).pk])
    plain = make_post(w.alice, "plain")
    ids = _ids(Client().get("/api/v1/timelines/public?only_media=true"))
    assert str(pic.pk) in ids and str(plain.pk) not in ids
    assert {str(pic.pk), str(plain.pk)} <= set(_ids(Client().get("/api/v1/timelines/public?only_media=false")))


def test_tag_timeline_any_all_none(world):
    w = world
    cats = make_post(w.alice, "#cats only")
    both = make_post(w.alice, "#cats and #dogs")
    dogs = make_post(w.alice, "#dogs only")
    birds = make_post(w.alice, "#Birds")
    c = Client()
    assert _ids(c.get("/api/v1/timelines/tag/cats")) == [str(both.pk), str(cats.pk)]
    assert _ids(c.get("/api/v1/timelines/tag/CATS")) == [str(both.pk), str(cats.pk)]
    assert _ids(c.get("/api/v1/timelines/tag/cats?any[]=dogs&any[]=birds")) == [str(p.pk) for p in (birds, dogs, both, cats)]
    assert _ids(c.get("/api/v1/timelines/tag/cats?all[]=dogs")) == [str(both.pk)]
    assert _ids(c.get("/api/v1/timelines/tag/cats?none[]=dogs")) == [str(cats.pk)]
    assert _ids(c.get("/api/v1/timelines/tag/nosuchtag")) == []
    assert _ids(c.get("/api/v1/timelines/tag/cats?remote=true")) == []
    assert _ids(c.get("/api/v1/timelines/tag/cats?local=true&only_media=true")) == []
    make_post(w.alice, "#cats", visibility="private")
    assert len(_ids(c.get("/api/v1/timelines/tag/cats"))) == 2


def test_hide_filters_drop_posts_but_paging_goes_on(world, tok, run_tasks):
    w = world
    older = make_post(w.alice, "something fine")
    make_post(w.alice, "spoilers ahead")
    make_post(w.alice, "more spoilers")
    warned = make_post(w.alice, "about politics")
    run_tasks()
    filters.create_filter(w.bob, filters.FilterDraft(title="No spoilers", context=["home", "public"], action="hide",
                                                     keywords=[filters.KeywordDraft("spoilers")]))
    filters.create_filter(w.bob, filters.FilterDraft(title="Careful", context=["home"], action="warn",
                                                     keywords=[filters.KeywordDraft("politics")]))
    c = bearer(tok(w.bob))
    r = c.get("/api/v1/timelines/home?limit=3")
    assert _ids(r) == [str(warned.pk)]
    assert r.json()[0]["filtered"][0]["filter"]["title"] == "Careful"
    assert r.json()[0]["filtered"][0]["keyword_matches"] == ["politics"]
    nxt = link_params(r)["next"]  # from the unfiltered page: the client keeps paging
    assert str(older.pk) in _ids(c.get(f"/api/v1/timelines/home?limit=3&max_id={nxt['max_id'][0]}"))
    # The public timeline applies the public context; anonymous readers have no filters.
    public = _ids(c.get("/api/v1/timelines/public?limit=40"))
    assert str(warned.pk) in public and not any("spoilers" in s["content"] for s in c.get("/api/v1/timelines/public").json())
    assert len(_ids(Client().get("/api/v1/timelines/public?limit=40"))) >= 4


def test_list_timeline(world, tok):
    w = world
    c = bearer(tok(w.bob))
    lst = c.post("/api/v1/lists", {"title": "Friends"}).json()
    assert c.post(f"/api/v1/lists/{lst['id']}/accounts", {"account_ids[]": [str(w.alice.pk)]}).status_code == 200
    hers = make_post(w.alice, "in the list")
    carols = make_post(w.carol, "not in the list")
    ids = _ids(c.get(f"/api/v1/timelines/list/{lst['id']}"))
    assert str(hers.pk) in ids and str(carols.pk) not in ids
    # Someone else's list is a 404; the list scope is needed.
    assert bearer(tok(w.dave)).get(f"/api/v1/timelines/list/{lst['id']}").status_code == 404
    assert c.get("/api/v1/timelines/list/123456").status_code == 404
    assert bearer(tok(w.bob, "read:statuses")).get(f"/api/v1/timelines/list/{lst['id']}").status_code == 403
    assert bearer(tok(w.bob, "read:lists")).get(f"/api/v1/timelines/list/{lst['id']}").status_code == 200


# --- lists ----------------------------------------------------------------------------------------


def test_list_crud(world, tok):
    w = world
    c = bearer(tok(w.bob))
    r = c.post("/api/v1/lists", {"title": "Work", "replies_policy": "followed", "exclusive": "true"})
    assert r.status_code == 200, r.content
    lst = r.json()
    assert lst == {"id": lst["id"], "title": "Work", "replies_policy": "followed", "exclusive": True}
    r = c.post("/api/v1/lists", json.dumps({"title": "Play"}), content_type="application/json")
    assert r.json()["replies_policy"] == "list" and r.json()["exclusive"] is False
    assert [x["title"] for x in c.get("/api/v1/lists").json()] == ["Play", "Work"]
    assert c.get(f"/api/v1/lists/{lst['id']}").json()["title"] == "Work"
    r = c.put(f"/api/v1/lists/{lst['id']}", "title=Job&exclusive=false", content_type="application/x-www-form-urlencoded")
    assert r.status_code == 200 and r.json()["title"] == "Job" and r.json()["exclusive"] is False
    assert r.json()["replies_policy"] == "followed"
    r = c.put(f"/api/v1/lists/{lst['id']}", json.dumps({"replies_policy": "none"}), content_type="application/json")
    assert r.json() == {"id": lst["id"], "title": "Job", "replies_policy": "none", "exclusive": False}
    assert c.delete(f"/api/v1/lists/{lst['id']}").json() == {}
    assert c.get(f"/api/v1/lists/{lst['id']}").status_code == 404
    assert c.delete(f"/api/v1/lists/{lst['id']}").status_code == 404


def test_list_bad_input_and_other_peoples_lists(world, tok):
    w = world
    c = bearer(tok(w.bob))
    r = c.post("/api/v1/lists", {"title": "  "})
    assert r.status_code == 422 and "title" in r.json()["error"]
    assert c.post("/api/v1/lists", {"title": "x", "replies_policy": "everyone"}).status_code == 422
    assert List.objects.filter(owner=w.bob).count() == 0
    lst = c.post("/api/v1/lists", {"title": "Mine"}).json()
    assert c.put(f"/api/v1/lists/{lst['id']}", json.dumps({"title": ""}), content_type="application/json").status_code == 422
    other = bearer(tok(w.alice))
    assert other.get(f"/api/v1/lists/{lst['id']}").status_code == 404
    assert other.put(f"/api/v1/lists/{lst['id']}", json.dumps({"title": "Taken"}), content_type="application/json").status_code == 404
    assert other.delete(f"/api/v1/lists/{lst['id']}").status_code == 404
    assert other.get(f"/api/v1/lists/{lst['id']}/accounts").status_code == 404
    assert other.get("/api/v1/lists").json() == []
    assert List.objects.get(pk=lst["id"]).title == "Mine"


def test_list_scopes(world, tok):
    assert Client().get("/api/v1/lists").status_code == 401
    assert bearer(tok(world.bob, "read:lists")).get("/api/v1/lists").status_code == 200
    assert bearer(tok(world.bob, "read:lists")).post("/api/v1/lists", {"title": "x"}).status_code == 403
    assert bearer(tok(world.bob, "write:lists")).post("/api/v1/lists", {"title": "x"}).status_code == 200
    assert bearer(tok(world.bob, "read:statuses")).get("/api/v1/lists").status_code == 403


def test_list_members(world, tok):
    w = world
    c = bearer(tok(w.bob))
    lst = c.post("/api/v1/lists", {"title": "People"}).json()
    url = f"/api/v1/lists/{lst['id']}/accounts"
    assert c.post(url, {"account_ids[]": [str(w.alice.pk), str(w.carol.pk)]}).json() == {}
    assert c.post(url, json.dumps({"account_ids": [str(w.alice.pk)]}), content_type="application/json").status_code == 200
    members = c.get(url).json()
    assert {a["id"] for a in members} == {str(w.alice.pk), str(w.carol.pk)}
    assert {"id", "username", "acct", "display_name"} <= set(members[0])
    # Paged by account id, with a Link header; limit=0 is everyone.
    r = c.get(f"{url}?limit=1")
    assert len(r.json()) == 1 and "next" in link_params(r)
    r2 = c.get(f"{url}?limit=1&max_id={link_params(r)['next']['max_id'][0]}")
    assert len(r2.json()) == 1 and r2.json()[0]["id"] != r.json()[0]["id"]
    assert len(c.get(f"{url}?limit=0").json()) == 2
    # Not followed: 422 and nothing added (all or nothing); unknown account: 404; no ids: 422.
    r = c.post(url, {"account_ids[]": [str(w.dave.pk), str(w.eve.pk)]})
    assert r.status_code == 422 and "follow" in r.json()["error"]
    assert c.post(url, {"account_ids[]": ["99999999"]}).status_code == 404
    assert c.post(url, {}).status_code == 422
    assert ListMember.objects.filter(list_id=lst["id"]).count() == 2
    # Removing: ids in a form body, a JSON body or the query string.
    r = c.delete(url, f"account_ids[]={w.carol.pk}", content_type="application/x-www-form-urlencoded")
    assert r.status_code == 200 and r.json() == {}
    assert [a["id"] for a in c.get(url).json()] == [str(w.alice.pk)]
    c.post(url, {"account_ids[]": [str(w.carol.pk)]})
    assert c.delete(f"{url}?account_ids[]={w.carol.pk}").status_code == 200
    assert c.delete(url, json.dumps({"account_ids": [str(w.alice.pk)]}), content_type="application/json").status_code == 200
    assert c.get(url).json() == []
    # Someone else cannot change the members.
    assert bearer(tok(w.dave)).post(url, {"account_ids[]": [str(w.alice.pk)]}).status_code == 404


# --- markers --------------------------------------------------------------------------------------


def test_markers(world, tok):
    w = world
    c = bearer(tok(w.bob))
    assert c.get("/api/v1/markers?timeline[]=home&timeline[]=notifications").json() == {}
    r = c.post("/api/v1/markers", {"home[last_read_id]": "12345"})
    assert r.status_code == 200, r.content
    home = r.json()["home"]
    assert home["last_read_id"] == "12345" and home["version"] == 1 and home["updated_at"].endswith("Z")
    assert "notifications" not in r.json()
    r = c.post("/api/v1/markers", json.dumps({"home": {"last_read_id": "12"}, "notifications": {"last_read_id": "7"}}),
               content_type="application/json")
    assert r.json()["home"]["last_read_id"] == "12" and r.json()["home"]["version"] == 2  # may move backwards
    assert r.json()["notifications"] == {**r.json()["notifications"], "last_read_id": "7", "version": 1}
    got = c.get("/api/v1/markers?timeline[]=home&timeline[]=notifications").json()
    assert set(got) == {"home", "notifications"}
    assert set(c.get("/api/v1/markers?timeline[]=notifications").json()) == {"notifications"}
    # Each person has their own markers.
    assert bearer(tok(w.alice)).get("/api/v1/markers?timeline[]=home").json() == {}


def test_marker_bad_input_and_scopes(world, tok):
    w = world
    c = bearer(tok(w.bob))
    assert c.post("/api/v1/markers", {}).status_code == 422
    assert c.post("/api/v1/markers", {"home[last_read_id]": "1", "notifications[last_read_id]": "not an id"}).status_code == 422
    assert c.post("/api/v1/markers", json.dumps({"home": {}}), content_type="application/json").status_code == 422
    assert c.post("/api/v1/markers", "[1]", content_type="application/json").status_code == 400
    assert Marker.objects.filter(account=w.bob).count() == 0  # nothing partial
    assert Client().get("/api/v1/markers").status_code == 401
    assert bearer(tok(w.bob, "read:statuses")).post("/api/v1/markers", {"home[last_read_id]": "1"}).status_code == 403
    assert bearer(tok(w.bob, "write:statuses")).post("/api/v1/markers", {"home[last_read_id]": "1"}).status_code == 200
    assert bearer(tok(w.bob, "read:notifications")).get("/api/v1/markers?timeline[]=home").status_code == 403


def test_openapi_describes_these_endpoints(db):
    paths = Client().get("/api/openapi.json").json()["paths"]
    for path in ("/api/v1/timelines/home", "/api/v1/timelines/public", "/api/v1/timelines/tag/{hashtag}",
                 "/api/v1/timelines/list/{list_id}", "/api/v1/lists", "/api/v1/lists/{list_id}",
                 "/api/v1/lists/{list_id}/accounts", "/api/v1/markers", "/api/v1/notifications",
                 "/api/v1/notifications/{notification_id}", "/api/v1/notifications/unread_count",
                 "/api/v1/notifications/clear", "/api/v1/notifications/{notification_id}/dismiss", "/api/v2/notifications",
                 "/api/v1/conversations", "/api/v1/conversations/{conversation_id}", "/api/v1/conversations/{conversation_id}/read"):
        assert path in paths, path


def test_anonymous_paging_and_a_fixed_number_of_queries(world, tok, run_tasks):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    made = [make_post(world.alice, f"#topic number {i}") for i in range(3)]
    r = Client().get("/api/v1/timelines/tag/topic?limit=2")
    assert _ids(r) == [str(made[2].pk), str(made[1].pk)]
    assert link_params(r)["next"]["path"] == ["/api/v1/timelines/tag/topic"]
    run_tasks()
    c = bearer(tok(world.bob))
    for url in ("/api/v1/timelines/home", "/api/v1/timelines/public", "/api/v1/timelines/tag/topic"):
        c.get(url)
        with CaptureQueriesContext(connection) as few:
            c.get(url)
        for i in range(4):
            make_post(world.carol if i % 2 else world.alice, f"#topic more {i}")
        run_tasks()
        with CaptureQueriesContext(connection) as many:
            c.get(url)
        assert len(many.captured_queries) == len(few.captured_queries), url


def test_pins_and_muted_threads_are_asked_with_the_likes(world, tok, run_tasks):
    """A timeline page's ``pinned`` and ``muted`` come from the one query that asks the viewer's
    likes, bookmarks and reposts (no query of pins or thread mutes while rendering), and are right
    for the posts, the reposted ones and the quoted ones."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    w = world
    pinned = make_post(w.bob, "pinned by bob")
    posts.pin(w.bob, pinned.pk)
    thread = make_post(w.alice, "a thread bob muted")
    reply = make_post(w.alice, "and its reply", in_reply_to_id=thread.pk)
    posts.mute_thread(w.bob, thread.pk)
    quoting = make_post(w.alice, "quoting bob's pinned post", quote_of_id=pinned.pk)
    posts.repost(w.alice, thread.pk)
    plain = make_post(w.alice, "nothing special")
    run_tasks()
    c = bearer(tok(w.bob))
    c.get("/api/v1/timelines/home")
    with CaptureQueriesContext(connection) as queries:
        body = c.get("/api/v1/timelines/home").json()
    sql = " ".join(q["sql"] for q in queries.captured_queries)
    assert sql.count('FROM "posts_pin"') == 1 and sql.count('FROM "posts_threadmute"') == 1  # both inside the one union
    by_id = {s["id"]: s for s in body}
    assert by_id[str(pinned.pk)]["pinned"] is True
    assert by_id[str(thread.pk)]["muted"] is True and by_id[str(reply.pk)]["muted"] is True
    assert by_id[str(plain.pk)]["muted"] is False and by_id[str(plain.pk)]["pinned"] is None
    assert by_id[str(quoting.pk)]["quote"]["quoted_status"]["pinned"] is True
    repost = next(s for s in body if s["reblog"] is not None)
    assert repost["reblog"]["id"] == str(thread.pk) and repost["reblog"]["muted"] is True
    # Without the marks (statuses built from posts fetched apart), the same answers, asked apart.
    from rostra.api import entities
    from rostra.posts.models import Post

    fresh = list(Post.objects.filter(pk__in=[pinned.pk, thread.pk]).select_related("author").order_by("id"))
    out = {s["id"]: s for s in entities.statuses(fresh, w.bob)}
    assert out[str(pinned.pk)]["pinned"] is True and out[str(thread.pk)]["muted"] is True
