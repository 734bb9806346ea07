"""Processing the inbox: a real fake remote on 127.0.0.2 serves actor documents, activities are
POSTed to the inbox signed with ``sign_request``, the tasks run, and the local effect is checked.

Each handler is idempotent (processing an item again changes nothing) and checks that the actor
owns what it touches (C3, C6). The module runs under the shipped moderation policy (``screening``):
a remote post passes the same gate as a local one."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import count
from typing import Any

import pytest
from django.test import Client

from rostra.accounts import actions as accounts
from rostra.accounts.models import Account, Block, Follow, FollowRequest
from rostra.federation import actors, uris
from rostra.federation.models import InboundFollow, InboxItem, InboxState, OutboxActivity, RemoteActor, RemotePost
from rostra.federation.receive import follow_uri, object_id, process_inbox_item
from rostra.federation.signatures import generate_key_pair, sign_request
from rostra.moderation.actions import save_policy
from rostra.moderation.models import Decision, Report
from rostra.moderation.policy import default_document
from rostra.notifications.models import Notification
from rostra.posts.actions import Draft, create_post
from rostra.posts.models import Like, Mention, Post, PostEdit

pytestmark = [pytest.mark.django_db, pytest.mark.screening]

AS = "application/activity+json"
PUBLIC = uris.PUBLIC
BENIGN = "lovely weather for a walk in the park today"
THREAT = "I will kill you tomorrow, I know where you live"
INCITEMENT = "Everyone grab your guns, we march on the capitol tomorrow and hang the traitors"


class _Handler(BaseHTTPRequestHandler):
    server: _Remote

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.server.requests.append(self.path)
        found = self.server.documents.get(self.path)
        if found is None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = json.dumps(found).encode()
        self.send_response(200)
        self.send_header("Content-Type", AS)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Remote(ThreadingHTTPServer):
    """Another server: actor documents (with their keys) and notes, and activities it signs."""

    daemon_threads = True

    def __init__(self, key_pair: tuple[str, str]) -> None:
        super().__init__(("127.0.0.2", 0), _Handler)
        self.documents: dict[str, dict[str, Any]] = {}
        self.requests: list[str] = []
        self.private_pem, self.public_pem = key_pair
        self.numbers = count(1)

    @property
    def base(self) -> str:
        return f"http://127.0.0.2:{self.server_address[1]}"

    def actor(self, name: str, **extra: Any) -> str:
        uri = f"{self.base}/users/{name}"
        self.documents[f"/users/{name}"] = {
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": uri,
            "type": "Person",
            "preferredUsername": name,
            "name": name.title(),
            "summary": "<p>Hello <script>alert(1)</script><b>there</b></p>",
            "inbox": f"{uri}/inbox",
            "followers": f"{uri}/followers",
            "endpoints": {"sharedInbox": f"{self.base}/inbox"},
            "manuallyApprovesFollowers": False,
            "attachment": [{"type": "PropertyValue", "name": "Site", "value": '<a href="https://x.example">x</a>'}],
            "publicKey": {"id": f"{uri}#main-key", "owner": uri, "publicKeyPem": self.public_pem},
            **extra,
        }
        return uri

    def note(self, actor: str, text: str = BENIGN, **extra: Any) -> dict[str, Any]:
        return {
            "id": f"{actor}/statuses/{next(self.numbers)}",
            "type": "Note",
            "attributedTo": actor,
            "content": f"<p>{text}</p>",
            "to": [PUBLIC],
            "cc": [f"{actor}/followers"],
            "published": "2026-01-01T10:00:00Z",
            **extra,
        }

    def send(self, actor: str, kind: str, obj: Any, *, path: str = "/inbox", **extra: Any) -> InboxItem:
        """Sign and POST an activity to our inbox; returns its stored item (processed later)."""
        doc = {
            "@context": uris.AS_CONTEXT,
            "id": f"{actor}/activities/{next(self.numbers)}",
            "type": kind,
            "actor": actor,
            "object": obj,
            **extra,
        }
        body = json.dumps(doc).encode()
        headers = sign_request(
            "POST", f"http://testserver{path}", {}, body, key_id=f"{actor}#main-key", private_key_pem=self.private_pem
        )
        headers.setdefault("Host", "testserver")
        meta = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
        response = Client().post(path, data=body, content_type=AS, **meta)
        assert response.status_code == 202, response.content
        return InboxItem.objects.get(activity_id=doc["id"])


@pytest.fixture(scope="module")
def key_pair() -> tuple[str, str]:
    return generate_key_pair()


@pytest.fixture
def remote(key_pair) -> Iterator[_Remote]:
    server = _Remote(key_pair)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def process(run_tasks):
    """Run the tasks, then return the item as stored, checking that running it again changes nothing."""

    def run(item: InboxItem) -> InboxItem:
        run_tasks()
        item.refresh_from_db()
        assert item.state != InboxState.PENDING
        before = _snapshot()
        process_inbox_item(item.pk)
        run_tasks()
        assert _snapshot() == before, "processing an item twice changed something"
        return item

    return run


def _snapshot() -> tuple[int, ...]:
    models = (Account, Follow, FollowRequest, Block, Post, PostEdit, Like, Mention, Report, InboundFollow, Notification)
    return tuple(m.objects.count() for m in models)


def _account(uri: str) -> Account:
    return RemoteActor.objects.select_related("account").get(uri=uri).account


def _post_of(note: dict[str, Any]) -> Post:
    return RemotePost.objects.select_related("post").get(uri=note["id"]).post


# --- Actors ------------------------------------------------------------------------------------------


def test_an_actor_is_resolved_into_an_account_sanitised_and_kept_a_day(world, remote) -> None:
    uri = remote.actor("zoe", type="Service", manuallyApprovesFollowers=True)
    account = actors.resolve(uri)
    assert (account.username, account.domain, account.display_name) == ("zoe", f"127.0.0.2:{remote.server_address[1]}", "Zoe")
    assert account.locked and account.bot and account.user_id is None
    assert "<script>" not in account.note_html and "alert" not in account.note and "there" in account.note
    assert account.fields[0]["name"] == "Site" and 'rel="nofollow noopener noreferrer"' in account.fields[0]["value_html"]
    row = account.remote_actor
    assert (row.inbox, row.shared_inbox, row.actor_type) == (f"{uri}/inbox", f"{remote.base}/inbox", "Service")
    fetched = len(remote.requests)
    assert actors.resolve(uri).pk == account.pk
    assert len(remote.requests) == fetched  # cached: refetched at most daily


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"type": "Note"}, "Person"),
        ({"preferredUsername": None}, "preferredUsername"),
        ({"preferredUsername": "x" * 31}, "preferredUsername"),
        ({"inbox": None}, "inbox"),
        ({"id": "http://127.0.0.3:9/users/zoe"}, "host"),
    ],
)
def test_an_unusable_actor_document_is_refused_and_nothing_is_stored(world, remote, change, reason) -> None:
    uri = remote.actor("zoe")
    doc = remote.documents["/users/zoe"]
    doc.update(change)
    with pytest.raises(actors.ActorError, match=reason):
        actors.resolve(uri)
    assert not RemoteActor.objects.exists() and not Account.objects.exclude(domain="").exists()


@pytest.mark.parametrize(
    ("name", "stored"),
    [("127.0.0.2:8000", "127.0.0.2_8000"), ("a-very-long-instance-domain.example.social", "a-very-long-instance-domain.ex")],
)
def test_a_servers_own_actor_named_after_its_host_is_kept(world, remote, name, stored) -> None:
    """Mastodon's and Rostra's instance actors are Applications named after their host (a port, or
    more than 30 characters): they sign Flags, so they must be storable, under a safe name."""
    uri = remote.actor("actor", type="Application", preferredUsername=name)
    account = actors.resolve(uri)
    assert (account.username, account.domain) == (stored, remote.base.removeprefix("http://"))
    remote.documents["/users/actor"]["type"] = "Person"  # a person gets no such leeway
    with pytest.raises(actors.ActorError, match="preferredUsername"):
        actors.validate(remote.documents["/users/actor"])


# --- Follows -----------------------------------------------------------------------------------------


def test_a_remote_follow_creates_the_follow_and_asks_for_an_accept(world, remote, process) -> None:
    actor = remote.actor("zoe")
    item = process(remote.send(actor, "Follow", uris.actor_url("alice")))
    assert item.state == InboxState.PROCESSED, item.outcome
    zoe = _account(actor)
    assert Follow.objects.filter(follower=zoe, target=world.alice).exists()
    inbound = InboundFollow.objects.get(follower=zoe, target=world.alice)
    assert inbound.activity_id == item.activity_id
    accept = OutboxActivity.objects.get(activity_type="Accept", sender=world.alice)
    assert object_id(accept.body["object"]) == item.activity_id  # the Accept names the Follow it answers
    assert Notification.objects.filter(recipient=world.alice, actor=zoe, kind="follow").exists()


def test_a_remote_follow_of_a_locked_account_is_a_request_and_not_accepted_yet(world, remote, process) -> None:
    actor = remote.actor("zoe")
    item = process(remote.send(actor, "Follow", uris.actor_url("carol")))
    assert item.state == InboxState.PROCESSED
    assert FollowRequest.objects.filter(requester=_account(actor), target=world.carol).exists()
    assert not OutboxActivity.objects.filter(activity_type="Accept").exists()


def test_undo_follow_unfollows(world, remote, process) -> None:
    actor = remote.actor("zoe")
    follow = remote.send(actor, "Follow", uris.actor_url("alice"))
    process(follow)
    item = process(remote.send(actor, "Undo", follow.body))
    assert item.state == InboxState.PROCESSED
    assert not Follow.objects.filter(follower=_account(actor), target=world.alice).exists()
    assert not InboundFollow.objects.exists()


def test_accept_and_reject_of_a_follow_a_local_account_sent(world, remote, process) -> None:
    actor = remote.actor("zoe", manuallyApprovesFollowers=True)
    zoe = actors.resolve(actor)
    assert accounts.follow(world.alice, zoe) == "requested"
    request = FollowRequest.objects.get(requester=world.alice, target=zoe)
    follow = {"id": follow_uri(request.pk), "type": "Follow", "actor": uris.actor_url("alice"), "object": actor}
    item = process(remote.send(actor, "Accept", follow))
    assert item.state == InboxState.PROCESSED and item.outcome == "Follow confirmed."
    confirmed = Follow.objects.get(follower=world.alice, target=zoe)
    item = process(remote.send(actor, "Reject", {**follow, "id": follow_uri(confirmed.pk)}))
    assert item.outcome == "Follow removed."
    assert not Follow.objects.filter(follower=world.alice, target=zoe).exists()


def test_an_accept_by_someone_else_confirms_nothing(world, remote, process) -> None:
    zoe = actors.resolve(remote.actor("zoe", manuallyApprovesFollowers=True))
    mallory = remote.actor("mallory")
    accounts.follow(world.alice, zoe)
    request = FollowRequest.objects.get(requester=world.alice, target=zoe)
    process(remote.send(mallory, "Accept", follow_uri(request.pk)))
    assert FollowRequest.objects.filter(pk=request.pk).exists()
    assert not Follow.objects.filter(follower=world.alice, target=zoe).exists()


# --- Notes -------------------------------------------------------------------------------------------


def test_create_note_stores_a_post_with_mentions_tags_reply_and_notifications(world, remote, process) -> None:
    actor = remote.actor("zoe")
    parent = create_post(world.alice, Draft(text="Where should we walk?"))
    note = remote.note(
        actor,
        'Hi <a href="https://x.example/@alice">@alice</a> #Walks <img src=x onerror=alert(1)>',
        summary="park talk",
        sensitive=True,
        inReplyTo=uris.note_url("alice", parent.pk),
        tag=[{"type": "Mention", "href": uris.actor_url("alice")}, {"type": "Hashtag", "name": "#Walks"}],
        contentMap={"en": "..."},
    )
    item = process(remote.send(actor, "Create", note))
    assert item.state == InboxState.PROCESSED, item.outcome
    post = _post_of(note)
    assert post.author == _account(actor) and post.visibility == "public"
    assert post.text.startswith("Hi @alice #Walks") and "onerror" not in post.content_html and "<img" not in post.content_html
    assert (post.spoiler_text, post.sensitive, post.language) == ("park talk", True, "en")
    assert post.in_reply_to_id == parent.pk and post.thread_id == parent.pk
    assert list(post.hashtags.values_list("name", flat=True)) == ["walks"]
    assert Mention.objects.filter(post=post, account=world.alice).exists()
    assert Notification.objects.filter(recipient=world.alice, kind__in=("mention", "reply"), post=post).exists()
    assert Decision.objects.get(post=post).source == "remote"


def test_a_notes_url_on_another_host_is_not_kept_so_it_cannot_stand_in_for_that_post(world, remote, process) -> None:
    """C4/C6: a note naming another server's post as its ``url`` must never be found by it."""
    from rostra.federation import resolve

    zoe = remote.actor("zoe")
    victim = "https://victim.example/@bob/1"
    spoof = remote.note(zoe, url=victim)
    own = remote.note(zoe, url=f"{remote.base}/@zoe/2")
    for note in (spoof, own):
        assert process(remote.send(zoe, "Create", note)).state == InboxState.PROCESSED
    assert RemotePost.objects.get(uri=spoof["id"]).url == ""
    assert RemotePost.objects.get(uri=own["id"]).url == f"{remote.base}/@zoe/2"
    assert resolve._stored_by_url(victim) is None
    assert resolve._stored_by_url(f"{remote.base}/@zoe/2") == _post_of(own)


