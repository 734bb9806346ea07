"""Mastodon 4.3's grouped notifications: one group, its accounts, dismissing it, the grouped
unread count, ``expand_accounts`` and ``include_filtered``."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from rostra.accounts import actions as accounts
from rostra.notifications import queries as notification_queries
from rostra.notifications.models import Notification
from rostra.posts import actions as posts
from rostra.testing.world import make_post
from tests.api.conftest import bearer, link_params

SPAN = notification_queries.GROUP_SPAN


@pytest.fixture(autouse=True)
def _quiet(world):
    Notification.objects.all().delete()  # building the world's follows told people things already


def _settle() -> int:
    """Put every notification inside one 12-hour window (a second apart, in id order), so a
    test never straddles a window's edge; answers the window."""
    window = int(datetime.now(UTC).timestamp()) // SPAN - 1
    start = datetime.fromtimestamp(window * SPAN, tz=UTC) + timedelta(hours=1)
    for i, pk in enumerate(Notification.objects.order_by("id").values_list("pk", flat=True)):
        Notification.objects.filter(pk=pk).update(created_at=start + timedelta(seconds=i))
    return window


@pytest.fixture
def inbox(world, run_tasks):
    """alice's post is liked by bob, carol and dave and reposted by bob; dave mentions her, then
    dave (again) and carol follow her."""
    w = world
    root = make_post(w.alice, "root post")
    posts.like(w.bob, root.pk)
    posts.like(w.carol, root.pk)
    posts.like(w.dave, root.pk)
    posts.repost(w.bob, root.pk)
    mention = make_post(w.dave, "hi @alice")
    accounts.unfollow(w.dave, w.alice)
    accounts.follow(w.dave, w.alice)
    accounts.follow(w.carol, w.alice)
    run_tasks()
    window = _settle()
    return {"root": root, "mention": mention, "window": window}


def groups_of(c: Client, query: str = "") -> list[dict]:
    r = c.get(f"/api/v2/notifications{query}")
    assert r.status_code == 200, r.content
    return r.json()["notification_groups"]


def test_keys_are_stable_and_derivable(world, tok, inbox):
    c = bearer(tok(world.alice))
    groups = groups_of(c)
    keys = [g["group_key"] for g in groups]
    root, window = inbox["root"].pk, inbox["window"]
    assert f"favourite-{root}-{window}" in keys and f"reblog-{root}-{window}" in keys and f"follow-{window}" in keys
    mention = next(g for g in groups if g["type"] == "mention")
    assert mention["group_key"] == f"ungrouped-{mention['most_recent_notification_id']}"
    # v1 notifications carry the same keys (clients merge streamed notifications into groups by them).
    v1 = c.get("/api/v1/notifications?types[]=favourite").json()
    assert {n["group_key"] for n in v1} == {f"favourite-{root}-{window}"}
    # The same rows give the same keys on a smaller page (the key never depends on the page).
    assert {g["group_key"] for g in groups_of(c, "?limit=2")} <= set(keys)


def test_one_group(world, tok, inbox):
    w = world
    c = bearer(tok(w.alice))
    key = f"favourite-{inbox['root'].pk}-{inbox['window']}"
    r = c.get(f"/api/v2/notifications/{key}")
    assert r.status_code == 200, r.content
    body = r.json()
    [group] = body["notification_groups"]
    assert group["group_key"] == key and group["type"] == "favourite" and group["notifications_count"] == 3
    assert group["sample_account_ids"] == [str(w.dave.pk), str(w.carol.pk), str(w.bob.pk)]
    assert group["status_id"] == str(inbox["root"].pk)
    assert "page_min_id" not in group and "latest_page_notification_at" not in group  # not a page
    assert {a["id"] for a in body["accounts"]} == {str(w.bob.pk), str(w.carol.pk), str(w.dave.pk)}
    assert [s["id"] for s in body["statuses"]] == [str(inbox["root"].pk)]
    assert "partial_accounts" not in body
    # The whole group, not one page of it: a page of one notification shows one follow of two.
    listed = groups_of(c, "?limit=1")[0]
    assert listed["group_key"] == f"follow-{inbox['window']}" and listed["notifications_count"] == 1
    whole = c.get(f"/api/v2/notifications/{listed['group_key']}").json()["notification_groups"][0]
    assert whole["notifications_count"] == 2 and whole["sample_account_ids"] == [str(w.carol.pk), str(w.dave.pk)]
    # An ungrouped one, by its key.
    mention = next(g for g in groups_of(c) if g["type"] == "mention")
    r = c.get(f"/api/v2/notifications/{mention['group_key']}").json()
    assert r["notification_groups"][0]["notifications_count"] == 1 and r["statuses"][0]["id"] == str(inbox["mention"].pk)


