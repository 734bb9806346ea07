"""SECURITY-TESTS A5: a suspended account's posts appear nowhere, and come back when it is lifted.

Sam posts (publicly, with a hashtag, a search word and an image), answers in bob's thread, mentions
bob, likes and reposts bob's post and follows him; alice reposts and quotes Sam. Bob follows Sam.
A moderator then suspends Sam (``rostra.moderation.actions.act_on_account(..., "suspend")``), and
every surface is read by bob (a follower, mentioned, notified), by dave (who follows alice, the
reposter) and anonymously:

  home, public and hashtag timelines (API and web), Sam's profile and posts (API and web, by id
  and by name), the thread, alice's repost (on her profile, in dave's home, by id), alice's quote
  (shown, with the quoted post "unavailable" / ``state: unauthorized``), search (API and web,
  posts and accounts), bob's notifications (list, unread count, by id; the streaming hub's
  renderer), the streaming door (``visible_to``), the RSS feeds, and the image file.

Suspended accounts answer 404 by id and by name (like accounts that never existed, see A1),
where Mastodon answers a local suspended account with ``suspended: true`` and an emptied
profile; Rostra keeps one answer for "not there" everywhere. Then the suspension is lifted and
everything is checked to be back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from rostra.accounts import actions as accounts
from rostra.accounts.models import Account
from rostra.api.oauth import password_grant, register_app
from rostra.moderation import actions as moderation
from rostra.notifications.models import Notification
from rostra.posts import actions as posts
from rostra.posts.models import Media, Post
from rostra.posts.queries import visible_to
from rostra.streaming import hub
from rostra.testing.images import png_bytes
from rostra.testing.world import World, make_account, make_post

WORD = "xyzzysam"


def api(account: Account) -> Client:
    app = register_app("A5", "urn:ietf:wg:oauth:2.0:oob", "read write follow").application
    value = password_grant(app, account.user, "read").access_token
    return Client(headers={"Authorization": f"Bearer {value}"})


@dataclass
class Scene:
    sam: Account
    post: Post  # public, tagged, with an image
    image: Media
    answer: Post  # Sam's reply in bob's thread
    bobs_post: Post
    repost_by_alice: Post
    quote_by_alice: Post
    repost_by_sam: Post


def _scene(w: World, run_tasks: Any) -> Scene:
    sam = make_account("sam", display_name="Sam Spade")
    accounts.follow(w.bob, sam)
    image = posts.upload_media(sam, png_bytes((5, 5)))
    post = make_post(sam, f"@bob hello #samtag {WORD}", media_ids=[image.pk])
    bobs_post = make_post(w.bob, "a thread by bob")
    answer = make_post(sam, f"an answer {WORD}", in_reply_to_id=bobs_post.pk)
    posts.like(sam, bobs_post.pk)
    repost_by_sam = posts.repost(sam, bobs_post.pk)
    accounts.follow(sam, w.bob)
    repost_by_alice = posts.repost(w.alice, post.pk)
    quote_by_alice = make_post(w.alice, "look at what sam said", quote_of_id=post.pk)
    run_tasks()
    return Scene(sam, post, image, answer, bobs_post, repost_by_alice, quote_by_alice, repost_by_sam)


def _ids(statuses: list[dict[str, Any]]) -> set[str]:
    out = set()
    for s in statuses:
        out.add(s["id"])
        if s.get("reblog"):
            out.add(s["reblog"]["id"])
    return out


def what_everyone_sees(w: World, s: Scene) -> dict[str, Any]:
    """Every surface, as booleans: does Sam (or a post of Sam's) show there?"""
    bob, dave, anon = api(w.bob), api(w.dave), Client()
    sam_ids = {str(p.pk) for p in (s.post, s.answer, s.repost_by_sam)}
    alice_repost = str(s.repost_by_alice.pk)
    web_bob, web_dave = Client(), Client()
    web_bob.force_login(w.bob.user)
    web_dave.force_login(w.dave.user)
    seen: dict[str, Any] = {}

    # Timelines, through the API.
    seen["bob's home (api)"] = bool(_ids(bob.get("/api/v1/timelines/home").json()) & sam_ids)
    seen["dave's home: alice's repost (api)"] = alice_repost in _ids(dave.get("/api/v1/timelines/home").json())
    seen["public timeline (api)"] = bool(_ids(anon.get("/api/v1/timelines/public").json()) & sam_ids)
    seen["local timeline (api)"] = bool(_ids(anon.get("/api/v1/timelines/public?local=true").json()) & sam_ids)
    seen["hashtag timeline (api)"] = bool(_ids(anon.get("/api/v1/timelines/tag/samtag").json()) & sam_ids)
    seen["alice's profile: her repost (api)"] = alice_repost in _ids(anon.get(f"/api/v1/accounts/{w.alice.pk}/statuses").json())
    seen["bob's thread (api)"] = str(s.answer.pk) in {
        x["id"] for x in bob.get(f"/api/v1/statuses/{s.bobs_post.pk}/context").json()["descendants"]
    }
    seen["bob's post: reblogged_by"] = str(s.sam.pk) in {
        a["id"] for a in bob.get(f"/api/v1/statuses/{s.bobs_post.pk}/reblogged_by").json()
    }
    seen["bob's post: favourited_by"] = str(s.sam.pk) in {
        a["id"] for a in bob.get(f"/api/v1/statuses/{s.bobs_post.pk}/favourited_by").json()
    }
    # Sam and Sam's posts by id and by name.
    seen["sam's post by id (api)"] = bob.get(f"/api/v1/statuses/{s.post.pk}").status_code == 200
    seen["alice's repost by id (api)"] = anon.get(f"/api/v1/statuses/{alice_repost}").status_code == 200
    seen["sam by id (api)"] = anon.get(f"/api/v1/accounts/{s.sam.pk}").status_code == 200
    seen["sam by name (api)"] = anon.get("/api/v1/accounts/lookup?acct=sam").status_code == 200
    seen["sam's statuses (api)"] = anon.get(f"/api/v1/accounts/{s.sam.pk}/statuses").status_code == 200
    seen["bob's following (api)"] = str(s.sam.pk) in {a["id"] for a in anon.get(f"/api/v1/accounts/{w.bob.pk}/following").json()}
    # The quote stays, and says the quoted post is unavailable.
    quote = anon.get(f"/api/v1/statuses/{s.quote_by_alice.pk}").json()["quote"]
    seen["alice's quote shows sam's post (api)"] = quote["state"] == "accepted" and quote["quoted_status"]["id"] == str(s.post.pk)
    assert quote["state"] in ("accepted", "unauthorized")
    # Search.
    found = bob.get(f"/api/v2/search?q={WORD}").json()
    seen["search statuses (api)"] = bool({x["id"] for x in found["statuses"]} & sam_ids)
    seen["search accounts (api)"] = str(s.sam.pk) in {
        a["id"] for a in bob.get("/api/v2/search?q=sam&type=accounts").json()["accounts"]
    }
    # Notifications of bob: mention, favourite, reblog, follow by Sam.
    notes = bob.get("/api/v1/notifications").json()
    seen["bob's notifications (api)"] = any(n["account"]["id"] == str(s.sam.pk) for n in notes)
    seen["bob's grouped notifications (api)"] = any(
        str(s.sam.pk) in g.get("sample_account_ids", []) for g in bob.get("/api/v2/notifications").json()["notification_groups"]
    )
    from_sam = list(Notification.objects.filter(recipient=w.bob, actor=s.sam).values_list("pk", flat=True))
    assert len(from_sam) >= 4, "the scene should notify bob of a mention, a like, a repost and a follow"
    seen["bob's notification by id (api)"] = any(bob.get(f"/api/v1/notifications/{n}").status_code == 200 for n in from_sam)
    seen["bob's unread count (api)"] = bob.get("/api/v1/notifications/unread_count").json()["count"] >= len(from_sam)
    # Streaming: the door the hub asks, and the hub's notification renderer.
    # (by id, as the hub asks: it reads the post and its author afresh for each message)
    seen["streaming door: sam's post"] = bool(visible_to(s.post.pk, [w.bob.pk, w.alice.pk, w.dave.pk]))
    seen["streaming door: alice's repost"] = bool(visible_to(s.repost_by_alice.pk, [w.bob.pk, w.dave.pk]))
    seen["streaming: bob's notification"] = any(hub._notification_for(w.bob, n) is not None for n in from_sam)
    # The web.
    seen["bob's home (web)"] = f"/@sam/{s.post.pk}" in web_bob.get("/home").content.decode()
    seen["dave's home: alice's repost (web)"] = f"/@sam/{s.post.pk}" in web_dave.get("/home").content.decode()
    seen["local timeline (web)"] = f"/@sam/{s.post.pk}" in anon.get("/local").content.decode()
    seen["hashtag page (web)"] = f"/@sam/{s.post.pk}" in anon.get("/tags/samtag").content.decode()
    seen["sam's profile (web)"] = anon.get("/@sam").status_code == 200
    seen["sam's post page (web)"] = web_bob.get(f"/@sam/{s.post.pk}").status_code == 200
    seen["bob's thread (web)"] = f"/@sam/{s.answer.pk}" in web_bob.get(f"/@bob/{s.bobs_post.pk}").content.decode()
    seen["alice's profile: her repost (web)"] = f"/@sam/{s.post.pk}" in anon.get("/@alice").content.decode()
    quote_page = anon.get(f"/@alice/{s.quote_by_alice.pk}")
    assert quote_page.status_code == 200
    seen["alice's quote shows sam's post (web)"] = "The quoted post is not available." not in quote_page.content.decode()
    seen["search (web)"] = f"/@sam/{s.post.pk}" in web_bob.get(f"/search?q={WORD}").content.decode()
    seen["search accounts (web)"] = "/@sam" in web_bob.get("/search?q=sam").content.decode().replace("/@samtag", "")
    seen["bob's notifications (web)"] = "/@sam" in web_bob.get("/notifications").content.decode()
    seen["sam's feed (rss)"] = anon.get("/@sam.rss").status_code == 200
    seen["hashtag feed (rss)"] = f"/@sam/{s.post.pk}" in anon.get("/tags/samtag.rss").content.decode()
    seen["sam's image"] = anon.get(f"/media/{s.image.file}").status_code == 200
    return seen


@pytest.fixture
def scene(world, media_dir, run_tasks, settings) -> Scene:
    import dataclasses

    settings.ROSTRA = dataclasses.replace(
        settings.ROSTRA, redis_url=None, rate_limits="api_ip=100000/5m,api_token=100000/5m,api_user=100000/5m"
    )
    return _scene(world, run_tasks)


def test_a5_suspended_posts_appear_nowhere_and_come_back_when_lifted(world, scene, run_tasks):
    before = what_everyone_sees(world, scene)
    hidden = [k for k, v in before.items() if not v]
    assert not hidden, f"the scene is not set: before the suspension these show nothing: {hidden}"

    moderation.act_on_account(world.mod.user, scene.sam.pk, "suspend", reason="spam", days=7)
    run_tasks()
    during = what_everyone_sees(world, scene)
    shown = [k for k, v in during.items() if v]
    assert not shown, "a suspended account still shows on: " + ", ".join(shown)

    moderation.act_on_account(world.mod.user, scene.sam.pk, "lift", reason="appeal upheld")
    run_tasks()
    after = what_everyone_sees(world, scene)
    missing = [k for k, v in after.items() if not v]
    assert not missing, "after the suspension is lifted these still hide Sam: " + ", ".join(missing)


def test_a5_suspended_author_still_reads_their_own_posts_but_cannot_write(world, scene, run_tasks):
    # The door lets authors see their own posts in every state (to read the notice and appeal).
    moderation.act_on_account(world.mod.user, scene.sam.pk, "suspend", reason="spam", days=7)
    app = register_app("A5", "urn:ietf:wg:oauth:2.0:oob", "read write").application
    sam = Client(headers={"Authorization": f"Bearer {password_grant(app, scene.sam.user, 'read write').access_token}"})
    assert sam.get(f"/api/v1/statuses/{scene.post.pk}").status_code == 200
    r = sam.post("/api/v1/statuses", {"status": "let me back"})
    assert r.status_code == 403 and r.json() == {"error": "Your login is currently disabled"}
    assert not Post.objects.filter(author=scene.sam, text="let me back").exists()
