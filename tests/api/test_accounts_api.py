"""The accounts part of the client API: registration, profiles, statuses, the social graph,
relationships, search, follow requests, blocks, mutes, bookmarks, favourites, preferences, suggestions."""

from __future__ import annotations

import io
import time
from typing import Any

import pytest
from django.test import Client
from PIL import Image

from rostra.accounts import actions as accounts
from rostra.accounts.models import Account, Follow, FollowRequest, Mute, User
from rostra.posts.models import Bookmark, Like, Pin
from rostra.testing.world import make_account, make_post
from rostra.timelines import lists
from tests.api.conftest import bearer


def _tick() -> None:
    """Ids are time-ordered to the millisecond (random within one): keep created rows apart."""
    time.sleep(0.003)


def _png(size: tuple[int, int] = (8, 8)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 10, 10)).save(buf, format="PNG")
    return buf.getvalue()


def _ids(body: list[dict[str, Any]]) -> list[str]:
    return [x["id"] for x in body]


def _links(header: str) -> dict[str, str]:
    out = {}
    for part in header.split(","):
        url, rel = part.split(";")
        out[rel.strip().split("=")[1].strip('"')] = url.strip().strip("<>")
    return out


def _app_token(register: Any, scopes: str = "read write follow") -> tuple[Any, str]:
    app = register(scopes=scopes)
    r = Client().post(
        "/oauth/token", {"grant_type": "client_credentials", "client_id": app.client_id, "client_secret": app.client_secret, "scope": scopes}
    )
    assert r.status_code == 200, r.content
    return app, r.json()["access_token"]


# --- Registration ------------------------------------------------------------------------------


def test_register_answers_a_working_user_token(db, register):
    _app, token = _app_token(register)
    r = bearer(token).post(
        "/api/v1/accounts", {"username": "newbie", "email": "newbie@example.org", "password": "a-long-secret-phrase-1", "agreement": "true", "locale": "en"}
    )
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["token_type"] == "Bearer" and body["access_token"] and isinstance(body["created_at"], int)
    me = bearer(body["access_token"]).get("/api/v1/accounts/verify_credentials")
    assert me.status_code == 200 and me.json()["username"] == "newbie"


def test_register_leaves_no_account_when_no_token_can_be_issued(db, register):
    """The person and their token are one transaction: an app whose stored scopes cannot be
    issued (a scope this server no longer knows) gets an error and leaves no half-made account."""
    from rostra.api.models import Application

    app, token = _app_token(register)
    Application.objects.filter(client_id=app.client_id).update(scopes="read write retired:scope")
    r = bearer(token).post(
        "/api/v1/accounts", {"username": "halfway", "email": "halfway@example.org", "password": "a-long-secret-phrase-1", "agreement": "true"}
    )
    assert r.status_code == 400, r.content
    assert r.json()["error"].startswith("No account was created") and "retired:scope" in r.json()["error"]
    assert not User.objects.filter(username="halfway").exists() and not Account.objects.filter(username="halfway").exists()


def test_register_json_body(db, register):
    _app, token = _app_token(register)
    r = bearer(token).post(
        "/api/v1/accounts",
        {"username": "jsonny", "email": "j@example.org", "password": "a-long-secret-phrase-1", "agreement": True, "locale": "en"},
        content_type="application/json",
    )
    assert r.status_code == 200, r.content


def test_register_validation_errors_in_mastodons_shape(world, register):
    _app, token = _app_token(register)
    r = bearer(token).post("/api/v1/accounts", {"username": "alice", "email": "alice@example.org", "password": "a-long-secret-phrase-1", "agreement": "true", "locale": "en"})
    assert r.status_code == 422
    body = r.json()
    assert body["error"].startswith("Validation failed: ")
    assert body["details"]["username"][0]["error"] == "ERR_TAKEN"
    assert body["details"]["email"][0]["error"] == "ERR_TAKEN"
    assert not User.objects.filter(username="alice").exclude(pk=world.alice.user_id).exists()


