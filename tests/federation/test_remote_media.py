"""Remote media: a remote Note's attachments and a remote actor's avatar and header.

A real fake remote on 127.0.0.2 serves actor documents and image files; activities are POSTed to
the inbox signed, the tasks run, and what Rostra stores and shows is checked: the images are
fetched after the inbox's processing (not inside it), through the guarded client, and through the
same intake as an upload (GPS and device metadata gone); an oversize file and a non-image served
as image/png are refused; until a file is stored the API shows the remote URL, as Mastodon does.
Deleting the post or the account deletes the cached files; the retention prunes what nobody here
interacted with. Outgoing Notes carry their attachments on the media origin.
"""

from __future__ import annotations

import dataclasses
import io
import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from PIL import Image

from rostra.core import clock
from rostra.federation import documents, media, policy
from rostra.federation.models import RemoteActor, RemoteMedia, RemoteMediaState
from rostra.federation.receive import process_inbox_item
from rostra.posts.actions import Draft, create_post, like, upload_media
from rostra.posts.models import Media, Post
from rostra.testing.images import image_with_gps, png_bytes
from tests.federation.test_receive import _account, _Handler, _post_of, _Remote, key_pair  # noqa: F401 - fixture

pytestmark = [pytest.mark.django_db]

SECRETS = [b"PhoneCorp", b"Spyphone", b"Secret Lane", b"leaky-camera"]


class _MediaHandler(_Handler):
    server: _MediaRemote

    def do_GET(self) -> None:
        found = self.server.files.get(self.path)
        if found is None:
            super().do_GET()
            return
        self.server.requests.append(self.path)
        content_type, body = found
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _MediaRemote(_Remote):
    """The fake remote of test_receive, also serving files: path -> (declared type, bytes)."""

    def __init__(self, pair: tuple[str, str]) -> None:
        super().__init__(pair)
        self.RequestHandlerClass = _MediaHandler
        self.files: dict[str, tuple[str, bytes]] = {}

    def file(self, path: str, body: bytes, content_type: str = "image/jpeg") -> str:
        self.files[path] = (content_type, body)
        return f"{self.base}{path}"


@pytest.fixture
def remote(key_pair) -> Iterator[_MediaRemote]:  # noqa: F811 - the fixture imported above
    server = _MediaRemote(key_pair)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _stored_files(media_dir) -> set[str]:
    return {p.name for p in media_dir.iterdir()}


def _no_metadata(path) -> None:
    data = path.read_bytes()
    for secret in SECRETS:
        assert secret not in data, secret
    with Image.open(io.BytesIO(data)) as img:
        assert not img.getexif(), "EXIF survived"
        assert "comment" not in img.info and "exif" not in img.info


