"""The archive: what it holds, in formats other servers read; who may have it; how long it lives."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
from PIL import Image

from rostra.accounts import actions as accounts
from rostra.core.errors import RateLimited
from rostra.core.models import Event
from rostra.portability import actions as portability
from rostra.portability.models import Export, JobState
from rostra.posts.addressing import PUBLIC
from rostra.testing.world import PASSWORD

from .conftest import archive_of, make_archive

BASE = "http://testserver"


@pytest.fixture(autouse=True)
def _base_url(settings):
    import dataclasses

    settings.ROSTRA = dataclasses.replace(settings.ROSTRA, domain="testserver", https=False)


def _csv(zf, name):
    return list(csv.reader(io.StringIO(zf.read(name).decode())))


def test_the_archive_holds_everything_alice_owns(busy, media_dir, run_tasks):
    b = busy
    export = make_archive(b.alice, run_tasks)
    assert export.state == JobState.READY and export.size > 0
    zf = archive_of(export, media_dir)
    names = set(zf.namelist())
    assert {"actor.json", "outbox.json", "likes.json", "bookmarks.json", "avatar.jpg", "header.png"} <= names
    assert {f"{k}.csv" for k in ("following_accounts", "blocked_accounts", "muted_accounts", "lists", "bookmarks")} <= names
    assert f"media_attachments/files/{b.media_files[0]}" in names

    actor = json.loads(zf.read("actor.json"))
    assert actor["type"] == "Person" and actor["preferredUsername"] == "alice"
    assert actor["id"] == f"{BASE}/@alice" and actor["name"] == "Alice Liddell" and "I read a lot" in actor["summary"]
    assert actor["icon"]["url"] == "avatar.jpg" and actor["image"]["url"] == "header.png"
    assert [f["name"] for f in actor["attachment"]] == ["Site", "Pronouns"]
    assert actor["outbox"] == "outbox.json"

    outbox = json.loads(zf.read("outbox.json"))
    assert outbox["type"] == "OrderedCollection" and outbox["totalItems"] == len(outbox["orderedItems"]) == 7
    by_id = {item["object"]["id"] if item["type"] == "Create" else item["id"]: item for item in outbox["orderedItems"]}
    url = {k: f"{BASE}/@alice/{p.pk}" for k, p in b.posts.items()}
    followers, bob, dave = f"{BASE}/@alice/followers", f"{BASE}/@bob", f"{BASE}/@dave"
    public = by_id[url["public"]]
    assert public["type"] == "Create" and public["actor"] == f"{BASE}/@alice"
    assert (public["to"], public["cc"]) == ([PUBLIC], [followers, bob])
    note = public["object"]
    assert note["type"] == "Note" and "Look" in note["content"] and note["published"]
    assert {"type": "Hashtag", "href": f"{BASE}/tags/birds", "name": "#birds"} in note["tag"]
    assert {"type": "Mention", "href": bob, "name": "@bob@testserver"} in note["tag"]
    [attachment] = note["attachment"]
    assert attachment["mediaType"] == "image/jpeg" and attachment["name"] == "A red kite over the hill"
    assert attachment["url"] == f"media_attachments/files/{b.media_files[0]}" and attachment["url"] in names
    assert (by_id[url["unlisted"]]["to"], by_id[url["unlisted"]]["cc"]) == ([followers], [PUBLIC])
    assert (by_id[url["private"]]["to"], by_id[url["private"]]["cc"]) == ([followers], [dave])
    assert (by_id[url["direct"]]["to"], by_id[url["direct"]]["cc"]) == ([bob], [])
    assert by_id[url["reply"]]["object"]["inReplyTo"] == f"{BASE}/@bob/{b.posts['bob'].pk}"
    assert by_id[url["quote"]]["object"]["quoteUri"] == f"{BASE}/@bob/{b.posts['bob_other'].pk}"
    repost = by_id[f"{url['repost']}/activity"]
    assert repost["type"] == "Announce" and repost["object"] == f"{BASE}/@bob/{b.posts['bob_other'].pk}"

    assert json.loads(zf.read("likes.json"))["orderedItems"] == [f"{BASE}/@bob/{b.posts['bob'].pk}"]
    assert json.loads(zf.read("bookmarks.json"))["orderedItems"] == [f"{BASE}/@bob/{b.posts['bob_other'].pk}"]

    following = _csv(zf, "following_accounts.csv")
    assert following[0] == ["Account address", "Show boosts", "Notify on new posts", "Languages"]
    assert sorted(following[1:]) == [
        ["bob@testserver", "true", "false", ""],
        ["carol@testserver", "true", "false", ""],
        ["dave@testserver", "false", "true", ""],
    ]
    assert _csv(zf, "blocked_accounts.csv") == [["eve@testserver"]]
    assert _csv(zf, "muted_accounts.csv") == [["Account address", "Hide notifications"], ["dave@testserver", "false"]]
    assert sorted(_csv(zf, "lists.csv")) == [
        ["'=SUM(1)", "dave@testserver"],
        ["Friends", "bob@testserver"],
        ["Friends", "carol@testserver"],
    ]
    assert _csv(zf, "bookmarks.csv") == [[f"{BASE}/@bob/{b.posts['bob_other'].pk}"]]


def test_d1_metadata_strip_archive_media_carries_no_exif(busy, media_dir, run_tasks):
    zf = archive_of(make_archive(busy.alice, run_tasks), media_dir)
    images = [n for n in zf.namelist() if n.startswith(("media_attachments/", "avatar.", "header."))]
    assert len(images) == 3
    for name in images:
        data = zf.read(name)
        with Image.open(io.BytesIO(data)) as img:
            assert not img.getexif(), name
            assert "exif" not in img.info and "comment" not in img.info, name
        assert b"PhoneCorp" not in data and b"Spyphone" not in data and b"Secret Lane" not in data
    # Exactly the files that are served, never anything else.
    served = (media_dir / busy.media_files[0]).read_bytes()
    assert zf.read(f"media_attachments/files/{busy.media_files[0]}") == served


def test_progress_moves_from_nothing_to_every_post(busy, media_dir, run_tasks, monkeypatch):
    monkeypatch.setattr(portability, "PROGRESS_EVERY", 3)
    seen: list[tuple[str, int, int]] = []
    real = portability._progress

    def watch(model, row_id, **fields):
        real(model, row_id, **fields)
        if model is Export:
            row = Export.objects.get(pk=row_id)
            seen.append((row.state, row.done, row.total))

    monkeypatch.setattr(portability, "_progress", watch)
    export = portability.request_export(busy.alice)
    assert (export.state, export.done, export.total) == (JobState.PENDING, 0, 0)
    run_tasks()
    assert [s[1] for s in seen] == [3, 6, 7, 7]
    assert all(total == 7 for _, _, total in seen)
    assert seen[-1][0] == JobState.READY and seen[0][0] == JobState.RUNNING


def test_one_archive_a_day(busy, media_dir, run_tasks):
    make_archive(busy.alice, run_tasks)
    with pytest.raises(RateLimited) as err:
        portability.request_export(busy.alice)
    assert "one archive a day" in err.value.message and err.value.retry_after > 0
    assert Export.objects.filter(account=busy.alice).count() == 1
    # A day later: another.
    Export.objects.filter(account=busy.alice).update(created_at=Export.objects.get().created_at - timedelta(hours=24, seconds=1))
    assert portability.request_export(busy.alice).state == JobState.PENDING


def test_a_failed_archive_does_not_count_against_the_day(busy, media_dir, run_tasks):
    export = portability.request_export(busy.alice)
    Export.objects.filter(pk=export.pk).update(state=JobState.FAILED)
    assert portability.request_export(busy.alice).pk != export.pk


def test_a_second_delivery_of_the_event_builds_nothing_twice(busy, media_dir, run_tasks):
    export = make_archive(busy.alice, run_tasks)
    portability.build_export(export.pk)
    export2 = Export.objects.get(pk=export.pk)
    assert export2.file_name == export.file_name
    assert [p.name for p in (media_dir.parent / "exports" / str(busy.alice.pk)).iterdir()] == [export.file_name]


def test_expiry_deletes_the_file_and_the_row(busy, media_dir, run_tasks):
    export = make_archive(busy.alice, run_tasks)
    path = media_dir.parent / "exports" / str(busy.alice.pk) / export.file_name
    assert path.is_file()
    portability.expire()
    assert path.is_file()  # not yet
    Export.objects.filter(pk=export.pk).update(expires_at=export.created_at)
    assert portability.expire() == 1
    assert not path.exists() and not Export.objects.filter(pk=export.pk).exists()


def test_a_dead_job_is_started_again(busy, media_dir, run_tasks):
    export = portability.request_export(busy.alice)
    Event.objects.filter(kind="export.requested").update(done_at=export.created_at)  # the event ran; the worker died
    Export.objects.filter(pk=export.pk).update(state=JobState.RUNNING, heartbeat_at=export.created_at - timedelta(minutes=6))
    assert portability.tend() == 1
    run_tasks()
    assert Export.objects.get(pk=export.pk).state == JobState.READY


def test_a_job_that_keeps_dying_is_given_up_after_a_day(busy, media_dir, run_tasks):
    export = portability.request_export(busy.alice)
    long_ago = export.created_at - timedelta(days=1, minutes=1)
    Export.objects.filter(pk=export.pk).update(state=JobState.RUNNING, created_at=long_ago, heartbeat_at=long_ago)
    assert portability.tend() == 0
    failed = Export.objects.get(pk=export.pk)
    assert failed.state == JobState.FAILED and "Please try again" in failed.error
    assert portability.request_export(busy.alice).pk != export.pk  # a failed archive does not use up the day


def test_d4_account_purge_deletes_export_files(busy, media_dir, run_tasks, django_capture_on_commit_callbacks):
    export = make_archive(busy.alice, run_tasks)
    folder = media_dir.parent / "exports" / str(busy.alice.pk)
    assert (folder / export.file_name).is_file()
    with django_capture_on_commit_callbacks(execute=True):
        accounts.delete_account(busy.alice.user, PASSWORD)
    run_tasks()
    assert not Export.objects.filter(pk=export.pk).exists()
    assert not folder.exists()


def test_an_export_running_when_the_account_goes_leaves_no_file(busy, media_dir, run_tasks):
    export = portability.request_export(busy.alice)
    alice_id = busy.alice.pk
    accounts.purge_account(busy.alice)
    portability.build_export(export.pk)  # the queue delivers it late
    run_tasks()
    folder = media_dir.parent / "exports" / str(alice_id)
    assert not folder.exists() or list(folder.iterdir()) == []


def test_a_remote_post_is_named_by_its_own_address(world):
    """Bookmarks and likes of remote posts name their ActivityPub id, which any server resolves."""
    from rostra.accounts.models import Account
    from rostra.core import clock
    from rostra.federation.models import RemotePost
    from rostra.portability import queries as portability_queries
    from rostra.posts import actions as posts
    from rostra.posts.models import Post

    zoe = Account.objects.create(username="zoe", domain="remote.example")
    kept = Post.objects.create(author=zoe, text="from afar", content_html="<p>from afar</p>", created_at=clock.now())
    RemotePost.objects.create(post=kept, uri="https://remote.example/users/zoe/statuses/1", url="https://remote.example/@zoe/1")
    bare = Post.objects.create(author=zoe, text="no address kept", content_html="<p>no address kept</p>", created_at=clock.now())
    for post in (kept, bare):
        posts.bookmark(world.alice, post.pk)
    # (Sorted: posts written in the same millisecond have ids in either order.)
    assert sorted(portability_queries.bookmark_urls(world.alice)) == sorted([
        "https://remote.example/users/zoe/statuses/1",
        f"{BASE}/@zoe@remote.example/{bare.pk}",
    ])


def test_a_remote_account_is_named_by_its_own_actor_id_never_by_a_local_name(world):
    """A mention of remote @alice in the archive must not read as this server's @alice."""
    from rostra.accounts.models import Account
    from rostra.core import clock
    from rostra.federation.models import RemoteActor
    from rostra.portability import formats

    known = Account.objects.create(username="alice", domain="remote.example")
    RemoteActor.objects.create(
        account=known, uri="https://remote.example/users/alice", inbox="https://remote.example/users/alice/inbox", fetched_at=clock.now()
    )
    bare = Account.objects.create(username="alice", domain="other.example")
    assert formats.actor_url(known) == "https://remote.example/users/alice"
    assert formats.actor_url(bare) == f"{BASE}/@alice@other.example"
    assert formats.actor_url(world.alice) == f"{BASE}/@alice"
