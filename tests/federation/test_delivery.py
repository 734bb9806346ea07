"""Delivery to other servers (F5): who receives what, and the retry schedule and circuit breaker
on a fake clock, against real fake inboxes on 127.0.0.2 and 127.0.0.3 that check every signature."""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from rostra.accounts import actions as accounts
from rostra.accounts.models import Account, Follow
from rostra.core import clock
from rostra.core.models import Event
from rostra.federation import actions as federation
from rostra.federation import delivery, uris
from rostra.federation.models import Delivery, DeliveryState, DomainHealth, OutboxActivity, RemoteActor, RemotePost
from rostra.federation.signatures import verify_request
from rostra.posts import actions as posts
from rostra.posts.models import Mention, ModerationState, Post
from rostra.testing.world import make_account, make_post

pytestmark = pytest.mark.django_db


class _Inbox(BaseHTTPRequestHandler):
    server: _InboxServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        srv = self.server
        try:
            verify_request(
                "POST", self.path, dict(self.headers.items()), body, public_key_for=srv.keys.get, now=srv.now, scheme="http"
            )
        except Exception as exc:  # recorded, and the test fails on it
            srv.bad_signatures.append(str(exc))
            status, headers = 401, {}
        else:
            with srv.lock:
                status, headers = srv.answers.pop(0) if srv.answers else srv.default
            if 200 <= status < 300:
                srv.received.append((self.path, json.loads(body), self.headers.get("Content-Type", "")))
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", "0")
        self.end_headers()


class _InboxServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, host: str) -> None:
        super().__init__((host, 0), _Inbox)
        self.lock = threading.Lock()
        self.keys: dict[str, str] = {}
        self.now: datetime = clock.now()
        self.answers: list[tuple[int, dict[str, str]]] = []
        self.default: tuple[int, dict[str, str]] = (202, {})
        self.received: list[tuple[str, dict[str, Any], str]] = []
        self.bad_signatures: list[str] = []


class FakeInstance:
    """A remote server: an inbox per actor, a shared inbox, and accounts that live there."""

    def __init__(self, host: str) -> None:
        self.server = _InboxServer(host)
        self.domain = f"{host}:{self.server.server_address[1]}"
        self.base = f"http://{self.domain}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def account(self, username: str, *, shared: bool = True) -> Account:
        account = Account.objects.create(username=username, domain=self.domain, display_name=username)
        RemoteActor.objects.create(
            account=account,
            uri=f"{self.base}/users/{username}",
            inbox=f"{self.base}/users/{username}/inbox",
            shared_inbox=f"{self.base}/inbox" if shared else "",
            fetched_at=clock.now(),
        )
        return account

    def trust(self, *locals_: Account) -> None:
        for account in locals_:
            self.server.keys[uris.key_id(account.username)] = federation.ensure_key(account).public_key_pem

    @property
    def received(self) -> list[tuple[str, dict[str, Any], str]]:
        assert self.server.bad_signatures == []
        return self.server.received


@pytest.fixture
def remote() -> Iterator[FakeInstance]:
    inst = FakeInstance("127.0.0.2")
    inst.thread.start()
    yield inst
    inst.server.shutdown()
    inst.server.server_close()


@pytest.fixture
def other() -> Iterator[FakeInstance]:
    inst = FakeInstance("127.0.0.3")
    inst.thread.start()
    yield inst
    inst.server.shutdown()
    inst.server.server_close()


@pytest.fixture
def alice() -> Account:
    return make_account("alice")


def follow(follower: Account, target: Account) -> None:
    Follow.objects.create(follower=follower, target=target)  # as the inbox's Follow handler leaves it


def send(at: datetime, *instances: FakeInstance) -> int:
    for inst in instances:
        inst.server.now = at
    return delivery.deliver_due(now=at, batch=50)


def rows(**filters: Any) -> list[Delivery]:
    return list(Delivery.objects.filter(**filters).select_related("activity").order_by("id"))


