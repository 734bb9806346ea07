"""The Status and Notification entities, built from domain objects as a client sees them."""

from __future__ import annotations

import re

from rostra.api import entities
from rostra.posts import actions as posts
from rostra.posts import queries as post_queries
from rostra.posts.polls import PollDraft
from rostra.testing.world import World, make_post

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def _status(post_id: int, viewer):  # type: ignore[no-untyped-def]
    return entities.one_status(post_queries.get_post(viewer, post_id), viewer)


def test_a_status_has_mastodons_shape_and_the_viewers_flags(world: World) -> None:
    post = make_post(world.alice, "Hello @bob, see #Rostra", spoiler_text="cw", poll=PollDraft(options=["yes", "no"], expires_in=3600))
    posts.like(world.bob, post.pk)
    posts.bookmark(world.bob, post.pk)
    s = _status(post.pk, world.bob)
    assert s["id"] == str(post.pk) and ISO.match(s["created_at"])
    assert s["account"]["username"] == "alice"
    assert [m["acct"] for m in s["mentions"]] == ["bob"]
    assert [t["name"].lower() for t in s["tags"]] == ["rostra"]
    assert s["spoiler_text"] == "cw" and s["sensitive"] is True
    assert s["favourited"] is True and s["bookmarked"] is True and s["reblogged"] is False
    assert s["favourites_count"] == 1
    assert s["poll"]["options"][0]["title"] == "yes" and s["poll"]["voters_count"] is None
    assert s["pinned"] is None  # known only on the viewer's own statuses (null, as the API always sent it)
    assert _status(post.pk, world.alice)["pinned"] is False
    anon = _status(post.pk, None)
    assert anon["favourited"] is None and anon["pinned"] is None


def test_a_repost_carries_the_reposted_status_with_the_viewers_flags(world: World) -> None:
    post = make_post(world.alice, "original")
    boost = posts.repost(world.bob, post.pk)
    posts.like(world.bob, post.pk)
    s = _status(boost.pk, world.bob)
    assert s["reblog"]["id"] == str(post.pk)
    assert s["reblog"]["favourited"] is True and s["reblog"]["reblogged"] is True
    assert s["content"] == "" and s["media_attachments"] == []


def test_a_quote_shows_the_quoted_status_when_visible(world: World) -> None:
    quoted = make_post(world.alice, "quotable")
    post = make_post(world.bob, "look", quote_of_id=quoted.pk)
    s = _status(post.pk, world.dave)
    assert s["quote"]["state"] == "accepted" and s["quote"]["quoted_status"]["id"] == str(quoted.pk)