def test_register_needs_agreement_and_fields(db, register):
    _app, token = _app_token(register)
    r = bearer(token).post("/api/v1/accounts", {"username": "x1", "email": "", "password": "a-long-secret-phrase-1", "locale": "en"})
    assert r.status_code == 422
    details = r.json()["details"]
    assert details["agreement"][0]["error"] == "ERR_ACCEPTED"
    assert details["email"][0]["error"] == "ERR_BLANK"
    assert not User.objects.filter(username="x1").exists()


def test_register_short_password(db, register):
    _app, token = _app_token(register)
    r = bearer(token).post("/api/v1/accounts", {"username": "x2", "email": "x2@example.org", "password": "abc", "agreement": "1", "locale": "en"})
    assert r.status_code == 422 and "password" in r.json()["details"]
    assert not User.objects.filter(username="x2").exists()


def test_register_closed(db, register, settings):
    import dataclasses

    settings.ROSTRA = dataclasses.replace(settings.ROSTRA, registrations="closed")
    _app, token = _app_token(register)
    r = bearer(token).post("/api/v1/accounts", {"username": "x3", "email": "x3@example.org", "password": "a-long-secret-phrase-1", "agreement": "true", "locale": "en"})
    assert r.status_code == 403 and not User.objects.filter(username="x3").exists()


def test_register_scopes_and_auth(world, register, password_token):
    _app, token = _app_token(register, scopes="read")
    data = {"username": "x4", "email": "x4@example.org", "password": "a-long-secret-phrase-1", "agreement": "true", "locale": "en"}
    assert bearer(token).post("/api/v1/accounts", data).status_code == 403
    assert Client().post("/api/v1/accounts", data).status_code == 401
    assert bearer(password_token(world.alice)).post("/api/v1/accounts", data).status_code == 403  # already a person
    assert not User.objects.filter(username="x4").exists()


# --- update_credentials ---------------------------------------------------------------------------


def test_update_credentials_form(world, password_token):
    c = bearer(password_token(world.alice, scope="write:accounts"))
    body = {
        "display_name": "Alice L.",
        "note": "Down the *rabbit* hole",
        "locked": "true",
        "bot": "false",
        "discoverable": "0",
        "fields_attributes[0][name]": "Site",
        "fields_attributes[0][value]": "https://alice.example",
        "fields_attributes[1][name]": "Pronouns",
        "fields_attributes[1][value]": "she/her",
        "source[privacy]": "private",
        "source[sensitive]": "true",
        "source[language]": "en",
    }
    from django.test.client import encode_multipart

    r = c.patch("/api/v1/accounts/update_credentials", encode_multipart("BoUnDaRy", body), content_type="multipart/form-data; boundary=BoUnDaRy")
    assert r.status_code == 200, r.content
    out = r.json()
    assert out["display_name"] == "Alice L." and out["locked"] is True and out["discoverable"] is False
    assert out["source"]["note"] == "Down the *rabbit* hole"
    assert [f["name"] for f in out["source"]["fields"]] == ["Site", "Pronouns"]
    assert out["source"]["privacy"] == "private" and out["source"]["sensitive"] is True
    user = User.objects.get(pk=world.alice.user_id)
    assert user.default_visibility == "private" and user.default_sensitive is True


def test_update_credentials_urlencoded_and_json(world, password_token):
    c = bearer(password_token(world.bob, scope="write"))
    r = c.patch("/api/v1/accounts/update_credentials", "display_name=Bobby&bot=1", content_type="application/x-www-form-urlencoded")
    assert r.status_code == 200 and r.json()["display_name"] == "Bobby" and r.json()["bot"] is True
    r = c.patch(
        "/api/v1/accounts/update_credentials",
        {"note": "hi", "fields_attributes": [{"name": "a", "value": "b"}], "source": {"privacy": "unlisted"}},
        content_type="application/json",
    )
    assert r.status_code == 200, r.content
    assert r.json()["source"]["fields"][0]["name"] == "a" and r.json()["source"]["privacy"] == "unlisted"
    r = c.patch("/api/v1/accounts/update_credentials", {"fields_attributes": {"0": {"name": "x", "value": "y"}}}, content_type="application/json")
    assert r.json()["source"]["fields"] == [{"name": "x", "value": "y", "verified_at": None}]


