"""Quote posts over ActivityPub (FEP-e232, with Pleroma's ``quoteUrl``, Fedibird's ``quoteUri``
and Misskey's ``_misskey_quote``): what a local quote looks like on the wire, and what a remote
one becomes here — against a real fake remote on 127.0.0.2 that serves notes and checks the
signature of everything delivered to it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from rostra.accounts import actions as accounts
from rostra.accounts.models import Follow
from rostra.federation import documents, uris
from rostra.federation.models import InboxState, RemotePost
from rostra.notifications.models import Kind, Notification
from rostra.posts import actions as posts
from rostra.posts.models import Post, QuoteState, Visibility
from rostra.testing.world import make_account, make_post
from tests.federation.content_remote import FakeRemote

pytestmark = pytest.mark.django_db

LD = uris.LD_PROFILE


@pytest.fixture
def remote() -> Iterator[FakeRemote]:
    with FakeRemote("127.0.0.2") as server:
        yield server


@pytest.fixture
def other() -> Iterator[FakeRemote]:
    with FakeRemote("127.0.0.3") as server:
        yield server


def _stored(note: dict[str, Any]) -> Post:
    return RemotePost.objects.select_related("post").get(uri=note["id"]).post


def _quote_link(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [t for t in doc["tag"] if t["type"] == "Link"]


# --- Out ---------------------------------------------------------------------------------------------


def test_a_local_quote_carries_all_four_quote_forms_and_its_context(run_tasks) -> None:
    alice, bob = make_account("alice"), make_account("bob")
    quoted = make_post(bob, "the original")
    quote = make_post(alice, "look at this", quote_of_id=quoted.pk)
    doc = documents.note(quote)
    target = uris.note_url("bob", quoted.pk)
    assert doc["quoteUrl"] == doc["quoteUri"] == doc["_misskey_quote"] == target
    assert _quote_link(doc) == [{"type": "Link", "mediaType": LD, "href": target, "name": f"RE: {target}"}]
    terms = doc["@context"][1]
    assert terms["quoteUrl"] == "as:quoteUrl"
    assert terms["quoteUri"] == "http://fedibird.com/ns#quoteUri"
    assert terms["_misskey_quote"] == "https://misskey-hub.net/ns#_misskey_quote"
    assert f'RE: <a href="{target}">' in doc["content"]  # for servers that read no quote property
    # Served the same at the note's URL
    served = Client().get(f"/users/alice/statuses/{quote.pk}", HTTP_ACCEPT="application/activity+json").json()
    assert served["quoteUrl"] == target and _quote_link(served)
    # A post that quotes nothing carries none of it; a detached quote neither
    assert "quoteUrl" not in documents.note(quoted)
    posts.detach_quote(bob, quote.pk)
    plain = documents.note(Post.objects.get(pk=quote.pk))
    assert "quoteUrl" not in plain and not _quote_link(plain)


def test_a_quote_of_a_remote_post_is_delivered_with_its_id_and_reaches_the_quoted_author(run_tasks, remote, other) -> None:
    alice = make_account("alice")
    zoe_uri = remote.actor("zoe")
    note = remote.note(zoe_uri, "remote words")
    remote.send(zoe_uri, "Create", note)
    run_tasks()
    original = _stored(note)
    Follow.objects.create(follower=other.account("yan"), target=alice)
    remote.trust(alice)
    other.trust(alice)
    quote = make_post(alice, "quoting zoe", quote_of_id=original.pk)
    run_tasks()
    [(path, create)] = _delivered(remote)  # zoe's server: the quoted author hears of it
    assert path == "/inbox" and create["type"] == "Create"
    obj = create["object"]
    assert obj["id"] == uris.note_url("alice", quote.pk)
    assert obj["quoteUrl"] == obj["_misskey_quote"] == note["id"]
    assert _quote_link(obj)[0]["href"] == note["id"]
    assert [b["object"]["quoteUri"] for b in other.deliver()] == [note["id"]]  # the follower's server too


def _delivered(remote: FakeRemote) -> list[tuple[str, dict[str, Any]]]:
    remote.deliver()
    return [(p, b) for p, b in remote.received if b["type"] == "Create"]


# --- In ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("form", ["link", "quoteUrl", "quoteUri", "_misskey_quote"])
def test_a_remote_quote_of_a_local_post_is_kept_and_its_author_told(run_tasks, remote, form) -> None:
    bob = make_account("bob")
    quoted = make_post(bob, "the local original")
    target = uris.note_url("bob", quoted.pk)
    zoe = remote.actor("zoe")
    extra: dict[str, Any]
    if form == "link":
        extra = {"tag": [{"type": "Link", "mediaType": 'application/ld+json;  profile="https://www.w3.org/ns/activitystreams"', "href": target, "name": f"RE: {target}"}]}
    else:
        extra = {form: target}
    note = remote.note(zoe, "so true", **extra)
    note["content"] += f'<p class="quote-inline">RE: <a href="{target}">{target}</a></p>'
    item = remote.send(zoe, "Create", note)
    run_tasks()
    item.refresh_from_db()
    assert item.state == InboxState.PROCESSED, item.outcome
    post = _stored(note)
    assert (post.quote_of_id, post.quote_state) == (quoted.pk, QuoteState.ACCEPTED)
    assert "RE:" not in post.content_html and "so true" in post.text  # the fallback line is dropped
    assert Post.objects.get(pk=quoted.pk).quotes_count == 1
    assert Notification.objects.filter(recipient=bob, kind=Kind.QUOTE, actor=post.author, post=post).count() == 1
    # The quoted author may detach it, as a local quote
    posts.detach_quote(bob, post.pk)
    assert Post.objects.get(pk=post.pk).quote_state == QuoteState.DETACHED


def test_an_unknown_quoted_post_is_fetched_from_its_own_host(run_tasks, remote, other) -> None:
    yan = other.actor("yan")
    original = other.note(yan, "on another server", serve=True)
    zoe = remote.actor("zoe")
    note = remote.note(zoe, "quoting yan", quoteUrl=original["id"])
    item = remote.send(zoe, "Create", note)
    run_tasks()
    item.refresh_from_db()
    assert item.state == InboxState.PROCESSED, item.outcome
    fetched = _stored(original)
    assert fetched.author.domain == other.domain and "on another server" in fetched.text
    assert _stored(note).quote_of_id == fetched.pk


def test_a_quote_that_cannot_be_had_leaves_the_post_unquoted(run_tasks, remote, other) -> None:
    zoe = remote.actor("zoe")
    gone = remote.note(zoe, "quoting nothing", quoteUrl=f"{other.base}/users/nobody/statuses/404")
    remote.send(zoe, "Create", gone)
    run_tasks()
    post = _stored(gone)
    assert post.quote_of_id is None and post.quote_state == ""
    assert f"{other.base}/users/nobody/statuses/404".removeprefix(other.base) in other.fetched  # it was tried


def test_a_remote_quote_is_authorised_as_a_local_one(run_tasks, remote) -> None:
    bob = make_account("bob")
    private = make_post(bob, "followers only", visibility=Visibility.PRIVATE)
    zoe_uri = remote.actor("zoe")
    note = remote.note(zoe_uri, "leaking it", quoteUrl=uris.note_url("bob", private.pk))
    remote.send(zoe_uri, "Create", note)
    run_tasks()
    assert _stored(note).quote_of_id is None  # not quotable: stored without the quote
    public = make_post(bob, "public words")
    accounts.block(bob, _stored(note).author)  # bob blocks zoe: she cannot quote him
    blocked = remote.note(zoe_uri, "quoting a blocker", quoteUrl=uris.note_url("bob", public.pk))
    remote.send(zoe_uri, "Create", blocked)
    run_tasks()
    assert _stored(blocked).quote_of_id is None
    assert Post.objects.get(pk=public.pk).quotes_count == 0
    assert not Notification.objects.filter(recipient=bob, kind=Kind.QUOTE).exists()


def test_an_update_can_add_a_quote(run_tasks, remote) -> None:
    bob = make_account("bob")
    quoted = make_post(bob, "later quoted")
    zoe = remote.actor("zoe")
    note = remote.note(zoe, "first")
    remote.send(zoe, "Create", note)
    run_tasks()
    remote.send(zoe, "Update", {**note, "content": "<p>now quoting</p>", "_misskey_quote": uris.note_url("bob", quoted.pk)})
    run_tasks()
    post = _stored(note)
    assert post.quote_of_id == quoted.pk and "now quoting" in post.text


def test_an_outbox_page_of_quotes_and_polls_costs_the_same_queries_however_many(run_tasks, remote) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from rostra.posts.actions import Draft, PollDraft, create_post

    alice, bob = make_account("alice"), make_account("bob")
    zoe = remote.actor("zoe")
    note = remote.note(zoe, "remote original")
    remote.send(zoe, "Create", note)
    run_tasks()
    local, far = make_post(bob, "local original"), _stored(note)

    def page() -> int:
        with CaptureQueriesContext(connection) as queries:
            doc = Client().get("/users/alice/outbox?page=true", HTTP_ACCEPT="application/activity+json").json()
        assert all(i["object"]["type"] in ("Note", "Question") for i in doc["orderedItems"])
        return len(queries)

    def three() -> None:
        make_post(alice, "quoting bob", quote_of_id=local.pk)
        make_post(alice, "quoting zoe", quote_of_id=far.pk)
        create_post(alice, Draft(text="poll", poll=PollDraft(options=["a", "b"], expires_in=3600)))

    three()
    few = page()
    for _ in range(5):
        three()
    assert page() == few


def test_fedify_parses_a_quote_note_and_a_question_strictly(run_tasks, tmp_path) -> None:
    """An independent parser (Fedify's strict ``fromJsonLd``) reads the quote and poll terms."""
    import json
    import subprocess
    from pathlib import Path

    from rostra.posts.actions import Draft, PollDraft, create_post

    alice, bob = make_account("alice"), make_account("bob")
    quoted = make_post(bob, "the original")
    quote = documents.note(make_post(alice, "look", quote_of_id=quoted.pk))
    question = documents.note(create_post(alice, Draft(text="Which?", poll=PollDraft(options=["Tea", "Coffee"], expires_in=3600))))
    (tmp_path / "note.json").write_text(json.dumps(quote))
    (tmp_path / "question.json").write_text(json.dumps(question))
    root = Path(__file__).resolve().parents[2]
    node = root / ".venv" / "clients" / "node22" / "node_modules" / ".bin" / "node"
    done = subprocess.run(
        [str(node), str(Path(__file__).parent / "js" / "content_check.mjs"), str(tmp_path / "note.json"), str(tmp_path / "question.json")],
        capture_output=True, text=True, timeout=120, cwd=root, check=False,
    )
    assert done.returncode == 0, done.stderr
    read = json.loads(done.stdout)
    assert read["quote"] == uris.note_url("bob", quoted.pk)
    assert read["options"] == ["Tea", "Coffee"] and read["voters"] == 0 and read["end"]


def test_a_chain_of_quotes_fetches_one_link_only(run_tasks, remote, other) -> None:
    yan = other.actor("yan")
    first = other.note(yan, "the first", serve=True)
    second = other.note(yan, "the second", serve=True, quoteUrl=first["id"])
    zoe = remote.actor("zoe")
    note = remote.note(zoe, "the third", quoteUrl=second["id"])
    remote.send(zoe, "Create", note)
    run_tasks()
    fetched = _stored(second)
    assert _stored(note).quote_of_id == fetched.pk
    assert fetched.quote_of_id is None and not RemotePost.objects.filter(uri=first["id"]).exists()
