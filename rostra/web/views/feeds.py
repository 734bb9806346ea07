"""RSS 2.0 feeds of a profile (``/@user.rss``) and a hashtag (``/tags/<tag>.rss``), as Mastodon serves.

A feed reader signs in as nobody and keeps what it fetched, so a feed carries only what stays
public: posts read through the visibility door as an anonymous visitor, ``public`` and fully
published (unlisted, followers-only, direct, held, removed and limited-reach posts never appear),
no reposts, and on a profile no replies to other people (threads continue). Text is the post's
sanitised HTML; images are ``media:content`` elements (and the first one an ``enclosure``) whose
URLs are the bare ``/media/<name>`` paths, which the media view opens to anonymous visitors only
while the door lets them see the post. A suspended account's feed is a 404, like its profile.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.feedgenerator import Enclosure, Rss201rev2Feed
from django.utils.html import escape, strip_tags
from django.views.decorators.http import require_GET

from rostra.accounts import queries as account_queries
from rostra.accounts.models import Account
from rostra.core import grants
from rostra.posts.models import Hashtag, ModerationState, Post, Visibility
from rostra.posts.queries import visible_posts, with_viewer_state
from rostra.web.http import domain_errors

FEED_SIZE = 20
TITLE_CHARS = 80
MEDIA_NS = "http://search.yahoo.com/mrss/"


class _MediaRss(Rss201rev2Feed):
    """RSS 2.0 with Media RSS ``<media:content>`` for every image of an item (RSS allows one enclosure)."""

    def rss_attributes(self) -> dict[str, str]:
        return {**super().rss_attributes(), "xmlns:media": MEDIA_NS}

    def add_item_elements(self, handler: Any, item: dict[str, Any]) -> None:
        super().add_item_elements(handler, item)
        for media in item.get("media", ()):
            attrs = {"url": media["url"], "type": media["type"], "fileSize": media["size"], "medium": "image"}
            handler.startElement("media:content", attrs)
            if media["description"]:
                handler.addQuickElement("media:description", media["description"], {"type": "plain"})
            handler.endElement("media:content")


def _public(qs: QuerySet[Post]) -> QuerySet[Post]:
    """What a feed may carry of what an anonymous visitor sees: public, fully published, no reposts."""
    return qs.filter(visibility=Visibility.PUBLIC, moderation_state=ModerationState.PUBLISHED, repost_of__isnull=True)


def _title(post: Post) -> str:
    """A plain-text title: the content warning when there is one (so the hidden text stays hidden)."""
    text = post.spoiler_text or " ".join(strip_tags(post.content_html).split())
    return text if len(text) <= TITLE_CHARS else text[: TITLE_CHARS - 1].rstrip() + "…"


def _description(post: Post) -> str:
    warning = f"<p><strong>Content warning:</strong> {escape(post.spoiler_text)}</p>" if post.spoiler_text else ""
    return warning + post.content_html  # content_html is sanitised when the post is written


def _feed(title: str, link: str, feed_url: str, description: str, posts: list[Post]) -> HttpResponse:
    base = settings.ROSTRA.base_url
    feed = _MediaRss(title=title, link=link, description=description, feed_url=feed_url, language=None)
    tags: dict[int, list[str]] = {}
    through = Post.hashtags.through
    for post_id, name in (
        through.objects.filter(post_id__in=[p.pk for p in posts]).values_list("post_id", "hashtag__name").order_by("id")
    ):
        tags.setdefault(post_id, []).append(name)
    for post in posts:
        url = f"{base}/@{post.author.username}/{post.pk}"
        media = [
            {"url": grants.file_url(m.file, base=base), "type": m.content_type, "size": str(m.size), "description": m.description}
            for m in post.media.all()
        ]
        feed.add_item(
            title=_title(post),
            link=url,
            description=_description(post),
            unique_id=url,
            unique_id_is_permalink=True,
            pubdate=post.created_at,
            updateddate=post.edited_at,
            categories=tags.get(post.pk, []),
            enclosures=[Enclosure(media[0]["url"], media[0]["size"], media[0]["type"])] if media else None,
            media=media,
        )
    response = HttpResponse(content_type="application/rss+xml; charset=utf-8")
    feed.write(response, "utf-8")
    response["Cache-Control"] = "public, max-age=300"
    return response


def _latest(qs: QuerySet[Post]) -> list[Post]:
    return list(with_viewer_state(qs, None).order_by("-id")[:FEED_SIZE])


@require_GET
@domain_errors
def profile_feed(request: HttpRequest, username: str) -> HttpResponse:
    account: Account = account_queries.get_local_account(username)  # suspended or missing: NotFound
    qs = _public(visible_posts(None).filter(author_id=account.pk)).filter(
        Q(in_reply_to_account__isnull=True) | Q(in_reply_to_account_id=account.pk)
    )
    base = settings.ROSTRA.base_url
    return _feed(
        title=f"{account.display_name or account.username} (@{account.username}@{settings.ROSTRA.domain})",
        link=f"{base}/@{account.username}",
        feed_url=f"{base}/@{account.username}.rss",
        description=f"Public posts from @{account.username}@{settings.ROSTRA.domain}",
        posts=_latest(qs),
    )


@require_GET
def tag_feed(request: HttpRequest, tag: str) -> HttpResponse:
    name = tag.strip().lstrip("#").lower()
    hashtag = Hashtag.objects.filter(name=name).first() if name else None
    if hashtag is None:
        raise Http404  # as Mastodon: a hashtag nobody used has no feed
    qs = _public(visible_posts(None)).filter(hashtags__pk=hashtag.pk)
    base = settings.ROSTRA.base_url
    shown = hashtag.display_name or hashtag.name
    return _feed(
        title=f"#{shown}",
        link=f"{base}/tags/{quote(hashtag.name)}",
        feed_url=f"{base}/tags/{quote(hashtag.name)}.rss",
        description=f"Public posts tagged #{shown} on {settings.ROSTRA.instance_name}",
        posts=_latest(qs),
    )