def test_update_credentials_avatar_and_header(world, password_token):
    c = bearer(password_token(world.alice))
    avatar = io.BytesIO(_png())
    avatar.name = "a.png"
    header = io.BytesIO(_png((30, 10)))
    header.name = "h.png"
    r = c.patch("/api/v1/accounts/update_credentials", _multipart({"avatar": avatar, "header": header}), content_type=MULTIPART)
    assert r.status_code == 200, r.content
    world.alice.refresh_from_db()
    assert world.alice.avatar and world.alice.header
    assert r.json()["avatar"].endswith(world.alice.avatar)


MULTIPART = "multipart/form-data; boundary=BoUnDaRy"


def _multipart(data: dict[str, Any]) -> bytes:
    from django.test.client import encode_multipart

    return encode_multipart("BoUnDaRy", data)


def test_update_credentials_bad_image_writes_nothing(world, password_token):
    c = bearer(password_token(world.alice))
    bad = io.BytesIO(b"not an image at all")
    bad.name = "a.png"
    r = c.patch("/api/v1/accounts/update_credentials", _multipart({"display_name": "Changed", "avatar": bad}), content_type=MULTIPART)
    assert r.status_code == 422
    world.alice.refresh_from_db()
    assert world.alice.display_name == "Alice Liddell" and world.alice.avatar == ""


def test_update_credentials_bad_input(world, password_token):
    c = bearer(password_token(world.alice))
    r = c.patch("/api/v1/accounts/update_credentials", {"display_name": "x" * 200}, content_type="application/json")
    assert r.status_code == 422 and "error" in r.json()
    r = c.patch("/api/v1/accounts/update_credentials", {"display_name": "New", "source": {"privacy": "everyone"}}, content_type="application/json")
    assert r.status_code == 422
    r = c.patch("/api/v1/accounts/update_credentials", {"locked": "maybe"}, content_type="application/json")
    assert r.status_code == 422
    world.alice.refresh_from_db()
    assert world.alice.display_name == "Alice Liddell" and world.alice.locked is False


def test_update_credentials_scopes(world, password_token):
    assert bearer(password_token(world.alice, scope="read")).patch("/api/v1/accounts/update_credentials", {}, content_type="application/json").status_code == 403
    assert Client().patch("/api/v1/accounts/update_credentials", {}, content_type="application/json").status_code == 401


# --- Reading accounts ------------------------------------------------------------------------------


def test_get_lookup_and_many(world, password_token):
    anon = Client()
    r = anon.get(f"/api/v1/accounts/{world.alice.pk}")
    assert r.status_code == 200 and r.json()["username"] == "alice"
    assert anon.get("/api/v1/accounts/lookup", {"acct": "@Alice"}).json()["id"] == str(world.alice.pk)
    from django.conf import settings

    assert anon.get("/api/v1/accounts/lookup", {"acct": f"alice@{settings.ROSTRA.domain}"}).status_code == 200
    assert anon.get("/api/v1/accounts/lookup", {"acct": "alice@elsewhere.example"}).status_code == 404
    assert anon.get("/api/v1/accounts/lookup", {"acct": "nobody"}).status_code == 404
    assert anon.get("/api/v1/accounts/999999").status_code == 404
    assert anon.get("/api/v1/accounts/abc").status_code == 404
    r = anon.get(f"/api/v1/accounts?id[]={world.bob.pk}&id[]={world.alice.pk}&id[]=nope")
    assert _ids(r.json()) == [str(world.bob.pk), str(world.alice.pk)]


