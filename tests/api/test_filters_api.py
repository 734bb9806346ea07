"""Filters v2 (and the v1 read) through the client API."""

from __future__ import annotations

import json

from django.test import Client

from rostra.testing.world import make_post
from rostra.timelines.models import Filter, FilterKeyword
from tests.api.conftest import bearer


def _create(c, **extra):
    body = {"title": "Spoilers", "context[]": ["home", "public"], "filter_action": "warn",
            "keywords_attributes[][keyword]": ["dragon", "finale"], "keywords_attributes[][whole_word]": ["true", "false"], **extra}
    return c.post("/api/v2/filters", body)


def test_create_list_get_filter_form(world, password_token):
    c = bearer(password_token(world.bob, scope="read write"))
    r = _create(c, expires_in="3600")
    assert r.status_code == 200, r.content
    f = r.json()
    assert f["title"] == "Spoilers" and f["context"] == ["home", "public"] and f["filter_action"] == "warn"
    assert sorted((k["keyword"], k["whole_word"]) for k in f["keywords"]) == [("dragon", True), ("finale", False)]
    assert f["expires_at"] and f["statuses"] == []
    assert [x["id"] for x in c.get("/api/v2/filters").json()] == [f["id"]]
    assert c.get(f"/api/v2/filters/{f['id']}").json() == f


def test_create_json_and_indexed_forms(world, password_token):
    c = bearer(password_token(world.bob, scope="write:filters read:filters"))
    r = c.post("/api/v2/filters", json.dumps({"title": "J", "context": ["thread"], "filter_action": "hide",
               "keywords_attributes": [{"keyword": "a"}, {"keyword": "b", "whole_word": False}]}), content_type="application/json")
    assert r.status_code == 200, r.content
    assert sorted((k["keyword"], k["whole_word"]) for k in r.json()["keywords"]) == [("a", True), ("b", False)]
    r = c.post("/api/v2/filters", {"title": "I", "context[]": "home", "keywords_attributes[0][keyword]": "x",
               "keywords_attributes[1][keyword]": "y", "keywords_attributes[1][whole_word]": "0"})
    assert sorted((k["keyword"], k["whole_word"]) for k in r.json()["keywords"]) == [("x", True), ("y", False)]


def test_bad_input_writes_nothing(world, password_token):
    c = bearer(password_token(world.bob, scope="write"))
    assert c.post("/api/v2/filters", {"title": "", "context[]": "home"}).status_code == 422
    assert c.post("/api/v2/filters", {"title": "x", "context[]": "everywhere"}).status_code == 422
    assert c.post("/api/v2/filters", {"title": "x", "context[]": "home", "filter_action": "explode"}).status_code == 422
    r = c.post("/api/v2/filters", {"title": "x", "context[]": "home", "keywords_attributes[][keyword]": ["ok", " "]})
    assert r.status_code == 422 and "error" in r.json()
    assert c.post("/api/v2/filters", {"title": "x", "context[]": "home", "expires_in": "soon"}).status_code == 422
    assert Filter.objects.count() == 0 and FilterKeyword.objects.count() == 0


def test_update_with_keywords_attributes(world, password_token):
    c = bearer(password_token(world.bob, scope="read write"))
    f = _create(c).json()
    dragon, finale = sorted(f["keywords"], key=lambda k: k["keyword"])
    body = ("title=Renamed&context[]=notifications&filter_action=hide&expires_in="
            f"&keywords_attributes[][id]={dragon['id']}&keywords_attributes[][keyword]=wyvern"
            f"&keywords_attributes[][id]={finale['id']}&keywords_attributes[][keyword]=finale&keywords_attributes[][_destroy]=true"
            "&keywords_attributes[][keyword]=ending")
    r = c.put(f"/api/v2/filters/{f['id']}", body, content_type="application/x-www-form-urlencoded")
    assert r.status_code == 200, r.content
    g = r.json()
    assert g["title"] == "Renamed" and g["context"] == ["notifications"] and g["filter_action"] == "hide" and g["expires_at"] is None
    assert sorted(k["keyword"] for k in g["keywords"]) == ["ending", "wyvern"]
    assert [k["id"] for k in g["keywords"] if k["keyword"] == "wyvern"] == [dragon["id"]]
    # All or nothing: one bad keyword id and nothing changes.
    r = c.put(f"/api/v2/filters/{f['id']}", json.dumps({"title": "Again", "keywords_attributes": [{"id": "999", "keyword": "z"}]}),
              content_type="application/json")
    assert r.status_code == 404
    assert c.get(f"/api/v2/filters/{f['id']}").json()["title"] == "Renamed"


def test_keywords_endpoints(world, password_token):
    c = bearer(password_token(world.bob, scope="read write"))
    f = _create(c).json()
    r = c.post(f"/api/v2/filters/{f['id']}/keywords", {"keyword": "spoiler", "whole_word": "false"})
    assert r.status_code == 200 and r.json()["whole_word"] is False
    kid = r.json()["id"]
    assert sorted(k["keyword"] for k in c.get(f"/api/v2/filters/{f['id']}/keywords").json()) == ["dragon", "finale", "spoiler"]
    assert c.get(f"/api/v2/filter_keywords/{kid}").json()["keyword"] == "spoiler"
    assert c.get(f"/api/v2/filters/keywords/{kid}").json()["keyword"] == "spoiler"  # Mastodon's own path
    r = c.put(f"/api/v2/filter_keywords/{kid}", "keyword=spoilers&whole_word=true", content_type="application/x-www-form-urlencoded")
    assert r.json() == {"id": kid, "keyword": "spoilers", "whole_word": True}
    assert c.post(f"/api/v2/filters/{f['id']}/keywords", {"keyword": ""}).status_code == 422
    assert c.delete(f"/api/v2/filter_keywords/{kid}").json() == {}
    assert c.get(f"/api/v2/filter_keywords/{kid}").status_code == 404


