"""SECURITY-TESTS A3: one person cannot write to another's things by knowing their ids.

Alice (A) owns a post with an image, an unattached upload, a poll, a list, a filter (with a
keyword and a filtered post), markers; carol owns a pending follow request. Dave (B) — who can see
Alice's public things, so it is the authorisation, not the visibility, being tested — tries every
write on them through the API (his own full token) and the web (his own session). Each answers
404 (Mastodon's answer for someone else's record; a record one may see but not change is the same
404 here, so existence is not confirmed either), never 2xx, and the database rows are compared
before and after: nothing changed.

A token with only the ``read`` scope, even on the owner's own things, answers 403 to every write.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from rostra.accounts import actions as accounts
from rostra.accounts.models import Account, Follow, FollowRequest
from rostra.api.oauth import password_grant, register_app
from rostra.posts import actions as posts
from rostra.posts.models import Media, PollVote, Post
from rostra.posts.polls import PollDraft
from rostra.testing.images import png_bytes
from rostra.testing.world import World, make_account, make_post
from rostra.timelines import filters, lists, markers
from rostra.timelines.filters import FilterDraft, KeywordDraft
from rostra.timelines.lists import ListDraft
from rostra.timelines.models import Filter, FilterKeyword, FilterStatus, List, ListMember, Marker


def token_for(account: Account, scope: str) -> Client:
    app = register_app("A3", "urn:ietf:wg:oauth:2.0:oob", "read write follow").application
    value = password_grant(app, account.user, scope).access_token
    return Client(headers={"Authorization": f"Bearer {value}"})


@dataclass
class Things:
    post: Post
    image: Media
    upload: Media  # not attached yet
    poll_post: Post
    lst: List
    flt: Filter
    keyword: FilterKeyword
    filtered: FilterStatus
    requester: Account  # asks to follow carol
    dave_post: Post


def _alices_things(w: World) -> Things:
    image = posts.upload_media(w.alice, png_bytes((6, 6)), description="alice's alt text")
    post = make_post(w.alice, "alice's words", media_ids=[image.pk])
    upload = posts.upload_media(w.alice, png_bytes((4, 4)), description="not posted yet")
    poll_post = make_post(w.alice, "which?", poll=PollDraft(options=["this", "that"], expires_in=3600))
    lst = lists.create_list(w.alice, ListDraft(title="alice's friends"))
    accounts.follow(w.alice, w.bob)
    lists.add_members(w.alice, lst.pk, [w.bob.pk])
    flt = filters.create_filter(w.alice, FilterDraft(title="no spoilers", context=["home"], keywords=[KeywordDraft("finale")]))
    keyword = flt.keywords.get()
    filtered = FilterStatus.objects.create(filter=flt, post=make_post(w.bob, "the finale was great"))
    markers.set_markers(w.alice, {"home": post.pk})
    requester = make_account("hopeful")
    assert accounts.follow(requester, w.carol) == "requested"
    return Things(post, image, upload, poll_post, lst, flt, keyword, filtered, requester, make_post(w.dave, "dave's own post"))


def snapshot(w: World) -> dict[str, Any]:
    """Every row B could hope to change, as plain values."""
    alice = w.alice.pk
    return {
        "posts": sorted(
            Post.objects.filter(author_id=alice).values_list(
                "pk", "text", "spoiler_text", "sensitive", "edited_at", "moderation_state", "quote_state"
            )
        ),
        "dave posts": sorted(Post.objects.filter(author_id=w.dave.pk).values_list("pk", "text", "edited_at")),
        "media": sorted(
            Media.objects.filter(owner_id=alice).values_list("pk", "post_id", "description", "focus_x", "focus_y", "file")
        ),
        "votes": sorted(PollVote.objects.values_list("account_id", "poll_id", "choice")),
        "lists": sorted(List.objects.filter(owner_id=alice).values_list("pk", "title", "replies_policy", "exclusive")),
        "members": sorted(ListMember.objects.filter(list__owner_id=alice).values_list("list_id", "account_id")),
        "filters": sorted(Filter.objects.filter(account_id=alice).values_list("pk", "title", "context", "action", "expires_at")),
        "keywords": sorted(FilterKeyword.objects.filter(filter__account_id=alice).values_list("pk", "keyword", "whole_word")),
        "filtered": sorted(FilterStatus.objects.filter(filter__account_id=alice).values_list("pk", "post_id")),
        "markers": sorted(Marker.objects.filter(account_id=alice).values_list("timeline", "last_read_id", "version")),
        "requests": sorted(FollowRequest.objects.values_list("requester_id", "target_id")),
        "carol's followers": sorted(Follow.objects.filter(target_id=w.carol.pk).values_list("follower_id", flat=True)),
    }


def api_attempts(t: Things) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, path, JSON body) of every API write on Alice's (and carol's) things."""
    p, poll = t.post.pk, t.poll_post.poll.pk
    return [
        ("PUT", f"/api/v1/statuses/{p}", {"status": "dave was here"}),
        ("DELETE", f"/api/v1/statuses/{p}", {}),
        ("PUT", f"/api/v1/media/{t.image.pk}", {"description": "dave's words"}),
        ("PUT", f"/api/v1/media/{t.upload.pk}", {"description": "dave's words", "focus": "0.5,0.5"}),
        ("GET", f"/api/v1/media/{t.upload.pk}", {}),
        ("DELETE", f"/api/v1/media/{t.upload.pk}", {}),
        ("POST", "/api/v1/statuses", {"status": "with alice's picture", "media_ids": [str(t.upload.pk)]}),
        ("POST", "/api/v1/statuses", {"status": "with alice's posted picture", "media_ids": [str(t.image.pk)]}),
        ("PUT", f"/api/v1/statuses/{t.dave_post.pk}", {"status": "now with alice's picture", "media_ids": [str(t.upload.pk)]}),
        ("GET", f"/api/v1/lists/{t.lst.pk}", {}),
        ("PUT", f"/api/v1/lists/{t.lst.pk}", {"title": "dave's list now"}),
        ("DELETE", f"/api/v1/lists/{t.lst.pk}", {}),
        ("POST", f"/api/v1/lists/{t.lst.pk}/accounts", {"account_ids": [str(t.requester.pk)]}),
        ("DELETE", f"/api/v1/lists/{t.lst.pk}/accounts", {"account_ids": [str(t.lst.members.get().account_id)]}),
        ("GET", f"/api/v1/lists/{t.lst.pk}/accounts", {}),
        ("GET", f"/api/v2/filters/{t.flt.pk}", {}),
        ("PUT", f"/api/v2/filters/{t.flt.pk}", {"title": "dave's filter now"}),
        ("DELETE", f"/api/v2/filters/{t.flt.pk}", {}),
        ("POST", f"/api/v2/filters/{t.flt.pk}/keywords", {"keyword": "dave"}),
        ("PUT", f"/api/v2/filter_keywords/{t.keyword.pk}", {"keyword": "dave"}),
        ("DELETE", f"/api/v2/filter_keywords/{t.keyword.pk}", {}),
        ("POST", f"/api/v2/filters/{t.flt.pk}/statuses", {"status_id": str(t.dave_post.pk)}),
        ("DELETE", f"/api/v2/filter_statuses/{t.filtered.pk}", {}),
        ("PUT", f"/api/v1/filters/{t.keyword.pk}", {"phrase": "dave", "context": ["home"]}),
        ("DELETE", f"/api/v1/filters/{t.keyword.pk}", {}),
        ("POST", f"/api/v1/follow_requests/{t.requester.pk}/authorize", {}),
        ("POST", f"/api/v1/follow_requests/{t.requester.pk}/reject", {}),
        ("POST", f"/api/v1/polls/{poll}/votes", {"choices": ["0"], "account_id": str(t.poll_post.author_id)}),
        ("POST", "/api/v1/markers", {"home": {"last_read_id": "1"}, "account_id": str(t.post.author_id)}),
    ]


