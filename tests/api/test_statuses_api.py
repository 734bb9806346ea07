"""The statuses API: compose, read, edit, delete, context, and what one does to a status."""

from __future__ import annotations

import copy
import json
from datetime import timedelta
from urllib.parse import urlsplit

from django.test import Client

from rostra.accounts.models import Account
from rostra.core.clock import now
from rostra.moderation.gate import using_policy
from rostra.moderation.policy import Policy, default_document
from rostra.notifications.models import Notification
from rostra.posts.models import Like, Media, Pin, Post, PostEdit, ThreadMute
from rostra.testing.world import make_post
from tests.api.conftest import bearer
from tests.web.helpers import png

THREAT = "I will kill you tomorrow, I know where you live"


def _client(password_token, account: Account, scope: str = "read write follow") -> Client:
    return bearer(password_token(account, scope=scope))


def _json(client: Client, method: str, path: str, body: dict) -> object:
    return getattr(client, method)(path, data=json.dumps(body), content_type="application/json")


# --- Compose --------------------------------------------------------------------------------


def test_post_a_status_by_form(world, password_token):
    c = _client(password_token, world.alice)
    r = c.post("/api/v1/statuses", {"status": "Hello #rostra @bob", "visibility": "unlisted", "spoiler_text": "cw", "language": "en"})
    assert r.status_code == 200, r.content
    body = r.json()
    post = Post.objects.get(pk=int(body["id"]))
    assert post.author == world.alice and post.text == "Hello #rostra @bob"
    assert body["visibility"] == "unlisted" and body["spoiler_text"] == "cw" and body["sensitive"] is True
    assert body["language"] == "en" and body["account"]["id"] == str(world.alice.pk)
    assert [t["name"] for t in body["tags"]] == ["rostra"] and [m["acct"] for m in body["mentions"]] == ["bob"]
    assert body["favourited"] is False and body["reblogged"] is False and body["pinned"] is False and body["muted"] is False


def test_post_a_status_by_json_with_a_poll(world, password_token):
    c = _client(password_token, world.alice)
    r = _json(c, "post", "/api/v1/statuses", {"status": "Tea or coffee?", "poll": {"options": ["Tea", "Coffee"], "expires_in": 3600, "multiple": True}})
    assert r.status_code == 200, r.content
    poll = r.json()["poll"]
    assert [o["title"] for o in poll["options"]] == ["Tea", "Coffee"] and poll["multiple"] is True and poll["expired"] is False


def test_post_a_poll_by_form(world, password_token):
    c = _client(password_token, world.alice)
    r = c.post("/api/v1/statuses", {"status": "Pick", "poll[options][]": ["A", "B", "C"], "poll[expires_in]": "600", "poll[hide_totals]": "true"})
    assert r.status_code == 200, r.content
    poll = r.json()["poll"]
    assert [o["title"] for o in poll["options"]] == ["A", "B", "C"] and poll["multiple"] is False


def test_a_bad_poll_is_refused_and_nothing_is_written(world, password_token):
    c = _client(password_token, world.alice)
    before = Post.objects.count()
    r = c.post("/api/v1/statuses", {"status": "Pick", "poll[options][]": ["only one"], "poll[expires_in]": "600"})
    assert r.status_code == 422 and "at least 2" in r.json()["error"]
    r = c.post("/api/v1/statuses", {"status": "Pick", "poll[options][]": ["a", "b"], "poll[expires_in]": "soon"})
    assert r.status_code == 422 and "seconds" in r.json()["error"]
    assert Post.objects.count() == before


def test_a_reply_and_a_quote(world, password_token):
    original = make_post(world.alice, "original")
    c = _client(password_token, world.bob)
    r = c.post("/api/v1/statuses", {"status": "a reply", "in_reply_to_id": str(original.pk)})
    assert r.status_code == 200 and r.json()["in_reply_to_id"] == str(original.pk)
    assert r.json()["in_reply_to_account_id"] == str(world.alice.pk)
    r = c.post("/api/v1/statuses", {"status": "a quote", "quoted_status_id": str(original.pk)})
    assert r.status_code == 200 and r.json()["quote"]["state"] == "accepted"
    assert r.json()["quote"]["quoted_status"]["id"] == str(original.pk)
    r = c.post("/api/v1/statuses", {"status": "another quote", "quote_id": str(original.pk)})
    assert r.json()["quote"]["quoted_status"]["id"] == str(original.pk)