def test_statuses_endpoints(world, password_token):
    post = make_post(world.alice, "something")
    c = bearer(password_token(world.bob, scope="read write"))
    f = _create(c).json()
    r = c.post(f"/api/v2/filters/{f['id']}/statuses", {"status_id": str(post.pk)})
    assert r.status_code == 200 and r.json()["status_id"] == str(post.pk)
    sid = r.json()["id"]
    assert c.get(f"/api/v2/filters/{f['id']}/statuses").json() == [r.json()]
    assert c.get(f"/api/v2/filter_statuses/{sid}").json() == r.json()
    assert c.get(f"/api/v2/filters/statuses/{sid}").json() == r.json()
    assert c.get(f"/api/v2/filters/{f['id']}").json()["statuses"] == [r.json()]
    # A post bob cannot see answers like a missing one.
    hidden = make_post(world.dave, "@carol dave only", visibility="direct")
    assert c.post(f"/api/v2/filters/{f['id']}/statuses", {"status_id": str(hidden.pk)}).status_code == 404
    assert c.post(f"/api/v2/filters/{f['id']}/statuses", {}).status_code == 422
    assert c.delete(f"/api/v2/filter_statuses/{sid}").json() == {}
    assert c.get(f"/api/v2/filter_statuses/{sid}").status_code == 404


def test_other_peoples_filters_are_missing(world, password_token):
    bob = bearer(password_token(world.bob, scope="read write"))
    f = _create(bob).json()
    kid = f["keywords"][0]["id"]
    alice = bearer(password_token(world.alice, scope="read write"))
    assert alice.get("/api/v2/filters").json() == []
    for path in (f"/api/v2/filters/{f['id']}", f"/api/v2/filters/{f['id']}/keywords", f"/api/v2/filter_keywords/{kid}", f"/api/v1/filters/{kid}"):
        assert alice.get(path).status_code == 404, path
    assert alice.delete(f"/api/v2/filters/{f['id']}").status_code == 404
    assert alice.put(f"/api/v2/filter_keywords/{kid}", "keyword=x", content_type="application/x-www-form-urlencoded").status_code == 404
    assert bob.delete(f"/api/v2/filters/{f['id']}").json() == {}
    assert bob.get(f"/api/v2/filters/{f['id']}").status_code == 404


def test_scopes(world, password_token):
    read = bearer(password_token(world.bob, scope="read"))
    assert read.get("/api/v2/filters").status_code == 200
    assert _create(read).status_code == 403
    assert bearer(password_token(world.bob, scope="write")).get("/api/v2/filters").status_code == 403
    assert Client().get("/api/v2/filters").status_code == 401
    assert Client().get("/api/v1/filters").status_code == 401


def test_v1_filters_from_keywords(world, password_token):
    c = bearer(password_token(world.bob, scope="read write"))
    f = _create(c, filter_action="hide").json()
    v1 = c.get("/api/v1/filters").json()
    ids = {k["keyword"]: k["id"] for k in f["keywords"]}
    assert sorted((x["id"], x["phrase"], x["whole_word"], x["irreversible"], x["context"]) for x in v1) == sorted([
        (ids["dragon"], "dragon", True, True, ["home", "public"]),
        (ids["finale"], "finale", False, True, ["home", "public"]),
    ])
    assert c.get(f"/api/v1/filters/{v1[0]['id']}").json() == v1[0]


def test_v1_filter_writes(world, password_token):
    c = bearer(password_token(world.bob, scope="read write"))
    r = c.post("/api/v1/filters", {"phrase": "cats", "context[]": ["home", "thread"], "irreversible": "true", "whole_word": "false"})
    assert r.status_code == 200, r.content
    v1 = r.json()
    assert v1["phrase"] == "cats" and v1["irreversible"] is True and v1["whole_word"] is False and v1["context"] == ["home", "thread"]
    [v2] = c.get("/api/v2/filters").json()
    assert v2["title"] == "cats" and v2["filter_action"] == "hide" and v2["keywords"][0]["id"] == v1["id"]
    r = c.put(f"/api/v1/filters/{v1['id']}", "phrase=dogs&irreversible=false&context[]=public", content_type="application/x-www-form-urlencoded")
    assert r.status_code == 200, r.content
    assert (r.json()["phrase"], r.json()["irreversible"], r.json()["context"], r.json()["whole_word"]) == ("dogs", False, ["public"], False)
    # Bad input changes nothing.
    r = c.put(f"/api/v1/filters/{v1['id']}", "phrase=&context[]=home", content_type="application/x-www-form-urlencoded")
    assert r.status_code == 422
    assert c.get(f"/api/v1/filters/{v1['id']}").json()["context"] == ["public"]
    assert c.post("/api/v1/filters", {"phrase": "x", "context[]": "nowhere"}).status_code == 422
    assert len(c.get("/api/v2/filters").json()) == 1
    assert c.delete(f"/api/v1/filters/{v1['id']}").json() == {}
    assert c.get("/api/v1/filters").json() == []
