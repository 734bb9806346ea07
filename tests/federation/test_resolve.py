"""Remote objects: accounts and posts found by handle or URL (search, the API, /authorize_interaction),
remote @mentions in local posts, and the posts a thread is missing (Create's inReplyTo, Announce).

A real fake remote on 127.0.0.2 (the inbox tests' ``_Remote``) serves WebFinger, actors and notes;
everything else is the real stack: the guarded outbound client, the moderation gate, the door."""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

from rostra.accounts.models import Account
from rostra.core import clock
from rostra.federation import documents, resolve, uris
from rostra.federation.models import Delivery, InboxItem, InboxState, RemoteActor, RemotePost
from rostra.federation.receive import process_inbox_item
from rostra.federation.signatures import generate_key_pair
from rostra.moderation.models import Decision
from rostra.posts.actions import Draft, create_post
from rostra.posts.models import Mention, Post
from tests.api.conftest import bearer, password_grant, register_app
from tests.federation.test_receive import _Handler, _Remote

pytestmark = [pytest.mark.django_db]

AS = "application/activity+json"


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
def process(run_tasks) -> Callable[[InboxItem], InboxItem]:
    """Run the tasks, then return the item as stored; processing it again changes nothing."""

    def run(item: InboxItem) -> InboxItem:
        run_tasks()
        item.refresh_from_db()
        assert item.state != InboxState.PENDING
        before = Post.objects.count()
        process_inbox_item(item.pk)
        assert Post.objects.count() == before
        return item

    return run


class _TypedHandler(_Handler):
    """The inbox tests' handler, plus a per-path Content-Type (to serve a page instead of AS)."""

    def do_GET(self) -> None:
        kind = getattr(self.server, "types", {}).get(self.path)
        if kind is None:
            super().do_GET()
            return
        self.server.requests.append(self.path)
        body = json.dumps(self.server.documents[self.path]).encode()
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _host(r: _Remote) -> str:
    return f"127.0.0.2:{r.server_address[1]}"


def _webfinger(r: _Remote, name: str, href: str | None = None, **link: Any) -> None:
    resource = f"acct:{name}@{_host(r)}"
    links = [{"rel": "self", "type": AS, "href": href or f"{r.base}/users/{name}", **link}]
    r.documents[f"/.well-known/webfinger?resource={resource}"] = {"subject": resource, "links": links}


def _serve_note(r: _Remote, actor: str, text: str = "a walk in the park", **extra: Any) -> dict[str, Any]:
    note = r.note(actor, text, **extra)
    r.documents[urlsplit(note["id"]).path] = note
    return note


def _api(account: Account) -> Client:
    r = password_grant(register_app(), account.username, scope="read write")
    assert r.status_code == 200, r.content
    return bearer(r.json()["access_token"])


def _narrow_resolve_limit(settings: Any, limit: str) -> None:
    settings.ROSTRA = dataclasses.replace(settings.ROSTRA, rate_limits=limit)


# --- resolve_account ---------------------------------------------------------------------------------


def test_a_handle_is_found_by_webfinger_and_kept_like_an_inbox_actor(world, remote) -> None:
    uri = remote.actor("zoe")
    _webfinger(remote, "zoe")
    account = resolve.resolve_account(f"@zoe@{_host(remote)}")
    assert (account.username, account.domain, account.display_name) == ("zoe", _host(remote), "Zoe")
    assert RemoteActor.objects.get(account=account).uri == uri
    fetched = len(remote.requests)
    assert resolve.resolve_account(f"acct:ZOE@{_host(remote)}").pk == account.pk
    assert len(remote.requests) == fetched  # known: not fetched again within the actors module's day


def test_a_known_account_is_refetched_after_a_day_and_kept_when_its_server_fails(world, remote) -> None:
    uri = remote.actor("zoe")
    _webfinger(remote, "zoe")
    handle = f"zoe@{_host(remote)}"
    zoe = resolve.resolve_account(handle)
    RemoteActor.objects.filter(uri=uri).update(fetched_at=clock.now() - timedelta(days=2))
    remote.documents["/users/zoe"]["name"] = "Zoe Renamed"
    assert resolve.resolve_account(handle).display_name == "Zoe Renamed"
    RemoteActor.objects.filter(uri=uri).update(fetched_at=clock.now() - timedelta(days=2))
    del remote.documents["/users/zoe"]  # the server now answers 404
    assert resolve.resolve_account(handle).pk == zoe.pk


def test_a_local_handle_is_the_local_account(world) -> None:
    assert resolve.resolve_account(f"alice@{uris.domain()}").pk == world.alice.pk
    with pytest.raises(resolve.ResolveError, match="no account"):
        resolve.resolve_account(f"nobody@{uris.domain()}")