def test_mentions_of_known_remote_accounts_are_kept_and_unknown_ones_are_not_fetched(world, remote, process) -> None:
    zoe, yan = remote.actor("zoe"), remote.actor("yan")
    actors.resolve(yan)  # yan is known here; nobody knows "xia"
    fetched = len(remote.requests)
    note = remote.note(zoe, f"@yan @xia {BENIGN}", tag=[
        {"type": "Mention", "href": yan}, {"type": "Mention", "href": f"{remote.base}/users/xia"},
    ])
    item = process(remote.send(zoe, "Create", note))
    assert item.state == InboxState.PROCESSED, item.outcome
    post = _post_of(note)
    assert list(Mention.objects.filter(post=post).values_list("account__username", flat=True)) == ["yan"]
    assert not [r for r in remote.requests[fetched:] if "/users/xia" in r]
    # The API shows the mention, and the post's own addresses on its server
    status = Client().get(f"/api/v1/statuses/{post.pk}").json()
    assert [m["acct"] for m in status["mentions"]] == [f"yan@{remote.base.removeprefix('http://')}"]
    assert status["uri"] == note["id"]


@pytest.mark.parametrize(
    ("to", "cc", "visibility"),
    [
        ([PUBLIC], [], "public"),
        (["followers"], [PUBLIC], "unlisted"),
        (["followers"], [], "private"),
        ([uris.actor_url("alice")], [], "direct"),
    ],
)
def test_addressing_maps_to_visibility(world, remote, process, to, cc, visibility) -> None:
    actor = remote.actor("zoe")
    fix = [f"{actor}/followers" if x == "followers" else x for x in to]
    note = remote.note(actor, to=fix, cc=cc)
    process(remote.send(actor, "Create", note))
    assert _post_of(note).visibility == visibility


