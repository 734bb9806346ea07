"""Import: Mastodon's CSVs checked as a whole, applied through the domain actions."""

from __future__ import annotations

import dataclasses

import pytest

from rostra.accounts import actions as accounts
from rostra.accounts.models import Block, Follow, FollowRequest, Mute
from rostra.core.errors import Conflict, ValidationError
from rostra.portability import actions as portability
from rostra.portability import queries
from rostra.portability.models import Import, JobState
from rostra.posts.models import Bookmark
from rostra.testing.world import make_account, make_post
from rostra.timelines.models import List, ListMember


@pytest.fixture(autouse=True)
def _domain(settings):
    settings.ROSTRA = dataclasses.replace(settings.ROSTRA, domain="testserver", https=False)


def _csv(account, kind: str) -> bytes:
    return "".join(queries.csv_document(account, kind)).encode()


def _graph(account):
    return {
        "following": sorted(
            (f.target.username, f.show_reposts, f.notify)
            for f in Follow.objects.filter(follower=account).select_related("target")
        ),
        "blocks": sorted(Block.objects.filter(account=account).values_list("target__username", flat=True)),
        "mutes": sorted(Mute.objects.filter(account=account).values_list("target__username", "hide_notifications")),
        "lists": sorted(ListMember.objects.filter(list__owner=account).values_list("list__title", "account__username")),
        "bookmarks": sorted(Bookmark.objects.filter(account=account).values_list("post_id", flat=True)),
    }


def test_round_trip_from_one_account_to_another(busy, run_tasks):
    alice = busy.alice
    frank = make_account("frank")
    files = {
        kind: _csv(alice, name)
        for kind, name in [
            ("following", "following_accounts"),
            ("blocks", "blocked_accounts"),
            ("mutes", "muted_accounts"),
            ("lists", "lists"),
            ("bookmarks", "bookmarks"),
        ]
    }
    for kind in ("following", "blocks", "mutes", "lists", "bookmarks"):
        job = portability.start_import(frank, kind, "merge", files[kind], f"{kind}.csv")
        assert job.state == JobState.READY, kind
    # carol is locked: frank's follow is a request until she accepts, and she is not yet on his list.
    assert FollowRequest.objects.filter(requester=frank, target__username="carol").exists()
    accounts.accept_follow_request(busy.alice.__class__.objects.get(username="carol"), frank.pk)
    portability.start_import(frank, "lists", "merge", files["lists"], "lists.csv")
    run_tasks()
    mine, theirs = _graph(alice), _graph(frank)
    assert theirs["following"] == mine["following"]
    assert theirs["blocks"] == mine["blocks"] == ["eve"]
    assert theirs["mutes"] == mine["mutes"] == [("dave", False)]
    assert theirs["lists"] == mine["lists"] == [("=SUM(1)", "dave"), ("Friends", "bob"), ("Friends", "carol")]
    assert theirs["bookmarks"] == mine["bookmarks"]


def test_a_locked_account_gets_a_request_and_the_summary_says_so(world):
    frank = make_account("frank")
    job = portability.start_import(
        frank, "following", "merge", b"Account address,Show boosts,Notify on new posts,Languages\ncarol@testserver,true,false,\n"
    )
    assert not Follow.objects.filter(follower=frank, target=world.carol).exists()
    assert FollowRequest.objects.filter(requester=frank, target=world.carol).exists()
    assert job.outcome["requested"] == 1
    assert job.issues == [{"line": 2, "value": "carol", "reason": "follow requested: this account approves followers"}]


def test_remote_and_unknown_accounts_are_listed_as_not_found(world):
    frank = make_account("frank")
    data = b"bob\n@dave@testserver\nzed@mastodon.example\nnobody\n"
    job = portability.start_import(frank, "blocks", "merge", data, "blocked_accounts.csv")
    assert sorted(Block.objects.filter(account=frank).values_list("target__username", flat=True)) == ["bob", "dave"]
    assert job.outcome == {"applied": 2, "requested": 0, "not_found": 2, "failed": 0}
    assert job.issues == [
        {"line": 3, "value": "zed@mastodon.example", "reason": "not found — federation is not available yet"},
        {"line": 4, "value": "nobody", "reason": "not found: no such account here"},
    ]


def test_bookmarks_go_through_the_door(world):
    frank = make_account("frank")
    visible = make_post(world.bob, "public")
    hidden = make_post(world.alice, "for followers", visibility="private")
    data = f"http://testserver/@bob/{visible.pk}\nhttp://testserver/@alice/{hidden.pk}\nhttps://elsewhere.example/@x/1\n".encode()
    job = portability.start_import(frank, "bookmarks", "merge", data)
    assert list(Bookmark.objects.filter(account=frank).values_list("post_id", flat=True)) == [visible.pk]
    assert [i["reason"] for i in job.issues] == [
        "not found, or not visible to you",
        "not found — federation is not available yet",
    ]