# --- Who receives what -----------------------------------------------------------------------------


def test_public_post_goes_once_per_shared_inbox_signed(run_tasks, alice, remote, other) -> None:
    follow(remote.account("bob"), alice)
    follow(remote.account("carl"), alice)  # same server, same shared inbox: one delivery
    follow(other.account("dora", shared=False), alice)  # no shared inbox: her own
    remote.trust(alice)
    other.trust(alice)
    post = make_post(alice, "Hello, fediverse")
    run_tasks()
    assert sorted(r.inbox for r in rows()) == sorted([f"{remote.base}/inbox", f"{other.base}/users/dora/inbox"])

    assert send(clock.now(), remote, other) == 2
    [(path, body, content_type)] = remote.received
    assert (path, content_type) == ("/inbox", "application/activity+json")
    assert body["type"] == "Create" and body["object"]["id"] == uris.note_url("alice", post.pk)
    assert body["object"]["content"].startswith("<p>Hello, fediverse")
    assert [p for p, _, _ in other.received] == ["/users/dora/inbox"]
    assert {r.state for r in rows()} == {DeliveryState.DONE}


def test_f5_remote_down_exactly_once_even_if_the_task_runs_twice(run_tasks, alice, remote) -> None:
    follow(remote.account("bob"), alice)
    remote.trust(alice)
    make_post(alice, "once")
    run_tasks()
    run_tasks()  # the pipeline may run an event again: still one activity, one row
    assert OutboxActivity.objects.count() == 1 and len(rows()) == 1
    at = clock.now()
    assert send(at, remote) == 1
    assert send(at, remote) == 0
    assert send(at + timedelta(days=3), remote) == 0
    assert len(remote.received) == 1


def test_f5_remote_down_a_claimed_row_is_leased_from_a_second_worker(run_tasks, alice, remote) -> None:
    follow(remote.account("bob"), alice)
    make_post(alice, "leased")
    run_tasks()
    at = clock.now()
    claimed = delivery._claim(at, 10)  # a worker took it and has not finished
    assert len(claimed) == 1
    assert send(at, remote) == 0  # a second worker finds nothing due
    assert remote.server.received == []


def test_direct_post_never_goes_to_followers(run_tasks, alice, remote, other) -> None:
    follow(remote.account("bob"), alice)
    friend = other.account("dora")
    bob_local = make_account("bobby")
    post = make_post(alice, "@bobby psst", visibility="direct")
    run_tasks()
    assert rows() == []  # mentions only a local account: nothing leaves the instance

    secret = make_post(alice, "@bobby and dora, psst", visibility="direct")
    Mention.objects.create(post=secret, account=friend)  # (remote mentions resolve through the inbox's accounts)
    run_tasks()
    [row] = rows()
    assert row.domain == other.domain
    assert row.activity.body["object"]["to"][-1] == f"{other.base}/users/dora"
    assert uris.PUBLIC not in row.activity.body["object"]["to"] + row.activity.body["object"]["cc"]
    assert post.pk != secret.pk and bob_local.pk


def test_followers_only_post_never_goes_to_a_non_followers_server(run_tasks, alice, remote, other) -> None:
    follow(remote.account("bob"), alice)
    other.account("stranger")
    make_post(alice, "for my followers", visibility="private")
    run_tasks()
    assert [r.domain for r in rows()] == [remote.domain]
    assert rows()[0].activity.body["to"] == [f"{uris.actor_url('alice')}/followers"]