def test_missing_malformed_and_other_peoples_groups(world, tok, inbox):
    w = world
    c = bearer(tok(w.alice))
    key = f"favourite-{inbox['root'].pk}-{inbox['window']}"
    for bad in ("nope", "favourite-1", "favourite-x-1", f"favourite-{inbox['root'].pk}-{inbox['window'] + 5}",
                "ungrouped-99999999999999999999", "mention-1-1", "ungrouped-0"):
        assert c.get(f"/api/v2/notifications/{bad}").status_code == 404, bad
        assert c.get(f"/api/v2/notifications/{bad}/accounts").status_code == 404, bad
        assert c.post(f"/api/v2/notifications/{bad}/dismiss").status_code == 404, bad
    other = bearer(tok(w.bob))
    assert other.get(f"/api/v2/notifications/{key}").status_code == 404
    assert other.get(f"/api/v2/notifications/{key}/accounts").status_code == 404
    assert other.post(f"/api/v2/notifications/{key}/dismiss").status_code == 404
    assert Notification.objects.filter(recipient=w.alice, kind="favourite").count() == 3
    assert c.get(f"/api/v2/notifications/{key}").json()["notification_groups"][0]["notifications_count"] == 3


def test_group_accounts_paginate(world, tok, inbox):
    w = world
    c = bearer(tok(w.alice))
    key = f"favourite-{inbox['root'].pk}-{inbox['window']}"
    r = c.get(f"/api/v2/notifications/{key}/accounts")
    assert r.status_code == 200, r.content
    assert [a["id"] for a in r.json()] == [str(w.dave.pk), str(w.carol.pk), str(w.bob.pk)]
    assert r.json()[0]["acct"] == w.dave.username
    r = c.get(f"/api/v2/notifications/{key}/accounts?limit=2")
    assert [a["id"] for a in r.json()] == [str(w.dave.pk), str(w.carol.pk)]
    nxt = link_params(r)["next"]
    assert nxt["path"] == [f"/api/v2/notifications/{key}/accounts"]
    r = c.get(f"/api/v2/notifications/{key}/accounts?limit=2&max_id={nxt['max_id'][0]}")
    assert [a["id"] for a in r.json()] == [str(w.bob.pk)]


def test_dismissing_a_group_dismisses_all_of_it(world, tok, inbox):
    w = world
    c = bearer(tok(w.alice))
    key = f"favourite-{inbox['root'].pk}-{inbox['window']}"
    before = Notification.objects.filter(recipient=w.alice).count()
    r = c.post(f"/api/v2/notifications/{key}/dismiss")
    assert r.status_code == 200 and r.json() == {}
    assert not Notification.objects.filter(recipient=w.alice, kind="favourite").exists()
    assert Notification.objects.filter(recipient=w.alice).count() == before - 3
    assert key not in {g["group_key"] for g in groups_of(c)}
    assert c.get(f"/api/v2/notifications/{key}").status_code == 404
    assert c.post(f"/api/v2/notifications/{key}/dismiss").status_code == 404
    # Dismissing an ungrouped one takes just that one; JSON and form bodies are both fine (there are no parameters).
    mention = next(g for g in groups_of(c) if g["type"] == "mention")
    assert c.post(f"/api/v2/notifications/{mention['group_key']}/dismiss", "{}", content_type="application/json").status_code == 200
    assert Notification.objects.filter(recipient=w.alice).count() == before - 4


def test_grouped_types_decide_the_keys_the_group_endpoints_take(world, tok, inbox):
    c = bearer(tok(world.alice))
    groups = groups_of(c, "?grouped_types[]=follow")
    likes = [g for g in groups if g["type"] == "favourite"]
    assert len(likes) == 3 and all(g["group_key"].startswith("ungrouped-") for g in likes)
    r = c.get(f"/api/v2/notifications/{likes[0]['group_key']}").json()
    assert r["notification_groups"][0]["notifications_count"] == 1
    assert [g["type"] for g in groups_of(c, "?grouped_types[]=nonsense")].count("favourite") == 3