def test_suspended_account_is_not_found(world, password_token):
    Account.objects.filter(pk=world.dave.pk).update(suspended_at="2026-01-01T00:00:00Z")
    c = bearer(password_token(world.alice))
    assert c.get(f"/api/v1/accounts/{world.dave.pk}").status_code == 404
    assert c.get("/api/v1/accounts/lookup", {"acct": "dave"}).status_code == 404
    assert c.get(f"/api/v1/accounts/{world.dave.pk}/statuses").status_code == 404
    assert c.post(f"/api/v1/accounts/{world.dave.pk}/follow").status_code == 404
    assert c.get(f"/api/v1/accounts?id[]={world.dave.pk}").json() == []


def test_bad_token_is_401_even_on_public_reads(world):
    assert bearer("nope").get(f"/api/v1/accounts/{world.alice.pk}").status_code == 401


# --- Statuses -----------------------------------------------------------------------------------------


def test_account_statuses_filters(world, password_token):
    first = make_post(world.alice, "first #tea")
    reply_self = make_post(world.alice, "self reply", in_reply_to_id=first.pk)
    other = make_post(world.bob, "bob's post")
    reply_other = make_post(world.alice, "@bob hello", in_reply_to_id=other.pk)
    from rostra.posts import actions as post_actions

    repost = post_actions.repost(world.alice, other.pk)
    c = bearer(password_token(world.bob, scope="read"))
    url = f"/api/v1/accounts/{world.alice.pk}/statuses"
    all_ids = _ids(c.get(url).json())
    assert str(reply_other.pk) in all_ids and str(first.pk) in all_ids and str(repost.pk) in all_ids
    no_replies = _ids(c.get(url, {"exclude_replies": "true"}).json())
    assert str(reply_other.pk) not in no_replies and str(reply_self.pk) in no_replies
    no_reblogs = _ids(c.get(url, {"exclude_reblogs": "1"}).json())
    assert str(repost.pk) not in no_reblogs
    assert _ids(c.get(url, {"tagged": "tea"}).json()) == [str(first.pk)]
    assert c.get(url, {"only_media": "true"}).json() == []


def test_account_statuses_pagination_and_link(world):
    posts = []
    for i in range(5):
        _tick()
        posts.append(make_post(world.alice, f"post {i}"))
    r = Client().get(f"/api/v1/accounts/{world.alice.pk}/statuses", {"limit": 2})
    assert _ids(r.json()) == [str(posts[4].pk), str(posts[3].pk)]
    nxt = _links(r["Link"])["next"]
    r2 = Client().get(nxt.split("/api/", 1)[1].join(["/api/", ""]))
    assert _ids(r2.json()) == [str(posts[2].pk), str(posts[1].pk)]


def test_account_statuses_pinned(world, password_token):
    a = make_post(world.alice, "pin me")
    make_post(world.alice, "not pinned")
    Pin.objects.create(account=world.alice, post=a)
    body = Client().get(f"/api/v1/accounts/{world.alice.pk}/statuses", {"pinned": "true"}).json()
    assert _ids(body) == [str(a.pk)]
    mine = bearer(password_token(world.alice)).get(f"/api/v1/accounts/{world.alice.pk}/statuses", {"pinned": "true"}).json()
    assert mine[0]["pinned"] is True


def test_blocked_by_author_hides_statuses(world, password_token):
    make_post(world.alice, "not for eve")
    c = bearer(password_token(world.eve))
    assert c.get(f"/api/v1/accounts/{world.alice.pk}").status_code == 200
    assert c.get(f"/api/v1/accounts/{world.alice.pk}/statuses").json() == []


def test_followers_only_posts_need_following(world, password_token):
    p = make_post(world.carol, "followers only", visibility="private")
    assert Client().get(f"/api/v1/accounts/{world.carol.pk}/statuses").json() == []
    bob = bearer(password_token(world.bob)).get(f"/api/v1/accounts/{world.carol.pk}/statuses").json()
    assert _ids(bob) == [str(p.pk)]


# --- Followers, following ---------------------------------------------------------------------------