def test_edits_and_deletes_follow_the_create_to_the_same_inboxes(run_tasks, alice, remote) -> None:
    follow(remote.account("bob"), alice)
    remote.trust(alice)
    post = make_post(alice, "first words")
    run_tasks()
    posts.edit_post(alice, post.pk, text="second words")
    run_tasks()
    posts.delete_post(alice, post.pk)
    run_tasks()
    kinds = [r.activity.body["type"] for r in rows()]
    assert kinds == ["Create", "Update", "Delete"]
    assert "second words" in rows()[1].activity.body["object"]["content"]
    assert all(r.inbox == f"{remote.base}/inbox" for r in rows())
    send(clock.now(), remote)
    assert remote.received[-1][1]["object"] == {
        "id": uris.note_url("alice", post.pk),
        "type": "Tombstone",
        "deleted": remote.received[-1][1]["object"]["deleted"],
    }


def test_follow_undo_like_block_and_profile_updates(run_tasks, alice, remote) -> None:
    bob = remote.account("bob")
    accounts.follow(alice, bob)
    run_tasks()
    follow_row = Follow.objects.get(follower=alice, target=bob)
    [sent] = rows()
    assert sent.inbox == f"{remote.base}/users/bob/inbox"  # a Follow goes to the actor's own inbox
    assert sent.activity.body["id"] == f"{uris.base_url()}/follows/{follow_row.pk}"
    accounts.unfollow(alice, bob)
    run_tasks()
    undo = rows()[-1].activity.body
    assert undo["type"] == "Undo" and undo["object"]["id"] == sent.activity.body["id"]

    follow(bob, alice)
    accounts.update_profile(alice, accounts.ProfileUpdate(display_name="Alice L."))
    run_tasks()
    update = rows()[-1].activity.body
    assert (update["type"], update["object"]["type"], update["object"]["name"]) == ("Update", "Person", "Alice L.")
    assert rows()[-1].inbox == f"{remote.base}/inbox"

    accounts.block(alice, bob)
    run_tasks()
    assert rows()[-1].activity.body["type"] == "Block" and rows()[-1].activity.body["object"] == f"{remote.base}/users/bob"


def test_accept_is_sent_once_for_a_remote_follow(run_tasks, alice, remote) -> None:
    bob = remote.account("bob")
    accounts.follow(bob, alice)  # what the inbox's Follow handler does
    run_tasks()
    follow_row = Follow.objects.get(follower=bob, target=alice)
    delivery.send_accept(follow_row, "https://elsewhere.example/follows/1")
    delivery.send_accept(follow_row, "https://elsewhere.example/follows/1")
    accepts = [r for r in rows() if r.activity.body["type"] == "Accept"]
    assert {r.inbox for r in accepts} == {f"{remote.base}/users/bob/inbox"}
    assert accepts[-1].activity.body["object"]["id"] == "https://elsewhere.example/follows/1"


# --- Retries and the breaker on a fake clock -------------------------------------------------------


def _one_delivery(run_tasks: Any, alice: Account, remote: FakeInstance) -> Delivery:
    follow(remote.account("bob"), alice)
    remote.trust(alice)
    make_post(alice, "are you there?")
    run_tasks()
    [row] = rows()
    return row


def _due(row: Delivery) -> datetime:
    """When the row will next be tried: its own time, or the end of its domain's pause."""
    row.refresh_from_db()
    health = DomainHealth.objects.filter(domain=row.domain).first()
    if health is not None and health.paused_until is not None and health.paused_until > row.next_attempt_at:
        return health.paused_until
    return row.next_attempt_at


def test_f5_remote_down_retries_for_two_days_then_gives_up(run_tasks, alice, remote) -> None:
    row = _one_delivery(run_tasks, alice, remote)
    remote.server.default = (503, {})
    times: list[datetime] = []
    at = clock.now()
    while True:
        assert send(at, remote) == 1
        times.append(at)
        row.refresh_from_db()
        if row.state != DeliveryState.PENDING:
            break
        # Nothing happens before it is due.
        assert send(_due(row) - timedelta(seconds=1), remote) == 0
        at = _due(row)
    assert row.state == DeliveryState.FAILED and row.attempts == delivery.MAX_RETRIES + 1 == 17
    assert "gave up" in row.last_error
    gaps = [b - a for a, b in itertools.pairwise(times)]
    for n, gap in enumerate(gaps):
        assert gap >= delivery.retry_delay(n, row.pk)  # the schedule, or later while the domain is paused
    assert gaps[:7] == [delivery.retry_delay(n, row.pk) for n in range(7)]  # before the breaker opens: exactly it
    assert times[-1] - times[0] >= timedelta(days=2)
    assert sum((delivery.retry_delay(n, 0) for n in range(16)), timedelta()) >= timedelta(days=2)
    assert send(at + timedelta(days=30), remote) == 0  # given up for good
    assert remote.server.received == []


