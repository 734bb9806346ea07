"""The real Mastodon.py client against a real `rostra serve`: lists, markers, timelines,
notifications (v1 and grouped v2) and conversations parse and behave."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import pytest
from mastodon import Mastodon
from mastodon.errors import MastodonAPIError, MastodonNotFoundError

from tests.api.conftest import LiveServer

pytestmark = [pytest.mark.live, pytest.mark.own_sqlite]

PASSWORD = "a-long-live-password-42"
SCOPES = ["read", "write", "follow", "push"]
T = TypeVar("T")


def _eventually(get: Callable[[], T], ok: Callable[[T], bool], timeout: float = 20.0) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = get()
        if ok(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


@pytest.fixture(scope="module")
def people(live_api: LiveServer) -> tuple[Mastodon, Mastodon, Mastodon]:
    for name in ("ann", "ben", "cy"):
        live_api.rostra("users", "create", name, "--email", f"{name}@example.org", "--password", PASSWORD)
    client_id, client_secret = Mastodon.create_app("rostra-c", api_base_url=live_api, scopes=SCOPES)
    out = []
    for name in ("ann", "ben", "cy"):
        api = Mastodon(client_id=client_id, client_secret=client_secret, api_base_url=live_api)
        api.log_in(name, PASSWORD, scopes=SCOPES, allow_http=True)
        out.append(api)
    return out[0], out[1], out[2]


def test_lists_with_mastodon_py(people):
    ann, ben, cy = people
    ann_id = ann.me().id
    ben.account_follow(ann_id)
    lst = ben.list_create("Friends")
    assert lst.title == "Friends" and lst.replies_policy == "list" and lst.exclusive is False
    ben.list_accounts_add(lst, [ann_id])
    assert [a.id for a in ben.list_accounts(lst)] == [ann_id]
    with pytest.raises(MastodonAPIError) as not_followed:  # cy is not followed by ben
        ben.list_accounts_add(lst, [cy.me().id])
    assert not_followed.value.args[1] == 422
    changed = ben.list_update(lst, title="Pals", replies_policy="none", exclusive=True)
    assert (changed.title, changed.replies_policy, changed.exclusive) == ("Pals", "none", True)
    assert [x.title for x in ben.lists()] == ["Pals"]
    assert ben.timeline_list(lst) == []
    ben.list_accounts_delete(lst, [ann_id])
    assert ben.list_accounts(lst) == []
    with pytest.raises(MastodonNotFoundError):
        ann.list(lst.id)  # someone else's list
    ben.list_delete(lst)
    assert ben.lists() == []


def test_markers_with_mastodon_py(people):
    ann, ben, _ = people
    set_ = ben.markers_set(["home", "notifications"], [12345, 678])
    assert str(set_.home.last_read_id) == "12345" and set_.home.version == 1
    got = ben.markers_get(["home", "notifications"])
    assert str(got.notifications.last_read_id) == "678"
    assert ann.markers_get(["home"]) == {}


def test_timelines_with_mastodon_py(people):
    _, ben, _ = people
    assert isinstance(ben.timeline_home(), list)
    assert ben.timeline_public(only_media=True) == []
    assert ben.timeline_public(remote=True) == []
    assert ben.timeline_hashtag("nothing-here", local=True, only_media=True) == []
    assert ben.conversations() == []


def test_notifications_with_mastodon_py(people):
    ann, ben, cy = people
    ben.account_follow(ann.me().id)  # again (harmless) when the lists test ran first
    cy.account_follow(ann.me().id)
    found = _eventually(lambda: ann.notifications(types=["follow"]), lambda ns: len(ns) >= 2)
    assert {n.type for n in found} == {"follow"}
    assert {n.account.username for n in found} == {"ben", "cy"}
    assert ann.notifications(id=found[0].id).id == found[0].id
    assert ann.notifications_unread_count().count == 2
    grouped = ann.grouped_notifications()
    assert [(g.type, g.notifications_count) for g in grouped.notification_groups] == [("follow", 2)]
    # Mastodon.py asks for partial_avatars: the newest account in full, the others as partial accounts.
    assert {a.acct for a in grouped.accounts} | {a.acct for a in (grouped.get("partial_accounts") or [])} == {"ben", "cy"}
    ann.notifications_dismiss(found[0].id)
    assert [n.id for n in ann.notifications()] == [found[1].id]
    ann.notifications_clear()
    assert ann.notifications() == []
