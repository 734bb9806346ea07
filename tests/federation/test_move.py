"""Moving an account, both ways (docs/federation.md, "Moving an account").

A real fake remote on 127.0.0.3 serves WebFinger and actor documents (their ``alsoKnownAs`` can be
changed between requests, to show that a target is always fetched fresh) and records what is
POSTed to it; inbound activities are POSTed to our inbox signed, and the tasks run in steps.

Out: aliases, the move (password, two-factor, the target's consent, the cooldown), local followers
moved at once, blocks, mutes and lists carried over, the ``Move`` sent to remote followers, the
actor's ``alsoKnownAs``/``movedTo``, the API's ``moved``, the profile page, no more posting,
cancelling the redirect. In: a remote ``Move`` moves the local followers, refused unless the actor
moves itself and the target (fetched fresh) lists it as an alias.
"""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import count
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

from rostra.accounts import actions as accounts
from rostra.accounts import moving, twofactor
from rostra.accounts.models import Account, Block, Follow, FollowRequest, Mute
from rostra.core import clock
from rostra.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from rostra.federation import uris
from rostra.federation.models import Delivery, InboxItem, InboxState, OutboxActivity, RemoteActor
from rostra.federation.signatures import generate_key_pair, sign_request
from rostra.posts.actions import Draft, create_post
from rostra.testing.world import PASSWORD, make_account
from rostra.timelines.models import List, ListMember

pytestmark = pytest.mark.django_db

AS = "application/activity+json"
HOST = "127.0.0.3"


class _Handler(BaseHTTPRequestHandler):
    server: _Remote

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _answer(self, status: int, doc: dict[str, Any] | None = None, content_type: str = AS) -> None:
        body = json.dumps(doc).encode() if doc is not None else b""
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        self.server.fetched.append(parts.path)
        if parts.path == "/.well-known/webfinger":
            resource = parse_qs(parts.query).get("resource", [""])[0]
            name = resource.removeprefix("acct:").split("@", 1)[0]
            if f"/users/{name}" not in self.server.documents:
                return self._answer(404)
            href = f"{self.server.base}/users/{name}"
            return self._answer(
                200, {"subject": resource, "links": [{"rel": "self", "type": AS, "href": href}]}, "application/jrd+json"
            )
        found = self.server.documents.get(parts.path)
        return self._answer(200, found) if found is not None else self._answer(404)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        self.server.posted.append((self.path, json.loads(self.rfile.read(length))))
        self._answer(202)


class _Remote(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, key_pair: tuple[str, str]) -> None:
        super().__init__((HOST, 0), _Handler)
        self.documents: dict[str, dict[str, Any]] = {}
        self.fetched: list[str] = []
        self.posted: list[tuple[str, dict[str, Any]]] = []
        self.private_pem, self.public_pem = key_pair
        self.numbers = count(1)

    @property
    def domain(self) -> str:
        return f"{HOST}:{self.server_address[1]}"

    @property
    def base(self) -> str:
        return f"http://{self.domain}"

    def actor(self, name: str, **extra: Any) -> str:
        uri = f"{self.base}/users/{name}"
        self.documents[f"/users/{name}"] = {
            "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": uri,
            "type": "Person",
            "preferredUsername": name,
            "inbox": f"{uri}/inbox",
            "followers": f"{uri}/followers",
            "endpoints": {"sharedInbox": f"{self.base}/inbox"},
            "publicKey": {"id": f"{uri}#main-key", "owner": uri, "publicKeyPem": self.public_pem},
            **extra,
        }
        return uri

    def send(self, actor: str, kind: str, obj: Any, **extra: Any) -> InboxItem:
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
            "POST", "http://testserver/inbox", {}, body, key_id=f"{actor}#main-key", private_key_pem=self.private_pem
        )
        headers.setdefault("Host", "testserver")
        meta = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
        response = Client().post("/inbox", data=body, content_type=AS, **meta)
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


def _remote_account(remote: _Remote, name: str, **extra: Any) -> Account:
    """A remote account known here, as if it had been resolved before."""
    uri = remote.actor(name, **extra)
    account = Account.objects.create(username=name, domain=remote.domain, display_name=name)
    RemoteActor.objects.create(
        account=account,
        uri=uri,
        inbox=f"{uri}/inbox",
        shared_inbox=f"{remote.base}/inbox",
        followers=f"{uri}/followers",
        fetched_at=clock.now(),
    )
    return account