def test_the_same_note_twice_is_one_post(world, remote, process) -> None:
    actor = remote.actor("zoe")
    note = remote.note(actor)
    process(remote.send(actor, "Create", note))
    again = process(remote.send(actor, "Create", note))
    assert again.outcome == "Already stored."
    assert RemotePost.objects.filter(uri=note["id"]).count() == 1


def test_c3_a_note_attributed_to_someone_else_is_refused(world, remote, process) -> None:
    mallory, zoe = remote.actor("mallory"), remote.actor("zoe")
    item = process(remote.send(mallory, "Create", remote.note(zoe)))
    assert item.state == InboxState.FAILED and "attributed" in item.outcome
    assert not Post.objects.filter(author__domain__startswith="127.0.0.2").exists()


def test_c6_embedded_forgery_a_note_on_another_host_is_refused(world, remote, process) -> None:
    mallory = remote.actor("mallory")
    forged = remote.note(mallory, id="https://victim.example/users/v/statuses/1", attributedTo=mallory)
    item = process(remote.send(mallory, "Create", forged))
    assert item.state == InboxState.FAILED and "C6" in item.outcome
    assert not RemotePost.objects.exists()


def test_a_note_by_reference_is_fetched_from_the_actors_host(world, remote, process) -> None:
    actor = remote.actor("zoe")
    note = remote.note(actor)
    remote.documents[note["id"].removeprefix(remote.base)] = note
    item = process(remote.send(actor, "Create", note["id"]))
    assert item.state == InboxState.PROCESSED, item.outcome
    assert _post_of(note).text == BENIGN


