"""Actor, note and collection documents, content negotiation, and tombstones."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from rostra.accounts import actions as accounts
from rostra.accounts.models import Account
from rostra.core import sealing
from rostra.federation import uris
from rostra.federation.models import ActorKey, Tombstone
from rostra.federation.queries import OUTBOX_PAGE_SIZE
from rostra.posts import actions as posts
from rostra.testing.images import png_bytes
from rostra.testing.world import make_post

pytestmark = pytest.mark.django_db

AS = "application/activity+json"
LD = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'


def get_as(path: str, accept: str = AS) -> tuple[int, dict, object]:
    response = Client().get(path, HTTP_ACCEPT=accept)
    body = response.json() if response["Content-Type"].startswith(("application/activity+json", "application/json")) else {}
    return response.status_code, body, response


# --- Actors --------------------------------------------------------------------------------------


def test_actor_document_is_a_person_with_a_key_inboxes_and_collections(world) -> None:
    accounts.update_profile(
        world.alice,
        accounts.ProfileUpdate(note="Down the #rabbit hole", fields=[("Site", "https://example.org")], avatar=png_bytes()),
    )
    status, doc, response = get_as("/users/alice")
    assert status == 200
    assert response["Content-Type"] == "application/activity+json; charset=utf-8"
    assert "Accept" in response["Vary"]
    url = uris.actor_url("alice")
    assert doc["@context"][:2] == ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"]
    assert (doc["id"], doc["type"], doc["preferredUsername"], doc["name"]) == (url, "Person", "alice", "Alice Liddell")
    assert doc["url"] == uris.profile_url("alice")
    assert (doc["inbox"], doc["outbox"]) == (f"{url}/inbox", f"{url}/outbox")
    assert (doc["followers"], doc["following"], doc["featured"]) == (
        f"{url}/followers",
        f"{url}/following",
        f"{url}/collections/featured",
    )
    assert doc["endpoints"] == {"sharedInbox": f"{uris.base_url()}/inbox"}
    assert doc["publicKey"]["id"] == f"{url}#main-key" and doc["publicKey"]["owner"] == url
    assert doc["publicKey"]["publicKeyPem"].startswith("-----BEGIN PUBLIC KEY-----")
    assert f'href="{uris.base_url()}/tags/rabbit"' in doc["summary"]  # links made absolute for other servers
    assert doc["attachment"][0]["type"] == "PropertyValue" and doc["attachment"][0]["name"] == "Site"
    assert doc["icon"]["type"] == "Image" and doc["icon"]["url"].endswith(
        world.alice.__class__.objects.get(pk=world.alice.pk).avatar
    )
    assert doc["manuallyApprovesFollowers"] is False and doc["discoverable"] is True and doc["published"]


def test_the_key_is_made_once_and_its_private_half_is_sealed(world) -> None:
    assert not ActorKey.objects.filter(account=world.alice).exists()  # lazily, on first need
    first = get_as("/users/alice", LD)[1]["publicKey"]["publicKeyPem"]
    second = get_as("/users/alice")[1]["publicKey"]["publicKeyPem"]
    assert first == second
    row = ActorKey.objects.get(account=world.alice)
    assert "PRIVATE KEY" not in row.private_key_pem
    assert sealing.unseal(row.private_key_pem, purpose=b"rostra two-factor secret") is None  # purposes do not mix


def test_browsers_asking_for_an_actor_are_sent_to_the_profile_page(world) -> None:
    response = Client().get("/users/alice", HTTP_ACCEPT="text/html,application/xhtml+xml,*/*;q=0.8")
    assert response.status_code == 302 and response["Location"] == "/@alice"
    assert "Accept" in response["Vary"]


def test_profile_and_post_pages_answer_servers_with_activitystreams(world) -> None:
    post = make_post(world.alice, "Curiouser and curiouser")
    status, doc, response = get_as("/@alice")
    assert status == 200 and doc["id"] == uris.actor_url("alice") and "Accept" in response["Vary"]
    status, doc, response = get_as(f"/@alice/{post.pk}", LD)
    assert status == 200 and doc["id"] == uris.note_url("alice", post.pk)
    page = Client().get(f"/@alice/{post.pk}", HTTP_ACCEPT="text/html")
    assert page.status_code == 200 and page["Content-Type"].startswith("text/html") and "Accept" in page["Vary"]
    assert Client().get("/@alice").status_code == 200


def test_unknown_suspended_and_inactive_actors_are_404(world) -> None:
    Account.objects.filter(pk=world.eve.pk).update(suspended_at=timezone.now())
    user = world.dave.user
    user.is_active = False
    user.save(update_fields=["is_active"])
    bodies = {get_as(path)[2].content for path in ("/users/nobody", "/users/eve", "/users/dave", "/users/eve/outbox", "/@eve")}
    assert len(bodies) == 1
    assert get_as("/users/eve")[0] == 404


# --- Notes ---------------------------------------------------------------------------------------


def test_a_public_note_with_mentions_hashtags_cw_and_an_image(world) -> None:
    media = posts.upload_media(world.alice, png_bytes((40, 30)), description="A white rabbit")
    parent = make_post(world.bob, "Where to?")
    post = make_post(
        world.alice,
        "@bob follow the #WhiteRabbit",
        spoiler_text="spoilers",
        in_reply_to_id=parent.pk,
        media_ids=[media.pk],
        language="en",
    )
    status, doc, _ = get_as(f"/users/alice/statuses/{post.pk}")
    assert status == 200
    assert doc["type"] == "Note" and doc["attributedTo"] == uris.actor_url("alice")
    assert doc["to"] == ["https://www.w3.org/ns/activitystreams#Public"]
    assert doc["cc"] == [f"{uris.actor_url('alice')}/followers", uris.actor_url("bob")]
    assert doc["summary"] == "spoilers" and doc["sensitive"] is True
    assert doc["inReplyTo"] == uris.note_url("bob", parent.pk)
    assert doc["url"] == uris.post_page_url("alice", post.pk)
    assert {"type": "Mention", "href": uris.actor_url("bob"), "name": f"@bob@{uris.domain()}"} in doc["tag"]
    hashtags = [{**t, "name": t["name"].lower()} for t in doc["tag"] if t["type"] == "Hashtag"]
    assert hashtags == [{"type": "Hashtag", "href": f"{uris.base_url()}/tags/whiterabbit", "name": "#whiterabbit"}]
    [attachment] = doc["attachment"]
    assert attachment["type"] == "Document" and attachment["name"] == "A white rabbit"
    assert (attachment["width"], attachment["height"]) == (40, 30) and attachment["mediaType"].startswith("image/")
    assert doc["replies"] == {"id": f"{uris.note_url('alice', post.pk)}/replies", "type": "OrderedCollection", "totalItems": 0}
    assert doc["contentMap"] == {"en": doc["content"]}
    assert f'href="{uris.base_url()}/@bob"' in doc["content"]


def test_an_unlisted_note_is_addressed_to_followers_with_public_in_cc(world) -> None:
    post = make_post(world.alice, "Quietly", visibility="unlisted")
    doc = get_as(f"/users/alice/statuses/{post.pk}")[1]
    assert doc["to"] == [f"{uris.actor_url('alice')}/followers"]
    assert doc["cc"] == ["https://www.w3.org/ns/activitystreams#Public"]


def test_private_direct_and_held_posts_answer_exactly_like_missing_ones(world) -> None:
    private = make_post(world.alice, "Followers only", visibility="private")
    direct = make_post(world.alice, "@bob psst", visibility="direct")
    reposted = posts.repost(world.bob, make_post(world.alice, "Repost me").pk)
    missing = get_as("/users/alice/statuses/123456789012345")[2]
    assert missing.status_code == 404
    for path in (
        f"/users/alice/statuses/{private.pk}",
        f"/users/alice/statuses/{direct.pk}",
        f"/users/bob/statuses/{reposted.pk}",  # a repost is an Announce, not a Note
        f"/users/bob/statuses/{private.pk}",  # someone else's post under another name
        f"/@alice/{private.pk}",
    ):
        response = get_as(path)[2]
        assert (response.status_code, response.content, response["Content-Type"]) == (
            404,
            missing.content,
            missing["Content-Type"],
        ), path


def test_a_deleted_public_post_answers_410_with_a_tombstone(world, run_tasks) -> None:
    post = make_post(world.alice, "Soon gone")
    posts.delete_post(world.alice, post.pk)
    run_tasks()
    status, doc, _ = get_as(f"/users/alice/statuses/{post.pk}")
    assert status == 410
    assert doc["type"] == "Tombstone" and doc["id"] == uris.note_url("alice", post.pk) and doc["deleted"]
    assert get_as(f"/@alice/{post.pk}")[0] == 410
    run_tasks()  # a second delivery of the event changes nothing
    assert Tombstone.objects.filter(post_id=post.pk).count() == 1


def test_a_deleted_private_post_leaves_no_tombstone(world, run_tasks) -> None:
    post = make_post(world.alice, "Never public", visibility="private")
    posts.delete_post(world.alice, post.pk)
    run_tasks()
    assert not Tombstone.objects.exists()
    assert get_as(f"/users/alice/statuses/{post.pk}")[0] == 404


# --- Collections ---------------------------------------------------------------------------------


def test_the_outbox_lists_public_posts_and_reposts_in_pages(world) -> None:
    made = [make_post(world.alice, f"Post {i}") for i in range(OUTBOX_PAGE_SIZE + 2)]
    make_post(world.alice, "Just followers", visibility="private")
    make_post(world.alice, "Quietly", visibility="unlisted")
    repost = posts.repost(world.alice, make_post(world.bob, "Bob's").pk)
    status, doc, _ = get_as("/users/alice/outbox")
    url = f"{uris.actor_url('alice')}/outbox"
    assert status == 200
    assert doc == {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": url,
        "type": "OrderedCollection",
        "totalItems": len(made) + 1,
        "first": f"{url}?page=true",
    }
    page = get_as("/users/alice/outbox?page=true")[1]
    assert page["type"] == "OrderedCollectionPage" and page["partOf"] == url
    items = page["orderedItems"]
    assert len(items) == OUTBOX_PAGE_SIZE
    assert items[0]["type"] == "Announce" and items[0]["object"] == uris.note_url("bob", repost.repost_of_id)
    assert items[1]["type"] == "Create" and items[1]["object"]["type"] == "Note"
    rest = get_as(page["next"].removeprefix(uris.base_url()))[1]
    seen = [i["object"]["id"] for i in items[1:] + rest["orderedItems"]]
    assert seen == [uris.note_url("alice", p.pk) for p in reversed(made)]
    assert "next" not in rest


def _outbox_page_queries() -> int:
    with CaptureQueriesContext(connection) as queries:
        assert Client().get("/users/alice/outbox?page=true").status_code == 200
    return len(queries)


def test_an_outbox_page_costs_the_same_queries_however_many_posts_it_holds(world) -> None:
    parent = make_post(world.bob, "Start")
    make_post(
        world.alice, "@bob #one reply", in_reply_to_id=parent.pk, media_ids=[posts.upload_media(world.alice, png_bytes()).pk]
    )
    few = _outbox_page_queries()
    for i in range(OUTBOX_PAGE_SIZE):
        make_post(
            world.alice,
            f"@bob #tag{i} reply {i}",
            in_reply_to_id=parent.pk,
            media_ids=[posts.upload_media(world.alice, png_bytes()).pk],
        )
    assert _outbox_page_queries() == few


def test_followers_and_following_show_counts_only(world) -> None:
    doc = get_as("/users/alice/followers")[1]
    assert doc["totalItems"] == 2 and "orderedItems" not in doc and "first" not in doc
    assert get_as("/users/bob/following")[1]["totalItems"] == 2


def test_featured_lists_pinned_public_posts(world) -> None:
    pinned = make_post(world.alice, "Pinned")
    hidden = make_post(world.alice, "Pinned but private", visibility="private")
    posts.pin(world.alice, pinned.pk)
    posts.pin(world.alice, hidden.pk)
    doc = get_as("/users/alice/collections/featured")[1]
    assert doc["totalItems"] == 1 and [n["id"] for n in doc["orderedItems"]] == [uris.note_url("alice", pinned.pk)]