def test_followers_and_following_paginate(world):
    fans = [make_account(f"fan{i}") for i in range(3)]
    for f in fans:
        _tick()
        accounts.follow(f, world.alice)
    r = Client().get(f"/api/v1/accounts/{world.alice.pk}/followers", {"limit": 2})
    assert [a["username"] for a in r.json()] == ["fan2", "fan1"]
    nxt = _links(r["Link"])["next"]
    rest = Client().get("/api/" + nxt.split("/api/", 1)[1]).json()
    assert [a["username"] for a in rest] == ["fan0", "dave", "bob"][: len(rest)]
    following = Client().get(f"/api/v1/accounts/{world.bob.pk}/following").json()
    assert {a["username"] for a in following} == {"alice", "carol"}


# --- Follow, unfollow, block, mute ---------------------------------------------------------------------


def test_follow_and_unfollow(world, password_token):
    c = bearer(password_token(world.eve, scope="follow"))
    r = c.post(f"/api/v1/accounts/{world.dave.pk}/follow", {"reblogs": "false", "notify": "true"})
    assert r.status_code == 200, r.content
    rel = r.json()
    assert rel["following"] is True and rel["showing_reblogs"] is False and rel["notifying"] is True
    assert Follow.objects.filter(follower=world.eve, target=world.dave, show_reposts=False, notify=True).exists()
    r = c.post(f"/api/v1/accounts/{world.dave.pk}/unfollow")
    assert r.json()["following"] is False


def test_follow_locked_account_requests(world, password_token):
    c = bearer(password_token(world.dave, scope="write:follows"))
    rel = c.post(f"/api/v1/accounts/{world.carol.pk}/follow").json()
    assert rel["following"] is False and rel["requested"] is True
    carol = bearer(password_token(world.carol, scope="read write"))
    reqs = carol.get("/api/v1/follow_requests").json()
    assert _ids(reqs) == [str(world.dave.pk)]
    rel = carol.post(f"/api/v1/follow_requests/{world.dave.pk}/authorize").json()
    assert rel["followed_by"] is True and rel["requested_by"] is False
    assert carol.post(f"/api/v1/follow_requests/{world.dave.pk}/authorize").status_code == 404


def test_reject_follow_request(world, password_token):
    accounts.follow(world.dave, world.carol)
    carol = bearer(password_token(world.carol))
    rel = carol.get(f"/api/v1/accounts/relationships?id[]={world.dave.pk}").json()[0]
    assert rel["requested_by"] is True
    assert carol.post(f"/api/v1/follow_requests/{world.dave.pk}/reject").json()["followed_by"] is False
    assert not FollowRequest.objects.filter(requester=world.dave, target=world.carol).exists()


def test_follow_errors(world, password_token):
    eve = bearer(password_token(world.eve))
    assert eve.post(f"/api/v1/accounts/{world.alice.pk}/follow").status_code == 403  # alice blocks eve
    assert eve.post(f"/api/v1/accounts/{world.eve.pk}/follow").status_code == 422
    assert eve.post("/api/v1/accounts/12345/follow").status_code == 404
    assert bearer(password_token(world.eve, scope="read")).post(f"/api/v1/accounts/{world.dave.pk}/follow").status_code == 403
    assert Client().post(f"/api/v1/accounts/{world.dave.pk}/follow").status_code == 401
    assert not Follow.objects.filter(follower=world.eve).exists()


def test_remove_from_followers(world, password_token):
    c = bearer(password_token(world.alice))
    rel = c.post(f"/api/v1/accounts/{world.bob.pk}/remove_from_followers").json()
    assert rel["followed_by"] is False
    assert not Follow.objects.filter(follower=world.bob, target=world.alice).exists()