def _actor_doc(account: Account) -> dict[str, Any]:
    response = Client().get(f"/users/{account.username}", HTTP_ACCEPT=AS)
    assert response.status_code == 200
    return response.json()


def _following(account: Account) -> set[int]:
    return set(Follow.objects.filter(follower=account).values_list("target_id", flat=True))


def _state(*accounts_: Account) -> tuple[Any, ...]:
    rows = tuple(
        Account.objects.filter(pk__in=[a.pk for a in accounts_])
        .order_by("pk")
        .values_list("moved_to_id", "moved_at", "also_known_as")
    )
    return (*rows, Follow.objects.count(), FollowRequest.objects.count(), Block.objects.count(), Mute.objects.count())


# --- Aliases -------------------------------------------------------------------------------------


def test_an_alias_is_stored_served_as_also_known_as_and_removed(world) -> None:
    new = make_account("alice2")
    uri = moving.add_alias(new, "@alice")
    assert uri == uris.actor_url("alice")
    new.refresh_from_db()
    assert new.also_known_as == [uri]
    assert _actor_doc(new)["alsoKnownAs"] == [uri]
    assert "alsoKnownAs" in json.dumps(_actor_doc(new)["@context"])
    with pytest.raises(Conflict):
        moving.add_alias(new, f"alice@{uris.domain()}")  # the same account, written otherwise
    moving.remove_alias(new, uri)
    new.refresh_from_db()
    assert new.also_known_as == []
    assert "alsoKnownAs" not in _actor_doc(new)
    with pytest.raises(NotFound):
        moving.remove_alias(new, uri)


@pytest.mark.parametrize(
    ("handle", "message"),
    [
        ("", "Enter the handle"),
        ("@nobody", "no account @nobody"),
        ("@not a handle", "is not a handle"),
        ("@alice2", "this account itself"),
    ],
)
def test_a_bad_alias_is_refused_and_nothing_is_written(world, handle, message) -> None:
    new = make_account("alice2")
    with pytest.raises(ValidationError, match=message):
        moving.add_alias(new, handle)
    new.refresh_from_db()
    assert new.also_known_as == []


def test_at_most_ten_aliases(world) -> None:
    new = make_account("alice2")
    Account.objects.filter(pk=new.pk).update(also_known_as=[f"https://old{i}.example/users/x" for i in range(moving.MAX_ALIASES)])
    new.refresh_from_db()
    with pytest.raises(ValidationError, match="at most 10 aliases"):
        moving.add_alias(new, "@alice")


def test_a_remote_alias_is_found_through_webfinger(world, remote) -> None:
    old = remote.actor("zoe")
    uri = moving.add_alias(world.alice, f"@zoe@{remote.domain}")
    assert uri == old
    assert "/.well-known/webfinger" in remote.fetched
    assert RemoteActor.objects.filter(uri=old).exists()
    with pytest.raises(ValidationError, match=r"@ghost@.* could not be found"):
        moving.add_alias(world.alice, f"@ghost@{remote.domain}")


def test_the_settings_page_adds_and_removes_aliases(world, client_for) -> None:
    new = make_account("alice2")
    client = client_for(new)
    page = client.get("/settings/move")
    assert page.status_code == 200 and b"Moving from a different account" in page.content
    assert client.post("/settings/aliases", {"handle": "@nobody"}).status_code == 400
    assert client.post("/settings/aliases", {"handle": "@alice"}).status_code == 302
    new.refresh_from_db()
    assert new.also_known_as == [uris.actor_url("alice")]
    assert uris.actor_url("alice").encode() in client.get("/settings/move").content
    assert client.post("/settings/aliases/remove", {"uri": uris.actor_url("alice")}).status_code == 302
    new.refresh_from_db()
    assert new.also_known_as == []


# --- Moving out, to a local account ----------------------------------------------------------------


