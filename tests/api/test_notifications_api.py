"""The client API's notifications: types, filters, pagination, dismissing, the unread count."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from rostra.accounts import actions as accounts
from rostra.notifications.models import Notification
from rostra.posts import actions as posts
from rostra.testing.world import make_post
from rostra.timelines import filters
from tests.api.conftest import bearer, link_params


@pytest.fixture(autouse=True)
def _quiet(world):
    Notification.objects.all().delete()  # building the world's follows told people things already


@pytest.fixture
def inbox(world, run_tasks):
    """alice is mentioned by dave, replied to by bob, reposted and liked by bob, followed by carol."""
    w = world
    root = make_post(w.alice, "root post")
    mention = make_post(w.dave, "hi @alice")
    reply = make_post(w.bob, "@alice agreed", in_reply_to_id=root.pk)
    posts.repost(w.bob, root.pk)
    posts.like(w.bob, root.pk)
    accounts.follow(w.carol, w.alice)
    run_tasks()
    return {"root": root, "mention": mention, "reply": reply}


def test_list_shapes_and_types(world, tok, inbox):
    c = bearer(tok(world.alice))
    r = c.get("/api/v1/notifications")
    assert r.status_code == 200, r.content
    body = r.json()
    assert [n["type"] for n in body] == ["follow", "favourite", "reblog", "mention", "mention"]  # a reply is a mention
    follow = body[0]
    assert follow["account"]["id"] == str(world.carol.pk) and "status" not in follow
    assert follow["group_key"].startswith("follow-") and follow["created_at"].endswith("Z")
    reply = body[3]
    assert reply["status"]["id"] == str(inbox["reply"].pk) and reply["status"]["in_reply_to_id"] == str(inbox["root"].pk)
    assert body[2]["status"]["id"] == str(inbox["root"].pk)


def test_types_exclude_types_and_account_id(world, tok, inbox):
    c = bearer(tok(world.alice))
    kinds = lambda q: [n["type"] for n in c.get(f"/api/v1/notifications?{q}").json()]  # noqa: E731
    assert kinds("types[]=mention") == ["mention", "mention"]
    assert kinds("types[]=follow&types[]=reblog") == ["follow", "reblog"]
    assert kinds("exclude_types[]=mention&exclude_types[]=favourite") == ["follow", "reblog"]
    assert kinds("types[]=status") == []  # a type Rostra never sends
    assert kinds("types[]=mention&exclude_types[]=mention") == []
    ids = [n["account"]["id"] for n in c.get(f"/api/v1/notifications?account_id={world.bob.pk}").json()]
    assert ids == [str(world.bob.pk)] * 3
    assert c.get("/api/v1/notifications?account_id=nope").json() == []


def test_pagination(world, tok, inbox):
    c = bearer(tok(world.alice))
    r = c.get("/api/v1/notifications?limit=2")
    first = [n["id"] for n in r.json()]
    assert len(first) == 2
    nxt = link_params(r)["next"]
    r2 = c.get(f"/api/v1/notifications?limit=2&max_id={nxt['max_id'][0]}")
    second = [n["id"] for n in r2.json()]
    assert len(second) == 2 and not set(first) & set(second)
    prev = link_params(r2)["prev"]
    assert [n["id"] for n in c.get(f"/api/v1/notifications?limit=2&min_id={prev['min_id'][0]}").json()] == first
    r = c.get("/api/v1/notifications?limit=2&types[]=mention")
    assert link_params(r)["next"]["types[]"] == ["mention"]  # the Link keeps the filters


def test_filters_apply_in_the_notifications_context(world, tok, inbox, run_tasks):
    w = world
    filters.create_filter(w.alice, filters.FilterDraft(title="Quiet", context=["notifications"], action="hide",
                                                       keywords=[filters.KeywordDraft("agreed")]))
    filters.create_filter(w.alice, filters.FilterDraft(title="Hmm", context=["notifications"], action="warn",
                                                       keywords=[filters.KeywordDraft("hi")]))
    c = bearer(tok(w.alice))
    body = c.get("/api/v1/notifications").json()
    assert [n["type"] for n in body] == ["follow", "favourite", "reblog", "mention"]
    mention = body[-1]
    assert mention["status"]["id"] == str(inbox["mention"].pk)
    assert mention["status"]["filtered"][0]["filter"]["title"] == "Hmm"
    # A page whose only item (the reply, newest) was hidden is empty but still links onwards.
    r = c.get("/api/v1/notifications?types[]=mention&limit=1")
    assert r.json() == [] and "next" in link_params(r)
    r = c.get(f"/api/v1/notifications?types[]=mention&limit=1&max_id={link_params(r)['next']['max_id'][0]}")
    assert [n["status"]["id"] for n in r.json()] == [str(inbox["mention"].pk)]


def inbox_id(w, post) -> int:
    return Notification.objects.get(recipient=w.alice, post=post).pk


def test_one_notification_and_dismissing(world, tok, inbox):
    w = world
    c = bearer(tok(w.alice))
    n = c.get("/api/v1/notifications?types[]=follow").json()[0]
    r = c.get(f"/api/v1/notifications/{n['id']}")
    assert r.status_code == 200 and r.json()["type"] == "follow" and r.json()["id"] == n["id"]
    # Someone else's notification, or a missing one, is a 404 (and dismissing it changes nothing).
    other = bearer(tok(w.bob))
    assert other.get(f"/api/v1/notifications/{n['id']}").status_code == 404
    assert other.post(f"/api/v1/notifications/{n['id']}/dismiss").status_code == 404
    assert c.get("/api/v1/notifications/nope").status_code == 404
    assert Notification.objects.filter(pk=n["id"]).exists()
    assert c.post(f"/api/v1/notifications/{n['id']}/dismiss").json() == {}
    assert c.get(f"/api/v1/notifications/{n['id']}").status_code == 404
    assert c.post(f"/api/v1/notifications/{n['id']}/dismiss").status_code == 404
    assert len(c.get("/api/v1/notifications").json()) == 4
    assert c.post("/api/v1/notifications/clear").json() == {}
    assert c.get("/api/v1/notifications").json() == []
    assert Notification.objects.filter(recipient=w.bob).count() == Notification.objects.count()


def test_unread_count_follows_the_marker(world, tok, inbox):
    c = bearer(tok(world.alice))
    assert c.get("/api/v1/notifications/unread_count").json() == {"count": 5}
    assert c.get("/api/v1/notifications/unread_count?limit=2").json() == {"count": 2}
    assert c.get("/api/v1/notifications/unread_count?types[]=mention").json() == {"count": 2}
    assert c.get("/api/v1/notifications/unread_count?exclude_types[]=mention").json() == {"count": 3}
    ids = [n["id"] for n in c.get("/api/v1/notifications").json()]
    marker = json.dumps({"notifications": {"last_read_id": ids[2]}})
    assert c.post("/api/v1/markers", marker, content_type="application/json").status_code == 200
    assert c.get("/api/v1/notifications/unread_count").json() == {"count": 2}
    assert bearer(tok(world.bob)).get("/api/v1/notifications/unread_count").json() == {"count": 0}


def test_scopes_and_auth(world, tok, inbox):
    assert Client().get("/api/v1/notifications").status_code == 401
    assert Client().post("/api/v1/notifications/clear").status_code == 401
    read = bearer(tok(world.alice, "read:notifications"))
    assert read.get("/api/v1/notifications").status_code == 200
    assert read.get("/api/v1/notifications/unread_count").status_code == 200
    assert read.post("/api/v1/notifications/clear").status_code == 403
    n = read.get("/api/v1/notifications").json()[0]
    assert read.post(f"/api/v1/notifications/{n['id']}/dismiss").status_code == 403
    assert bearer(tok(world.alice, "write:notifications")).post("/api/v1/notifications/clear").status_code == 200
    assert bearer(tok(world.alice, "read:statuses")).get("/api/v1/notifications").status_code == 403
    assert Notification.objects.filter(recipient=world.alice).count() == 0


def test_entities_keep_every_field(world, tok, inbox):
    from rostra.api import schemas

    n = bearer(tok(world.alice)).get("/api/v1/notifications?types[]=mention").json()[0]
    assert set(n["account"]) >= set(schemas.Account.model_fields) - {"moved"}  # moved: only an account that moved has it
    assert set(n["status"]) >= set(schemas.Status.model_fields) - {"filtered", "pinned"}  # pinned: own posts only


def test_grouped_notifications(world, tok, inbox, run_tasks):
    w = world
    posts.like(w.carol, inbox["root"].pk)
    posts.like(w.dave, inbox["root"].pk)
    run_tasks()
    c = bearer(tok(w.alice))
    r = c.get("/api/v2/notifications")
    assert r.status_code == 200, r.content
    body = r.json()
    assert set(body) == {"accounts", "statuses", "notification_groups"}
    groups = body["notification_groups"]
    assert [g["type"] for g in groups] == ["favourite", "follow", "reblog", "mention", "mention"]
    likes = groups[0]
    assert likes["notifications_count"] == 3 and likes["status_id"] == str(inbox["root"].pk)
    assert likes["sample_account_ids"] == [str(w.dave.pk), str(w.carol.pk), str(w.bob.pk)]
    assert int(likes["page_min_id"]) < int(likes["page_max_id"]) == int(likes["most_recent_notification_id"])
    assert groups[3]["group_key"].startswith("ungrouped-") and groups[3]["notifications_count"] == 1
    assert {a["id"] for a in body["accounts"]} == {str(w.bob.pk), str(w.carol.pk), str(w.dave.pk)}
    assert sorted(s["id"] for s in body["statuses"]) == sorted({str(inbox["root"].pk), str(inbox["mention"].pk), str(inbox["reply"].pk)})
    # grouped_types narrows what is grouped; paging works on notifications, with a Link header.
    only_follows = c.get("/api/v2/notifications?grouped_types[]=follow").json()["notification_groups"]
    assert [g["type"] for g in only_follows][:4] == ["favourite", "favourite", "follow", "favourite"]
    r = c.get("/api/v2/notifications?limit=2")
    assert r.json()["notification_groups"][0]["notifications_count"] == 2 and "next" in link_params(r)
    assert Client().get("/api/v2/notifications").status_code == 401
    assert bearer(tok(w.alice, "read:statuses")).get("/api/v2/notifications").status_code == 403


def test_a_page_costs_a_fixed_number_of_queries(world, tok, inbox, run_tasks):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    c = bearer(tok(world.alice))
    c.get("/api/v1/notifications")
    with CaptureQueriesContext(connection) as few:
        c.get("/api/v1/notifications")
    for i in range(4):
        make_post(world.bob, f"@alice ping {i}")
    run_tasks()
    with CaptureQueriesContext(connection) as many:
        assert len(c.get("/api/v1/notifications").json()) == 9
    assert len(many.captured_queries) == len(few.captured_queries)