def test_replying_to_what_one_cannot_see_is_404(world, password_token):
    hidden = make_post(world.alice, "for followers", visibility="private")
    c = _client(password_token, world.eve)
    before = Post.objects.count()
    assert c.post("/api/v1/statuses", {"status": "hm", "in_reply_to_id": str(hidden.pk)}).status_code == 404
    assert c.post("/api/v1/statuses", {"status": "hm", "in_reply_to_id": "nonsense"}).status_code == 404
    assert Post.objects.count() == before


def test_bad_input_is_422(world, password_token):
    c = _client(password_token, world.alice)
    assert c.post("/api/v1/statuses", {"status": ""}).status_code == 422
    assert c.post("/api/v1/statuses", {"status": "x", "visibility": "secret"}).status_code == 422
    r = c.post("/api/v1/statuses", {"status": "x", "media_ids[]": ["12345"]})
    assert r.status_code == 422 and "not found" in r.json()["error"]
    assert Post.objects.filter(author=world.alice).count() == 0


def test_the_idempotency_key_makes_a_retry_harmless(world, password_token):
    c = _client(password_token, world.alice)
    first = c.post("/api/v1/statuses", {"status": "once"}, headers={"Idempotency-Key": "k1"}).json()
    second = c.post("/api/v1/statuses", {"status": "once"}, headers={"Idempotency-Key": "k1"}).json()
    assert first["id"] == second["id"] and Post.objects.filter(author=world.alice).count() == 1


def test_default_visibility_comes_from_the_preferences(world, password_token):
    user = world.alice.user
    user.default_visibility = "private"
    user.save()
    body = _client(password_token, world.alice).post("/api/v1/statuses", {"status": "hi"}).json()
    assert body["visibility"] == "private"


def test_a_refused_post_answers_422_with_the_gates_message(world, password_token):
    doc = copy.deepcopy(default_document())
    doc["categories"]["violence"]["thresholds"] = [{"score": 0.5, "action": "refuse"}]
    c = _client(password_token, world.alice)
    with using_policy(Policy.from_document(doc)):
        r = c.post("/api/v1/statuses", {"status": THREAT})
    assert r.status_code == 422 and "violence" in r.json()["error"]
    assert not Post.objects.filter(author=world.alice).exists()


def test_a_held_post_is_visible_to_its_author_only(world, password_token):
    Account.objects.filter(pk=world.alice.pk).update(hold_posts_until=now() + timedelta(days=1))
    r = _client(password_token, world.alice).post("/api/v1/statuses", {"status": "quiet please"})
    assert r.status_code == 200
    pid = r.json()["id"]
    assert Post.objects.get(pk=int(pid)).moderation_state == "held"
    assert _client(password_token, world.alice).get(f"/api/v1/statuses/{pid}").status_code == 200
    assert _client(password_token, world.bob).get(f"/api/v1/statuses/{pid}").status_code == 404
    assert Client().get(f"/api/v1/statuses/{pid}").status_code == 404


def test_scheduling_hands_the_draft_to_the_scheduler(world, password_token):
    import importlib.util

    c = _client(password_token, world.alice)
    r = c.post("/api/v1/statuses", {"status": "later", "scheduled_at": "not a time"})
    assert r.status_code == 422 and "scheduled_at" in r.json()["error"]
    when = (now() + timedelta(days=1)).isoformat()
    r = c.post("/api/v1/statuses", {"status": "later", "scheduled_at": when})
    if importlib.util.find_spec("rostra.posts.scheduled") is None:
        assert r.status_code == 422 and r.json()["error"] == "Scheduled posts are not available"
    else:
        assert r.status_code == 200, r.content
        assert r.json()["params"]["text"] == "later" and r.json()["scheduled_at"] and "content" not in r.json()
    assert not Post.objects.filter(author=world.alice).exists()


def test_scopes_and_authentication(world, password_token):
    assert Client().post("/api/v1/statuses", {"status": "hi"}).status_code == 401
    assert bearer("nonsense").post("/api/v1/statuses", {"status": "hi"}).status_code == 401
    reader = _client(password_token, world.alice, scope="read")
    r = reader.post("/api/v1/statuses", {"status": "hi"})
    assert r.status_code == 403 and r.json()["error"] == "This action is outside the authorized scopes"
    assert _client(password_token, world.alice, scope="write:statuses").post("/api/v1/statuses", {"status": "hi"}).status_code == 200
    post = make_post(world.bob, "x")
    assert _client(password_token, world.alice, scope="write:statuses").post(f"/api/v1/statuses/{post.pk}/favourite").status_code == 403
    assert _client(password_token, world.alice, scope="write:favourites").post(f"/api/v1/statuses/{post.pk}/favourite").status_code == 200