def test_block_unblock_and_list(world, password_token):
    c = bearer(password_token(world.bob, scope="follow"))
    rel = c.post(f"/api/v1/accounts/{world.alice.pk}/block").json()
    assert rel["blocking"] is True and rel["following"] is False
    assert _ids(c.get("/api/v1/blocks").json()) == [str(world.alice.pk)]
    rel = c.post(f"/api/v1/accounts/{world.alice.pk}/unblock").json()
    assert rel["blocking"] is False
    assert bearer(password_token(world.bob, scope="read:mutes")).get("/api/v1/blocks").status_code == 403


def test_mute_with_duration_and_notifications(world, password_token):
    c = bearer(password_token(world.alice, scope="write:mutes read:mutes"))
    rel = c.post(f"/api/v1/accounts/{world.bob.pk}/mute", {"notifications": "false", "duration": "3600"}).json()
    assert rel["muting"] is True and rel["muting_notifications"] is False
    m = Mute.objects.get(account=world.alice, target=world.bob)
    assert m.expires_at is not None and m.hide_notifications is False
    muted = c.get("/api/v1/mutes").json()
    assert _ids(muted) == [str(world.bob.pk)] and muted[0]["mute_expires_at"].endswith("Z")
    assert c.post(f"/api/v1/accounts/{world.bob.pk}/mute", {"duration": "soon"}).status_code == 422
    assert c.post(f"/api/v1/accounts/{world.bob.pk}/unmute").json()["muting"] is False


def test_blocks_and_mutes_paginate(world, password_token):
    others = [make_account(f"pest{i}") for i in range(3)]
    for o in others:
        _tick()
        accounts.block(world.dave, o)
    c = bearer(password_token(world.dave))
    r = c.get("/api/v1/blocks", {"limit": 2})
    assert [a["username"] for a in r.json()] == ["pest2", "pest1"]
    r2 = c.get("/api/" + _links(r["Link"])["next"].split("/api/", 1)[1])
    assert [a["username"] for a in r2.json()] == ["pest0"]


# --- Relationships, familiar followers, search, lists ----------------------------------------------------------


def test_relationships(world, password_token):
    c = bearer(password_token(world.bob, scope="read:follows"))
    body = c.get(f"/api/v1/accounts/relationships?id[]={world.alice.pk}&id[]={world.dave.pk}&id[]={world.bob.pk}").json()
    by = {x["id"]: x for x in body}
    assert by[str(world.alice.pk)]["following"] is True and by[str(world.alice.pk)]["showing_reblogs"] is True
    assert by[str(world.dave.pk)]["muting"] is True and by[str(world.dave.pk)]["muting_notifications"] is True
    assert by[str(world.bob.pk)]["following"] is False
    eve = bearer(password_token(world.eve)).get(f"/api/v1/accounts/relationships?id[]={world.alice.pk}").json()
    assert eve[0]["blocked_by"] is True
    assert bearer(password_token(world.bob, scope="read:accounts")).get("/api/v1/accounts/relationships").status_code == 403


def test_familiar_followers(world, password_token):
    # bob follows alice and carol; of those, carol follows dave.
    accounts.follow(world.carol, world.dave)  # carol (followed by bob) follows dave
    c = bearer(password_token(world.bob))
    body = c.get(f"/api/v1/accounts/familiar_followers?id[]={world.dave.pk}").json()
    assert body == [{"id": str(world.dave.pk), "accounts": [body[0]["accounts"][0]]}]
    assert body[0]["accounts"][0]["username"] == "carol"


def test_account_search(world, password_token):
    c = bearer(password_token(world.bob, scope="read"))
    assert [a["username"] for a in c.get("/api/v1/accounts/search", {"q": "ali"}).json()] == ["alice"]
    assert c.get("/api/v1/accounts/search", {"q": "dave", "following": "true"}).json() == []
    assert [a["username"] for a in c.get("/api/v1/accounts/search", {"q": "car", "following": "true", "resolve": "true"}).json()] == ["carol"]
    eve = bearer(password_token(world.eve)).get("/api/v1/accounts/search", {"q": "alice"}).json()
    assert eve == []  # alice blocks eve
    assert Client().get("/api/v1/accounts/search", {"q": "ali"}).status_code == 401