def test_a_remote_incitement_is_held_exactly_like_a_local_one(world, remote, process) -> None:
    local = create_post(world.bob, Draft(text=INCITEMENT))
    actor = remote.actor("zoe")
    note = remote.note(actor, INCITEMENT)
    process(remote.send(actor, "Create", note))
    post = _post_of(note)
    assert (post.moderation_state, post.moderation_label) == (local.moderation_state, local.moderation_label)
    assert post.moderation_state == "held"
    assert (
        Decision.objects.get(post=post, source="remote").action
        == Decision.objects.get(post=local, source="create").action
        == "hold"
    )


def test_update_note_edits_with_history_only_by_its_author(world, remote, process) -> None:
    zoe, mallory = remote.actor("zoe"), remote.actor("mallory")
    note = remote.note(zoe)
    process(remote.send(zoe, "Create", note))
    hostile = process(remote.send(mallory, "Update", {**note, "attributedTo": mallory, "content": "<p>pwned</p>"}))
    assert hostile.state == InboxState.FAILED
    assert _post_of(note).text == BENIGN
    item = process(remote.send(zoe, "Update", {**note, "content": "<p>an even lovelier walk</p>"}))
    assert item.state == InboxState.PROCESSED, item.outcome
    post = _post_of(note)
    assert post.text == "an even lovelier walk" and post.edited_at is not None
    assert PostEdit.objects.get(post=post).text == BENIGN