def test_overwrite_removes_what_the_file_does_not_name(busy):
    alice = busy.alice
    portability.start_import(alice, "following", "overwrite", b"Account address,Show boosts\nbob@testserver,false\n")
    assert _graph(alice)["following"] == [("bob", False, False)]
    portability.start_import(alice, "mutes", "overwrite", b"Account address,Hide notifications\nbob,true\n")
    assert _graph(alice)["mutes"] == [("bob", True)]
    portability.start_import(alice, "blocks", "overwrite", b"dave\n")
    assert _graph(alice)["blocks"] == ["dave"]
    portability.start_import(alice, "lists", "overwrite", b"Close,bob\n")
    assert list(List.objects.filter(owner=alice).values_list("title", flat=True)) == ["Close"]
    assert _graph(alice)["lists"] == [("Close", "bob")]
    portability.start_import(alice, "bookmarks", "overwrite", f"http://testserver/@bob/{busy.posts['bob'].pk}\n".encode())
    assert _graph(alice)["bookmarks"] == [busy.posts["bob"].pk]


def test_merge_keeps_what_you_have(busy):
    alice = busy.alice
    portability.start_import(alice, "blocks", "merge", b"dave\n")
    assert _graph(alice)["blocks"] == ["dave", "eve"]


BAD_FILES = [
    ("following", b"\x89PNG\r\n\x1a\n\x00\x00\x00", "following_accounts.csv", "binary data"),
    ("following", "bob\n".encode("utf-16"), "", "not a CSV file"),
    ("following", b"\xff\xfe\xfa not utf8\n", "", "not UTF-8"),
    ("blocks", b"", "", "empty"),
    ("blocks", b"\n\n", "", "empty"),
    ("following", b'bob,"unterminated\n', "", "not a valid CSV file"),
    (
        "mutes",
        b"Account address,Show boosts,Notify on new posts,Languages\nbob,true,false,\n",
        "",
        "looks like people you follow",
    ),
    ("following", b"Account address,Hide notifications\nbob,true\n", "", "looks like muted accounts"),
    ("blocks", b"bob\n", "muted_accounts.csv", "its name is muted_accounts.csv"),
    ("lists", b"Account address\nbob\n", "", "you chose to import lists"),
    ("blocks", b"Friends,bob\n", "", "expected one column"),
    ("nonsense", b"bob\n", "", "Choose what the file holds"),
]


@pytest.mark.parametrize(("kind", "data", "name", "message"), BAD_FILES)
def test_bad_files_are_refused_whole_with_a_message(world, kind, data, name, message):
    frank = make_account("frank")
    with pytest.raises(ValidationError) as err:
        portability.start_import(frank, kind, "merge", data, name)
    assert message in " ".join([err.value.message, *err.value.errors.get("lines", [])])
    assert not Import.objects.exists()
    assert not Block.objects.filter(account=frank).exists() and not Follow.objects.filter(follower=frank).exists()


def test_bad_rows_are_listed_by_line_and_nothing_is_written(world):
    frank = make_account("frank")
    data = b"Account address,Show boosts\nbob,true\nnot an address!,true\ncarol,maybe\n\ndave,false\nhttps://x.example/@a,true\n"
    with pytest.raises(ValidationError) as err:
        portability.start_import(frank, "following", "merge", data)
    assert err.value.message == "3 lines of the file cannot be read; nothing was imported."
    assert err.value.errors["lines"] == [
        "line 3: not an account address (user or user@server)",
        "line 4: Show boosts and Notify on new posts must be true or false",
        "line 7: not an account address (user or user@server)",
    ]
    assert not Follow.objects.filter(follower=frank).exists() and not Import.objects.exists()


def test_too_large_and_too_many_rows(world):
    frank = make_account("frank")
    with pytest.raises(ValidationError, match="too large"):
        portability.start_import(frank, "blocks", "merge", b"bob\n" * (1024 * 1024 // 4 + 1))
    with pytest.raises(ValidationError, match="too many rows: the limit is 20,000"):
        portability.start_import(frank, "blocks", "merge", b"bob\n" * 20_001)
    assert not Import.objects.exists() and not Block.objects.filter(account=frank).exists()


def test_a_large_import_runs_in_the_background_with_progress(world, run_tasks, monkeypatch):
    monkeypatch.setattr(portability, "PROGRESS_EVERY", 50)
    frank = make_account("frank")
    rows = b"".join(f"user{i}@far.example\n".encode() for i in range(150)) + b"bob\n"
    job = portability.start_import(frank, "blocks", "merge", rows)
    assert (job.state, job.done, job.total) == (JobState.PENDING, 0, 151)
    with pytest.raises(Conflict):
        portability.start_import(frank, "mutes", "merge", b"bob\n")
    seen = []
    real = portability._progress

    def watch(model, row_id, **fields):
        real(model, row_id, **fields)
        seen.append(Import.objects.values_list("done", flat=True).get(pk=row_id))

    monkeypatch.setattr(portability, "_progress", watch)
    run_tasks()
    job.refresh_from_db()
    assert seen == [50, 100, 150, 151]
    assert job.state == JobState.READY and job.outcome == {"applied": 1, "requested": 0, "not_found": 150, "failed": 0}
    assert Block.objects.filter(account=frank, target=world.bob).exists()