def test_f5_remote_down_unreachable_then_recovers(run_tasks, alice, remote) -> None:
    follow(remote.account("bob"), alice)
    make_post(alice, "eventually")
    run_tasks()
    [row] = rows()
    Delivery.objects.filter(pk=row.pk).update(inbox="http://127.0.0.4:9/inbox", domain="127.0.0.4:9")  # nobody listens
    at = clock.now()
    assert send(at, remote) == 1
    row.refresh_from_db()
    assert (row.state, row.attempts, row.last_status) == (DeliveryState.PENDING, 1, None)
    assert row.next_attempt_at == at + delivery.retry_delay(0, row.pk)
    remote.trust(alice)
    Delivery.objects.filter(pk=row.pk).update(inbox=f"{remote.base}/inbox", domain=remote.domain)  # back (a moved host)
    assert send(row.next_attempt_at, remote) == 1
    row.refresh_from_db()
    assert row.state == DeliveryState.DONE and len(remote.received) == 1


@pytest.mark.parametrize("status", [404, 410, 400, 401, 403])
def test_f5_remote_down_refusals_are_not_retried(run_tasks, alice, remote, status) -> None:
    row = _one_delivery(run_tasks, alice, remote)
    remote.server.default = (status, {})
    at = clock.now()
    send(at, remote)
    row.refresh_from_db()
    assert (row.state, row.attempts, row.last_status) == (DeliveryState.FAILED, 1, status)
    assert send(at + timedelta(days=3), remote) == 0
    assert not DomainHealth.objects.filter(domain=remote.domain, consecutive_failures__gt=0).exists()


def test_f5_remote_down_429_waits_retry_after(run_tasks, alice, remote) -> None:
    row = _one_delivery(run_tasks, alice, remote)
    remote.server.answers = [(429, {"Retry-After": "600"})]
    at = clock.now()
    send(at, remote)
    row.refresh_from_db()
    assert (row.state, row.last_status, row.next_attempt_at) == (DeliveryState.PENDING, 429, at + timedelta(seconds=600))
    assert send(at + timedelta(seconds=599), remote) == 0
    assert send(at + timedelta(seconds=600), remote) == 1
    row.refresh_from_db()
    assert row.state == DeliveryState.DONE and len(remote.received) == 1


def test_f5_remote_down_408_and_5xx_are_retried(run_tasks, alice, remote) -> None:
    row = _one_delivery(run_tasks, alice, remote)
    remote.server.answers = [(408, {}), (500, {})]
    at = clock.now()
    send(at, remote)
    row.refresh_from_db()
    send(row.next_attempt_at, remote)
    row.refresh_from_db()
    assert (row.state, row.attempts, row.last_status) == (DeliveryState.PENDING, 2, 500)
    send(row.next_attempt_at, remote)
    row.refresh_from_db()
    assert row.state == DeliveryState.DONE and row.attempts == 3