def _send(client: Client, method: str, path: str, body: dict[str, Any]) -> Any:
    return client.generic(method, path, data=json.dumps(body), content_type="application/json")


# Attempts that act as B by design (B's own vote, B's own markers): they may succeed, for B only.
ACTS_AS_B = {("POST", "/api/v1/markers"), ("POST", "/votes")}


def _own_effect(method: str, path: str) -> bool:
    return any(method == m and path.endswith(end) for m, end in ACTS_AS_B)


def test_a3_idor_write_api_another_persons_things_answer_404_and_nothing_changes(world, media_dir):
    t = _alices_things(world)
    dave = token_for(world.dave, "read write follow")
    before = snapshot(world)
    problems = []
    for method, path, body in api_attempts(t):
        r = _send(dave, method, path, body)
        if _own_effect(method, path):
            continue
        if r.status_code not in (404, 422) or (r.status_code == 422 and "media" not in str(body)):
            problems.append(f"{method} {path}: {r.status_code} {r.content[:120]!r}")
    assert not problems, "\n".join(problems)
    after = snapshot(world)
    # B's own vote and markers are B's: Alice's rows (and everyone else's votes) are untouched.
    dave_votes = [v for v in after["votes"] if v[0] == world.dave.pk]
    after["votes"] = [v for v in after["votes"] if v[0] != world.dave.pk]
    assert after == before
    assert dave_votes == [(world.dave.pk, t.poll_post.poll.pk, 0)]
    assert Marker.objects.get(account=world.dave, timeline="home").last_read_id == 1
    assert not Post.objects.filter(author=world.dave, media__isnull=False).exists()


