"""During a surge, optional fetches from other servers are shed first (missing parents, search
resolution, remote media, avatars) while the inbox is processed as always; after it, the images
a surge left pending are cached. A real fake remote on 127.0.0.2, as in tests/federation."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from rostra.accounts import surge
from rostra.federation import media, resolve
from rostra.federation.models import InboxState, RemoteMedia, RemoteMediaState, RemotePost
from rostra.posts.models import Media
from rostra.testing.images import png_bytes
from tests.federation.test_receive import key_pair  # noqa: F401 - fixture
from tests.federation.test_remote_media import _attachment, _receive
from tests.federation.test_remote_media import remote as media_remote  # noqa: F401 - fixture
from tests.federation.test_resolve import _host, _serve_note, _webfinger, process  # noqa: F401 - fixture

pytestmark = [pytest.mark.django_db]


@pytest.fixture
def remote(media_remote: Any) -> Any:  # noqa: F811 - the media-serving fake remote is a superset
    return media_remote


def test_missing_parents_are_not_fetched_but_the_reply_is_stored(world, remote, process, surging) -> None:  # noqa: F811
    actor = remote.actor("zoe")
    parent = _serve_note(remote, actor, "the first walk")
    reply = remote.note(actor, "a reply to the first walk", inReplyTo=parent["id"])
    item = process(remote.send(actor, "Create", reply))
    assert item.state == InboxState.PROCESSED, item.outcome  # the inbox keeps working
    assert RemotePost.objects.filter(uri=reply["id"]).exists()
    assert not RemotePost.objects.filter(uri=parent["id"]).exists()
    assert not any(parent["id"].endswith(path) for path in remote.requests)


def test_search_finds_only_what_is_known_without_fetching(world, remote, surging) -> None:
    actor = remote.actor("zoe")
    _webfinger(remote, "zoe")
    note = _serve_note(remote, actor, "lovely weather")
    before = len(remote.requests)
    assert resolve.for_search(f"@zoe@{_host(remote)}") is None
    assert resolve.for_search(note["id"]) is None
    assert len(remote.requests) == before
    assert resolve.for_search(f"{world.alice.pk}") is None  # not a handle or URL: nothing, as before
    surge.set_mode(None, "off")
    found = resolve.for_search(f"@zoe@{_host(remote)}")
    assert found is not None and found.username == "zoe"
    surge.set_mode(None, "on")
    assert resolve.for_search(f"@zoe@{_host(remote)}").pk == found.pk  # known: found without fetching
    assert resolve.for_search(actor).pk == found.pk


def test_remote_images_wait_for_the_end_of_the_surge(world, remote, media_dir, run_tasks, surging) -> None:
    actor = remote.actor("zoe")
    photo = remote.file("/media/heron.png", png_bytes((32, 24)), "image/png")
    post = _receive(remote, actor, [_attachment(photo, "image/png")])
    run_tasks()
    row = RemoteMedia.objects.get(media__post=post)
    assert row.state == RemoteMediaState.PENDING and "/media/heron.png" not in remote.requests
    shown = Client().get(f"/api/v1/statuses/{post.pk}").json()["media_attachments"]
    assert shown[0]["url"] == photo  # shown from its origin meanwhile
    assert media.fetch_deferred() == 0  # still surging
    surge.set_mode(None, "off")
    assert media.fetch_deferred() == 1
    row.refresh_from_db()
    assert row.state == RemoteMediaState.CACHED and not Media.objects.get(post=post).awaiting_file
    assert media.fetch_deferred() == 0