def test_update_person_refreshes_the_profile_from_its_origin(world, remote, process) -> None:
    actor = remote.actor("zoe")
    actors.resolve(actor)
    remote.documents["/users/zoe"]["name"] = "Zoe Renamed"
    item = process(remote.send(actor, "Update", {"id": actor, "type": "Person", "name": "Embedded copy ignored"}))
    assert item.state == InboxState.PROCESSED
    assert _account(actor).display_name == "Zoe Renamed"


def test_delete_only_by_its_author_and_delete_of_the_actor_removes_everything(world, remote, process) -> None:
    zoe, mallory = remote.actor("zoe"), remote.actor("mallory")
    note = remote.note(zoe)
    process(remote.send(zoe, "Create", note))
    process(remote.send(zoe, "Follow", uris.actor_url("alice")))
    tombstone = {"id": note["id"], "type": "Tombstone"}
    unknown = process(remote.send(mallory, "Delete", tombstone))
    assert unknown.outcome == "Nothing of this actor is stored here."  # an unknown actor is never fetched for a Delete
    actors.resolve(mallory)
    assert process(remote.send(mallory, "Delete", tombstone)).state == InboxState.FAILED
    local = create_post(world.alice, Draft(text=BENIGN))
    assert process(remote.send(mallory, "Delete", uris.note_url("alice", local.pk))).state == InboxState.FAILED
    assert Post.objects.filter(pk=local.pk).exists() and RemotePost.objects.filter(uri=note["id"]).exists()
    second = remote.note(zoe)
    process(remote.send(zoe, "Create", second))
    assert process(remote.send(zoe, "Delete", tombstone)).state == InboxState.PROCESSED
    assert not RemotePost.objects.filter(uri=note["id"]).exists()
    item = process(remote.send(zoe, "Delete", zoe))
    assert item.state == InboxState.PROCESSED, item.outcome
    assert not RemoteActor.objects.filter(uri=zoe).exists() and not RemotePost.objects.filter(uri=second["id"]).exists()
    assert not Follow.objects.filter(target=world.alice, follower__domain__startswith="127.0.0.2").exists()


