"""Three real Rostra servers (127.0.0.2, .3 and .4, each its own `rostra serve` with its own database)
federating over plain http with ROSTRA_ALLOW_LOOPBACK_FEDERATION=1: every interaction is made through
the Mastodon API on one server and seen through the API of the other. Nothing is faked: the
signatures, inboxes, task workers and deliveries are the production ones (tests/federation/multi.py)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.federation.multi import Instance, User, instances, wait_until

pytestmark = [pytest.mark.live, pytest.mark.own_sqlite]


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Instance]]:
    with instances(Path(tmp_path_factory.mktemp("federation")), 3) as started:
        yield started


@pytest.fixture(scope="module")
def a(servers: list[Instance]) -> Instance:
    return servers[0]


@pytest.fixture(scope="module")
def b(servers: list[Instance]) -> Instance:
    return servers[1]


@pytest.fixture(scope="module")
def c(servers: list[Instance]) -> Instance:
    return servers[2]


def _following(user: User, other_id: str) -> bool:
    rel = user.api("GET", f"/api/v1/accounts/relationships?id[]={other_id}")
    return bool(rel and rel[0]["following"])


def _follower_accts(user: User) -> list[str]:
    return [a["acct"] for a in user.api("GET", f"/api/v1/accounts/{user.id}/followers")]


def follow_across(follower: User, target: User) -> str:
    """``follower`` follows ``target`` (another server): the target's server has the follower and
    the follower's server the follow; returns ``target``'s account id on the follower's server."""
    remote_id = follower.follow(target)
    wait_until(lambda: follower.acct in _follower_accts(target), what=f"{target.acct}'s server has {follower.acct} as follower")
    wait_until(lambda: _following(follower, remote_id), what=f"{follower.acct} follows {target.acct}")
    return remote_id


def note_id(author: User, status: dict[str, Any]) -> str:
    """The ActivityPub id of ``author``'s ``status`` (the API's ``uri`` is the local page's address)."""
    return f"{author.instance.base}/users/{author.username}/statuses/{status['id']}"


def seen_in_home(user: User, author: User, text: str) -> dict[str, Any]:
    """``author``'s status containing ``text`` once it is in ``user``'s home timeline."""
    found: dict[str, Any] = wait_until(
        lambda: next((s for s in user.home() if s["account"]["acct"] == author.acct and text in s["content"]), None),
        what=f"{text!r} by {author.acct} in {user.acct}'s home",
    )
    return found


# --- Follows ----------------------------------------------------------------------------------


def test_follow_across_is_seen_on_both_sides(a, b):
    alice, bob = a.user("alice"), b.user("bob")
    remote_bob = follow_across(alice, bob)
    # B has the follower; A's following list shows B's account.
    followers = wait_until(lambda: bob.api("GET", f"/api/v1/accounts/{bob.id}/followers"), what="bob's followers")
    assert [f["acct"] for f in followers] == [alice.acct]
    following = alice.api("GET", f"/api/v1/accounts/{alice.id}/following")
    assert [f["acct"] for f in following] == [bob.acct] and following[0]["id"] == remote_bob
    notes = wait_until(lambda: bob.notifications("follow"), what="bob's follow notification")
    assert notes[0]["account"]["acct"] == alice.acct


def test_a_locked_accounts_follow_request_is_accepted_across(a, b):
    lena = b.user("lena", locked=True)
    arno = a.user("arno")
    remote_lena = arno.follow(lena)
    requests = wait_until(lambda: lena.api("GET", "/api/v1/follow_requests"), what="lena's follow requests")
    assert [r["acct"] for r in requests] == [arno.acct]
    assert not _following(arno, remote_lena)
    rel = arno.api("GET", f"/api/v1/accounts/relationships?id[]={remote_lena}")[0]
    assert rel["requested"] is True
    lena.api("POST", f"/api/v1/follow_requests/{requests[0]['id']}/authorize")
    wait_until(lambda: _following(arno, remote_lena), what="the Accept reaches A")
    assert lena.api("GET", "/api/v1/follow_requests") == []


# --- Posts and interactions ------------------------------------------------------------------