# --- Read -----------------------------------------------------------------------------------


def test_get_a_status_anonymously_and_signed_in(world, password_token):
    post = make_post(world.alice, "public")
    r = Client().get(f"/api/v1/statuses/{post.pk}")
    assert r.status_code == 200 and r.json()["id"] == str(post.pk) and r.json().get("favourited") is None
    assert _client(password_token, world.bob).get(f"/api/v1/statuses/{post.pk}").json()["favourited"] is False
    assert Client().get("/api/v1/statuses/999999999").status_code == 404
    assert Client().get("/api/v1/statuses/abc").status_code == 404


def test_private_posts_are_404_to_outsiders(world, password_token):
    post = make_post(world.alice, "followers", visibility="private")
    assert Client().get(f"/api/v1/statuses/{post.pk}").status_code == 404
    assert _client(password_token, world.eve).get(f"/api/v1/statuses/{post.pk}").status_code == 404
    assert _client(password_token, world.bob).get(f"/api/v1/statuses/{post.pk}").status_code == 200


def test_several_statuses_by_id(world, password_token):
    a, b = make_post(world.alice, "a"), make_post(world.alice, "b")
    hidden = make_post(world.alice, "hidden", visibility="private")
    r = Client().get(f"/api/v1/statuses?id[]={b.pk}&id[]={hidden.pk}&id[]={a.pk}&id[]=zzz")
    assert [s["id"] for s in r.json()] == [str(b.pk), str(a.pk)]
    many = "&".join(f"id[]={i}" for i in range(1, 22))
    assert Client().get(f"/api/v1/statuses?{many}").status_code == 422


def test_context(world, password_token):
    root = make_post(world.alice, "root")
    reply = make_post(world.bob, "reply", in_reply_to_id=root.pk)
    deeper = make_post(world.alice, "deeper", in_reply_to_id=reply.pk)
    body = Client().get(f"/api/v1/statuses/{reply.pk}/context").json()
    assert [s["id"] for s in body["ancestors"]] == [str(root.pk)]
    assert [s["id"] for s in body["descendants"]] == [str(deeper.pk)]
    assert Client().get("/api/v1/statuses/123456789/context").status_code == 404


def test_source(world, password_token):
    post = make_post(world.alice, "**typed**", spoiler_text="cw")
    body = _client(password_token, world.alice).get(f"/api/v1/statuses/{post.pk}/source").json()
    assert body == {"id": str(post.pk), "text": "**typed**", "spoiler_text": "cw"}
    assert Client().get(f"/api/v1/statuses/{post.pk}/source").status_code == 401


# --- Edit and delete -------------------------------------------------------------------------


def test_edit_by_json_and_history(world, password_token):
    post = make_post(world.alice, "first")
    c = _client(password_token, world.alice)
    r = _json(c, "put", f"/api/v1/statuses/{post.pk}", {"status": "second", "spoiler_text": "cw", "language": "fr"})
    assert r.status_code == 200, r.content
    assert "second" in r.json()["content"] and r.json()["edited_at"] and r.json()["language"] == "fr"
    r = c.put(f"/api/v1/statuses/{post.pk}", data="status=third", content_type="application/x-www-form-urlencoded")
    assert r.status_code == 200 and "third" in r.json()["content"]
    history = Client().get(f"/api/v1/statuses/{post.pk}/history").json()
    assert ["first" in h["content"] for h in history] == [True, False, False]
    assert "third" in history[-1]["content"] and history[1]["spoiler_text"] == "cw"
    assert history[0]["account"]["id"] == str(world.alice.pk)


def test_history_of_an_unedited_status_is_one_version(world):
    post = make_post(world.alice, "only")
    history = Client().get(f"/api/v1/statuses/{post.pk}/history").json()
    assert len(history) == 1 and "only" in history[0]["content"]


