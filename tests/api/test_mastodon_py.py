"""The real Mastodon.py client against a real `rostra serve` on 127.0.0.1."""

from __future__ import annotations

import html
import queue
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from mastodon import CallbackStreamListener, Mastodon
from mastodon.errors import MastodonError, MastodonIllegalArgumentError, MastodonNotFoundError, MastodonUnauthorizedError
from PIL import Image

from tests.api.conftest import LiveServer

pytestmark = [pytest.mark.live, pytest.mark.own_sqlite]

PASSWORD = "a-long-live-password-42"
SCOPES = ["read", "write", "follow", "push"]
T = TypeVar("T")


@pytest.fixture(scope="module")
def app(live_api: LiveServer) -> tuple[str, str]:
    live_api.rostra("users", "create", "liv", "--email", "liv@example.org", "--password", PASSWORD)
    live_api.rostra("users", "create", "ops", "--email", "ops@example.org", "--password", PASSWORD, "--admin")
    client_id, client_secret = Mastodon.create_app("rostra-tests", api_base_url=live_api, scopes=SCOPES, website="https://example.org")
    return client_id, client_secret


def test_password_log_in_and_verify_credentials(live_api, app):
    client_id, client_secret = app
    api = Mastodon(client_id=client_id, client_secret=client_secret, api_base_url=live_api)
    token = api.log_in("liv", PASSWORD, scopes=SCOPES, allow_http=True)
    assert token
    me = api.account_verify_credentials()
    assert me.username == "liv" and me.acct == "liv"
    assert isinstance(me.id, str | int)
    assert me.source.privacy == "public"
    assert api.app_verify_credentials().name == "rostra-tests"
    # Mastodon.py read our Mastodon-compatible version and parsed it.
    assert api.retrieve_mastodon_version().startswith("4.3.0")
    assert (api.mastodon_major, api.mastodon_minor) == (4, 3)


def test_instance(live_api, app):
    api = Mastodon(api_base_url=live_api, version_check_mode="none")
    info = api.instance()
    assert "Rostra" in info.version and info.title == "Rostra"
    assert info.contact.account.username == "ops"
    assert api.instance_v1().stats.user_count == 2
    assert [r.text for r in api.instance_rules()]
    assert api.custom_emojis() == []
    assert api.instance_nodeinfo().software.name == "rostra"


def test_wrong_password_and_revoked_token(live_api, app):
    client_id, client_secret = app
    api = Mastodon(client_id=client_id, client_secret=client_secret, api_base_url=live_api)
    with pytest.raises(MastodonIllegalArgumentError, match="invalid_grant"):
        api.log_in("liv", "not-the-password", scopes=SCOPES, allow_http=True)
    token = api.log_in("liv", PASSWORD, scopes=["read"], allow_http=True)
    api.revoke_access_token(allow_http=True)
    stale = Mastodon(access_token=token, api_base_url=live_api, version_check_mode="none")
    with pytest.raises(MastodonUnauthorizedError):
        stale.account_verify_credentials()


def test_scope_escalation_is_refused(live_api):
    client_id, client_secret = Mastodon.create_app("read-only", api_base_url=live_api, scopes=["read"])
    api = Mastodon(client_id=client_id, client_secret=client_secret, api_base_url=live_api)
    with pytest.raises(MastodonIllegalArgumentError, match="invalid_scope"):
        api.log_in("liv", PASSWORD, scopes=["read", "write"], allow_http=True)


def test_authorization_code_flow(live_api, app):
    """auth_request_url, then the consent form in a plain HTTP session, then log_in(code=...)."""
    client_id, client_secret = app
    api = Mastodon(client_id=client_id, client_secret=client_secret, api_base_url=live_api)
    url = api.auth_request_url(scopes=["read", "write"], state="xyz", allow_http=True)
    browser = requests.Session()
    # The consent page sends us to log in first; log in through the web form.
    page = browser.get(url)
    assert "/login" in page.url
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    next_url = parse_qs(urlsplit(page.url).query)["next"][0]
    page = browser.post(f"{live_api}/login", data={"csrfmiddlewaretoken": csrf, "username": "liv", "password": PASSWORD, "next": next_url},
                        headers={"Referer": page.url})
    assert "Authorize rostra-tests?" in page.text
    form = {k: html.unescape(v) for k, v in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.text)}
    page = browser.post(f"{live_api}/oauth/authorize", data={**form, "decision": "approve"}, headers={"Referer": page.url})
    code = re.search(r'data-testid="oauth-code">([^<]+)<', page.text).group(1)
    api.log_in(code=code, scopes=["read", "write"], allow_http=True)
    assert api.account_verify_credentials().username == "liv"


