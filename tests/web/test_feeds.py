"""RSS feeds: ``/@user.rss`` and ``/tags/<tag>.rss`` carry only what an anonymous visitor may keep.

Each test reads the feed over HTTP as a feed reader does (no cookie), parses the XML and looks at
what is in it; media enclosures are then fetched anonymously, as a reader would.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from urllib.parse import urlsplit

from django.test import Client

from rostra.accounts.models import Account
from rostra.moderation import actions as moderation
from rostra.posts import actions as posts
from rostra.posts.models import Post
from rostra.testing.images import png_bytes
from rostra.testing.world import make_post

MEDIA = "{http://search.yahoo.com/mrss/}"


def _feed(path: str) -> ET.Element:
    r = Client().get(path)
    assert r.status_code == 200, (path, r.status_code)
    assert r["Content-Type"] == "application/rss+xml; charset=utf-8"
    root = ET.fromstring(r.content)  # noqa: S314 - our own feed, parsed to check it
    assert root.tag == "rss" and root.get("version") == "2.0"
    channel = root.find("channel")
    assert channel is not None
    return channel


def _paths(channel: ET.Element) -> list[str]:
    """The path of each item's link, in feed order."""
    return [urlsplit(item.findtext("link") or "").path for item in channel.findall("item")]


def _path(post: Post) -> str:
    return f"/@{post.author.username}/{post.pk}"


def _every_kind_of_post(author: Account, tag: str = "") -> dict[str, Post]:
    suffix = f" #{tag}" if tag else ""
    made = {
        "public": make_post(author, f"a public post{suffix}"),
        "unlisted": make_post(author, f"an unlisted post{suffix}", visibility="unlisted"),
        "private": make_post(author, f"a followers-only post{suffix}", visibility="private"),
        "direct": make_post(author, f"@bob a direct post{suffix}", visibility="direct"),
        "held": make_post(author, f"a held post{suffix}"),
        "limited": make_post(author, f"a limited post{suffix}"),
        "removed": make_post(author, f"a removed post{suffix}"),
    }
    for state in ("held", "limited", "removed"):
        Post.objects.filter(pk=made[state].pk).update(moderation_state=state)
    return made


def test_the_profile_feed_carries_public_published_posts_only(world):
    made = _every_kind_of_post(world.alice)
    made["repost"] = posts.repost(world.alice, make_post(world.bob, "bob says").pk)
    made["reply_to_bob"] = make_post(world.alice, "answering bob", in_reply_to_id=make_post(world.bob, "a question").pk)
    made["thread"] = make_post(world.alice, "and more", in_reply_to_id=made["public"].pk)
    channel = _feed("/@alice.rss")
    assert channel.findtext("title", "").startswith("Alice Liddell (@alice@")
    assert channel.findtext("link", "").endswith("/@alice")
    paths = _paths(channel)
    assert {name for name, post in made.items() if _path(post) in paths} == {"public", "thread"}
    assert len(paths) == 2


def test_a_feed_item_is_sanitised_html_with_its_images_as_enclosures_anyone_may_open(world, media_dir):
    image = posts.upload_media(world.alice, png_bytes((8, 6)), description="a red square")
    post = make_post(world.alice, "look <script>alert(1)</script> at this #Squares", media_ids=[image.pk])
    item = _feed("/@alice.rss").find("item")
    assert item is not None
    assert item.findtext("guid", "").endswith(f"/@alice/{post.pk}")
    description = item.findtext("description", "")
    assert "<script" not in description and "alert(1)" in description  # the sanitiser escaped it
    assert "squares" in [c.text for c in item.findall("category")]
    enclosure = item.find("enclosure")
    assert enclosure is not None and enclosure.get("type") == "image/png"
    content = item.find(f"{MEDIA}content")
    assert content is not None and content.get("url") == enclosure.get("url")
    assert item.findtext(f"{MEDIA}content/{MEDIA}description") == "a red square"
    path = urlsplit(enclosure.get("url", "")).path
    assert path == f"/media/{image.file}"
    r = Client().get(path)  # a feed reader fetches it with no cookie
    assert r.status_code == 200 and r["Content-Type"] == "image/png"
    assert int(enclosure.get("length", "0")) == len(b"".join(r.streaming_content))  # type: ignore[attr-defined]


def test_a_content_warning_titles_the_item_and_leads_the_text(world):
    make_post(world.alice, "the ending of the film", spoiler_text="film spoilers")
    item = _feed("/@alice.rss").find("item")
    assert item is not None
    assert item.findtext("title") == "film spoilers"
    assert item.findtext("description", "").startswith("<p><strong>Content warning:</strong> film spoilers</p>")


def test_the_tag_feed_carries_public_published_posts_with_the_tag(world):
    made = _every_kind_of_post(world.alice, tag="Gardening")
    other = make_post(world.bob, "my roses #gardening")
    make_post(world.bob, "nothing to do with it #cooking")
    channel = _feed("/tags/gardening.rss")
    assert channel.findtext("title", "").lower() == "#gardening"
    assert _paths(channel) == [_path(other), _path(made["public"])]
    assert _paths(_feed("/tags/GARDENING.rss")) == _paths(channel)  # any case


def test_feeds_leave_out_blocked_nothing_but_suspended_everything(world):
    # A feed is anonymous: blocks between members do not shape it, a suspension does.
    make_post(world.alice, "still here #daily")
    eve_post = make_post(world.eve, "eve was here #daily")
    assert _path(eve_post) in _paths(_feed("/tags/daily.rss"))
    moderation.act_on_account(world.mod.user, world.eve.pk, "ban", reason="spam")
    assert Client().get("/@eve.rss").status_code == 404
    assert _path(eve_post) not in _paths(_feed("/tags/daily.rss"))
    moderation.act_on_account(world.mod.user, world.eve.pk, "lift", reason="appeal upheld")
    assert _path(eve_post) in _paths(_feed("/@eve.rss"))


def test_unknown_accounts_and_tags_have_no_feed(world):
    assert Client().get("/@nobody.rss").status_code == 404
    assert Client().get("/tags/neverused.rss").status_code == 404


def test_profile_and_tag_pages_link_their_feeds(world):
    make_post(world.alice, "hello #gardening")
    page = Client().get("/@alice").content.decode()
    assert '<link rel="alternate" type="application/rss+xml" title="Public posts from @alice" href="/@alice.rss">' in page
    page = Client().get("/tags/gardening").content.decode()
    assert 'type="application/rss+xml"' in page and 'href="/tags/gardening.rss"' in page


def test_a_feed_holds_the_latest_twenty_newest_first(world):
    made = [make_post(world.alice, f"post {i}") for i in range(23)]
    assert _paths(_feed("/@alice.rss")) == [_path(p) for p in reversed(made)][:20]