def test_f5_remote_down_breaker_pauses_the_domain_and_a_success_closes_it(run_tasks, alice, remote, other) -> None:
    for name in ("bob", "carl"):
        follow(remote.account(name, shared=False), alice)  # two inboxes on the same domain
    follow(other.account("dora"), alice)
    remote.trust(alice)
    other.trust(alice)
    for n in range(5):
        make_post(alice, f"post {n}")
    run_tasks()
    assert len(rows(domain=remote.domain)) == 10 and len(rows(domain=other.domain)) == 5
    remote.server.default = (503, {})
    at = clock.now()
    assert send(at, remote, other) == 15  # 10 failures at once: many, but not yet for long
    health = DomainHealth.objects.get(domain=remote.domain)
    assert health.consecutive_failures == 10 and health.paused_until is None
    assert len(other.received) == 5  # a healthy domain is not held back

    at += timedelta(minutes=11)
    assert send(at, remote, other) == 10  # all due again; the first failure opens the breaker
    health.refresh_from_db()
    assert health.paused_until == at + delivery.BREAKER_PAUSE and health.consecutive_failures == 11
    assert delivery.domain_paused(remote.domain, now=at + timedelta(minutes=30))
    # Paused: nothing is sent there, and nothing is lost.
    assert send(at + timedelta(minutes=30), remote) == 0
    assert len(rows(domain=remote.domain, state=DeliveryState.PENDING)) == 10

    # After the pause, one probe. It fails: paused again, twice as long.
    probe_at = health.paused_until
    assert send(probe_at, remote) == 1
    health.refresh_from_db()
    assert health.paused_until == probe_at + 2 * delivery.BREAKER_PAUSE

    # The remote recovers: the next probe succeeds, the breaker closes, everything drains.
    remote.server.default = (202, {})
    at = health.paused_until
    assert send(at, remote) == 1
    health.refresh_from_db()
    assert (health.consecutive_failures, health.paused_until, health.pauses) == (0, None, 0)
    for _ in range(5):
        at += timedelta(hours=1)
        send(at, remote)
    assert {r.state for r in rows(domain=remote.domain)} == {DeliveryState.DONE}
    assert len(remote.received) == 10


def test_held_posts_are_not_sent_released_ones_are_and_removed_ones_are_taken_back(run_tasks, alice, remote) -> None:
    follow(remote.account("bob"), alice)
    post = make_post(alice, "wait for it")
    Post.objects.filter(pk=post.pk).update(moderation_state=ModerationState.HELD)  # as stage 2 or a moderator
    run_tasks()
    assert rows() == []
    Post.objects.filter(pk=post.pk).update(moderation_state=ModerationState.PUBLISHED)
    delivery.on_post_moderated(post.pk, "published")  # the post.moderated handler
    delivery.on_post_moderated(post.pk, "published")
    assert [r.activity.body["type"] for r in rows()] == ["Create"]
    Post.objects.filter(pk=post.pk).update(moderation_state=ModerationState.REMOVED)
    delivery.on_post_moderated(post.pk, "removed")
    assert [r.activity.body["type"] for r in rows()] == ["Create", "Delete"]


def test_finished_deliveries_are_pruned_after_thirty_days(run_tasks, alice, remote) -> None:
    row = _one_delivery(run_tasks, alice, remote)
    at = clock.now()
    send(at, remote)
    assert delivery.prune(now=at + timedelta(days=29)) == 0
    assert delivery.prune(now=at + timedelta(days=31)) == 1
    assert not Delivery.objects.filter(pk=row.pk).exists()
    assert OutboxActivity.objects.filter(activity_type="Create").exists()  # kept: a Delete is built from it


def test_enqueue_refuses_an_activity_without_an_id_and_writes_nothing(alice, remote) -> None:
    with pytest.raises(KeyError):
        delivery.enqueue(alice, {"type": "Create"}, [f"{remote.base}/inbox"])
    assert OutboxActivity.objects.count() == 0 and Delivery.objects.count() == 0


def test_a_remote_account_without_a_known_actor_is_skipped_without_error(run_tasks, alice) -> None:
    stranger = Account.objects.create(username="ghost", domain="old.example")  # never fetched
    accounts.follow(alice, stranger)
    accounts.block(alice, stranger)
    run_tasks()
    assert rows() == [] and OutboxActivity.objects.count() == 0
    assert not Event.objects.filter(done_at__isnull=True).exists()  # every handler ran cleanly