# --- One full scenario with two accounts ------------------------------------------------------


def eventually(check: Callable[[], T | None], what: str, timeout: float = 15.0) -> T:
    """Poll ``check`` until it returns something truthy (the task worker fans out asynchronously)."""
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for: {what}")
        time.sleep(0.25)


@contextmanager
def step(name: str) -> Iterator[None]:
    """Name the scenario step in the failure, with what Rostra answered."""
    started = time.monotonic()
    try:
        yield
        print(f"ok {name} ({time.monotonic() - started:.1f}s)")
    except MastodonError as e:
        pytest.fail(f"step {name!r}: Mastodon.py raised {type(e).__name__}: {e}", pytrace=False)
    except AssertionError as e:
        raise AssertionError(f"step {name!r}: {e}") from e


def png(path: Path) -> Path:
    Image.new("RGB", (64, 48), (200, 40, 90)).save(path, "PNG")
    return path


def test_full_scenario_two_accounts(live_api, tmp_path):
    """Everything a client does in a session, through Mastodon.py, with sam and pia."""
    for name in ("sam", "pia"):
        live_api.rostra("users", "create", name, "--email", f"{name}@example.org", "--password", PASSWORD)
    with step("create an app and log in"):
        client_id, client_secret = Mastodon.create_app("scenario", api_base_url=live_api, scopes=SCOPES)
        sam = Mastodon(client_id=client_id, client_secret=client_secret, api_base_url=live_api)
        sam.log_in("sam", PASSWORD, scopes=SCOPES, allow_http=True)
        pia = Mastodon(client_id=client_id, client_secret=client_secret, api_base_url=live_api)
        pia.log_in("pia", PASSWORD, scopes=SCOPES, allow_http=True)
        sam_id = sam.me().id
        pia_id = pia.me().id
        assert isinstance(sam_id, str), f"account ids are strings, got {sam_id!r}"

    with step("upload a PNG and post it"):
        media = sam.media_post(str(png(tmp_path / "dot.png")), mime_type="image/png", description="A red rectangle", synchronous=True)
        assert media.type == "image", media
        assert media.url and media.description == "A red rectangle", media
        photo = sam.status_post("A photo of a red rectangle #scenario", media_ids=[media], visibility="public")
        assert [m.id for m in photo.media_attachments] == [media.id], photo.media_attachments
        # Clients fetch media without a token; a public post's image loads for anyone.
        image = requests.get(photo.media_attachments[0].url, timeout=10)
        assert image.status_code == 200 and image.headers["Content-Type"] == "image/png", f"{media.url}: {image.status_code}"
        assert "#scenario" in photo.content or "scenario" in photo.content, photo.content
        assert photo.account.id == sam_id and photo.visibility == "public"

    with step("post a poll"):
        poll_status = sam.status_post("Tea or coffee?", poll=sam.make_poll(["tea", "coffee"], expires_in=3600))
        assert [o.title for o in poll_status.poll.options] == ["tea", "coffee"], poll_status.poll
        assert poll_status.poll.expired is False and poll_status.poll.votes_count == 0

    with step("pia follows sam"):
        rel = pia.account_follow(pia.account_lookup("sam"))
        assert rel.following is True and rel.id == sam_id, rel
        assert pia.account_relationships([sam_id])[0].following is True

    with step("pia's home timeline shows sam's posts"):
        home = eventually(lambda: [s for s in pia.timeline_home() if s.id == photo.id], "sam's photo in pia's home timeline")
        assert home[0].media_attachments[0].id == media.id
        # Pagination through the Link header: the newest is the poll; the next (older) page holds the photo.
        # No retry: once the photo is in pia's home, so is the newer poll.
        first = pia.timeline_home(limit=1)
        assert [s.id for s in first] == [poll_status.id], [s.id for s in first]
        older = pia.fetch_next(first)
        assert older and [s.id for s in older] == [photo.id], older and [s.id for s in older]

    with step("pia votes, favourites, reblogs and replies"):
        poll = pia.poll_vote(poll_status.poll.id, [1])
        assert poll.voted is True and poll.own_votes == [1] and poll.votes_count == 1, poll
        fav = pia.status_favourite(photo)
        assert fav.favourited is True and fav.favourites_count == 1, fav
        boost = pia.status_reblog(photo)
        assert boost.reblog.id == photo.id and boost.reblog.reblogged is True, boost
        reply = pia.status_reply(photo, "What a lovely rectangle")
        assert reply.in_reply_to_id == photo.id and reply.in_reply_to_account_id == sam_id, reply
        assert "@sam" in reply.content, f"status_reply mentions the author: {reply.content}"

    with step("context"):
        ctx = sam.status_context(photo)
        assert [s.id for s in ctx.descendants] == [reply.id], ctx
        assert [s.id for s in pia.status_context(reply).ancestors] == [photo.id]
        again = sam.status(photo)
        assert again.favourites_count == 1 and again.reblogs_count == 1 and again.replies_count == 1, again

    with step("sam's notifications"):
        def kinds() -> set[str]:
            return {n.type for n in sam.notifications() if n.account.id == pia_id}

        got = eventually(lambda: kinds() >= {"follow", "favourite", "reblog", "mention"} and kinds(),
                         "follow, favourite, reblog and mention notifications from pia")
        assert got >= {"follow", "favourite", "reblog", "mention"}
        mentions = sam.notifications(types=["mention"])
        assert mentions and all(n.type == "mention" for n in mentions), mentions
        assert mentions[0].status.id == reply.id

    with step("search"):
        found = sam.search_v2("pia", result_type="accounts")
        assert pia_id in [a.id for a in found.accounts], found
        tags = sam.search_v2("#scenario", result_type="hashtags")
        assert "scenario" in [t.name for t in tags.hashtags], tags

    with step("filters v2"):
        flt = sam.create_filter_v2("Cats", ["home"], "warn", keywords_attributes=[{"keyword": "kitten", "whole_word": True}])
        assert flt.title == "Cats" and flt.context == ["home"] and flt.filter_action == "warn", flt
        assert [k.keyword for k in flt.keywords] == ["kitten"], flt.keywords
        assert flt.id in [f.id for f in sam.filters_v2()]

    with step("sam follows pia, lists"):
        sam.account_follow(pia_id)
        lst = sam.list_create("Friends")
        assert lst.title == "Friends", lst
        sam.list_accounts_add(lst, [pia_id])
        assert [a.id for a in sam.list_accounts(lst)] == [pia_id]
        assert lst.id in [x.id for x in sam.lists()]

    with step("streaming: pia's post reaches sam's user stream"):
        arrived: queue.Queue[Any] = queue.Queue()
        listener = CallbackStreamListener(update_handler=arrived.put)
        handle = sam.stream_user(listener, run_async=True, timeout=20)
        try:
            time.sleep(1)  # let the subscription settle before posting
            kitten = pia.status_post("A kitten in a box")
            deadline = time.monotonic() + 15
            while True:
                try:
                    update = arrived.get(timeout=max(0.1, deadline - time.monotonic()))
                except queue.Empty:
                    pytest.fail("step 'streaming': pia's post did not arrive on sam's user stream within 15s", pytrace=False)
                if update.id == kitten.id:
                    break
        finally:
            # close() waits for the reader thread's next byte (the 15s heartbeat) under urllib3: don't wait for it.
            threading.Thread(target=handle.close, daemon=True).start()

    with step("the filter marks pia's post in sam's home"):
        seen = eventually(lambda: [s for s in sam.timeline_home() if s.id == kitten.id], "pia's kitten post in sam's home")
        assert seen[0].filtered and seen[0].filtered[0].filter.title == "Cats", seen[0].get("filtered")
        assert [s.id for s in sam.timeline_list(lst)][:1] == [kitten.id], "the list timeline shows pia's post"
        sam.delete_filter_v2(flt)
        sam.list_delete(lst)

    with step("delete"):
        deleted = sam.status_delete(photo)
        assert deleted.id == photo.id and deleted.text.startswith("A photo"), deleted
        with pytest.raises(MastodonNotFoundError):
            pia.status(photo.id)
        eventually(lambda: photo.id not in [s.id for s in pia.timeline_home()], "the deleted photo gone from pia's home timeline")