def test_account_lists(world, password_token):
    lst = lists.create_list(world.bob, lists.ListDraft(title="Friends"))
    lists.add_members(world.bob, lst.pk, [world.alice.pk])
    c = bearer(password_token(world.bob, scope="read:lists"))
    body = c.get(f"/api/v1/accounts/{world.alice.pk}/lists").json()
    assert body == [{"id": str(lst.pk), "title": "Friends", "replies_policy": lst.replies_policy, "exclusive": False}]
    assert c.get(f"/api/v1/accounts/{world.carol.pk}/lists").json() == []
    assert bearer(password_token(world.bob, scope="read:accounts")).get(f"/api/v1/accounts/{world.alice.pk}/lists").status_code == 403


def test_featured_tags_and_endorsements_are_empty(world, password_token):
    assert Client().get(f"/api/v1/accounts/{world.alice.pk}/featured_tags").json() == []
    assert Client().get(f"/api/v1/accounts/{world.alice.pk}/endorsements").json() == []
    assert bearer(password_token(world.alice)).get("/api/v1/endorsements").json() == []


# --- Bookmarks and favourites ---------------------------------------------------------------------------


def test_bookmarks_and_favourites_page_by_marker(world, password_token):
    a, b, c_ = (make_post(world.alice, f"p{i}") for i in range(3))
    # Bookmarked in another order than posted: pages follow the bookmarks.
    for p in (b, a, c_):
        _tick()
        Bookmark.objects.create(account=world.bob, post=p)
    Like.objects.create(account=world.bob, post=a)
    c = bearer(password_token(world.bob, scope="read:bookmarks read:favourites"))
    r = c.get("/api/v1/bookmarks", {"limit": 2})
    assert _ids(r.json()) == [str(c_.pk), str(a.pk)]
    assert r.json()[0]["bookmarked"] is True
    r2 = c.get("/api/" + _links(r["Link"])["next"].split("/api/", 1)[1])
    assert _ids(r2.json()) == [str(b.pk)]
    assert _ids(c.get("/api/v1/favourites").json()) == [str(a.pk)]
    assert bearer(password_token(world.bob, scope="read:statuses")).get("/api/v1/bookmarks").status_code == 403


def test_bookmarks_hide_what_is_no_longer_visible(world, password_token):
    p = make_post(world.alice, "soon invisible")
    Bookmark.objects.create(account=world.bob, post=p)
    accounts.block(world.alice, world.bob)
    assert bearer(password_token(world.bob)).get("/api/v1/bookmarks").json() == []


# --- Preferences ---------------------------------------------------------------------------------------------


def test_preferences(world, password_token):
    accounts.update_preferences(world.alice.user, default_visibility="unlisted", default_sensitive=True)
    body = bearer(password_token(world.alice, scope="read:accounts")).get("/api/v1/preferences").json()
    assert body == {
        "posting:default:visibility": "unlisted",
        "posting:default:sensitive": True,
        "posting:default:language": None,
        "reading:expand:media": "default",
        "reading:expand:spoilers": False,
    }
    assert Client().get("/api/v1/preferences").status_code == 401


# --- Suggestions ------------------------------------------------------------------------------------------------


def test_suggestions_friends_of_friends_then_popular(world, password_token):
    make_post(world.mod, "active")  # popular fallback: local, posted lately
    # bob follows alice and carol; alice's and carol's follows are friends-of-friends for bob.
    accounts.follow(world.carol, world.admin)
    c = bearer(password_token(world.bob, scope="read write"))
    body = c.get("/api/v2/suggestions").json()
    names = [s["account"]["username"] for s in body]
    assert names[0] == "ada" and body[0]["sources"] == ["friends_of_friends"] and body[0]["source"] == "past_interactions"
    assert "maya" in names
    assert not {"bob", "alice", "carol", "dave"} & set(names)  # self, followed, muted
    v1 = c.get("/api/v1/suggestions").json()
    assert [a["username"] for a in v1] == names
    assert c.delete(f"/api/v1/suggestions/{world.admin.pk}").status_code == 200
    assert "ada" not in [s["account"]["username"] for s in c.get("/api/v2/suggestions").json()]