def web_attempts(t: Things) -> list[tuple[str, dict[str, Any]]]:
    p = t.post.pk
    return [
        (f"/posts/{p}/edit", {"text": "dave was here", "spoiler_text": ""}),
        (f"/posts/{p}/delete", {}),
        (f"/posts/{p}/detach-quote", {}),
        (f"/lists/{t.lst.pk}/edit", {"title": "dave's list now"}),
        (f"/lists/{t.lst.pk}/delete", {}),
        (f"/lists/{t.lst.pk}/members", {"account_id": str(t.requester.pk)}),
        (f"/lists/{t.lst.pk}/members", {"account_id": str(t.lst.members.get().account_id), "action": "remove"}),
        (f"/settings/filters/{t.flt.pk}", {"title": "dave's filter", "context": "home", "action": "warn", "keywords": "dave"}),
        (f"/settings/filters/{t.flt.pk}/delete", {}),
        (f"/follow-requests/{t.requester.pk}/accept", {}),
        (f"/follow-requests/{t.requester.pk}/reject", {}),
    ]


def test_a3_idor_write_web_another_persons_things_answer_404_and_nothing_changes(world, media_dir, client_for):
    t = _alices_things(world)
    dave = client_for(world.dave)
    before = snapshot(world)
    problems = []
    for path, form in web_attempts(t):
        r = dave.post(path, form)
        if r.status_code != 404:
            problems.append(f"POST {path}: {r.status_code}")
        if r.status_code == 404 and dave.get(
            path.rsplit("/", 1)[0] if path.endswith(("/delete", "/members", "/accept", "/reject")) else path
        ).status_code not in (404, 405):
            problems.append(f"GET near {path} reveals the record")
    assert not problems, "\n".join(problems)
    assert snapshot(world) == before


WRITES_WITH_A_READ_TOKEN: list[tuple[str, Callable[[Things], str], dict[str, Any]]] = [
    ("POST", lambda t: "/api/v1/statuses", {"status": "hello"}),
    ("PUT", lambda t: f"/api/v1/statuses/{t.post.pk}", {"status": "changed"}),
    ("DELETE", lambda t: f"/api/v1/statuses/{t.post.pk}", {}),
    ("POST", lambda t: f"/api/v1/statuses/{t.post.pk}/favourite", {}),
    ("POST", lambda t: f"/api/v1/statuses/{t.post.pk}/pin", {}),
    ("PUT", lambda t: f"/api/v1/media/{t.upload.pk}", {"description": "changed"}),
    ("POST", lambda t: "/api/v2/media", {}),
    ("POST", lambda t: "/api/v1/lists", {"title": "new"}),
    ("PUT", lambda t: f"/api/v1/lists/{t.lst.pk}", {"title": "changed"}),
    ("DELETE", lambda t: f"/api/v1/lists/{t.lst.pk}", {}),
    ("POST", lambda t: "/api/v2/filters", {"title": "new", "context": ["home"]}),
    ("DELETE", lambda t: f"/api/v2/filters/{t.flt.pk}", {}),
    ("POST", lambda t: "/api/v1/markers", {"home": {"last_read_id": "1"}}),
    ("POST", lambda t: f"/api/v1/polls/{t.poll_post.poll.pk}/votes", {"choices": ["0"]}),
    ("POST", lambda t: f"/api/v1/accounts/{t.requester.pk}/follow", {}),
    ("PATCH", lambda t: "/api/v1/accounts/update_credentials", {"display_name": "changed"}),
]


@pytest.mark.parametrize("scope", ["read", "read:statuses read:lists read:filters"])
def test_a3_idor_write_a_read_only_token_cannot_write_even_its_owners_things(world, media_dir, scope):
    t = _alices_things(world)
    alice = token_for(world.alice, scope)
    carol = token_for(world.carol, scope)
    before = snapshot(world)
    problems = []
    for method, path_of, body in WRITES_WITH_A_READ_TOKEN:
        r = _send(alice, method, path_of(t), body)
        if r.status_code != 403:
            problems.append(f"{method} {path_of(t)}: {r.status_code} {r.content[:100]!r}")
    r = _send(carol, "POST", f"/api/v1/follow_requests/{t.requester.pk}/authorize", {})
    if r.status_code != 403:
        problems.append(f"carol's read token accepted a follow request: {r.status_code}")
    assert not problems, "\n".join(problems)
    assert snapshot(world) == before
    assert world.alice.posts.count() == 2 and world.alice.display_name == "Alice Liddell"
    assert _send(alice, "GET", f"/api/v1/statuses/{t.post.pk}", {}).status_code == 200  # reading still works