def test_reply_like_and_repost_of_a_remote_post_reach_its_author(run_tasks, alice, remote, other) -> None:
    bob = remote.account("bob")
    follow(other.account("dora"), alice)
    theirs = Post.objects.create(author=bob, text="from afar", content_html="<p>from afar</p>", created_at=clock.now())
    RemotePost.objects.create(post=theirs, uri=f"{remote.base}/users/bob/statuses/1")
    reply = make_post(alice, "welcome!", in_reply_to_id=theirs.pk)
    posts.like(alice, theirs.pk)
    posts.repost(alice, theirs.pk)
    run_tasks()
    create = rows(activity__activity_type="Create")
    assert {r.inbox for r in create} == {f"{remote.base}/inbox", f"{other.base}/inbox"}  # bob does not follow alice
    note = create[0].activity.body["object"]
    assert note["inReplyTo"] == f"{remote.base}/users/bob/statuses/1" and f"{remote.base}/users/bob" in note["cc"]
    [like] = rows(activity__activity_type="Like")
    assert (like.inbox, like.activity.body["object"]) == (f"{remote.base}/inbox", f"{remote.base}/users/bob/statuses/1")
    announces = rows(activity__activity_type="Announce")
    assert {r.inbox for r in announces} == {f"{remote.base}/inbox", f"{other.base}/inbox"}
    assert announces[0].activity.body["object"] == f"{remote.base}/users/bob/statuses/1"
    posts.unrepost(alice, theirs.pk)
    run_tasks()
    undo = rows(activity__activity_type="Undo")
    assert {r.inbox for r in undo} == {f"{remote.base}/inbox", f"{other.base}/inbox"}
    assert undo[0].activity.body["object"]["type"] == "Announce" and reply.pk


def test_unlike_unblock_and_a_refused_request_are_sent_as_undo_and_reject(run_tasks, alice, remote) -> None:
    bob = remote.account("bob")
    theirs = Post.objects.create(author=bob, text="from afar", content_html="<p>from afar</p>", created_at=clock.now())
    RemotePost.objects.create(post=theirs, uri=f"{remote.base}/users/bob/statuses/2")
    posts.like(alice, theirs.pk)
    run_tasks()
    [like] = rows(activity__activity_type="Like")
    posts.unlike(alice, theirs.pk)
    posts.unlike(alice, theirs.pk)  # nothing left to undo: nothing more is sent
    run_tasks()
    [undo_like] = rows(activity__activity_type="Undo")
    assert undo_like.inbox == like.inbox and undo_like.activity.body["object"]["id"] == like.activity.body["id"]

    accounts.block(alice, bob)
    run_tasks()
    [block] = rows(activity__activity_type="Block")
    accounts.unblock(alice, bob)
    run_tasks()
    undo_block = [r for r in rows(activity__activity_type="Undo") if r.activity.body["object"]["type"] == "Block"]
    assert [r.activity.body["object"]["id"] for r in undo_block] == [block.activity.body["id"]]
    assert undo_block[0].inbox == f"{remote.base}/users/bob/inbox"

    carol = make_account("carol", locked=True)
    accounts.follow(bob, carol)  # a remote request to a locked account, as the inbox's Follow handler makes it
    run_tasks()
    accounts.reject_follow_request(carol, bob.pk)
    run_tasks()
    [reject] = rows(activity__activity_type="Reject")
    assert reject.inbox == f"{remote.base}/users/bob/inbox" and reject.activity.sender_id == carol.pk


def test_local_unlikes_and_unblocks_send_nothing(run_tasks, alice) -> None:
    dave = make_account("dave")
    post = make_post(dave, "local")
    posts.like(alice, post.pk)
    posts.unlike(alice, post.pk)
    accounts.block(alice, dave)
    accounts.unblock(alice, dave)
    run_tasks()
    assert rows() == []