def test_post_reply_like_and_repost_are_seen_on_the_other_side(a, b):
    poppy, quinn = a.user("poppy"), b.user("quinn")
    follow_across(quinn, poppy)
    follow_across(poppy, quinn)

    # A post reaches the follower's home timeline on B, with its hashtag and CW.
    post = poppy.post("Hello from server A #federation", spoiler_text="a greeting")
    there = seen_in_home(quinn, poppy, "Hello from server A")
    assert there["spoiler_text"] == "a greeting"
    assert there["account"]["acct"] == poppy.acct
    assert [t["name"] for t in there["tags"]] == ["federation"]

    # A reply on B is threaded on both sides.
    reply = quinn.post(f"@{poppy.acct} a reply from B", in_reply_to_id=there["id"])
    assert reply["in_reply_to_id"] == there["id"]
    context = wait_until(
        lambda: (found := poppy.api("GET", f"/api/v1/statuses/{post['id']}/context"))["descendants"] and found,
        what="the reply under poppy's post on A",
    )
    [back] = context["descendants"]
    assert "a reply from B" in back["content"] and back["account"]["acct"] == quinn.acct
    assert back["in_reply_to_id"] == post["id"]
    assert quinn.api("GET", f"/api/v1/statuses/{reply['id']}/context")["ancestors"][0]["id"] == there["id"]
    mention = wait_until(lambda: poppy.notifications("mention"), what="poppy's mention notification")
    assert mention[0]["status"]["id"] == back["id"]

    # A like on B notifies the author on A.
    quinn.api("POST", f"/api/v1/statuses/{there['id']}/favourite")
    liked = wait_until(lambda: poppy.notifications("favourite"), what="poppy's favourite notification")
    assert liked[0]["account"]["acct"] == quinn.acct and liked[0]["status"]["id"] == post["id"]
    assert wait_until(lambda: poppy.api("GET", f"/api/v1/statuses/{post['id']}")["favourites_count"] == 1)

    # A repost on B notifies the author too.
    quinn.api("POST", f"/api/v1/statuses/{there['id']}/reblog")
    reblogged = wait_until(lambda: poppy.notifications("reblog"), what="poppy's reblog notification")
    assert reblogged[0]["account"]["acct"] == quinn.acct and reblogged[0]["status"]["id"] == post["id"]
    assert wait_until(lambda: poppy.api("GET", f"/api/v1/statuses/{post['id']}")["reblogs_count"] == 1)


def test_edit_and_delete_are_seen_on_the_other_side(a, b):
    rhea, sven = a.user("rhea"), b.user("sven")
    follow_across(sven, rhea)
    post = rhea.post("The first version")
    there = seen_in_home(sven, rhea, "The first version")

    rhea.api("PUT", f"/api/v1/statuses/{post['id']}", {"status": "The second version"})
    edited = wait_until(
        lambda: (s := sven.api("GET", f"/api/v1/statuses/{there['id']}")) and "second version" in s["content"] and s,
        what="the edit on B",
    )
    assert edited["edited_at"] is not None and "first version" not in edited["content"]

    rhea.api("DELETE", f"/api/v1/statuses/{post['id']}")
    wait_until(lambda: b.api("GET", f"/api/v1/statuses/{there['id']}", token=sven.token).status == 404, what="the delete on B")
    assert all(s["id"] != there["id"] for s in sven.home())
    assert a.api("GET", f"/api/v1/statuses/{post['id']}", token=rhea.token).status == 404
    # B keeps no copy to fall back on: its stored remote post is gone with the Delete.
    assert b.query(f"from rostra.federation.models import RemotePost\nresult = RemotePost.objects.filter(uri={note_id(rhea, post)!r}).count()") == 0


def test_block_ends_follows_on_both_sides(a, b):
    tara, uwe = a.user("tara"), b.user("uwe")
    remote_uwe = follow_across(tara, uwe)
    remote_tara = follow_across(uwe, tara)
    tara.api("POST", f"/api/v1/accounts/{remote_uwe}/block")
    rel = tara.api("GET", f"/api/v1/accounts/relationships?id[]={remote_uwe}")[0]
    assert rel["blocking"] and not rel["following"] and not rel["followed_by"]
    # B learns of the block: uwe no longer follows tara, and tara no longer follows uwe.
    wait_until(lambda: not _following(uwe, remote_tara), what="B ends uwe's follow of tara")
    assert uwe.api("GET", f"/api/v1/accounts/{uwe.id}/followers") == []
    assert uwe.api("GET", f"/api/v1/accounts/{uwe.id}/following") == []
    # B knows uwe is blocked by tara: his new posts are no longer addressed to her.
    assert uwe.api("GET", f"/api/v1/accounts/relationships?id[]={remote_tara}")[0]["blocked_by"] is True


def test_a_report_with_forward_reaches_the_other_servers_moderators(a, b):
    vera, walt = a.user("vera"), b.user("walt")
    follow_across(vera, walt)
    offending = walt.post("something reportable")
    there = seen_in_home(vera, walt, "something reportable")
    remote_walt = there["account"]["id"]
    vera.api("POST", "/api/v1/reports", {"account_id": remote_walt, "status_ids": [there["id"]], "comment": "spam across servers",
                                           "forward": True})
    moderator = b.sign_in("policykeeper")
    reports = wait_until(
        lambda: [r for r in moderator.api("GET", "/api/v1/admin/reports") if r["target_account"]["id"] == walt.id],
        timeout=20, what="the forwarded report in B's queue",
    )
    assert [s["id"] for s in reports[0]["statuses"]] == [offending["id"]]
    assert "spam across servers" in reports[0]["comment"]


# --- Addressing --------------------------------------------------------------------------------


