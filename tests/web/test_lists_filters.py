"""The web UI for lists and filters: forms that work without JavaScript, and only for the owner."""

from __future__ import annotations

from rostra.testing.world import make_post
from rostra.timelines import filters, lists
from rostra.timelines.models import Filter, List, ListMember


def test_lists_need_an_account(client_for, world):
    response = client_for(None).get("/lists")
    assert response.status_code in (302, 303) and "/login" in response["Location"]


def test_create_rename_and_delete_a_list(client_for, world):
    c = client_for(world.bob)
    assert c.get("/lists").status_code == 200
    response = c.post("/lists", {"title": "Friends", "replies_policy": "none", "exclusive": "on"})
    lst = List.objects.get(owner=world.bob)
    assert response["Location"] == f"/lists/{lst.pk}"
    assert (lst.title, lst.replies_policy, lst.exclusive) == ("Friends", "none", True)
    assert b"Friends" in c.get("/lists").content
    c.post(f"/lists/{lst.pk}/edit", {"title": "Pals", "replies_policy": "list"})
    lst.refresh_from_db()
    assert (lst.title, lst.replies_policy, lst.exclusive) == ("Pals", "list", False)
    c.post(f"/lists/{lst.pk}/edit", {"title": "", "replies_policy": "list"})  # refused, shown as a message
    lst.refresh_from_db()
    assert lst.title == "Pals"
    assert c.post(f"/lists/{lst.pk}/delete").status_code == 302
    assert not List.objects.exists()


def test_an_invalid_list_is_refused(client_for, world):
    response = client_for(world.bob).post("/lists", {"title": "  "})
    assert response.status_code == 400 and b"needs a title" in response.content
    assert not List.objects.exists()


def test_manage_members_and_read_the_list(client_for, world):
    c = client_for(world.bob)
    lst = lists.create_list(world.bob, lists.ListDraft(title="Friends"))
    page = c.get(f"/lists/{lst.pk}")
    assert page.status_code == 200 and b"@alice" in page.content and b"@carol" in page.content
    c.post(f"/lists/{lst.pk}/members", {"account_id": world.alice.pk})
    assert ListMember.objects.filter(list=lst, account=world.alice).exists()
    post = make_post(world.alice, "a post for the list")
    make_post(world.carol, "carol is not in the list")
    page = c.get(f"/lists/{lst.pk}")
    assert b"a post for the list" in page.content and b"carol is not in the list" not in page.content
    # Someone bob does not follow cannot be added: the page says why (an unknown account is a 404).
    refused = c.post(f"/lists/{lst.pk}/members", {"account_id": world.eve.pk})
    assert refused.status_code == 400 and b"follow" in refused.content
    assert c.post(f"/lists/{lst.pk}/members", {"account_id": "12345"}).status_code == 404
    c.post(f"/lists/{lst.pk}/members", {"account_id": world.alice.pk, "action": "remove"})
    assert not ListMember.objects.filter(list=lst).exists()
    assert post.pk


def test_someone_elses_list_is_not_found(client_for, world):
    lst = lists.create_list(world.bob, lists.ListDraft(title="Secret"))
    c = client_for(world.alice)
    assert c.get(f"/lists/{lst.pk}").status_code == 404
    assert c.post(f"/lists/{lst.pk}/edit", {"title": "Mine"}).status_code == 404
    assert c.post(f"/lists/{lst.pk}/delete").status_code == 404
    assert c.post(f"/lists/{lst.pk}/members", {"account_id": world.bob.pk}).status_code == 404
    assert c.get("/lists/not-an-id").status_code == 404
    lst.refresh_from_db()
    assert lst.title == "Secret"


def test_create_edit_and_delete_a_filter(client_for, world):
    c = client_for(world.bob)
    assert c.get("/settings/filters").status_code == 200
    response = c.post("/settings/filters", {
        "title": "Spoilers", "context": ["home", "public"], "keywords": "finale\n\n  ending  \n",
        "whole_word": "on", "action": "hide", "expires_in": "3600",
    })
    assert response.status_code == 302
    f = Filter.objects.get(account=world.bob)
    assert (f.title, f.context, f.action) == ("Spoilers", ["home", "public"], "hide")
    assert f.expires_at is not None
    assert sorted((k.keyword, k.whole_word) for k in f.keywords.all()) == [("ending", True), ("finale", True)]
    kept = f.keywords.get(keyword="finale").pk
    page = c.get(f"/settings/filters/{f.pk}")
    assert page.status_code == 200 and b"finale" in page.content
    c.post(f"/settings/filters/{f.pk}", {"title": "Shows", "context": ["thread"], "keywords": "finale\nplot twist", "action": "warn", "expires_in": "keep"})
    f.refresh_from_db()
    assert (f.title, f.context, f.action) == ("Shows", ["thread"], "warn") and f.expires_at is not None
    assert sorted(k.keyword for k in f.keywords.all()) == ["finale", "plot twist"]
    assert f.keywords.filter(pk=kept).exists()  # unchanged keywords keep their ids
    c.post(f"/settings/filters/{f.pk}", {"title": "Shows", "context": ["thread"], "keywords": "finale", "action": "warn", "expires_in": ""})
    f.refresh_from_db()
    assert f.expires_at is None
    assert c.post(f"/settings/filters/{f.pk}/delete").status_code == 302
    assert not Filter.objects.exists()


def test_an_invalid_filter_is_refused(client_for, world):
    c = client_for(world.bob)
    response = c.post("/settings/filters", {"title": "No context", "keywords": "x", "action": "warn"})
    assert response.status_code == 400 and b"at least one context" in response.content
    response = c.post("/settings/filters", {"title": "Bad", "context": ["everywhere"], "action": "warn"})
    assert response.status_code == 400
    assert not Filter.objects.exists()


def test_someone_elses_filter_is_not_found(client_for, world):
    f = filters.create_filter(world.bob, filters.FilterDraft(title="Mine", context=["home"]))
    c = client_for(world.alice)
    assert c.get(f"/settings/filters/{f.pk}").status_code == 404
    assert c.post(f"/settings/filters/{f.pk}", {"title": "x", "context": ["home"], "action": "warn"}).status_code == 404
    assert c.post(f"/settings/filters/{f.pk}/delete").status_code == 404
    assert Filter.objects.filter(pk=f.pk, title="Mine").exists()
    assert b"Mine" not in c.get("/settings/filters").content


def test_filters_hide_and_warn_on_the_web_timelines(world, client_for, run_tasks):
    spoiler = make_post(world.alice, "The finale: the butler did it")
    ordinary = make_post(world.alice, "Tea is ready")
    fried = make_post(world.alice, "Deep fried mars bars for tea")
    run_tasks()
    filters.create_filter(world.bob, filters.FilterDraft(title="Spoilers", context=["home", "public"], action="hide",
                                                         keywords=[filters.KeywordDraft(keyword="finale")]))
    filters.create_filter(world.bob, filters.FilterDraft(title="Food", context=["home"], action="warn",
                                                         keywords=[filters.KeywordDraft(keyword="fried")]))
    bob = client_for(world.bob)
    home = bob.get("/home").content.decode()
    assert "the butler did it" not in home and "Tea is ready" in home
    assert "Filtered: Food" in home and "Deep fried mars bars" in home  # collapsed, still there
    local = bob.get("/local").content.decode()
    assert "the butler did it" not in local and "Filtered: Food" not in local  # "Food" is for home only
    # other people's timelines are untouched
    assert "the butler did it" in client_for(world.dave).get("/home").content.decode()
    assert spoiler.pk and ordinary.pk and fried.pk