def test_suggestions_leave_out_blocks(world, password_token):
    make_post(world.alice, "hi")
    make_post(world.eve, "hi")
    names = [a["username"] for a in bearer(password_token(world.eve)).get("/api/v1/suggestions").json()]
    assert "alice" not in names  # alice blocks eve
    names = [a["username"] for a in bearer(password_token(world.alice)).get("/api/v1/suggestions").json()]
    assert "eve" not in names
    assert bearer(password_token(world.alice, scope="read")).delete(f"/api/v1/suggestions/{world.eve.pk}").status_code == 403
    assert bearer(password_token(world.alice)).delete("/api/v1/suggestions/424242").status_code == 404


def test_openapi_describes_the_endpoints(db):
    doc = Client().get("/api/openapi.json").json()
    for path in ("/api/v1/accounts", "/api/v1/accounts/{account_id}/statuses", "/api/v1/preferences", "/api/v2/suggestions", "/api/v1/bookmarks"):
        assert path in doc["paths"], path


@pytest.mark.parametrize("path", ["/api/v1/blocks", "/api/v1/mutes", "/api/v1/follow_requests", "/api/v1/bookmarks", "/api/v1/favourites", "/api/v2/suggestions"])
def test_private_lists_need_a_token(db, path):
    assert Client().get(path).status_code == 401



def test_relationships_take_a_fixed_number_of_queries(world, password_token, django_assert_max_num_queries):
    extra = [make_account(f"many{i}") for i in range(8)]
    c = bearer(password_token(world.bob, scope="read:follows"))
    query = "&".join(f"id[]={a.pk}" for a in [world.alice, world.carol, *extra])
    with django_assert_max_num_queries(14):
        body = c.get(f"/api/v1/accounts/relationships?{query}").json()
    assert len(body) == 10


def test_suspended_people_cannot_write(world, password_token):
    token = password_token(world.bob)
    Account.objects.filter(pk=world.bob.pk).update(suspended_at="2026-01-01T00:00:00Z")
    c = bearer(token)
    assert c.post(f"/api/v1/accounts/{world.dave.pk}/follow").status_code == 403
    assert c.patch("/api/v1/accounts/update_credentials", {"display_name": "x"}, content_type="application/json").status_code == 403
    assert not Follow.objects.filter(follower=world.bob, target=world.dave).exists()


def test_expired_mutes_are_not_listed(world, password_token):
    Mute.objects.filter(account=world.bob, target=world.dave).update(expires_at="2025-01-01T00:00:00Z")
    c = bearer(password_token(world.bob))
    assert c.get("/api/v1/mutes").json() == []
    assert c.get(f"/api/v1/accounts/relationships?id[]={world.dave.pk}").json()[0]["muting"] is False


def test_held_posts_show_on_the_profile_to_their_author_only(world, password_token):
    from rostra.posts.models import ModerationState, Post

    p = make_post(world.alice, "under review")
    Post.objects.filter(pk=p.pk).update(moderation_state=ModerationState.HELD)
    url = f"/api/v1/accounts/{world.alice.pk}/statuses"
    assert str(p.pk) in _ids(bearer(password_token(world.alice)).get(url).json())
    assert str(p.pk) not in _ids(bearer(password_token(world.bob)).get(url).json())
    assert str(p.pk) not in _ids(Client().get(url).json())


def test_pagination_limits_are_clamped(world):
    for i in range(3):
        make_account(f"follower{i}")
    r = Client().get(f"/api/v1/accounts/{world.alice.pk}/followers", {"limit": "500"})
    assert r.status_code == 200
    r = Client().get(f"/api/v1/accounts/{world.alice.pk}/followers", {"limit": "abc"})
    assert r.status_code == 200