def test_a_followers_only_post_reaches_only_the_followers_server(a, b, c):
    xena, yusuf, zoe = a.user("xena"), b.user("yusuf"), c.user("zoe")
    follow_across(yusuf, xena)
    follow_across(xena, zoe)  # A knows C (xena follows zoe), but zoe does not follow xena
    post = xena.post("for my followers only", visibility="private")
    there = seen_in_home(yusuf, xena, "for my followers only")
    assert there["visibility"] == "private"
    sent_to = a.query(
        "from rostra.federation.models import Delivery\n"
        f"result = sorted(Delivery.objects.filter(activity__activity_type='Create', activity__body__object__id={note_id(xena, post)!r})"
        ".values_list('domain', flat=True))"
    )
    assert sent_to == [b.domain]
    # C cannot fetch it either: a followers-only note is no public document.
    assert zoe.find_status(note_id(xena, post)) is None
    assert c.query(f"from rostra.federation.models import InboxItem\nresult = InboxItem.objects.filter(body__object__id={note_id(xena, post)!r}).count()") == 0


def _shared_inbox_posts(log: str) -> int:
    """POSTs to the shared inbox in a server's request log (one line per request, by route name)."""
    return len(re.findall(r"method=POST route=\S*shared_inbox\b", log))


def test_a_post_reaches_followers_on_two_servers_once_per_server(a, b, c):
    nora, bea, ben, cato = a.user("nora"), b.user("bea"), b.user("ben"), c.user("cato")
    for follower in (bea, ben, cato):
        follow_across(follower, nora)
    posts_before = _shared_inbox_posts(b.log())
    post = nora.post("to everyone who follows me")
    for follower in (bea, ben, cato):
        seen_in_home(follower, nora, "to everyone who follows me")
    # One delivery per server, to its shared inbox, although B has two followers.
    rows = a.query(
        "from rostra.federation.models import Delivery\n"
        f"result = sorted(Delivery.objects.filter(activity__activity_type='Create', activity__body__object__id={note_id(nora, post)!r})"
        ".values_list('inbox', 'state'))"
    )
    assert rows == sorted([[f"{b.base}/inbox", "done"], [f"{c.base}/inbox", "done"]])
    assert _shared_inbox_posts(b.log()) - posts_before == 1
    assert b.query(f"from rostra.federation.models import InboxItem\nresult = InboxItem.objects.filter(body__object__id={note_id(nora, post)!r}).count()") == 1


# --- Promptness ------------------------------------------------------------------------------


def test_deliveries_go_out_within_seconds_not_at_the_next_minute(a, b):
    ivo, jan = a.user("ivo"), b.user("jan")
    follow_across(jan, ivo)
    for n in range(3):
        started = time.monotonic()
        ivo.post(f"quick number {n}")
        seen_in_home(jan, ivo, f"quick number {n}")
        # The periodic run is once a minute: three deliveries in a row each well under that are
        # the queued run after commit (plus at most a second of the worker's idle polling per hop).
        assert time.monotonic() - started < 15


# --- Quotes and moves (FEP-e232; Move with alsoKnownAs) ------------------------------------------


def test_a_quote_on_b_is_seen_as_a_quote_on_a(a, b):
    paula, quentin = a.user("paula"), b.user("quentin")
    follow_across(quentin, paula)
    follow_across(paula, quentin)
    post = paula.post("Worth quoting")
    there = seen_in_home(quentin, paula, "Worth quoting")
    quote = quentin.post("I quote this", quoted_status_id=there["id"])
    assert quote["quote"]["quoted_status"]["id"] == there["id"]
    back = seen_in_home(paula, quentin, "I quote this")
    assert back["quote"]["quoted_status"]["id"] == post["id"]


MOVE_OUT = """
from rostra.accounts import moving
from rostra.accounts.models import User
result = moving.move_to(User.objects.get(username={username!r}), {handle!r}, {password!r}).target.username
"""
ADD_ALIAS = """
from rostra.accounts import moving
from rostra.accounts.models import Account
result = moving.add_alias(Account.objects.get(username={username!r}, domain=""), {handle!r})
"""


def test_a_move_from_a_to_b_takes_the_followers_on_c_along(a, b, c):
    """The account moves with the real domain actions behind the settings pages (alias on the new
    account, then the move on the old one, password checked); the rest is federation."""
    from tests.federation.multi import PASSWORD

    otto, neu, fay = a.user("otto"), b.user("ottonew"), c.user("fay")
    remote_otto = follow_across(fay, otto)
    assert b.query(ADD_ALIAS.format(username=neu.username, handle=otto.acct)) == otto.actor_uri
    assert a.query(MOVE_OUT.format(username=otto.username, handle=neu.acct, password=PASSWORD)) == neu.username
    # The Move reaches C: fay now follows the new account on B, and no longer the old one.
    wait_until(lambda: fay.acct in _follower_accts(neu), timeout=45, what="fay follows ottonew on B")
    assert wait_until(lambda: not _following(fay, remote_otto), what="fay's follow of the old account ends")
    moved = fay.api("GET", f"/api/v1/accounts/{remote_otto}")
    assert moved["moved"]["acct"] == neu.acct