@pytest.mark.parametrize(
    ("setup", "reason"),
    [
        ("no-webfinger", "answered 404"),
        ("no-self-link", "names no ActivityStreams actor"),
        ("html-self-link", "names no ActivityStreams actor"),
        ("other-account", "another account"),
        ("bad-actor", "preferredUsername"),
    ],
)
def test_a_handle_that_leads_nowhere_is_refused_and_nothing_is_stored(world, remote, setup, reason) -> None:
    remote.actor("zoe")
    remote.actor("yan")
    if setup == "no-self-link":
        _webfinger(remote, "zoe", rel="x")
        remote.documents[next(p for p in remote.documents if "webfinger" in p)]["links"][0]["rel"] = "profile"
    elif setup == "html-self-link":
        _webfinger(remote, "zoe", type="text/html")
    elif setup == "other-account":
        _webfinger(remote, "zoe", href=f"{remote.base}/users/yan")
    elif setup == "bad-actor":
        _webfinger(remote, "zoe")
        remote.documents["/users/zoe"]["preferredUsername"] = "no spaces allowed"
    accounts_before = Account.objects.count()
    with pytest.raises(resolve.ResolveError, match=reason):
        resolve.resolve_account(f"zoe@{_host(remote)}")
    if setup != "other-account":  # that one stored yan, a real actor, and refused to call it zoe
        assert Account.objects.count() == accounts_before


@pytest.mark.parametrize("handle", ["", "zoe", "@zoe", "zoe@", "zoe@bad host", "a" * 31 + "@x.example", "zoe@exa_mple.com"])
def test_not_a_handle(world, handle) -> None:
    with pytest.raises(resolve.ResolveError, match="handle looks like"):
        resolve.resolve_account(handle)


# --- resolve_url ------------------------------------------------------------------------------------


def test_an_actor_url_and_a_note_url_are_fetched_and_stored(world, remote) -> None:
    uri = remote.actor("zoe")
    assert resolve.resolve_url(uri).username == "zoe"
    note = _serve_note(remote, uri, "lovely weather for a walk", url=f"{remote.base}/@zoe/1")
    post = resolve.resolve_url(note["id"])
    assert isinstance(post, Post) and post.author.username == "zoe" and "walk" in post.text
    row = RemotePost.objects.get(post=post)
    assert (row.uri, row.url) == (note["id"], f"{remote.base}/@zoe/1")
    assert Decision.objects.filter(post_id=post.pk, source="remote").exists()  # the inbox's path: the same gate
    fetched = len(remote.requests)
    assert resolve.resolve_url(note["id"]).pk == post.pk  # stored: found again without fetching
    assert resolve.resolve_url(f"{remote.base}/@zoe/1").pk == post.pk  # by its page URL too
    assert len(remote.requests) == fetched


def test_a_local_url_names_the_local_object(world) -> None:
    post = create_post(world.alice, Draft(text="hello"))
    assert resolve.resolve_url(uris.note_url("alice", post.pk)).pk == post.pk
    assert resolve.resolve_url(uris.post_page_url("alice", post.pk)).pk == post.pk
    assert resolve.resolve_url(uris.profile_url("alice")).pk == world.alice.pk
    with pytest.raises(resolve.ResolveError, match="Nothing here"):
        resolve.resolve_url(f"{uris.base_url()}/about")


def test_a_url_that_is_not_activitystreams_or_lies_is_refused(world, remote) -> None:
    actor = remote.actor("zoe")
    remote.RequestHandlerClass = _TypedHandler
    remote.types = {"/page": "text/html"}
    remote.documents["/page"] = {"id": f"{remote.base}/page", "type": "Note"}
    with pytest.raises(resolve.ResolveError, match="not served as ActivityStreams"):
        resolve.resolve_url(f"{remote.base}/page")
    # C4: a document claiming an id on another host than the one that served it
    remote.documents["/forged"] = {**remote.note(actor), "id": "http://127.0.0.3:9/users/zoe/statuses/1"}
    with pytest.raises(resolve.ResolveError, match="another host"):
        resolve.resolve_url(f"{remote.base}/forged")
    # C6: a note attributed to an actor on another host
    elsewhere = _serve_note(remote, actor, attributedTo="http://127.0.0.3:9/users/mallory")
    with pytest.raises(resolve.ResolveError, match="C6"):
        resolve.resolve_url(elsewhere["id"])
    with pytest.raises(resolve.ResolveError, match="Not a web address"):
        resolve.resolve_url("ftp://example.com/x")
    assert not RemotePost.objects.exists() and not Post.objects.filter(author__domain=_host(remote)).exists()


# --- Search, the API and the web ------------------------------------------------------------------