def test_a_followers_only_quote_never_goes_to_the_unmentioned_author(run_tasks, alice, remote, other) -> None:
    """As Mastodon: the person quoted hears of a public or unlisted post; a followers-only one goes
    to followers (and the people it mentions: a reply mentions the person answered) only."""
    bob = remote.account("bob")
    follow(other.account("dora"), alice)
    theirs = Post.objects.create(author=bob, text="from afar", content_html="<p>from afar</p>", created_at=clock.now(), visibility="public")
    RemotePost.objects.create(post=theirs, uri=f"{remote.base}/users/bob/statuses/9")
    mine = make_post(alice, "just between my followers", visibility="private", quote_of_id=theirs.pk)
    run_tasks()
    assert mine.quote_of_id == theirs.pk and not mine.mention_rows.exists()
    create = rows(activity__activity_type="Create")
    assert {r.inbox for r in create} == {f"{other.base}/inbox"}  # dora's server; not bob's


# --- The cheap first question: could anyone elsewhere receive this post? ----------------------------


def test_a_post_nobody_elsewhere_follows_or_is_named_in_makes_no_delivery_work(run_tasks, alice, remote) -> None:
    remote.account("stranger")  # known here, but follows nobody
    follow(make_account("dave"), alice)  # a local follower only
    post = make_post(alice, "hello, neighbours")
    run_tasks()
    assert rows() == [] and OutboxActivity.objects.count() == 0
    with CaptureQueriesContext(connection) as queries:
        delivery.on_post_created(post.pk)
    # Neither the full read (media, hashtags, mentions' accounts) nor an activity built for nobody
    read = " ".join(q["sql"] for q in queries.captured_queries)
    assert "posts_media" not in read and "posts_hashtag" not in read and "federation_" not in read
    assert OutboxActivity.objects.count() == 0


@pytest.mark.parametrize("how", ["reply", "quote", "repost", "mention"])
def test_a_post_with_no_remote_follower_still_reaches_the_remote_account_it_concerns(run_tasks, alice, remote, how) -> None:
    bob = remote.account("bob")
    follow(make_account("dave"), alice)  # no remote follower
    theirs = Post.objects.create(author=bob, text="from afar", content_html="<p>from afar</p>", created_at=clock.now())
    RemotePost.objects.create(post=theirs, uri=f"{remote.base}/users/bob/statuses/7")
    if how == "reply":
        make_post(alice, "welcome!", in_reply_to_id=theirs.pk)
    elif how == "quote":
        make_post(alice, "look at this", quote_of_id=theirs.pk)
    elif how == "repost":
        posts.repost(alice, theirs.pk)
    else:
        mine = make_post(alice, "hello bob")
        Mention.objects.create(post=mine, account=bob)  # (remote mentions resolve through the inbox's accounts)
    run_tasks()
    [row] = rows()
    assert row.inbox == f"{remote.base}/inbox"
    assert row.activity.activity_type == ("Announce" if how == "repost" else "Create")


def test_one_remote_follower_is_enough_for_a_post_to_go_out(run_tasks, alice, remote) -> None:
    follow(make_account("dave"), alice)
    follow(remote.account("bob"), alice)
    make_post(alice, "hello, fediverse")
    run_tasks()
    assert [r.inbox for r in rows()] == [f"{remote.base}/inbox"]


def test_no_remote_audience_check_for_held_direct_or_suspended_posts(run_tasks, alice, remote) -> None:
    bob = remote.account("bob")
    follow(bob, alice)
    private_note = make_post(alice, "psst", visibility="direct")  # mentions nobody: its audience is empty
    assert not delivery._may_reach_remote(private_note.pk)
    public = make_post(alice, "out loud")
    assert delivery._may_reach_remote(public.pk)
    Post.objects.filter(pk=public.pk).update(moderation_state=ModerationState.HELD)
    assert not delivery._may_reach_remote(public.pk)
    assert not delivery._may_reach_remote(0)  # deleted since