def test_edit_media_and_alt_text(world, password_token, media_dir):
    c = _client(password_token, world.alice)
    m1 = c.post("/api/v2/media", {"file": png()}).json()["id"]
    m2 = c.post("/api/v2/media", {"file": png()}).json()["id"]
    post = c.post("/api/v1/statuses", {"status": "pics", "media_ids[]": [m1]}).json()
    r = c.put(
        f"/api/v1/statuses/{post['id']}",
        data=f"status=pics&media_ids[]={m1}&media_ids[]={m2}&media_attributes[][id]={m1}&media_attributes[][description]=a+cat",
        content_type="application/x-www-form-urlencoded",
    )
    assert r.status_code == 200, r.content
    assert [m["id"] for m in r.json()["media_attachments"]] == [m1, m2]
    assert r.json()["media_attachments"][0]["description"] == "a cat"


def test_edit_someone_elses_status_is_404(world, password_token):
    post = make_post(world.alice, "mine")
    r = _json(_client(password_token, world.bob), "put", f"/api/v1/statuses/{post.pk}", {"status": "yours"})
    assert r.status_code == 404
    post.refresh_from_db()
    assert post.text == "mine" and not PostEdit.objects.exists()


def test_editing_a_poll_is_refused_but_resending_it_unchanged_works(world, password_token):
    c = _client(password_token, world.alice)
    post = _json(c, "post", "/api/v1/statuses", {"status": "Q", "poll": {"options": ["a", "b"], "expires_in": 600}}).json()
    same = {"status": "Q!", "poll": {"options": ["a", "b"], "expires_in": 600}}
    assert _json(c, "put", f"/api/v1/statuses/{post['id']}", same).status_code == 200
    changed = {"status": "Q!!", "poll": {"options": ["a", "c"], "expires_in": 600}}
    r = _json(c, "put", f"/api/v1/statuses/{post['id']}", changed)
    assert r.status_code == 422 and "Polls cannot be edited" in r.json()["error"]
    assert Post.objects.get(pk=int(post["id"])).text == "Q!"


def test_delete_answers_the_source_and_keeps_media_for_a_redraft(world, password_token, media_dir):
    c = _client(password_token, world.alice)
    mid = c.post("/api/v2/media", {"file": png()}).json()["id"]
    post = c.post("/api/v1/statuses", {"status": "**bye**", "media_ids[]": [mid]}).json()
    r = c.delete(f"/api/v1/statuses/{post['id']}")
    assert r.status_code == 200 and r.json()["text"] == "**bye**" and r.json()["id"] == post["id"]
    assert not Post.objects.filter(pk=int(post["id"])).exists()
    assert Media.objects.get(pk=int(mid)).post_id is None  # kept, unattached: redraft can use it
    again = c.post("/api/v1/statuses", {"status": "**bye**", "media_ids[]": [mid]})
    assert again.status_code == 200 and again.json()["media_attachments"][0]["id"] == mid
    r = c.delete(f"/api/v1/statuses/{again.json()['id']}?delete_media=true")
    assert r.status_code == 200 and not Media.objects.filter(pk=int(mid)).exists()


def test_delete_someone_elses_status_is_404(world, password_token):
    post = make_post(world.alice, "mine")
    assert _client(password_token, world.bob).delete(f"/api/v1/statuses/{post.pk}").status_code == 404
    assert Post.objects.filter(pk=post.pk).exists()


# --- Reblog, favourite, bookmark ---------------------------------------------------------------


def test_reblog_and_unreblog(world, password_token):
    post = make_post(world.alice, "boost me")
    c = _client(password_token, world.bob)
    r = c.post(f"/api/v1/statuses/{post.pk}/reblog", {"visibility": "public"})
    assert r.status_code == 200 and r.json()["reblog"]["id"] == str(post.pk) and r.json()["reblog"]["reblogged"] is True
    assert r.json()["reblog"]["reblogs_count"] == 1
    r = c.post(f"/api/v1/statuses/{post.pk}/unreblog")
    assert r.status_code == 200 and r.json()["id"] == str(post.pk) and r.json()["reblogged"] is False
    assert r.json()["reblogs_count"] == 0
    private = make_post(world.alice, "followers", visibility="private")
    assert c.post(f"/api/v1/statuses/{private.pk}/reblog").status_code == 422
    assert _client(password_token, world.eve).post(f"/api/v1/statuses/{private.pk}/reblog").status_code == 404