def test_api_search_resolves_handles_and_urls_for_signed_in_people(world, remote) -> None:
    uri = remote.actor("zoe")
    _webfinger(remote, "zoe")
    note = _serve_note(remote, uri)
    api = _api(world.alice)
    assert Client().get("/api/v2/search", {"q": f"@zoe@{_host(remote)}", "resolve": "true"}).status_code == 401
    body = api.get("/api/v2/search", {"q": f"@zoe@{_host(remote)}"}).json()
    assert body["accounts"] == []  # without resolve=true nothing is fetched
    body = api.get("/api/v2/search", {"q": f"@zoe@{_host(remote)}", "resolve": "true"}).json()
    assert [a["acct"] for a in body["accounts"]] == [f"zoe@{_host(remote)}"]
    body = api.get("/api/v2/search", {"q": note["id"], "resolve": "true"}).json()
    assert len(body["statuses"]) == 1 and "in the park" in body["statuses"][0]["content"]
    assert body["statuses"][0]["account"]["acct"] == f"zoe@{_host(remote)}"
    # A failure is no result, never an error
    r = api.get("/api/v2/search", {"q": f"{remote.base}/missing", "resolve": "true"})
    assert r.status_code == 200 and r.json() == {"accounts": [], "statuses": [], "hashtags": []}
    r = api.get("/api/v2/search", {"q": "nobody@127.0.0.9:1", "resolve": "true"})
    assert r.status_code == 200 and r.json()["accounts"] == []


def test_api_lookup_and_account_search_resolve(world, remote) -> None:
    remote.actor("zoe")
    _webfinger(remote, "zoe")
    api = _api(world.alice)
    handle = f"zoe@{_host(remote)}"
    assert api.get("/api/v1/accounts/lookup", {"acct": handle}).status_code == 404  # not known, not fetched
    r = api.get("/api/v1/accounts/lookup", {"acct": handle, "resolve": "true"})
    assert r.status_code == 200 and r.json()["acct"] == handle
    assert Client().get("/api/v1/accounts/lookup", {"acct": handle}).json()["acct"] == handle  # known now
    assert api.get("/api/v1/accounts/lookup", {"acct": f"nobody@{_host(remote)}", "resolve": "true"}).status_code == 404
    remote.actor("yan")
    _webfinger(remote, "yan")
    assert api.get("/api/v1/accounts/search", {"q": f"yan@{_host(remote)}"}).json() == []
    found = api.get("/api/v1/accounts/search", {"q": f"@yan@{_host(remote)}", "resolve": "true"}).json()
    assert [a["acct"] for a in found] == [f"yan@{_host(remote)}"]


def test_resolving_is_rate_limited_per_person(world, remote, settings) -> None:
    _narrow_resolve_limit(settings, "resolve=2/5m")
    for name in ("a1", "a2", "a3"):
        remote.actor(name)
        _webfinger(remote, name)
    api = _api(world.alice)
    found = [api.get("/api/v2/search", {"q": f"{n}@{_host(remote)}", "resolve": "true"}).json()["accounts"] for n in ("a1", "a2", "a3")]
    assert [len(f) for f in found] == [1, 1, 0]  # the third is not fetched: nothing found, no error
    assert not Account.objects.filter(username="a3").exists()
    bob = _api(world.bob)  # another person has a budget of their own
    assert len(bob.get("/api/v2/search", {"q": f"a3@{_host(remote)}", "resolve": "true"}).json()["accounts"]) == 1


def test_web_search_finds_remote_accounts_and_posts_for_signed_in_people(world, remote, client_for) -> None:
    uri = remote.actor("zoe")
    _webfinger(remote, "zoe")
    note = _serve_note(remote, uri, "a remote walk in the fog")
    handle = f"@zoe@{_host(remote)}"
    anonymous = client_for(None).get("/search", {"q": handle})
    assert anonymous.status_code == 200 and not Account.objects.filter(username="zoe").exists()
    page = client_for(world.alice).get("/search", {"q": handle})
    assert page.status_code == 200 and f"zoe@{_host(remote)}" in page.content.decode()
    page = client_for(world.alice).get("/search", {"q": note["id"]})
    assert "a remote walk in the fog" in page.content.decode()


def test_authorize_interaction(world, remote, client_for) -> None:
    uri = remote.actor("zoe")
    _webfinger(remote, "zoe")
    note = _serve_note(remote, uri)
    anonymous = client_for(None).get("/authorize_interaction", {"uri": f"acct:zoe@{_host(remote)}"})
    assert anonymous.status_code == 302
    target = urlsplit(anonymous["Location"])
    assert target.path == "/login" and parse_qs(target.query)["next"][0].startswith("/authorize_interaction?uri=")
    alice = client_for(world.alice)
    r = alice.get("/authorize_interaction", {"uri": f"acct:zoe@{_host(remote)}"})
    assert r.status_code == 302 and r["Location"] == f"/@zoe@{_host(remote)}"  # the remote profile page here
    assert alice.get(r["Location"]).status_code == 200
    r = alice.get("/authorize_interaction", {"uri": note["id"]})
    post = RemotePost.objects.get(uri=note["id"]).post
    assert r.status_code == 302 and r["Location"] == f"/@zoe@{_host(remote)}/{post.pk}"
    r = alice.get("/authorize_interaction", {"uri": f"bob@{uris.domain()}"})
    assert r.status_code == 302 and r["Location"] == "/@bob"
    for bad in ("", "not a handle", "x" * 3000):
        r = alice.get("/authorize_interaction", {"uri": bad})
        assert r.status_code == 400 and "handle like @name@server.example" in r.content.decode()
    r = alice.get("/authorize_interaction", {"uri": f"{remote.base}/missing"})
    assert r.status_code == 404 and "could not be found" in r.content.decode()