def test_a_local_move_moves_followers_lists_blocks_and_mutes(world, run_tasks, client_for) -> None:
    from tests.api.conftest import password_grant, register_app

    alice, bob, dave, eve = world.alice, world.bob, world.dave, world.eve
    new = make_account("alice2")
    moving.add_alias(new, "@alice")
    lst = List.objects.create(owner=bob, title="friends")
    ListMember.objects.create(list=lst, account=alice)
    accounts.mute(dave, alice)
    accounts.unblock(alice, eve)
    accounts.block(eve, alice)
    run_tasks()

    result = moving.move_to(alice.user, "@alice2", PASSWORD)
    run_tasks()

    assert result.target == new and result.followers_moved == 2
    alice.refresh_from_db()
    assert alice.moved_to == new and alice.moved_at is not None
    for follower in (bob, dave):
        assert new.pk in _following(follower) and alice.pk not in _following(follower)
    assert list(ListMember.objects.filter(list=lst).values_list("account_id", flat=True)) == [new.pk]
    assert Block.objects.filter(account=eve, target=new).exists()
    assert Mute.objects.filter(account=dave, target=new).exists()
    new.refresh_from_db()
    assert new.followers_count == 2
    # Each moved follower hears of it: Mastodon's `move` notification, account → target
    from rostra.notifications.models import Notification

    # (Dave muted Alice with her notifications: he is not told)
    assert list(Notification.objects.filter(kind="move", actor=alice).values_list("recipient_id", flat=True)) == [bob.pk]
    note = client_for(bob).get("/notifications")
    assert b"moved to a new account" in note.content
    token = password_grant(register_app(), "bob", scope="read").json()["access_token"]
    shown = Client().get("/api/v1/notifications?types[]=move", HTTP_AUTHORIZATION=f"Bearer {token}").json()
    assert [(n["type"], n["account"]["acct"], n["target"]["acct"]) for n in shown] == [("move", "alice", "alice2")]
    # The old account says where it went: actor document, API, profile page
    assert _actor_doc(alice)["movedTo"] == uris.actor_url("alice2")
    entity = Client().get(f"/api/v1/accounts/{alice.pk}").json()
    assert entity["moved"]["acct"] == "alice2" and entity["moved"]["moved"] is None
    assert Client().get(f"/api/v1/accounts/{new.pk}").json()["moved"] is None
    page = client_for(bob).get("/@alice")
    assert b"has moved to" in page.content and b'href="/@alice2"' in page.content
    # It can no longer post, with a clear error; a local move sends nothing to anyone
    with pytest.raises(PermissionDenied, match="has moved"):
        create_post(alice, Draft(text="still here?"))
    token = password_grant(register_app(), "alice", scope="read write").json()["access_token"]
    refused = Client().post("/api/v1/statuses", {"status": "still here?"}, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert refused.status_code == 403 and "has moved" in refused.json()["error"]
    assert not OutboxActivity.objects.filter(activity_type="Move").exists()


def test_cancelling_the_redirect_keeps_followers_where_they_are_and_the_cooldown_counts(world, run_tasks) -> None:
    alice, bob = world.alice, world.bob
    new = make_account("alice2")
    moving.add_alias(new, "@alice")
    moving.move_to(alice.user, "@alice2", PASSWORD)
    moving.cancel_redirect(alice)
    alice.refresh_from_db()
    assert alice.moved_to is None and alice.moved_at is not None
    assert new.pk in _following(bob) and alice.pk not in _following(bob)
    create_post(alice, Draft(text="back again"))  # may post again
    with pytest.raises(Conflict):
        moving.cancel_redirect(alice)
    with pytest.raises(ValidationError, match="you can move it again from"):
        moving.move_to(alice.user, "@alice2", PASSWORD)
    # After the cooldown, it may move again
    Account.objects.filter(pk=alice.pk).update(moved_at=clock.now() - moving.MOVE_COOLDOWN - timedelta(minutes=1))
    moving.move_to(alice.user, "@alice2", PASSWORD)
    alice.refresh_from_db()
    assert alice.moved_to == new


@pytest.mark.parametrize(
    ("handle", "password", "message"),
    [
        ("@alice2", "wrong password", "password is not right"),
        ("@bob", PASSWORD, "does not list this account as an alias"),
        ("@nobody", PASSWORD, "no account @nobody"),
        ("@alice", PASSWORD, "to itself"),
        ("", PASSWORD, "Enter the handle"),
    ],
)
def test_a_move_is_refused_without_the_password_or_the_targets_consent(world, handle, password, message) -> None:
    new = make_account("alice2")
    moving.add_alias(new, "@alice")
    before = _state(world.alice, new, world.bob)
    with pytest.raises(ValidationError, match=message):
        moving.move_to(world.alice.user, handle, password)
    assert _state(world.alice, new, world.bob) == before


def test_a_move_needs_the_two_factor_code_when_it_is_on(world) -> None:
    alice = world.alice
    new = make_account("alice2")
    moving.add_alias(new, "@alice")
    secret = twofactor.begin_enrolment(alice.user, PASSWORD)
    recovery = twofactor.confirm_enrolment(alice.user, twofactor.totp(secret, clock.now()))
    before = _state(alice, new)
    for code in ("", "000000"):
        with pytest.raises(ValidationError):
            moving.move_to(alice.user, "@alice2", PASSWORD, code)
        assert _state(alice, new) == before
    # A refused move does not use the code up: the target's consent is checked before the code
    with pytest.raises(ValidationError, match="alias"):
        moving.move_to(alice.user, "@bob", PASSWORD, recovery[0])
    moving.move_to(alice.user, "@alice2", PASSWORD, recovery[0])
    alice.refresh_from_db()
    assert alice.moved_to == new


def test_password_and_code_guesses_on_the_move_page_are_limited_like_sign_ins(world, client_for, settings) -> None:
    """A stolen session must not help guess the password (or the code): the move page counts
    failures against the account's sign-in limit and refuses with 429 over it."""
    settings.ROSTRA = dataclasses.replace(settings.ROSTRA, rate_limits="login_account=2/1h")
    new = make_account("alice2")
    moving.add_alias(new, "@alice")
    client = client_for(world.alice)
    answers = [client.post("/settings/move", {"handle": "@alice2", "password": "guess"}).status_code for _ in range(3)]
    assert answers == [400, 400, 429]
    assert client.post("/settings/move", {"handle": "@alice2", "password": PASSWORD}).status_code == 429
    world.alice.refresh_from_db()
    assert world.alice.moved_to is None


def test_the_move_page_refuses_with_messages_and_moves(world, client_for) -> None:
    new = make_account("alice2")
    client = client_for(world.alice)
    refused = client.post("/settings/move", {"handle": "@alice2", "password": PASSWORD})
    assert refused.status_code == 400 and b"does not list this account as an alias" in refused.content
    moving.add_alias(new, "@alice")
    assert client.post("/settings/move", {"handle": "@alice2", "password": "nope"}).status_code == 400
    assert client.post("/settings/move", {"handle": "@alice2", "password": PASSWORD}).status_code == 302
    page = client.get("/settings/move")
    assert b"This account has moved" in page.content and b"You can move it again from" in page.content
    assert client.post("/settings/move/cancel").status_code == 302
    world.alice.refresh_from_db()
    assert world.alice.moved_to is None


# --- Moving out, to a remote account ---------------------------------------------------------------


def test_a_move_to_a_remote_account_checks_its_aliases_fresh_and_sends_move(world, remote, run_tasks) -> None:
    alice, bob = world.alice, world.bob
    follower = _remote_account(remote, "fan")
    accounts.follow(follower, alice)
    run_tasks()
    target = remote.actor("alicenew", alsoKnownAs=[uris.actor_url("alice")])
    # The target is fetched fresh: once its document stops naming alice, the move is refused
    remote.documents["/users/alicenew"]["alsoKnownAs"] = []
    with pytest.raises(ValidationError, match="does not list this account as an alias"):
        moving.move_to(alice.user, f"@alicenew@{remote.domain}", PASSWORD)
    remote.documents["/users/alicenew"]["alsoKnownAs"] = [uris.actor_url("alice")]
    moving.move_to(alice.user, target, PASSWORD)
    run_tasks()
    new = RemoteActor.objects.get(uri=target).account
    alice.refresh_from_db()
    assert alice.moved_to == new
    # Bob (local) follows the remote account now: a Follow goes out; his follow of alice ends
    assert new.pk in _following(bob) and alice.pk not in _following(bob)
    assert OutboxActivity.objects.filter(sender=bob, activity_type="Follow", subject=target).exists()
    # The remote follower is sent the Move (actor = object = old, target = new)
    move = OutboxActivity.objects.get(activity_type="Move")
    assert move.body["actor"] == move.body["object"] == uris.actor_url("alice")
    assert move.body["target"] == target
    assert set(Delivery.objects.filter(activity=move).values_list("inbox", flat=True)) == {f"{remote.base}/inbox"}
    assert _actor_doc(alice)["movedTo"] == target


def test_a_move_to_an_unreachable_remote_account_is_refused(world, remote) -> None:
    with pytest.raises(ValidationError, match=r"@gone@.* could not be found"):
        moving.move_to(world.alice.user, f"@gone@{remote.domain}", PASSWORD)
    with pytest.raises(ValidationError, match="could not be fetched"):
        moving.move_to(world.alice.user, f"{remote.base}/users/gone", PASSWORD)
    world.alice.refresh_from_db()
    assert world.alice.moved_to is None


# --- Moving in ---------------------------------------------------------------------------------------


@pytest.fixture
def moved_world(world, remote, run_tasks):
    """Bob and Dave (local) follow the remote @old; @new on the same server names @old as an alias."""
    old = _remote_account(remote, "old")
    old_uri = remote.actor("old")
    new_uri = remote.actor("new", alsoKnownAs=[old_uri])
    accounts.follow(world.bob, old)
    accounts.follow(world.dave, old)
    accounts.mute(world.eve, old)
    lst = List.objects.create(owner=world.bob, title="remote friends")
    ListMember.objects.create(list=lst, account=old)
    run_tasks()
    return old, old_uri, new_uri, lst


def test_a_remote_move_moves_the_local_followers(world, remote, run_tasks, moved_world) -> None:
    old, old_uri, new_uri, lst = moved_world
    item = remote.send(old_uri, "Move", old_uri, target=new_uri)
    run_tasks()
    item.refresh_from_db()
    assert item.state == InboxState.PROCESSED, item.outcome
    new = RemoteActor.objects.get(uri=new_uri).account
    old.refresh_from_db()
    assert old.moved_to == new and old.moved_at is not None
    assert new.also_known_as == [old_uri]
    for follower in (world.bob, world.dave):
        assert new.pk in _following(follower) and old.pk not in _following(follower)
        assert OutboxActivity.objects.filter(sender=follower, activity_type="Follow", subject=new_uri).exists()
        assert OutboxActivity.objects.filter(sender=follower, activity_type="Undo", subject=old_uri).exists()
    assert list(ListMember.objects.filter(list=lst).values_list("account_id", flat=True)) == [new.pk]
    assert Mute.objects.filter(account=world.eve, target=new).exists()
    assert "/users/new" in remote.fetched
    from rostra.notifications.models import Notification

    assert sorted(Notification.objects.filter(kind="move", actor=old).values_list("recipient_id", flat=True)) == sorted([world.bob.pk, world.dave.pk])


def test_a_remote_move_to_a_locked_account_asks_to_follow(world, remote, run_tasks, moved_world) -> None:
    old, old_uri, _, _ = moved_world
    locked_uri = remote.actor("shy", alsoKnownAs=[old_uri], manuallyApprovesFollowers=True)
    item = remote.send(old_uri, "Move", old_uri, target=locked_uri)
    run_tasks()
    item.refresh_from_db()
    assert item.state == InboxState.PROCESSED, item.outcome
    new = RemoteActor.objects.get(uri=locked_uri).account
    assert FollowRequest.objects.filter(requester=world.bob, target=new).exists()
    assert old.pk not in _following(world.bob)


def test_a_remote_account_can_move_to_a_local_one(world, remote, run_tasks, moved_world) -> None:
    old, old_uri, _, _ = moved_world
    here = make_account("arrived")
    Account.objects.filter(pk=here.pk).update(also_known_as=[old_uri])
    item = remote.send(old_uri, "Move", old_uri, target=uris.actor_url("arrived"))
    run_tasks()
    item.refresh_from_db()
    assert item.state == InboxState.PROCESSED, item.outcome
    assert here.pk in _following(world.bob) and old.pk not in _following(world.bob)


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("someone_else", "C3"),
        ("no_alias", "does not list the moving account"),
        ("unfetchable", "could not be fetched"),
        ("no_target", "needs a target"),
        ("itself", "cannot be the moving account itself"),
    ],
)
def test_a_remote_move_is_refused_and_changes_nothing(world, remote, run_tasks, moved_world, case, reason) -> None:
    old, old_uri, new_uri, _ = moved_world
    stranger_uri = remote.actor("stranger", alsoKnownAs=[old_uri])
    remote.actor("nobodyasked")
    before = _state(old, world.bob, world.dave)
    obj, target = old_uri, new_uri
    sender = old_uri
    if case == "someone_else":
        sender, obj = stranger_uri, old_uri  # the stranger tries to move @old
    elif case == "no_alias":
        target = f"{remote.base}/users/nobodyasked"
    elif case == "unfetchable":
        target = f"{remote.base}/users/vanished"
    elif case == "itself":
        target = old_uri
    extra = {} if case == "no_target" else {"target": target}
    item = remote.send(sender, "Move", obj, **extra)
    run_tasks()
    item.refresh_from_db()
    assert item.state == InboxState.FAILED
    assert reason in item.outcome
    assert _state(old, world.bob, world.dave) == before
