"""Instance policy (rostra.federation.policy): domain blocks and the allow-list, end to end.

A real fake remote on 127.0.0.2 (and one on 127.0.0.3) serves actor documents and signs
activities POSTed to our inbox (the helpers of test_receive.py); the tasks run; the local effect
is checked. Normalisation (C7) is checked on the predicates with every spelling of a name."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import ThreadingHTTPServer
from itertools import count

import pytest
from django.db.models import Q

from rostra.accounts import actions as accounts
from rostra.accounts.models import Account, Follow, FollowRequest
from rostra.core import clock
from rostra.core.errors import NotFound, ValidationError
from rostra.core.pagination import PageRequest
from rostra.federation import actors, delivery, policy, uris
from rostra.federation.models import (
    Delivery,
    DeliveryState,
    DomainAllow,
    DomainBlock,
    InboundFollow,
    InboxItem,
    InboxState,
    RemotePost,
)
from rostra.moderation.models import AuditEntry, Report
from rostra.posts.queries import visible_posts
from rostra.timelines import queries as timelines
from tests.federation import test_receive as receiving
from tests.federation.test_receive import _Handler, _Remote

# The fake remote and the processing helper of test_receive.py, shared as fixtures.
key_pair = receiving.key_pair
remote = receiving.remote
process = receiving.process

pytestmark = pytest.mark.django_db

AS = "application/activity+json"


def spec(domain: str, **kw: object) -> policy.BlockSpec:
    return policy.check_block(domain, **kw)  # type: ignore[arg-type]


def block(domain: str, **kw: object) -> DomainBlock:
    return policy.block_domain(None, spec(domain, **kw))


class _Other(_Remote):
    """A second server, on 127.0.0.3."""

    def __init__(self, pair: tuple[str, str]) -> None:
        ThreadingHTTPServer.__init__(self, ("127.0.0.3", 0), _Handler)
        self.documents = {}
        self.requests = []
        self.private_pem, self.public_pem = pair
        self.numbers = count(1000)

    @property
    def base(self) -> str:
        return f"http://127.0.0.3:{self.server_address[1]}"


@pytest.fixture
def other(key_pair) -> Iterator[_Remote]:
    server = _Other(key_pair)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def post_signed(server: _Remote, actor: str, kind: str = "Create", obj: object = None):
    """POST a signed activity and return the response (whatever its status)."""
    import json

    from django.test import Client

    from rostra.federation.signatures import sign_request

    doc = {
        "@context": uris.AS_CONTEXT,
        "id": f"{actor}/activities/{next(server.numbers)}",
        "type": kind,
        "actor": actor,
        "object": obj if obj is not None else server.note(actor),
    }
    body = json.dumps(doc).encode()
    headers = sign_request(
        "POST", "http://testserver/inbox", {}, body, key_id=f"{actor}#main-key", private_key_pem=server.private_pem
    )
    headers.setdefault("Host", "testserver")
    meta = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
    return Client().post("/inbox", data=body, content_type=AS, **meta), doc["id"]


# --- C7: one name, every spelling -------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    [
        "bücher.example",
        "BÜCHER.example",
        "xn--bcher-kva.example",
        "XN--BCHER-KVA.EXAMPLE.",
        " bücher.example ",
        "bücher.example:8443",
        "*.bücher.example",
        "\tBücher.Example.\n",
    ],
)
def test_every_spelling_of_a_domain_is_the_same_block(world, typed) -> None:
    made = block(typed, severity="suspend")
    assert made.domain == "xn--bcher-kva.example"
    for host in (
        "bücher.example",
        "XN--BCHER-KVA.example",
        "xn--bcher-kva.example.",
        "bücher.example:443",
        "media.bücher.example",
        "a.b.xn--bcher-kva.example:8080",
        "MEDIA.Bücher.Example.",
    ):
        assert policy.is_suspended(host), host
    for host in ("bucher.example", "xn--bcher-kva.example.org", "notbücher.example", "example"):
        assert not policy.is_suspended(host), host
    assert DomainBlock.objects.count() == 1


def test_blocking_again_in_another_spelling_changes_the_one_block(world) -> None:
    block("Example.COM", severity="silence")
    block("example.com.", severity="suspend", reject_media=True)
    (only,) = DomainBlock.objects.all()
    assert (only.domain, only.severity, only.reject_media) == ("example.com", "suspend", True)


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("", "Enter a domain"),
        ("   ", "Enter a domain"),
        ("https://example.com", "host name only"),
        ("example.com/path", "host name only"),
        ("user@example.com", "host name only"),
        ("exa mple.com", "host name only"),
        ("a..example", "not a valid domain"),
        ("-bad.example", "not a valid domain"),
        ("x" * 64 + ".example", "not a valid domain"),
        ("example.com:http", "port"),
        ("[zz]:80", "IPv6"),
    ],
)
def test_invalid_domains_are_refused_with_a_clear_error_and_nothing_written(world, typed, says) -> None:
    with pytest.raises(ValidationError, match=says):
        block(typed)
    assert not DomainBlock.objects.exists() and not AuditEntry.objects.filter(verb__startswith="domain.").exists()


def test_the_instance_cannot_block_itself_and_bad_fields_are_named(world) -> None:
    with pytest.raises(ValidationError, match="own domain"):
        block(uris.base_url().split("//", 1)[1])
    with pytest.raises(ValidationError, match="severity") as exc:
        block("example.com", severity="nuke")
    assert exc.value.field == "severity"
    with pytest.raises(ValidationError, match="1000 characters"):
        block("example.com", public_comment="x" * 1001)
    assert not DomainBlock.objects.exists()


def test_the_most_specific_block_decides(world) -> None:
    block("example.com", severity="suspend")
    block("friendly.example.com", severity="noop", reject_media=True)
    assert policy.is_suspended("evil.example.com") and not policy.is_suspended("friendly.example.com")
    assert policy.rejects_media("a.friendly.example.com") and not policy.rejects_reports("friendly.example.com")


def test_every_block_and_unblock_is_audited(world) -> None:
    policy.block_domain(world.admin.user, spec("spam.example", severity="suspend", private_comment="Spam wave"))
    policy.block_domain(world.admin.user, spec("spam.example", severity="silence"))
    policy.unblock_domain(world.admin.user, "SPAM.example")
    entries = list(AuditEntry.objects.filter(verb__startswith="domain.").order_by("id"))
    assert [e.verb for e in entries] == ["domain.blocked", "domain.block_updated", "domain.unblocked"]
    assert entries[0].actor_name == "@ada" and entries[0].reason == "Spam wave" and entries[0].detail["domain"] == "spam.example"
    assert entries[1].detail["before"] == "suspend"
    with pytest.raises(NotFound, match="not blocked"):
        policy.unblock_domain(None, "spam.example")


# --- Suspend ----------------------------------------------------------------------------------------


def test_a_suspended_domain_is_refused_at_the_inbox_before_its_key_is_fetched(world, remote) -> None:
    actor = remote.actor("zoe")
    block("127.0.0.2", severity="suspend")
    response, activity_id = post_signed(remote, actor)
    assert response.status_code == 403 and "does not federate with 127.0.0.2" in response.json()["error"]
    assert not InboxItem.objects.filter(activity_id=activity_id).exists()
    assert remote.requests == []  # the key was never fetched


def test_suspending_severs_follows_hides_the_accounts_and_posts_and_unblocking_restores_them(world, remote, process) -> None:
    actor = remote.actor("zoe")
    zoe = actors.resolve(actor)
    accounts.follow(world.alice, zoe)  # alice follows zoe
    assert process(remote.send(actor, "Follow", uris.actor_url("bob"))).state == InboxState.PROCESSED  # zoe follows bob
    note = remote.note(actor)
    assert process(remote.send(actor, "Create", note)).state == InboxState.PROCESSED
    post = RemotePost.objects.get(uri=note["id"]).post
    assert visible_posts(world.carol).filter(pk=post.pk).exists()
    pending = delivery.enqueue(
        world.alice,
        {"id": f"{uris.actor_url('alice')}#x", "type": "Update", "actor": uris.actor_url("alice")},
        [f"{actor}/inbox"],
    )
    assert pending is not None
    moderated_before = Account.objects.get(pk=zoe.pk)

    made = block("127.0.0.2", severity="suspend")
    zoe.refresh_from_db()
    assert zoe.suspended_at == made.created_at
    assert not Follow.objects.filter(Q(follower=zoe) | Q(target=zoe)).exists()
    assert not InboundFollow.objects.filter(follower=zoe).exists()
    world.alice.refresh_from_db()
    world.bob.refresh_from_db()
    assert world.alice.following_count == 0 and world.bob.followers_count == 0
    assert not visible_posts(world.carol).filter(pk=post.pk).exists() and not visible_posts(None).filter(pk=post.pk).exists()
    assert Delivery.objects.get(activity=pending).state == DeliveryState.FAILED
    assert moderated_before.suspended_at is None

    policy.unblock_domain(None, "127.0.0.2")
    zoe.refresh_from_db()
    assert zoe.suspended_at is None and visible_posts(world.carol).filter(pk=post.pk).exists()


def test_unblocking_leaves_an_account_a_moderator_suspended_on_its_own(world, remote) -> None:
    zoe = actors.resolve(remote.actor("zoe"))
    earlier = clock.now() - timedelta(days=3)
    Account.objects.filter(pk=zoe.pk).update(suspended_at=earlier)
    block("127.0.0.2", severity="suspend")
    policy.unblock_domain(None, "127.0.0.2")
    zoe.refresh_from_db()
    assert zoe.suspended_at == earlier


def test_nothing_is_fetched_from_or_delivered_to_a_suspended_domain(world, remote) -> None:
    actor = remote.actor("zoe")
    zoe = actors.resolve(actor)
    block("127.0.0.2", severity="suspend")
    with pytest.raises(actors.ActorError, match="suspended"):
        actors.resolve(actor, refresh=True)
    with pytest.raises(actors.ActorError, match="suspended"):
        actors.resolve(remote.actor("yan"))
    assert remote.requests == ["/users/zoe"]  # only the fetch from before the block
    body = {"id": f"{uris.actor_url('alice')}#y", "type": "Update", "actor": uris.actor_url("alice")}
    assert delivery.enqueue(world.alice, body, [zoe.remote_actor.inbox]) is None
    assert policy.refuses_fetch_from(f"127.0.0.2:{remote.server_address[1]}")


def test_a_row_queued_before_the_block_is_not_sent(world, remote) -> None:
    zoe = actors.resolve(remote.actor("zoe"))
    body = {"id": f"{uris.actor_url('alice')}#z", "type": "Update", "actor": uris.actor_url("alice")}
    activity = delivery.enqueue(world.alice, body, [zoe.remote_actor.inbox])
    assert activity is not None
    DomainBlock.objects.create(
        domain="127.0.0.2", severity="suspend", created_at=clock.now(), updated_at=clock.now()
    )  # row left pending
    requests = len(remote.requests)
    delivery.deliver_due()
    row = Delivery.objects.get(activity=activity)
    assert row.state == DeliveryState.FAILED and "suspended" in row.last_error
    assert len(remote.requests) == requests


def test_an_item_stored_before_the_block_is_rejected_when_processed(world, remote, run_tasks) -> None:
    actor = remote.actor("zoe")
    item = remote.send(actor, "Create", remote.note(actor))
    DomainBlock.objects.create(domain="127.0.0.2", severity="suspend", created_at=clock.now(), updated_at=clock.now())
    run_tasks()
    item.refresh_from_db()
    assert item.state == InboxState.FAILED and "suspended" in item.outcome
    assert not RemotePost.objects.exists()


# --- Silence, media, reports --------------------------------------------------------------------------


def test_a_silenced_domain_leaves_public_timelines_except_for_followers(world, remote, process) -> None:
    actor = remote.actor("zoe")
    zoe = actors.resolve(actor)
    accounts.follow(world.alice, zoe)
    note = remote.note(actor, text="gardening season is here", tag=[{"type": "Hashtag", "name": "#gardening"}])
    assert process(remote.send(actor, "Create", note)).state == InboxState.PROCESSED
    post = RemotePost.objects.get(uri=note["id"]).post
    req = PageRequest(limit=40)

    def seen(viewer: Account | None) -> bool:
        return any(p.pk == post.pk for p in timelines.federated_public(viewer, req).items)

    assert seen(None) and seen(world.bob) and seen(world.alice)
    block("127.0.0.2", severity="silence")
    assert not seen(None) and not seen(world.bob)
    assert seen(world.alice)  # she follows zoe
    assert not any(p.pk == post.pk for p in timelines.hashtag(world.bob, "gardening", req).items)
    assert visible_posts(world.bob).filter(pk=post.pk).exists()  # still reachable, just not pushed
    # The streaming public and hashtag streams agree with the timelines
    from rostra.streaming.hub import Auth, Stream, Subscriber, matches, render

    def streamed() -> set[int | None]:
        msg = {"event": "update", "post_id": post.pk, "users": [], "channels": ["public", "public:remote", "hashtag:gardening"], "lists": []}
        subs = [Subscriber(auth=Auth(None, who.pk if who else None, frozenset({"read"})), streams={Stream("public"), Stream("hashtag", "gardening")})
                for who in (None, world.bob, world.alice)]
        deliveries, _ = render(msg, [(s, m) for s in subs if (m := matches(s, msg))])
        return {sub.auth.account_id for sub, _, _ in deliveries}

    assert streamed() == {world.alice.pk}
    policy.unblock_domain(None, "127.0.0.2")
    assert seen(None)
    assert streamed() == {None, world.bob.pk, world.alice.pk}


def test_follows_from_a_silenced_domain_need_approval(world, remote, process) -> None:
    actor = remote.actor("zoe")
    block("127.0.0.2", severity="silence")
    item = process(remote.send(actor, "Follow", uris.actor_url("bob")))
    assert item.state == InboxState.PROCESSED and "requested" in item.outcome
    zoe = actors.known(actor)
    assert zoe is not None
    assert FollowRequest.objects.filter(requester=zoe, target=world.bob).exists()
    assert not Follow.objects.filter(follower=zoe).exists()


def test_reports_from_a_domain_that_rejects_them_are_ignored(world, remote, process) -> None:
    actor = remote.actor("zoe")
    block("127.0.0.2", severity="noop", reject_reports=True)
    item = process(remote.send(actor, "Flag", [uris.actor_url("bob")], content="spam"))
    assert item.state == InboxState.IGNORED and "rejected" in item.outcome
    assert not Report.objects.exists()
    policy.unblock_domain(None, "127.0.0.2")
    item = process(remote.send(actor, "Flag", [uris.actor_url("bob")], content="spam"))
    assert item.state == InboxState.PROCESSED and Report.objects.count() == 1


def test_media_rejection_is_a_predicate_for_the_media_fetcher(world) -> None:
    block("pics.example", severity="noop", reject_media=True)
    assert policy.rejects_media("cdn.pics.example") and not policy.is_suspended("pics.example")
    block("gone.example", severity="suspend")
    assert policy.rejects_media("gone.example") and policy.rejects_reports("gone.example")
    assert not policy.rejects_media("elsewhere.example")


# --- Allow-list mode ---------------------------------------------------------------------------------


def test_allowlist_mode_federates_only_with_allowed_domains_in_and_out(world, remote, other, settings) -> None:
    zoe_uri, olu_uri = remote.actor("zoe"), other.actor("olu")
    olu = actors.resolve(olu_uri)
    settings.FEDERATION_MODE = "allowlist"
    policy.allow_domain(world.admin.user, "127.0.0.2")
    response, _ = post_signed(remote, zoe_uri)
    assert response.status_code == 202
    response, activity_id = post_signed(other, olu_uri)
    assert response.status_code == 403 and not InboxItem.objects.filter(activity_id=activity_id).exists()
    body = {"id": f"{uris.actor_url('alice')}#a", "type": "Update", "actor": uris.actor_url("alice")}
    activity = delivery.enqueue(world.alice, body, [f"{zoe_uri}/inbox", olu.remote_actor.inbox])
    assert activity is not None and [d.domain for d in Delivery.objects.filter(activity=activity)] == [
        f"127.0.0.2:{remote.server_address[1]}"
    ]
    with pytest.raises(actors.ActorError, match="suspended"):
        actors.resolve(olu_uri, refresh=True)
    assert policy.is_suspended("127.0.0.3") and not policy.is_suspended("127.0.0.2")
    policy.disallow_domain(None, "127.0.0.2")
    assert policy.is_suspended("127.0.0.2") and not DomainAllow.objects.exists()
    settings.FEDERATION_MODE = "open"
    assert not policy.is_suspended("127.0.0.3")


# --- E5: floods ----------------------------------------------------------------------------------------


def test_a_flood_from_one_domain_is_bounded_and_other_domains_are_still_served(world, remote, other, settings) -> None:
    settings.ROSTRA = dataclasses.replace(settings.ROSTRA, rate_limits="inbox_domain=3/5m")
    zoe, olu = remote.actor("zoe"), other.actor("olu")
    statuses = [post_signed(remote, zoe)[0].status_code for _ in range(5)]
    assert statuses == [202, 202, 202, 429, 429]
    refused, activity_id = post_signed(remote, zoe)
    assert refused.status_code == 429 and 1 <= int(refused["Retry-After"]) <= 300
    assert "127.0.0.2" in refused.json()["error"] and not InboxItem.objects.filter(activity_id=activity_id).exists()
    assert post_signed(other, olu)[0].status_code == 202


def test_an_unsigned_flood_does_not_use_up_a_domains_allowance(world, remote, settings) -> None:
    settings.ROSTRA = dataclasses.replace(settings.ROSTRA, rate_limits="inbox_domain=2/5m")
    zoe = remote.actor("zoe")
    from django.test import Client

    for n in range(5):  # forged: claims zoe, no signature
        body = f'{{"id": "{zoe}/forged/{n}", "type": "Create", "actor": "{zoe}", "object": {{}}}}'
        assert Client().post("/inbox", data=body, content_type=AS).status_code == 401
    assert post_signed(remote, zoe)[0].status_code == 202


def test_a_backlog_over_the_threshold_answers_503_with_retry_after(world, remote, settings) -> None:
    settings.INBOX_BACKLOG_MAX = 2
    zoe = remote.actor("zoe")
    assert post_signed(remote, zoe)[0].status_code == 202
    assert post_signed(remote, zoe)[0].status_code == 202
    assert post_signed(remote, zoe)[0].status_code == 202  # two pending before it: at the threshold
    busy, activity_id = post_signed(remote, zoe)
    assert busy.status_code == 503 and busy["Retry-After"] == "120"
    assert not InboxItem.objects.filter(activity_id=activity_id).exists()
    InboxItem.objects.update(state=InboxState.PROCESSED)  # the worker caught up
    assert post_signed(remote, zoe)[0].status_code == 202


# --- CSV ------------------------------------------------------------------------------------------------


def test_csv_round_trips_in_mastodons_format(world) -> None:
    block("b.example", severity="suspend", reject_media=True, public_comment="Spam, hate", obfuscate=True)
    block("a.example", severity="silence")
    text = policy.export_csv()
    assert text.splitlines() == [
        "#domain,#severity,#reject_media,#reject_reports,#public_comment,#obfuscate",
        "a.example,silence,false,false,,false",
        'b.example,suspend,true,false,"Spam, hate",true',
    ]
    DomainBlock.objects.all().delete()
    assert [b.domain for b in policy.import_csv(None, text)] == ["a.example", "b.example"]
    assert policy.export_csv() == text


def test_an_import_with_a_bad_row_applies_nothing_and_names_every_bad_row(world) -> None:
    text = "#domain,#severity,#reject_media\nok.example,suspend,false\nhttps://bad.example,silence,false\nfine.example,explode,false\nOK.example.,silence,maybe\nok.example,silence,true\n"
    with pytest.raises(ValidationError) as exc:
        policy.import_csv(None, text)
    rows = exc.value.errors["rows"]
    assert [r.split(":", 1)[0] for r in rows] == ["row 3", "row 4", "row 5", "row 6"]
    assert "host name only" in rows[0] and "severity" in rows[1] and "reject_media" in rows[2] and "already on row 2" in rows[3]
    assert not DomainBlock.objects.exists()


def test_a_bare_list_of_domains_imports_as_suspensions(world) -> None:
    assert [b.severity for b in policy.import_csv(None, "spam.example\n\nbücher.example\n")] == ["suspend", "suspend"]
    assert set(DomainBlock.objects.values_list("domain", flat=True)) == {"spam.example", "xn--bcher-kva.example"}
    with pytest.raises(ValidationError, match="empty"):
        policy.import_csv(None, "")


def test_obfuscation_as_mastodon(world) -> None:
    assert policy.obfuscated("example.com") == "exa****.*om"
    block("example.com", severity="suspend", obfuscate=True, public_comment="Harassment")
    block("quiet.example", severity="noop", reject_reports=True)  # no user-facing limit: not listed
    assert [(b["domain"], b["severity"], b["comment"]) for b in policy.public_blocks()] == [
        ("exa****.*om", "suspend", "Harassment")
    ]