# --- Remote @mentions in local posts --------------------------------------------------------------


def test_a_remote_mention_links_tags_addresses_and_delivers(world, remote, run_tasks) -> None:
    uri = remote.actor("zoe")
    _webfinger(remote, "zoe")
    handle = f"zoe@{_host(remote)}"
    post = create_post(world.alice, Draft(text=f"hello @{handle} and @nobody@{_host(remote)}"))
    zoe = Account.objects.get(username="zoe", domain=_host(remote))
    assert list(Mention.objects.filter(post=post).values_list("account_id", flat=True)) == [zoe.pk]
    assert f'href="{uri}"' in post.content_html and 'class="u-url mention"' in post.content_html
    assert f"@nobody@{_host(remote)}" in post.content_html and "nobody</span>" not in post.content_html  # stays text
    doc = documents.note(Post.objects.get(pk=post.pk))
    assert {"type": "Mention", "href": uri, "name": f"@{handle}"} in doc["tag"]
    assert uri in doc["cc"]
    run_tasks()
    assert Delivery.objects.filter(inbox=f"{remote.base}/inbox", activity__activity_type="Create").exists()


def test_a_known_remote_account_is_mentioned_without_fetching(world, remote) -> None:
    uri = remote.actor("zoe")
    resolve.resolve_url(uri)
    fetched = len(remote.requests)
    post = create_post(world.alice, Draft(text=f"@zoe@{_host(remote)} hi", visibility="direct"))
    assert len(remote.requests) == fetched
    doc = documents.note(Post.objects.get(pk=post.pk))
    assert doc["to"] == [uri] and doc["cc"] == []


# --- Missing parents and announced posts ------------------------------------------------------------


def test_a_reply_to_an_unknown_post_fetches_its_parents_at_most_five(world, remote, process) -> None:
    actor = remote.actor("zoe")
    chain: list[dict[str, Any]] = []
    for n in range(7):
        chain.append(_serve_note(remote, actor, f"walk number {n}", inReplyTo=chain[-1]["id"] if chain else None))
    reply = remote.note(actor, "the last walk", inReplyTo=chain[-1]["id"])
    item = process(remote.send(actor, "Create", reply))
    assert item.state == InboxState.PROCESSED, item.outcome
    stored = {row.uri: row.post for row in RemotePost.objects.select_related("post")}
    assert [c["id"] in stored for c in chain] == [False, False, True, True, True, True, True]
    assert stored[reply["id"]].in_reply_to_id == stored[chain[6]["id"]].pk
    assert stored[chain[2]["id"]].in_reply_to_id is None  # its own parent was beyond the bound
    assert stored[chain[3]["id"]].in_reply_to_id == stored[chain[2]["id"]].pk
    assert len({p.thread_id for p in stored.values()}) == 1


def test_an_unreachable_parent_leaves_the_reply_stored_without_it(world, remote, process) -> None:
    actor = remote.actor("zoe")
    reply = remote.note(actor, "replying to the void", inReplyTo=f"{actor}/statuses/404")
    item = process(remote.send(actor, "Create", reply))
    assert item.state == InboxState.PROCESSED
    assert RemotePost.objects.get(uri=reply["id"]).post.in_reply_to_id is None


def test_an_announce_of_an_unknown_post_fetches_it_from_its_own_host(world, remote, process) -> None:
    actor = remote.actor("zoe")
    author = remote.actor("yan")
    note = _serve_note(remote, author, "worth sharing")
    item = process(remote.send(actor, "Announce", note["id"]))
    assert item.state == InboxState.PROCESSED, item.outcome
    original = RemotePost.objects.get(uri=note["id"]).post
    assert Post.objects.filter(repost_of=original, author__username="zoe").exists()
    # an embedded copy is not trusted: the post is fetched by its id, and a forged one is refused
    forged = {**remote.note(author), "id": "http://127.0.0.3:9/users/yan/statuses/1"}
    item = process(remote.send(actor, "Announce", forged))
    assert item.state == InboxState.IGNORED and "could not be fetched" in item.outcome
    assert Post.objects.filter(repost_of__isnull=False).count() == 1