def test_favourite_and_unfavourite(world, password_token):
    post = make_post(world.alice, "like me")
    c = _client(password_token, world.bob)
    r = c.post(f"/api/v1/statuses/{post.pk}/favourite")
    assert r.status_code == 200 and r.json()["favourited"] is True and r.json()["favourites_count"] == 1
    assert c.post(f"/api/v1/statuses/{post.pk}/favourite").json()["favourites_count"] == 1
    r = c.post(f"/api/v1/statuses/{post.pk}/unfavourite")
    assert r.json()["favourited"] is False and r.json()["favourites_count"] == 0
    hidden = make_post(world.alice, "hidden", visibility="private")
    assert _client(password_token, world.eve).post(f"/api/v1/statuses/{hidden.pk}/favourite").status_code == 404
    assert _client(password_token, world.eve).post(f"/api/v1/statuses/{hidden.pk}/unfavourite").status_code == 404
    assert not Like.objects.filter(account=world.eve).exists()


def test_bookmark_and_unbookmark(world, password_token):
    post = make_post(world.alice, "keep")
    c = _client(password_token, world.bob, scope="read write:bookmarks")
    assert c.post(f"/api/v1/statuses/{post.pk}/bookmark").json()["bookmarked"] is True
    assert c.post(f"/api/v1/statuses/{post.pk}/unbookmark").json()["bookmarked"] is False
    assert c.post(f"/api/v1/statuses/{post.pk}/favourite").status_code == 403


# --- Pin and mute ------------------------------------------------------------------------------


def test_pin_and_unpin(world, password_token):
    c = _client(password_token, world.alice)
    posts = [make_post(world.alice, f"p{i}") for i in range(6)]
    for p in posts[:5]:
        r = c.post(f"/api/v1/statuses/{p.pk}/pin")
        assert r.status_code == 200 and r.json()["pinned"] is True
    r = c.post(f"/api/v1/statuses/{posts[5].pk}/pin")
    assert r.status_code == 422 and "maximum number" in r.json()["error"]
    assert Pin.objects.filter(account=world.alice).count() == 5
    r = c.post(f"/api/v1/statuses/{posts[0].pk}/unpin")
    assert r.status_code == 200 and r.json()["pinned"] is False
    assert c.post(f"/api/v1/statuses/{posts[5].pk}/pin").status_code == 200


def test_what_cannot_be_pinned(world, password_token):
    c = _client(password_token, world.bob)
    theirs = make_post(world.alice, "alice's")
    r = c.post(f"/api/v1/statuses/{theirs.pk}/pin")
    assert r.status_code == 422
    boost = c.post(f"/api/v1/statuses/{theirs.pk}/reblog").json()
    assert c.post(f"/api/v1/statuses/{boost['id']}/pin").status_code == 422
    direct = make_post(world.bob, "@alice psst", visibility="direct")
    assert c.post(f"/api/v1/statuses/{direct.pk}/pin").status_code == 422
    assert _client(password_token, world.bob, scope="read write:statuses").post(f"/api/v1/statuses/{theirs.pk}/pin").status_code == 403
    assert not Pin.objects.exists()


def test_muting_a_conversation_silences_its_notifications(world, password_token, run_tasks):
    root = make_post(world.alice, "root")
    c = _client(password_token, world.alice)
    r = c.post(f"/api/v1/statuses/{root.pk}/mute")
    assert r.status_code == 200 and r.json()["muted"] is True
    assert ThreadMute.objects.filter(account=world.alice, thread_id=root.pk).exists()
    reply = make_post(world.bob, "@alice a reply", in_reply_to_id=root.pk)
    bc = _client(password_token, world.bob)
    bc.post(f"/api/v1/statuses/{reply.pk}/favourite")
    bc.post(f"/api/v1/statuses/{root.pk}/favourite")
    bc.post(f"/api/v1/statuses/{root.pk}/reblog")
    run_tasks()
    assert not Notification.objects.filter(recipient=world.alice).exclude(kind="follow").exists()
    r = c.post(f"/api/v1/statuses/{reply.pk}/unmute")
    assert r.status_code == 200 and r.json()["muted"] is False
    make_post(world.dave, "@alice again", in_reply_to_id=root.pk)
    run_tasks()
    assert Notification.objects.filter(recipient=world.alice, kind="reply").exists()


def test_mute_needs_the_scope(world, password_token):
    post = make_post(world.alice, "x")
    assert _client(password_token, world.alice, scope="read write:statuses").post(f"/api/v1/statuses/{post.pk}/mute").status_code == 403
    assert _client(password_token, world.alice, scope="write:conversations").post(f"/api/v1/statuses/{post.pk}/mute").status_code == 200