def test_unread_count_counts_groups_since_the_marker(world, tok, inbox):
    c = bearer(tok(world.alice))
    # favourite group, reblog, mention, follow group (dave, carol)
    assert c.get("/api/v2/notifications/unread_count").json() == {"count": 4}
    assert c.get("/api/v1/notifications/unread_count").json() == {"count": 7}
    assert c.get("/api/v2/notifications/unread_count?limit=2").json() == {"count": 2}
    assert c.get("/api/v2/notifications/unread_count?limit=0").json() == {"count": 1}  # clamped to 1..1000
    assert c.get("/api/v2/notifications/unread_count?grouped_types[]=follow").json() == {"count": 6}
    assert c.get("/api/v2/notifications/unread_count?types[]=favourite").json() == {"count": 1}
    assert c.get("/api/v2/notifications/unread_count?exclude_types[]=favourite").json() == {"count": 3}
    assert c.get(f"/api/v2/notifications/unread_count?account_id={world.bob.pk}").json() == {"count": 2}
    ids = [n["id"] for n in c.get("/api/v1/notifications").json()]  # newest first: follow, follow, mention, reblog, ...
    marker = json.dumps({"notifications": {"last_read_id": ids[2]}})
    assert c.post("/api/v1/markers", marker, content_type="application/json").status_code == 200
    assert c.get("/api/v2/notifications/unread_count").json() == {"count": 1}  # the two follows are one group
    assert bearer(tok(world.bob)).get("/api/v2/notifications/unread_count").json() == {"count": 0}


def test_expand_accounts_partial_avatars(world, tok, inbox):
    w = world
    c = bearer(tok(w.alice))
    full = c.get("/api/v2/notifications?expand_accounts=full").json()
    assert "partial_accounts" not in full and len(full["accounts"]) == 3
    body = c.get("/api/v2/notifications?expand_accounts=partial_avatars").json()
    newest = {g["sample_account_ids"][0] for g in body["notification_groups"]}
    assert {a["id"] for a in body["accounts"]} == newest
    every = {aid for g in body["notification_groups"] for aid in g["sample_account_ids"]}
    assert {a["id"] for a in body["partial_accounts"]} == every - newest
    for a in body["partial_accounts"]:
        assert set(a) == {"id", "acct", "locked", "bot", "url", "avatar", "avatar_static"}
    key = f"favourite-{inbox['root'].pk}-{inbox['window']}"
    one = c.get(f"/api/v2/notifications/{key}?expand_accounts=partial_avatars").json()
    assert [a["id"] for a in one["accounts"]] == [str(w.dave.pk)]
    assert [a["id"] for a in one["partial_accounts"]] == [str(w.carol.pk), str(w.bob.pk)]


def test_include_filtered_is_accepted(world, tok, inbox):
    c = bearer(tok(world.alice))
    assert groups_of(c, "?include_filtered=true") == groups_of(c) == groups_of(c, "?include_filtered=false")


def test_scopes_and_auth(world, tok, inbox):
    key = f"favourite-{inbox['root'].pk}-{inbox['window']}"
    anon = Client()
    assert anon.get(f"/api/v2/notifications/{key}").status_code == 401
    assert anon.get(f"/api/v2/notifications/{key}/accounts").status_code == 401
    assert anon.post(f"/api/v2/notifications/{key}/dismiss").status_code == 401
    assert anon.get("/api/v2/notifications/unread_count").status_code == 401
    read = bearer(tok(world.alice, "read:notifications"))
    assert read.get(f"/api/v2/notifications/{key}").status_code == 200
    assert read.get(f"/api/v2/notifications/{key}/accounts").status_code == 200
    assert read.get("/api/v2/notifications/unread_count").status_code == 200
    assert read.post(f"/api/v2/notifications/{key}/dismiss").status_code == 403
    other = bearer(tok(world.alice, "read:statuses write:statuses"))
    assert other.get(f"/api/v2/notifications/{key}").status_code == 403
    assert other.get("/api/v2/notifications/unread_count").status_code == 403
    assert other.post(f"/api/v2/notifications/{key}/dismiss").status_code == 403
    assert Notification.objects.filter(recipient=world.alice, kind="favourite").count() == 3
    write = bearer(tok(world.alice, "write:notifications"))
    assert write.post(f"/api/v2/notifications/{key}/dismiss").status_code == 200
    assert Notification.objects.filter(recipient=world.alice, kind="favourite").count() == 0


def test_the_group_key_comes_from_one_function(world, inbox):
    from rostra.api.endpoints import notifications as endpoint

    assert not hasattr(endpoint, "group_key") or endpoint.group_key is notification_queries.group_key
    n = Notification.objects.filter(kind="follow").first()
    assert notification_queries.group_key(n) == f"follow-{inbox['window']}"
    assert notification_queries.group_key(n, ()) == f"ungrouped-{n.pk}"