# --- Likes, reposts, blocks, reports -------------------------------------------------------------------


def test_like_and_undo_like(world, remote, process) -> None:
    actor = remote.actor("zoe")
    post = create_post(world.alice, Draft(text=BENIGN))
    like = remote.send(actor, "Like", uris.note_url("alice", post.pk))
    assert process(like).state == InboxState.PROCESSED
    assert Like.objects.filter(post=post, account=_account(actor)).exists()
    assert Notification.objects.filter(recipient=world.alice, kind="favourite", post=post).exists()
    process(remote.send(actor, "Undo", like.activity_id))  # by id: the Like stored before
    assert not Like.objects.filter(post=post).exists()


def test_announce_and_undo_announce(world, remote, process) -> None:
    actor = remote.actor("zoe")
    post = create_post(world.alice, Draft(text=BENIGN))
    announce = remote.send(actor, "Announce", uris.note_url("alice", post.pk), to=[PUBLIC])
    assert process(announce).state == InboxState.PROCESSED
    assert Post.objects.filter(repost_of=post, author=_account(actor)).exists()
    process(remote.send(actor, "Undo", announce.body))
    assert not Post.objects.filter(repost_of=post).exists()


def test_an_undo_of_someone_elses_like_is_refused(world, remote, process) -> None:
    zoe, mallory = remote.actor("zoe"), remote.actor("mallory")
    post = create_post(world.alice, Draft(text=BENIGN))
    like = remote.send(zoe, "Like", uris.note_url("alice", post.pk))
    process(like)
    item = process(remote.send(mallory, "Undo", like.body))
    assert item.state == InboxState.FAILED and "C3" in item.outcome
    assert Like.objects.filter(post=post).exists()


def test_block_and_undo_block(world, remote, process) -> None:
    actor = remote.actor("zoe")
    process(remote.send(actor, "Follow", uris.actor_url("alice")))
    block = remote.send(actor, "Block", uris.actor_url("alice"))
    process(block)
    zoe = _account(actor)
    assert Block.objects.filter(account=zoe, target=world.alice).exists()
    assert not Follow.objects.filter(follower=zoe, target=world.alice).exists()
    process(remote.send(actor, "Undo", block.body))
    assert not Block.objects.filter(account=zoe).exists()


def test_flag_opens_a_report_from_the_remote_instance(world, remote, process) -> None:
    instance = remote.actor("instance", type="Application")
    post = create_post(world.bob, Draft(text=BENIGN))
    item = process(
        remote.send(instance, "Flag", [uris.actor_url("bob"), uris.note_url("bob", post.pk)], content="spam, please look")
    )
    assert item.state == InboxState.PROCESSED, item.outcome
    report = Report.objects.get()
    assert report.reporter == _account(instance) and report.account == world.bob
    assert report.evidence_post_ids == [post.pk] and "spam, please look" in report.comment and report.case_id


def test_an_unknown_type_is_ignored(world, remote, process) -> None:
    actor = remote.actor("zoe")
    item = process(remote.send(actor, "Arrive", uris.actor_url("alice")))  # Move is processed: tests/federation/test_move.py
    assert item.state == InboxState.IGNORED and "Arrive" in item.outcome