# --- Who reblogged, favourited, quoted --------------------------------------------------------


def test_favourited_by_and_reblogged_by_paginate(world, password_token):
    post = make_post(world.alice, "popular")
    for who in (world.bob, world.carol, world.dave):
        _client(password_token, who).post(f"/api/v1/statuses/{post.pk}/favourite")
        _client(password_token, who).post(f"/api/v1/statuses/{post.pk}/reblog")
    r = Client().get(f"/api/v1/statuses/{post.pk}/favourited_by?limit=2")
    assert [a["username"] for a in r.json()] == ["dave", "carol"]
    assert 'rel="next"' in r["Link"]
    next_url = urlsplit(r["Link"].split(";")[0].strip("<>"))
    r2 = Client().get(f"{next_url.path}?{next_url.query}")
    assert [a["username"] for a in r2.json()] == ["bob"]
    r = _client(password_token, world.alice).get(f"/api/v1/statuses/{post.pk}/reblogged_by")
    assert [a["username"] for a in r.json()] == ["dave", "carol", "bob"]
    hidden = make_post(world.alice, "private", visibility="private")
    assert Client().get(f"/api/v1/statuses/{hidden.pk}/favourited_by").status_code == 404
    assert _client(password_token, world.alice, scope="read:statuses").get(f"/api/v1/statuses/{post.pk}/reblogged_by").status_code == 403


def test_quotes_of_ones_own_status(world, password_token):
    post = make_post(world.alice, "quotable")
    q = make_post(world.bob, "look", quote_of_id=post.pk)
    r = _client(password_token, world.alice).get(f"/api/v1/statuses/{post.pk}/quotes")
    assert r.status_code == 200 and [s["id"] for s in r.json()] == [str(q.pk)]
    assert _client(password_token, world.bob).get(f"/api/v1/statuses/{post.pk}/quotes").status_code == 404


def test_edit_and_delete_need_write_statuses(world, password_token):
    post = make_post(world.alice, "mine")
    reader = _client(password_token, world.alice, scope="read")
    assert _json(reader, "put", f"/api/v1/statuses/{post.pk}", {"status": "changed"}).status_code == 403
    assert reader.delete(f"/api/v1/statuses/{post.pk}").status_code == 403
    assert Client().delete(f"/api/v1/statuses/{post.pk}").status_code == 401
    assert _json(Client(), "put", f"/api/v1/statuses/{post.pk}", {"status": "changed"}).status_code == 401
    post.refresh_from_db()
    assert post.text == "mine"


def test_a_refused_edit_changes_nothing(world, password_token):
    post = make_post(world.alice, "fine words")
    doc = copy.deepcopy(default_document())
    doc["categories"]["violence"]["thresholds"] = [{"score": 0.5, "action": "refuse"}]
    with using_policy(Policy.from_document(doc)):
        r = _json(_client(password_token, world.alice), "put", f"/api/v1/statuses/{post.pk}", {"status": THREAT})
    assert r.status_code == 422
    post.refresh_from_db()
    assert post.text == "fine words" and post.edited_at is None


def test_acting_on_a_reblog_acts_on_the_original(world, password_token):
    post = make_post(world.alice, "original")
    boost = _client(password_token, world.bob).post(f"/api/v1/statuses/{post.pk}/reblog").json()
    r = _client(password_token, world.dave).post(f"/api/v1/statuses/{boost['id']}/favourite")
    assert r.status_code == 200 and r.json()["id"] == str(post.pk) and r.json()["favourited"] is True
    assert Like.objects.filter(account=world.dave, post=post).exists()
    r = _client(password_token, world.bob).post(f"/api/v1/statuses/{boost['id']}/unreblog")
    assert r.status_code == 200 and r.json()["id"] == str(post.pk) and r.json()["reblogged"] is False
    assert not Post.objects.filter(repost_of=post).exists()


def test_a_pinned_followers_only_post_stays_private(world, password_token):
    post = make_post(world.alice, "for followers", visibility="private")
    r = _client(password_token, world.alice).post(f"/api/v1/statuses/{post.pk}/pin")
    assert r.status_code == 200 and r.json()["pinned"] is True
    assert _client(password_token, world.eve).get(f"/api/v1/statuses/{post.pk}").status_code == 404