def _attachment(url: Any, media_type: str | None = "image/jpeg", **extra: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {"type": "Document", "url": url, "name": "A heron by the pond", **extra}
    if media_type is not None:
        doc["mediaType"] = media_type
    return doc


def _status(post: Post) -> dict[str, Any]:
    response = Client().get(f"/api/v1/statuses/{post.pk}")
    assert response.status_code == 200, response.content
    return response.json()


def _receive(remote: _MediaRemote, actor: str, attachments: list[Any], **extra: Any) -> Post:
    """A Create(Note) processed by the inbox handler only; the fetch has not run yet."""
    note = remote.note(actor, attachment=attachments, **extra)
    item = remote.send(actor, "Create", note)
    process_inbox_item(item.pk)
    item.refresh_from_db()
    assert item.state == "processed", item.outcome
    return _post_of(note)


# --- Incoming attachments ---------------------------------------------------------------------------


def test_attachments_are_kept_fetched_after_the_inbox_and_stripped_of_metadata(world, remote, media_dir, run_tasks) -> None:
    actor = remote.actor("zoe")
    photo = remote.file("/media/heron.jpg", image_with_gps("JPEG", (64, 48)))
    video = f"{remote.base}/media/clip.mp4"
    post = _receive(
        remote,
        actor,
        [
            _attachment(photo, blurhash="LEHV6nWB2yk8pyo0adR*.7kCMdnj", width=64, height=48, focalPoint=[0.5, -0.25]),
            {"type": "Video", "mediaType": "video/mp4", "name": "A clip",
             "url": [{"type": "Link", "href": video, "mediaType": "video/mp4"}]},
            {"type": "PropertyValue", "name": "not media", "value": "x"},
        ],
    )
    rows = list(Media.objects.filter(post=post).order_by("position"))
    assert [m.awaiting_file for m in rows] == [True, True]
    assert remote.requests.count("/media/heron.jpg") == 0, "the image was fetched on the inbox's path"
    assert _stored_files(media_dir) == set()

    # Before the fetch: the remote URLs, as Mastodon shows media it has not downloaded.
    shown = _status(post)["media_attachments"]
    assert [a["type"] for a in shown] == ["image", "video"]
    assert [a["url"] for a in shown] == [photo, video]
    assert [a["remote_url"] for a in shown] == [photo, video]
    assert shown[0]["description"] == "A heron by the pond"
    assert shown[0]["blurhash"] == "LEHV6nWB2yk8pyo0adR*.7kCMdnj"
    assert shown[0]["meta"]["focus"] == {"x": 0.5, "y": -0.25}
    assert shown[0]["meta"]["original"]["width"] == 64

    run_tasks()
    assert remote.requests.count("/media/heron.jpg") == 1
    image, clip = (Media.objects.get(pk=m.pk) for m in rows)
    assert not image.awaiting_file and clip.awaiting_file  # video is not transcoded: never fetched
    assert "/media/clip.mp4" not in remote.requests
    assert RemoteMedia.objects.get(media=image).state == RemoteMediaState.CACHED
    assert RemoteMedia.objects.get(media=clip).state == RemoteMediaState.REMOTE
    assert _stored_files(media_dir) == {image.file, image.thumbnail}
    _no_metadata(media_dir / image.file)
    _no_metadata(media_dir / image.thumbnail)
    assert (image.width, image.height) == (64, 48)

    shown = _status(post)["media_attachments"]
    assert shown[0]["url"].endswith(f"/media/{image.file}") and shown[0]["remote_url"] == photo
    assert shown[0]["preview_url"].endswith(f"/media/{image.thumbnail}")
    assert shown[1]["url"] == video

    # The web page shows the cached image and links the video to its origin.
    page = Client().get(f"/@{post.author.acct}/{post.pk}").content.decode()
    assert f"/media/{image.thumbnail}" in page
    assert f'href="{video}"' in page

    # Running the fetch again changes nothing.
    assert media.fetch_post_media(post.pk) == {}


def test_at_most_four_attachments_and_malformed_ones_are_skipped(world, remote, media_dir, run_tasks) -> None:
    actor = remote.actor("zoe")
    good = [remote.file(f"/media/{n}.png", png_bytes((10, 10)), "image/png") for n in range(6)]
    post = _receive(
        remote,
        actor,
        [
            _attachment("javascript:alert(1)"),
            _attachment("file:///etc/passwd"),
            _attachment(good[0], width=10**9, focalPoint=[5, "x"], blurhash="<script>"),
            *[_attachment(u, media_type="image/png") for u in good[1:]],
        ],
    )
    rows = list(Media.objects.filter(post=post).order_by("position"))
    assert len(rows) == 4
    first = rows[0]
    assert (first.width, first.focus_x, first.focus_y) == (0, 0.0, 0.0)
    assert RemoteMedia.objects.get(media=first).blurhash == ""
    run_tasks()
    assert all(not Media.objects.get(pk=m.pk).awaiting_file for m in rows)
    assert len(_stored_files(media_dir)) == 8


def test_an_oversize_image_is_refused_and_nothing_is_stored(world, remote, media_dir, run_tasks, settings) -> None:
    settings.ROSTRA = dataclasses.replace(settings.ROSTRA, media_max_bytes=4096)
    actor = remote.actor("zoe")
    big = Image.effect_noise((200, 200), 80).convert("RGB")
    out = io.BytesIO()
    big.save(out, "PNG")
    assert len(out.getvalue()) > 4096
    url = remote.file("/media/big.png", out.getvalue(), "image/png")
    post = _receive(remote, actor, [_attachment(url, media_type="image/png")])
    run_tasks()
    row = RemoteMedia.objects.select_related("media").get(media__post=post)
    assert row.state == RemoteMediaState.FAILED
    assert "4096 bytes" in row.error
    assert row.media.awaiting_file and _stored_files(media_dir) == set()
    assert _status(post)["media_attachments"][0]["url"] == url


def test_a_non_image_served_as_png_is_refused(world, remote, media_dir, run_tasks) -> None:
    actor = remote.actor("zoe")
    url = remote.file("/media/fake.png", b"<html><script>alert(1)</script></html>", "image/png")
    post = _receive(remote, actor, [_attachment(url, media_type="image/png")])
    run_tasks()
    row = RemoteMedia.objects.select_related("media").get(media__post=post)
    assert row.state == RemoteMediaState.FAILED
    assert "not an image" in row.error
    assert row.media.awaiting_file and _stored_files(media_dir) == set()


def test_an_unreachable_or_missing_file_fails_cleanly(world, remote, media_dir, run_tasks) -> None:
    actor = remote.actor("zoe")
    post = _receive(remote, actor, [_attachment(f"{remote.base}/media/gone.jpg"), _attachment("http://127.0.0.1:9/x.jpg")])
    run_tasks()
    rows = {r.remote_url: r for r in RemoteMedia.objects.filter(media__post=post)}
    assert rows[f"{remote.base}/media/gone.jpg"].error == "The remote answered 404."
    refused = rows["http://127.0.0.1:9/x.jpg"]
    assert refused.state == RemoteMediaState.FAILED and refused.error.startswith("Fetching it failed")  # the guard refuses it
    assert _stored_files(media_dir) == set()


def test_media_of_a_domain_the_policy_rejects_is_never_fetched(world, remote, media_dir, run_tasks) -> None:
    policy.block_domain(None, policy.check_block("127.0.0.2", severity="noop", reject_media=True))
    actor = remote.actor("zoe", icon={"type": "Image", "url": remote.file("/media/face.png", png_bytes(), "image/png")})
    url = remote.file("/media/heron.jpg", image_with_gps())
    post = _receive(remote, actor, [_attachment(url)])
    run_tasks()
    assert RemoteMedia.objects.get(media__post=post).state == RemoteMediaState.REJECTED
    assert "/media/heron.jpg" not in remote.requests and "/media/face.png" not in remote.requests
    assert _account(actor).avatar == ""
    assert _stored_files(media_dir) == set()
    assert _status(post)["media_attachments"][0]["url"] == url


# --- Avatars and headers -----------------------------------------------------------------------------


def test_avatar_and_header_are_cached_stripped_and_replaced_when_the_actor_changes(
    world, remote, media_dir, run_tasks, django_capture_on_commit_callbacks
) -> None:
    face = remote.file("/media/face.jpg", image_with_gps("JPEG", (40, 40)))
    banner = remote.file("/media/banner.png", image_with_gps("PNG", (90, 30)), "image/png")
    actor = remote.actor("zoe", icon={"type": "Image", "url": face}, image={"type": "Image", "url": banner})
    _receive(remote, actor, [])
    account = _account(actor)
    assert account.avatar == "" and "/media/face.jpg" not in remote.requests  # fetched afterwards
    with django_capture_on_commit_callbacks(execute=True):
        run_tasks()
    account.refresh_from_db()
    assert account.avatar and account.header
    _no_metadata(media_dir / account.avatar)
    _no_metadata(media_dir / account.header)
    assert _stored_files(media_dir) == {account.avatar, account.header}
    avatar = Client().get(f"/api/v1/accounts/{account.pk}").json()["avatar"]
    assert avatar.endswith(f"/media/{account.avatar}")

    # A refetch with the same images fetches nothing again.
    media.refresh_actor_images(account.pk)
    assert remote.requests.count("/media/face.jpg") == 1

    # The actor changes its avatar and drops its header: the new one is cached, the old files go.
    old = account.avatar
    new_face = remote.file("/media/face2.png", png_bytes((20, 20)), "image/png")
    remote.documents["/users/zoe"]["icon"] = {"type": "Image", "url": new_face}
    del remote.documents["/users/zoe"]["image"]
    with django_capture_on_commit_callbacks(execute=True):
        item = remote.send(actor, "Update", remote.documents["/users/zoe"])
        run_tasks()
    item.refresh_from_db()
    assert item.state == "processed", item.outcome
    account.refresh_from_db()
    assert account.avatar and account.avatar != old and account.header == ""
    assert _stored_files(media_dir) == {account.avatar}
    row = RemoteActor.objects.get(account=account)
    assert (row.avatar_cached_from, row.header_cached_from) == (new_face, "")


def test_a_bad_avatar_leaves_the_account_as_it_was(world, remote, media_dir, run_tasks) -> None:
    url = remote.file("/media/face.png", b"GIF89a not really", "image/png")
    actor = remote.actor("zoe", icon={"type": "Image", "url": url})
    _receive(remote, actor, [])
    run_tasks()
    account = _account(actor)
    assert account.avatar == "" and _stored_files(media_dir) == set()
    assert RemoteActor.objects.get(account=account).avatar_cached_from == url  # not fetched again until it changes


# --- Deletion and retention ------------------------------------------------------------------------


def test_deleting_the_post_or_the_account_deletes_the_cached_files(
    world, remote, media_dir, run_tasks, django_capture_on_commit_callbacks
) -> None:
    face = remote.file("/media/face.png", png_bytes((12, 12)), "image/png")
    actor = remote.actor("zoe", icon={"type": "Image", "url": face})
    first = remote.file("/media/a.png", png_bytes((10, 10)), "image/png")
    second = remote.file("/media/b.png", png_bytes((11, 11)), "image/png")
    post_a = _receive(remote, actor, [_attachment(first, media_type="image/png")])
    note_b = remote.note(actor, attachment=[_attachment(second, media_type="image/png")])
    process_inbox_item(remote.send(actor, "Create", note_b).pk)
    with django_capture_on_commit_callbacks(execute=True):
        run_tasks()
    assert len(_stored_files(media_dir)) == 5  # two images and their thumbnails, one avatar

    with django_capture_on_commit_callbacks(execute=True):
        item = remote.send(actor, "Delete", {"id": post_a.remote.uri, "type": "Tombstone"})
        run_tasks()
    item.refresh_from_db()
    assert item.state == "processed", item.outcome
    assert len(_stored_files(media_dir)) == 3
    assert not RemoteMedia.objects.filter(remote_url=first).exists()

    with django_capture_on_commit_callbacks(execute=True):
        remote.send(actor, "Delete", actor)
        run_tasks()
    assert _stored_files(media_dir) == set()
    assert not RemoteMedia.objects.exists()


def test_prune_drops_old_copies_nobody_here_interacted_with(
    world, remote, media_dir, run_tasks, django_capture_on_commit_callbacks
) -> None:
    actor = remote.actor("zoe")
    lonely = _receive(remote, actor, [_attachment(remote.file("/media/a.png", png_bytes((10, 10)), "image/png"))])
    liked = _receive(remote, actor, [_attachment(remote.file("/media/b.png", png_bytes((11, 11)), "image/png"))])
    fresh = _receive(remote, actor, [_attachment(remote.file("/media/c.png", png_bytes((12, 12)), "image/png"))])
    run_tasks()
    like(world.alice, liked.pk)
    old = clock.now() - timedelta(days=31)
    RemoteMedia.objects.filter(media__post__in=[lonely, liked]).update(fetched_at=old)
    kept_lonely = Media.objects.get(post=lonely)

    with django_capture_on_commit_callbacks(execute=True):
        assert media.prune() == 1
    gone = Media.objects.get(post=lonely)
    assert gone.awaiting_file and RemoteMedia.objects.get(media=gone).state == RemoteMediaState.PRUNED
    assert not (media_dir / kept_lonely.file).exists() and not (media_dir / kept_lonely.thumbnail).exists()
    assert _status(lonely)["media_attachments"][0]["url"] == f"{remote.base}/media/a.png"
    for post in (liked, fresh):
        assert not Media.objects.get(post=post).awaiting_file
    assert len(_stored_files(media_dir)) == 4
    assert media.prune() == 0
    assert media.prune(days=1, now=clock.now() + timedelta(days=2)) == 1  # the fresh one, unliked


def test_the_retention_setting_is_checked() -> None:
    from rostra.config.env import ConfigError, load

    base = {"ROSTRA_DOMAIN": "social.example", "ROSTRA_SECRET_KEY": "x" * 50}
    assert load({**base}).remote_media_days == 30
    assert load({**base, "ROSTRA_REMOTE_MEDIA_DAYS": "7"}).remote_media_days == 7
    with pytest.raises(ConfigError, match="ROSTRA_REMOTE_MEDIA_DAYS"):
        load({**base, "ROSTRA_REMOTE_MEDIA_DAYS": "0"})
    with pytest.raises(ConfigError, match="ROSTRA_REMOTE_MEDIA_DAYS"):
        load({**base, "ROSTRA_REMOTE_MEDIA_DAYS": "soon"})


# --- Outgoing ----------------------------------------------------------------------------------------


def test_a_local_note_carries_its_attachments_on_the_media_origin(world, media_dir, settings) -> None:
    settings.ROSTRA = dataclasses.replace(settings.ROSTRA, media_url="https://media.social.example")
    upload = upload_media(world.alice, image_with_gps(), description="My garden", focus=(0.25, -0.5))
    post = create_post(world.alice, Draft(text="the garden", media_ids=[upload.pk], sensitive=True))
    doc = documents.note(Post.objects.prefetch_related("media").get(pk=post.pk))
    assert doc["sensitive"] is True
    [attachment] = doc["attachment"]
    assert attachment["type"] == "Document"
    assert attachment["url"] == f"https://media.social.example/media/{upload.file}"
    assert attachment["mediaType"] == upload.content_type
    assert attachment["name"] == "My garden"
    assert (attachment["width"], attachment["height"]) == (upload.width, upload.height)
    assert attachment["focalPoint"] == [0.25, -0.5]
    assert "blurhash" not in attachment  # Rostra computes none for its own uploads