def test_an_actor_that_cannot_be_resolved_fails_the_item(world, remote, process) -> None:
    actor = remote.actor("zoe")
    remote.send(actor, "Follow", uris.actor_url("alice"))  # the key is fetched and kept
    item = InboxItem.objects.get()
    remote.documents["/users/zoe"]["type"] = "Note"
    assert process(item).state == InboxState.FAILED
    assert not Follow.objects.filter(follower__domain__startswith="127.0.0.2").exists()


def test_hostile_or_pointless_follows_fail_and_write_nothing(world, remote, process) -> None:
    actor = remote.actor("zoe")
    other = remote.actor("mallory")
    item = process(remote.send(actor, "Follow", other))
    assert item.state == InboxState.FAILED and "this instance's accounts" in item.outcome
    accounts.block(world.alice, _account(actor))
    item = process(remote.send(actor, "Follow", uris.actor_url("alice")))
    assert item.state == InboxState.FAILED
    assert not Follow.objects.filter(follower__domain__startswith="127.0.0.2").exists()
    assert not InboundFollow.objects.exists() and not OutboxActivity.objects.filter(activity_type="Accept").exists()


def test_a_suspended_remote_actor_is_not_heard(world, remote, process) -> None:
    actor = remote.actor("zoe")
    zoe = actors.resolve(actor)
    Account.objects.filter(pk=zoe.pk).update(suspended_at=zoe.created_at)
    item = process(remote.send(actor, "Create", remote.note(actor)))
    assert item.state == InboxState.FAILED and "suspended" in item.outcome
    assert not Post.objects.filter(author=zoe).exists()


def test_a_reply_to_a_stored_remote_post_threads_and_an_unknown_parent_is_dropped(world, remote, process) -> None:
    actor = remote.actor("zoe")
    first = remote.note(actor)
    process(remote.send(actor, "Create", first))
    reply = remote.note(actor, "and back again", inReplyTo=first["id"])
    orphan = remote.note(actor, "to nowhere", inReplyTo="https://elsewhere.example/notes/1")
    process(remote.send(actor, "Create", reply))
    process(remote.send(actor, "Create", orphan))
    assert _post_of(reply).in_reply_to_id == _post_of(first).pk
    assert _post_of(orphan).in_reply_to_id is None and _post_of(orphan).thread_id == _post_of(orphan).pk


def test_an_announce_of_an_unknown_post_is_ignored(world, remote, process) -> None:
    actor = remote.actor("zoe")
    item = process(remote.send(actor, "Announce", "https://elsewhere.example/notes/1"))
    assert item.state == InboxState.IGNORED and not Post.objects.filter(repost_of__isnull=False).exists()


def test_a_reject_of_a_pending_request_matched_by_its_actor_and_object(world, remote, process) -> None:
    actor = remote.actor("zoe", manuallyApprovesFollowers=True)
    zoe = actors.resolve(actor)
    accounts.follow(world.bob, zoe)
    follow = {"id": "https://social.example/some-other-id", "type": "Follow", "actor": uris.actor_url("bob"), "object": actor}
    item = process(remote.send(actor, "Reject", follow))
    assert item.outcome == "Follow removed."
    assert not FollowRequest.objects.filter(requester=world.bob, target=zoe).exists()


def test_a_remote_post_the_policy_refuses_is_not_stored_but_the_decision_is(world, remote, process) -> None:
    doc = default_document()
    refuse = [{"score": 0.95, "action": "refuse"}]
    violence = {**doc["categories"]["violence"], "thresholds": refuse, "new_account_thresholds": refuse}
    save_policy(world.admin.user, {**doc, "categories": {**doc["categories"], "violence": violence}}, "Refuse threats.")
    actor = remote.actor("zoe")
    note = remote.note(actor, THREAT)
    item = process(remote.send(actor, "Create", note))
    assert item.state == InboxState.FAILED and "violence" in item.outcome
    assert not RemotePost.objects.exists() and not Post.objects.filter(author__domain__startswith="127.0.0.2").exists()
    refused = Decision.objects.get(action="refuse")
    assert (refused.source, refused.post_id, refused.account_id) == ("remote", None, _account(actor).pk)
