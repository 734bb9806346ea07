"""What delivery sends besides posts: the Delete of a suspended actor (and its Update when the
suspension is lifted), reports forwarded as a Flag in the instance's name, and nothing of a local
account's posts for a remote account that blocks it — against real fake remotes on 127.0.0.2
and 127.0.0.3 that check every signature (the instance actor's too)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from rostra.accounts.actions import delete_account
from rostra.accounts.models import Account, Block, Follow, Role
from rostra.core.errors import NotFound
from rostra.federation import instance_actor, uris
from rostra.federation.models import InboxState, OutboxActivity, RemotePost
from rostra.moderation import actions as moderation
from rostra.moderation.models import Report
from rostra.posts.actions import edit_post
from rostra.posts.models import Mention, Post
from rostra.testing.world import PASSWORD, make_account, make_post
from tests.api.conftest import bearer, password_grant, register_app
from tests.federation.content_remote import FakeRemote

pytestmark = pytest.mark.django_db


@pytest.fixture
def remote() -> Iterator[FakeRemote]:
    with FakeRemote("127.0.0.2") as server:
        yield server


@pytest.fixture
def other() -> Iterator[FakeRemote]:
    with FakeRemote("127.0.0.3") as server:
        yield server


def _token(account: Account, scope: str = "write:reports") -> str:
    r = password_grant(register_app(), account.username, scope=scope)
    assert r.status_code == 200, r.content
    return str(r.json()["access_token"])


def _remote_post(remote: FakeRemote, actor: str, text: str) -> Post:
    note = remote.note(actor, text)
    item = remote.send(actor, "Create", note)
    from rostra.testing.tasks import run_tasks

    run_tasks()
    item.refresh_from_db()
    assert item.state == InboxState.PROCESSED, item.outcome
    return RemotePost.objects.select_related("post").get(uri=note["id"]).post


# --- A suspended actor ------------------------------------------------------------------------------


def test_a_suspension_deletes_the_actor_everywhere_and_lifting_it_updates_it(run_tasks, remote, other) -> None:
    alice = make_account("alice")
    moderator = make_account("mo", role=Role.MODERATOR)
    Follow.objects.create(follower=remote.account("fan"), target=alice)  # a follower on 127.0.0.2
    liked = _remote_post(other, other.actor("yan"), "liked once")  # alice once wrote to 127.0.0.3
    from rostra.posts import actions as posts

    posts.like(alice, liked.pk)
    run_tasks()
    remote.trust(alice)
    other.trust(alice)
    assert [b["type"] for b in other.deliver()] == ["Like"]

    moderation.act_on_account(moderator.user, alice.pk, "suspend", reason="spam", days=3)
    run_tasks()
    run_tasks()  # the event again: still one Delete per server
    actor = uris.actor_url("alice")
    for server in (remote, other):
        deletes = [b for b in server.deliver() if b["type"] == "Delete"]
        assert len(deletes) == 1
        assert (deletes[0]["actor"], deletes[0]["object"]) == (actor, actor)
    assert [p for p, b in remote.received if b["type"] == "Delete"] == ["/inbox"]  # the shared inbox

    moderation.act_on_account(moderator.user, alice.pk, "lift", reason="appeal upheld")
    run_tasks()
    for server in (remote, other):
        updates = [b for b in server.deliver() if b["type"] == "Update"]
        assert len(updates) == 1 and updates[0]["object"]["id"] == actor and updates[0]["object"]["type"] == "Person"
    # Suspended again: a new Delete (its own id), not the old one skipped as sent
    moderation.act_on_account(moderator.user, alice.pk, "ban", reason="again")
    run_tasks()
    assert len([b for b in remote.deliver() if b["type"] == "Delete"]) == 2


def test_an_account_never_federated_sends_nothing_when_suspended_or_lifted(run_tasks) -> None:
    alice = make_account("alice")
    moderator = make_account("mo", role=Role.MODERATOR)
    moderation.act_on_account(moderator.user, alice.pk, "suspend", reason="spam", days=1)
    moderation.act_on_account(moderator.user, alice.pk, "lift", reason="ok")
    run_tasks()
    assert not OutboxActivity.objects.exists()


def test_a_deleted_account_says_goodbye_signed_with_its_kept_key_and_leaves_nothing_else(run_tasks, remote) -> None:
    alice = make_account("alice")
    Follow.objects.create(follower=remote.account("fan"), target=alice)
    remote.trust(alice)  # her key as the remote fetched it while she existed
    make_post(alice, "my words")
    run_tasks()
    actor = uris.actor_url("alice")
    make_post(alice, "never sent")  # still pending when she leaves
    run_tasks()
    delete_account(alice.user, PASSWORD)
    run_tasks()
    assert not Account.objects.filter(username="alice").exists()
    [farewell] = OutboxActivity.objects.all()  # her Creates (with her words) went with her
    assert (farewell.activity_type, farewell.sender_id, farewell.body["object"]) == ("Delete", None, actor)
    assert farewell.sealed_key and "PRIVATE KEY" not in farewell.sealed_key  # sealed at rest
    received = remote.deliver()
    assert [(b["type"], b["actor"], b["object"]) for b in received] == [("Delete", actor, actor)]


def test_a_deleted_account_nobody_knew_leaves_no_farewell(run_tasks) -> None:
    alice = make_account("alice")
    make_post(alice, "alone")
    run_tasks()
    delete_account(alice.user, PASSWORD)
    run_tasks()
    assert not OutboxActivity.objects.exists()


# --- Reports forwarded -------------------------------------------------------------------------------


def test_a_forwarded_report_is_a_flag_from_the_instance_actor_without_the_reporter(run_tasks, remote) -> None:
    bob = make_account("bob")
    zoe_uri = remote.actor("zoe")
    first, second = _remote_post(remote, zoe_uri, "bad one"), _remote_post(remote, zoe_uri, "bad two")
    zoe = first.author
    remote.trust(instance=True)  # only the instance's key: a Flag signed by bob would be refused
    r = bearer(_token(bob)).post(
        "/api/v1/reports",
        {"account_id": str(zoe.pk), "status_ids[]": [str(first.pk), str(second.pk)], "comment": "spam wave", "forward": "true"},
    )
    assert r.status_code == 200, r.content
    assert r.json()["forwarded"] is True
    run_tasks()
    report = Report.objects.get(pk=int(r.json()["id"]))
    assert report.reporter_id == bob.pk  # kept here, for the moderators here
    assert report.forwarded  # remembered: the admin API's report says so too
    post_uris = [RemotePost.objects.get(post=p).uri for p in (first, second)]
    delete_account(bob.user, PASSWORD)  # bob leaves before it is sent: the instance still sends it
    run_tasks()
    remote.deliver()
    [(path, flag)] = [(p, b) for p, b in remote.received if b["type"] == "Flag"]
    assert path == "/inbox"  # the shared inbox: the server's moderators, not zoe's own inbox
    assert flag["actor"] == instance_actor.actor_uri()
    assert flag["object"] == [zoe_uri, *post_uris]
    assert flag["content"] == "spam wave"
    assert "bob" not in str(flag)  # the reporter is never named
    # No Delete of bob went there: where his reports went is not where "he was known"
    assert [b["type"] for b in remote.deliver()] == ["Flag"]


def test_a_report_not_forwarded_or_about_a_local_account_sends_nothing(run_tasks, remote) -> None:
    bob, carl = make_account("bob"), make_account("carl")
    zoe = _remote_post(remote, remote.actor("zoe"), "meh").author
    client = bearer(_token(bob))
    r = client.post("/api/v1/reports", {"account_id": str(zoe.pk), "comment": "meh"})
    assert r.status_code == 200 and r.json()["forwarded"] is False
    r = client.post("/api/v1/reports", {"account_id": str(carl.pk), "forward": "true"})
    assert r.status_code == 200 and r.json()["forwarded"] is False
    r = client.post("/api/v1/reports", {"account_id": str(zoe.pk), "forward": "perhaps"})
    assert r.status_code == 422 and "forward must be true or false" in r.json()["error"]
    run_tasks()
    assert not OutboxActivity.objects.filter(activity_type="Flag").exists()
    assert Report.objects.count() == 2


def test_the_web_report_form_offers_forwarding_for_a_remote_account_only(run_tasks, remote, client_for) -> None:
    bob, carl = make_account("bob"), make_account("carl")
    zoe = _remote_post(remote, remote.actor("zoe"), "meh").author
    remote.trust(instance=True)
    web = client_for(bob)
    page = web.get(f"/report?account={zoe.pk}")
    assert page.status_code == 200
    assert f"Also send to {zoe.domain}&#x27;s moderators" in page.content.decode() or f"Also send to {zoe.domain}'s moderators" in page.content.decode()
    assert 'name="forward"' not in web.get(f"/report?account={carl.pk}").content.decode()
    sent = web.post("/report", {"account": str(zoe.pk), "category": "spam", "comment": "from the web", "forward": "1"})
    assert sent.status_code == 302, sent.content
    run_tasks()
    [flag] = [b for b in remote.deliver() if b["type"] == "Flag"]
    assert flag["object"] == [RemotePost.objects.filter(post__author=zoe).first().post.author.remote_actor.uri]
    assert flag["content"] == "from the web"


# --- Blocked by a remote account -------------------------------------------------------------------------


def test_posts_are_not_delivered_to_a_remote_account_that_blocks_their_author(run_tasks, remote, other) -> None:
    alice = make_account("alice")
    zoe_uri = remote.actor("zoe", endpoints={})  # no shared inbox: her own
    zoe_post = _remote_post(remote, zoe_uri, "zoe speaks")
    zoe = zoe_post.author
    Follow.objects.create(follower=zoe, target=alice)
    Follow.objects.create(follower=other.account("yan"), target=alice)
    remote.trust(alice)
    other.trust(alice)
    before = make_post(alice, f"before the block, hi @zoe@{remote.domain}")
    run_tasks()
    assert [b["object"]["id"] for b in remote.deliver()] == [uris.note_url("alice", before.pk)]

    item = remote.send(zoe_uri, "Block", uris.actor_url("alice"))
    run_tasks()
    item.refresh_from_db()
    assert item.state == InboxState.PROCESSED and Block.objects.filter(account=zoe, target=alice).exists()
    assert not Follow.objects.filter(follower=zoe, target=alice).exists()
    mention = make_post(alice, f"hello @zoe@{remote.domain}")
    edit_post(alice, before.pk, text=f"edited after the block, @zoe@{remote.domain}")
    run_tasks()
    assert Mention.objects.filter(post=mention, account=zoe).exists()
    assert len(remote.received) == 1  # neither the new mention nor the edit reached zoe
    to_yan = [(b["type"], b["object"]["id"]) for b in other.deliver()]
    assert ("Create", uris.note_url("alice", mention.pk)) in to_yan  # the other follower's server still gets them
    assert ("Update", uris.note_url("alice", before.pk)) in to_yan
    # The door already keeps zoe's posts from alice: no reply, quote or repost of them can be made
    with pytest.raises(NotFound):
        make_post(alice, "a reply", in_reply_to_id=zoe_post.pk)
    with pytest.raises(NotFound):
        make_post(alice, "a quote", quote_of_id=zoe_post.pk)
