"""The lifeboat: one archive restores a whole account; hostile archives are refused whole.

Round trips on two data sets (alice's busy world from conftest, and carol's threads, poll, CW,
edit and language), each exported from one account and restored into another, then compared.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import zipfile
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

import pytest

from rostra.accounts import actions as accounts
from rostra.accounts.models import Account, Block, Follow, FollowRequest, Mute
from rostra.config.cli import main as cli
from rostra.core.clock import now
from rostra.core.errors import ValidationError
from rostra.core.pagination import PageRequest
from rostra.notifications.models import Notification
from rostra.portability import actions as portability
from rostra.portability import archive, restore
from rostra.portability.models import ImportedPost
from rostra.posts import actions as posts
from rostra.posts.models import Bookmark, Media, ModerationState, Poll, Post
from rostra.posts.polls import PollDraft
from rostra.testing.images import png_bytes
from rostra.testing.world import PASSWORD, make_account, make_post
from rostra.timelines import queries as timelines
from rostra.timelines.models import List, ListMember

BASE = "http://testserver"


@pytest.fixture(autouse=True)
def _base_url(settings):
    settings.ROSTRA = dataclasses.replace(settings.ROSTRA, domain="testserver", https=False)


def _export(account: Account, tmp_path: Path, name: str = "archive.zip") -> Path:
    path = tmp_path / name
    portability.export_account(account, path)
    return path


def _newcomer(username: str = "alice2") -> Account:
    return make_account(username)


def _media_files(media_dir: Path) -> set[str]:
    return {p.name for p in media_dir.iterdir()}


def _posts_of(account: Account) -> list[Post]:
    return list(Post.objects.filter(author=account).order_by("created_at").prefetch_related("media"))


# --- Round trip 1: alice's busy account ---------------------------------------------------------------


def test_round_trip_restores_profile_posts_media_and_people(busy, media_dir, tmp_path, run_tasks, world):
    alice = busy.alice
    path = _export(alice, tmp_path)
    new = _newcomer()
    report = restore.restore_account(new, path)
    run_tasks()
    new.refresh_from_db()

    # Profile (the avatar and header re-processed into new files).
    assert (new.display_name, new.note) == (alice.display_name, alice.note)
    assert [(f["name"], f["value"]) for f in new.fields] == [(f["name"], f["value"]) for f in alice.fields]
    assert (new.locked, new.discoverable, new.bot) == (alice.locked, alice.discoverable, alice.bot)
    assert new.avatar and new.header and new.avatar != alice.avatar and (media_dir / new.avatar).is_file()

    # Posts: everything but the repost, with dates, audiences and media.
    old = {p.text: p for p in _posts_of(alice) if p.repost_of_id is None}
    restored = {p.text: p for p in _posts_of(new)}
    assert set(restored) == set(old) and report.counts["posts_restored"] == 6 and report.counts["reposts_skipped"] == 1
    for text, p in restored.items():
        o = old[text]
        assert (p.visibility, p.created_at, p.spoiler_text, p.sensitive, p.language) == (o.visibility, o.created_at, o.spoiler_text, o.sensitive, o.language)
        assert p.moderation_state == ModerationState.PUBLISHED
    [photo] = restored["Look #birds @bob"].media.all()
    assert photo.description == "A red kite over the hill" and photo.file not in busy.media_files and (media_dir / photo.file).is_file()
    # Replies and quotes of posts this server has are linked again.
    assert restored["hello back"].in_reply_to_id == busy.posts["bob"].pk
    assert restored["see this"].quote_of_id == busy.posts["bob_other"].pk
    # In date order on the profile: ids made for the original dates.
    ordered = list(Post.objects.filter(author=new).order_by("-id").values_list("created_at", flat=True))
    assert ordered == sorted(ordered, reverse=True)
    assert new.posts_count == 6

    # People, lists, blocks, mutes, bookmarks.
    assert set(Follow.objects.filter(follower=new).values_list("target__username", flat=True)) == {"bob", "dave"}
    assert FollowRequest.objects.filter(requester=new, target=world.carol).exists()  # carol approves followers
    assert Block.objects.filter(account=new, target=world.eve).exists()
    assert Mute.objects.filter(account=new, target=world.dave).exists()
    assert set(List.objects.filter(owner=new).values_list("title", flat=True)) == {"Friends", "=SUM(1)"}
    assert set(ListMember.objects.filter(list__owner=new).values_list("account__username", flat=True)) == {"bob", "dave"}
    assert Bookmark.objects.filter(account=new, post=busy.posts["bob_other"]).exists()
    assert report.counts["following_requested"] == 1


def test_restored_posts_are_history_not_news(busy, media_dir, tmp_path, run_tasks, world):
    path = _export(busy.alice, tmp_path)
    new = _newcomer()
    accounts.follow(world.bob, new)  # bob already follows the new account
    run_tasks()
    restore.restore_account(new, path)
    run_tasks()
    restored = set(Post.objects.filter(author=new).values_list("pk", flat=True))
    home = {p.pk for p in timelines.home(world.bob, PageRequest(limit=40)).items}
    assert not restored & home
    assert not Notification.objects.filter(post_id__in=restored).exists()  # mentions of bob and dave notify nobody


def test_restoring_the_same_archive_twice_adds_nothing(busy, media_dir, tmp_path, run_tasks):
    path = _export(busy.alice, tmp_path)
    new = _newcomer()
    restore.restore_account(new, path)
    first = Post.objects.filter(author=new).count()
    again = restore.restore_account(new, path)
    assert Post.objects.filter(author=new).count() == first == 6
    assert again.counts["posts_already"] == 6 and again.counts.get("posts_restored", 0) == 0
    assert Follow.objects.filter(follower=new).count() == 2 and Bookmark.objects.filter(account=new).count() == 1
    assert Media.objects.filter(owner=new, post__isnull=False).count() == 1


def test_a_forged_archive_cannot_capture_someone_elses_old_addresses(busy, media_dir, tmp_path, client_for):
    # Anyone can restore a copy of alice's archive (first here: a squatter); alice's real new
    # account still restores everything, and the old addresses lead only to the account alice
    # moved to, whoever restored first.
    path = _export(busy.alice, tmp_path)
    squatter, real = _newcomer("squatter"), _newcomer("real")
    restore.restore_account(squatter, path)
    report = restore.restore_account(real, path)
    assert report.counts["posts_restored"] == 6 and Post.objects.filter(author=real).count() == 6
    public = busy.posts["public"]
    old = quote(f"{BASE}/@alice/{public.pk}")
    anon = client_for(None)
    assert anon.get(f"/imported?uri={old}").status_code == 404  # alice has not moved: no one is her successor
    Account.objects.filter(pk=busy.alice.pk).update(moved_to=real, moved_at=now())
    mine = ImportedPost.objects.get(account=real, old_uri=f"{BASE}/@alice/{public.pk}").post_id
    response = anon.get(f"/imported?uri={old}")
    assert response.status_code == 302 and response["Location"] == f"/@real/{mine}"


# --- Round trip 2: carol's threads, poll, content warning, edit, language ------------------------------


@pytest.fixture
def carol_world(world, media_dir, run_tasks):
    carol = world.carol
    root = make_post(carol, "A thread about kites", language="en")
    one = make_post(carol, "1/ the frame", in_reply_to_id=root.pk)
    two = make_post(carol, "2/ the line", in_reply_to_id=one.pk, visibility="unlisted")
    cw = make_post(carol, "spoilers inside", spoiler_text="film ending", language="de")
    posts.edit_post(carol, cw.pk, text="spoilers inside, edited", spoiler_text="film ending")
    poll = make_post(carol, "Which kite?", poll=PollDraft(options=["box", "delta", "sled"], expires_in=3600, multiple=True))
    self_quote = make_post(carol, "as I said", quote_of_id=root.pk)
    picture = posts.upload_media(carol, png_bytes((30, 30)), description="sketch", focus=(0.5, -0.25))
    pic = make_post(carol, "", media_ids=[picture.pk], visibility="private")
    run_tasks()
    return {"root": root, "one": one, "two": two, "cw": cw, "poll": poll, "self_quote": self_quote, "pic": pic}


def test_round_trip_of_threads_polls_and_edits(carol_world, media_dir, tmp_path, world):
    path = _export(world.carol, tmp_path)
    new = _newcomer("carol2")
    restore.restore_account(new, path)
    mapped = {row.old_uri: row.post for row in ImportedPost.objects.filter(account=new).select_related("post")}
    got = {k: mapped[f"{BASE}/@carol/{p.pk}"] for k, p in carol_world.items()}
    # Replies to each other and a quote of its own post point at the restored posts.
    assert got["one"].in_reply_to_id == got["root"].pk and got["two"].in_reply_to_id == got["one"].pk
    assert got["two"].thread_id == got["root"].pk and got["two"].visibility == "unlisted"
    assert got["self_quote"].quote_of_id == got["root"].pk
    got["root"].refresh_from_db()
    assert got["root"].replies_count == 1
    # The latest text of an edit, its content warning and language.
    cw = got["cw"]
    assert (cw.text, cw.spoiler_text, cw.sensitive, cw.language) == ("spoilers inside, edited", "film ending", True, "de")
    assert cw.edited_at is not None and got["root"].language == "en"
    # The poll, with its options and end.
    poll = Poll.objects.get(post=got["poll"])
    assert [o.title for o in poll.options.all()] == ["box", "delta", "sled"] and poll.multiple
    assert poll.expires_at == Poll.objects.get(post=carol_world["poll"]).expires_at
    # An image-only post with its alt text and focus.
    [m] = got["pic"].media.all()
    assert (m.description, m.focus_x, m.focus_y, got["pic"].visibility) == ("sketch", 0.5, -0.25, "private")


def test_moderation_holds_restored_posts_like_any_other(carol_world, media_dir, tmp_path, world):
    path = _export(world.carol, tmp_path)
    new = _newcomer("carol2")
    Account.objects.filter(pk=new.pk).update(hold_posts_until=now() + timedelta(days=1))
    new.refresh_from_db()
    report = restore.restore_account(new, path)
    states = set(Post.objects.filter(author=new).values_list("moderation_state", flat=True))
    assert states == {ModerationState.HELD} and report.counts["posts_held"] == len(carol_world)


def test_what_the_old_servers_moderators_decided_travels_with_the_posts(world, media_dir, tmp_path):
    """A post removed or held there is left out; a limited one stays limited; nothing comes back
    published that the moderators had taken off public view."""
    kept = make_post(world.carol, "a quiet walk by the river")
    limited = make_post(world.carol, "a limited thought about rivers")
    removed = make_post(world.carol, "a removed thought about rivers")
    held = make_post(world.carol, "a held thought about rivers")
    for post, state in ((limited, ModerationState.LIMITED), (removed, ModerationState.REMOVED), (held, ModerationState.HELD)):
        Post.objects.filter(pk=post.pk).update(moderation_state=state)
    new = _newcomer("carol3")
    report = restore.restore_account(new, _export(world.carol, tmp_path))
    restored = {p.text: p.moderation_state for p in Post.objects.filter(author=new)}
    assert restored == {kept.text: ModerationState.PUBLISHED, limited.text: ModerationState.LIMITED}
    skipped = " ".join(report.issues)
    assert "removed by the old server's moderators" in skipped and "held for review on the old server" in skipped


def test_a_moved_account_is_not_restored_into(world, media_dir, tmp_path):
    from rostra.core.errors import PermissionDenied

    make_post(world.carol, "a quiet walk by the river")
    path = _export(world.carol, tmp_path)
    new = _newcomer("carol4")
    Account.objects.filter(pk=new.pk).update(moved_to=world.alice)
    new.refresh_from_db()
    with pytest.raises(PermissionDenied, match="has moved"):
        restore.restore_account(new, path)
    assert not Post.objects.filter(author=new).exists()


def test_old_dates_before_the_id_epoch_still_sort(world, media_dir, tmp_path):
    post = make_post(world.carol, "from long ago")
    Post.objects.filter(pk=post.pk).update(created_at=now().replace(year=2019))
    new = _newcomer("carol2")
    restore.restore_account(new, _export(world.carol, tmp_path))
    restored = Post.objects.get(author=new)
    assert restored.created_at.year == 2019


# --- Hostile and damaged archives: refused whole, nothing written -------------------------------------------


def _rewrite(
    src: Path, dst: Path, *, replace: dict[str, bytes | None] | None = None, add: tuple[tuple[zipfile.ZipInfo | str, bytes], ...] | list = (), reseal: bool = True
) -> Path:
    replace = replace or {}
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", compression=zipfile.ZIP_DEFLATED) as zout:
        manifest = json.loads(zin.read("manifest.json"))
        for info in zin.infolist():
            if info.filename == "manifest.json":
                continue
            data = replace.get(info.filename, zin.read(info.filename))
            if data is None:
                manifest["files"].pop(info.filename, None)
                continue
            zout.writestr(info.filename, data)
            if reseal:
                manifest["files"][info.filename] = {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        for name, data in add:
            zout.writestr(name, data)
            key = name.filename if isinstance(name, zipfile.ZipInfo) else name
            manifest["files"][key] = {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
        if "manifest.json" in replace:
            if replace["manifest.json"] is not None:
                zout.writestr("manifest.json", replace["manifest.json"])
        else:
            zout.writestr("manifest.json", json.dumps(manifest))
    return dst


def _outbox_with(src: Path, change) -> bytes:
    with zipfile.ZipFile(src) as zf:
        doc = json.loads(zf.read("outbox.json"))
    change(doc)
    return json.dumps(doc).encode()


def _symlink(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.external_attr = (0o120777 << 16)
    return info


def _manifest(src: Path, **changes) -> bytes:
    with zipfile.ZipFile(src) as zf:
        doc = json.loads(zf.read("manifest.json"))
    doc.update(changes)
    return json.dumps(doc).encode()


HOSTILE = {
    "not a zip": (lambda src, dst: (dst.write_bytes(b"PK\x03\x04 not really"), dst)[1], "not a ZIP file"),
    "no manifest": (lambda src, dst: _rewrite(src, dst, replace={"manifest.json": None}), "no manifest.json"),
    "another format": (lambda src, dst: _rewrite(src, dst, replace={"manifest.json": _manifest(src, format="mastodon")}), "not a Rostra account archive"),
    "a newer version": (lambda src, dst: _rewrite(src, dst, replace={"manifest.json": _manifest(src, version=99)}), "newer Rostra"),
    "an altered file": (lambda src, dst: _rewrite(src, dst, replace={"actor.json": b'{"type": "Person"}'}, reseal=False), "manifest"),
    "path traversal": (lambda src, dst: _rewrite(src, dst, add=[("../../etc/evil.json", b"{}")]), "unsafe name"),
    "an absolute path": (lambda src, dst: _rewrite(src, dst, add=[("/etc/passwd", b"x")]), "unsafe name"),
    "a backslash path": (lambda src, dst: _rewrite(src, dst, add=[("media_attachments\\..\\x.png", b"x")]), "unsafe name"),
    "a symlink": (lambda src, dst: _rewrite(src, dst, add=[(_symlink("avatar.png"), b"/etc/passwd")]), "link"),
    "an unexpected file": (lambda src, dst: _rewrite(src, dst, add=[("run.sh", b"rm -rf /")]), "unexpected file"),
    "a zip bomb": (lambda src, dst: _rewrite(src, dst, replace={"outbox.json": b" " * (5 * 1024 * 1024)}), "inflates"),
    "a post without its text": (
        lambda src, dst: _rewrite(src, dst, replace={"outbox.json": _outbox_with(src, lambda d: d["orderedItems"][0]["object"].pop("source"))}),
        "cannot be read",
    ),
    "a post by someone else": (
        lambda src, dst: _rewrite(src, dst, replace={"outbox.json": _outbox_with(src, lambda d: d["orderedItems"][0]["object"].update(attributedTo="https://evil.example/@x"))}),
        "cannot be read",
    ),
    "a file listed but missing": (lambda src, dst: _rewrite(src, dst, replace={"manifest.json": _manifest(src, files={**json.loads(_manifest(src))["files"], "media_attachments/files/gone.png": {"size": 1, "sha256": "0" * 64}})}), "missing"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_archives_are_refused_and_nothing_is_written(case, busy, media_dir, tmp_path):
    src = _export(busy.alice, tmp_path)
    make, expected = HOSTILE[case]
    bad = make(src, tmp_path / "bad.zip")
    new = _newcomer()
    files_before = _media_files(media_dir)
    with pytest.raises(ValidationError) as caught:
        restore.restore_account(new, bad)
    assert "cannot be restored" in caught.value.message and expected in (caught.value.message + " ".join(caught.value.errors.get("lines", [])))
    new.refresh_from_db()
    assert not Post.objects.filter(author=new).exists() and not ImportedPost.objects.exists()
    assert not Follow.objects.filter(follower=new).exists() and new.note == "" and new.avatar == ""
    assert _media_files(media_dir) == files_before


def test_a_fake_image_in_the_archive_rolls_everything_back(busy, media_dir, tmp_path):
    src = _export(busy.alice, tmp_path)
    name = f"media_attachments/files/{busy.media_files[0]}"
    bad = _rewrite(src, tmp_path / "bad.zip", replace={name: b"<?php system($_GET['x']); ?>"})
    new = _newcomer()
    files_before = _media_files(media_dir)
    with pytest.raises(ValidationError) as caught:
        restore.restore_account(new, bad)
    assert busy.media_files[0] in caught.value.message
    new.refresh_from_db()
    assert not Post.objects.filter(author=new).exists() and new.avatar == "" and not Media.objects.filter(owner=new).exists()
    assert _media_files(media_dir) == files_before  # the avatar, header and images written before are gone again


def test_the_manifest_seals_every_file(busy, tmp_path):
    with zipfile.ZipFile(_export(busy.alice, tmp_path)) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        assert manifest["format"] == archive.FORMAT and manifest["version"] == archive.VERSION
        assert set(manifest["files"]) == set(zf.namelist()) - {"manifest.json"}
        for name, entry in manifest["files"].items():
            assert hashlib.sha256(zf.read(name)).hexdigest() == entry["sha256"]
        assert "followers_accounts.csv" in manifest["files"]
        assert b"bob@testserver" in zf.read("followers_accounts.csv")


# --- Redirects from the old addresses ------------------------------------------------------------------------


def test_old_addresses_redirect_to_the_restored_posts(busy, media_dir, tmp_path, client_for, world):
    restore.restore_account(_newcomer(), _export(busy.alice, tmp_path))
    new = Account.objects.get(username="alice2")
    public, direct = busy.posts["public"], busy.posts["direct"]
    mapped = {r.old_uri: r.post_id for r in ImportedPost.objects.all()}
    anon = client_for(None)
    # Until alice's old account has moved to the new one, the old addresses lead nowhere here.
    assert anon.get(f"/imported?uri={quote(f'{BASE}/@alice/{public.pk}')}").status_code == 404
    Account.objects.filter(pk=busy.alice.pk).update(moved_to=new, moved_at=now())
    # The new server: /imported?uri=<old URL> → the restored post, through the door.
    response = anon.get(f"/imported?uri={quote(f'{BASE}/@alice/{public.pk}')}")
    assert response.status_code == 302 and response["Location"] == f"/@alice2/{mapped[f'{BASE}/@alice/{public.pk}']}"
    assert anon.get(f"/imported?uri={quote(f'{BASE}/@alice/{direct.pk}')}").status_code == 404  # not for everyone
    assert client_for(world.bob).get(f"/imported?uri={quote(f'{BASE}/@alice/{direct.pk}')}").status_code == 302
    assert anon.get("/imported?uri=https://nowhere.example/@x/1").status_code == 404
    assert anon.get("/imported").status_code == 404
    # The old server, once alice has moved: her post pages send people there.
    response = anon.get(f"/@alice/{public.pk}")
    assert response.status_code == 301 and response["Location"] == f"{BASE}/imported?uri={quote(f'{BASE}/@alice/{public.pk}', safe='')}"
    assert anon.get(f"/@alice/{direct.pk}").status_code == 404  # a post you may not see stays hidden


def test_a_move_to_another_server_redirects_there(world, client_for):
    from rostra.federation.models import RemoteActor

    post = make_post(world.alice, "hello")
    rostra = Account.objects.create(username="alice", domain="new.example")
    RemoteActor.objects.create(account=rostra, uri="https://new.example/@alice", url="https://new.example/@alice", inbox="https://new.example/@alice/inbox", fetched_at=now())
    Account.objects.filter(pk=world.alice.pk).update(moved_to=rostra, moved_at=now())
    response = client_for(None).get(f"/@alice/{post.pk}")
    assert response["Location"] == f"https://new.example/imported?uri={quote(f'{BASE}/@alice/{post.pk}', safe='')}"
    other = Account.objects.create(username="al", domain="masto.example")
    RemoteActor.objects.create(account=other, uri="https://masto.example/users/al", url="https://masto.example/@al", inbox="https://masto.example/users/al/inbox", fetched_at=now())
    Account.objects.filter(pk=world.alice.pk).update(moved_to=other)
    assert client_for(None).get(f"/@alice/{post.pk}")["Location"] == "https://masto.example/@al"


# --- The command line --------------------------------------------------------------------------------------


def test_the_two_commands(busy, media_dir, tmp_path, capsys):
    out = tmp_path / "alice.zip"
    assert cli(["export-account", "alice", "-o", str(out)]) == 0 and out.is_file()
    assert cli(["export-account", "alice", "-o", str(out)]) == 2 and "exists already" in capsys.readouterr().err
    assert cli(["import-account", str(out), "--username", "alice3", "--email", "alice3@example.org"]) == 0
    printed = capsys.readouterr().out
    assert "created @alice3" in printed and "6 posts restored" in printed
    assert Post.objects.filter(author__username="alice3").count() == 6
    assert cli(["import-account", str(out), "--username", "alice3"]) == 0  # again: nothing twice
    assert Post.objects.filter(author__username="alice3").count() == 6


def test_the_commands_refuse_clearly(busy, media_dir, tmp_path, capsys):
    assert cli(["export-account", "nobody", "-o", str(tmp_path / "x.zip")]) == 2
    assert "no local account @nobody" in capsys.readouterr().err
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"hello")
    assert cli(["import-account", str(bad), "--username", "newbie", "--email", "n@example.org"]) == 2
    assert "not a ZIP file" in capsys.readouterr().err and not Account.objects.filter(username="newbie").exists()
    good = _export(busy.alice, tmp_path)
    assert cli(["import-account", str(good), "--username", "newbie"]) == 2 and "--email" in capsys.readouterr().err
    assert cli(["import-account", str(good), "--username", "bob"]) == 2  # bob has posted here
    assert "posts of its own" in capsys.readouterr().err


# --- The web -------------------------------------------------------------------------------------------------


def test_the_web_restores_an_uploaded_archive(busy, media_dir, tmp_path, client_for):
    data = _export(busy.alice, tmp_path).read_bytes()
    new = _newcomer()
    c = client_for(new)
    assert "Restore an account archive" in c.get("/settings/import/archive").content.decode()
    response = c.post("/settings/import/archive", {"archive": _upload(data)})
    assert response.status_code == 200 and "6 posts restored" in response.content.decode()
    assert Post.objects.filter(author=new).count() == 6
    assert not list((media_dir.parent / "restores").iterdir())  # the upload's copy is gone


def test_the_web_refuses_bad_uploads_with_a_reason(busy, media_dir, tmp_path, client_for, world):
    c = client_for(_newcomer())
    response = c.post("/settings/import/archive", {"archive": _upload(b"not a zip")})
    assert response.status_code == 400 and "not a ZIP file" in response.content.decode()
    assert c.post("/settings/import/archive", {}).status_code == 400
    data = _export(busy.alice, tmp_path).read_bytes()
    response = client_for(world.bob).post("/settings/import/archive", {"archive": _upload(data)})
    assert response.status_code == 409 and "posts of its own" in response.content.decode()
    assert client_for(None).post("/settings/import/archive", {"archive": _upload(data)}).status_code == 302


def test_the_export_page_offers_the_account_archive(busy, client_for):
    page = client_for(busy.alice).get("/settings/export").content.decode()
    assert "account archive" in page and "/settings/import/archive" in page


def _upload(data: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("archive.zip", data, content_type="application/zip")


def test_signed_in_password_is_unchanged_by_a_restore(busy, media_dir, tmp_path, client_for):
    new = _newcomer()
    restore.restore_account(new, _export(busy.alice, tmp_path))
    assert client_for(None).login(username=new.user.username, password=PASSWORD)



def test_follows_of_known_remote_accounts_go_out_as_follows(busy, media_dir, tmp_path, world):
    from rostra.core.models import Event
    from rostra.federation import delivery
    from rostra.federation.models import Delivery, RemoteActor

    remote = Account.objects.create(username="zed", domain="far.example")
    RemoteActor.objects.create(account=remote, uri="https://far.example/users/zed", inbox="https://far.example/users/zed/inbox", fetched_at=now())
    accounts.follow(busy.alice, remote)
    stranger = Account.objects.create(username="nobody", domain="unknown.example")
    accounts.follow(busy.alice, stranger)
    path = _export(busy.alice, tmp_path)
    stranger.delete()  # the new server has never heard of this one
    new = _newcomer()
    report = restore.restore_account(new, path)
    assert Follow.objects.filter(follower=new, target=remote).exists()
    assert Event.objects.filter(kind="follow.created", payload__follower_id=new.pk, payload__target_id=remote.pk).exists()
    delivery.on_follow(new.pk, remote.pk)  # what the pipeline runs for that event
    assert Delivery.objects.filter(inbox="https://far.example/users/zed/inbox", activity__sender=new, activity__activity_type="Follow").exists()
    assert any("nobody@unknown.example" in i and "not known to this server" in i for i in report.issues)
