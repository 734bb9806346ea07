"""The real Mastodon.py client posting, editing and acting on statuses, media and polls against a live `rostra serve`."""

from __future__ import annotations

import io

import pytest
from mastodon import Mastodon
from mastodon.errors import MastodonAPIError, MastodonNotFoundError
from PIL import Image

from tests.api.conftest import LiveServer

pytestmark = [pytest.mark.live, pytest.mark.own_sqlite]

PASSWORD = "a-long-live-password-42"
SCOPES = ["read", "write", "follow"]


@pytest.fixture(scope="module")
def clients(live_api: LiveServer) -> tuple[Mastodon, Mastodon]:
    for name in ("sam", "tom"):
        live_api.rostra("users", "create", name, "--email", f"{name}@example.org", "--password", PASSWORD)
    client_id, client_secret = Mastodon.create_app("rostra-status-tests", api_base_url=live_api, scopes=SCOPES)
    out = []
    for name in ("sam", "tom"):
        api = Mastodon(client_id=client_id, client_secret=client_secret, api_base_url=live_api)
        api.log_in(name, PASSWORD, scopes=SCOPES, allow_http=True)
        out.append(api)
    return out[0], out[1]


def _png() -> io.BytesIO:
    out = io.BytesIO()
    Image.new("RGB", (32, 24), (10, 120, 200)).save(out, "PNG")
    out.seek(0)
    return out


def test_compose_edit_and_delete(clients):
    sam, tom = clients
    media = sam.media_post(_png(), mime_type="image/png", description="blue", focus=(0.5, -0.5))
    assert media.type == "image" and media.description == "blue"
    media = sam.media_update(media, description="very blue")
    assert media.description == "very blue"
    status = sam.status_post("Hello from Mastodon.py #rostra", media_ids=[media], spoiler_text="hi", idempotency_key="abc")
    assert status.media_attachments[0].id == media.id and status.spoiler_text == "hi"
    assert sam.status_post("Hello from Mastodon.py #rostra", media_ids=[media], spoiler_text="hi", idempotency_key="abc").id == status.id
    assert tom.status(status.id).content == status.content
    edited = sam.status_update(status, "Edited from Mastodon.py", spoiler_text="hi", media_ids=[media])
    assert "Edited" in edited.content and edited.edited_at is not None
    history = sam.status_history(status)
    assert len(history) == 2 and "Hello" in history[0].content
    assert sam.status_source(status).text == "Edited from Mastodon.py"
    reply = tom.status_post("a reply", in_reply_to_id=status)
    assert [s.id for s in sam.status_context(status).descendants] == [reply.id]
    deleted = sam.status_delete(status)
    assert deleted.text == "Edited from Mastodon.py"
    with pytest.raises(MastodonNotFoundError):
        tom.status(status.id)


def test_interactions(clients):
    sam, tom = clients
    status = sam.status_post("interact with me")
    assert tom.status_favourite(status).favourited is True
    boost = tom.status_reblog(status)
    assert boost.reblog.id == status.id
    assert tom.status_bookmark(status).bookmarked is True
    assert [a.acct for a in sam.status_favourited_by(status)] == ["tom"]
    assert [a.acct for a in sam.status_reblogged_by(status)] == ["tom"]
    assert tom.status_unreblog(status).reblogged is False
    assert tom.status_unfavourite(status).favourited is False
    assert tom.status_unbookmark(status).bookmarked is False
    assert sam.status_pin(status).pinned is True
    assert sam.status_unpin(status).pinned is False
    with pytest.raises(MastodonAPIError):
        tom.status_pin(status)
    assert sam.status_mute(status).muted is True
    assert sam.status_unmute(status).muted is False


def test_polls(clients):
    sam, tom = clients
    status = sam.status_post("Tea or coffee?", poll=sam.make_poll(["Tea", "Coffee"], expires_in=600))
    assert [o.title for o in status.poll.options] == ["Tea", "Coffee"]
    poll = tom.poll_vote(status.poll, [1])
    assert poll.voted is True and poll.own_votes == [1]
    assert tom.poll(status.poll).votes_count == 1
    with pytest.raises(MastodonAPIError):
        tom.poll_vote(status.poll, [0])
