"""Post cards: what a template needs to draw a post, decided in Python rather than in templates.

Built from posts that came through ``with_viewer_state`` (every timeline and ``get_post``), so
building a card never runs a query: authors, reposted and quoted posts, media and the viewer's
likes/reposts/bookmarks are already on the rows. (One exception: a remote post with attachments
not stored here asks where they live.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rostra.accounts.models import Account
from rostra.posts import policies, remote_media
from rostra.posts.models import Media, Post, QuoteState
from rostra.posts.queries import PollView, poll_for_post


def post_url(post: Post) -> str:
    return f"/@{post.author.acct}/{post.pk}"  # /@alice/1 here, /@zoe@remote.example/2 for a remote author


@dataclass
class Quote:
    post: Post
    url: str


@dataclass
class Card:
    post: Post  # the row in the timeline (a repost, or the post itself)
    shown: Post  # the post whose content and counts are shown (the reposted one for a repost)
    url: str
    reposted_by: Account | None
    quote: Quote | None
    media: list[Media] = field(default_factory=list)
    liked: bool = False
    reposted: bool = False
    bookmarked: bool = False
    can_edit: bool = False
    can_delete: bool = False
    can_repost: bool = False
    can_quote: bool = False
    can_detach_quote: bool = False  # the viewer wrote the quoted post and may detach it
    signed_in: bool = False
    is_author: bool = False  # the viewer wrote the shown post: only they see its moderation state
    can_report: bool = False
    focus: bool = False  # the main post of a thread page
    depth: int = 0  # how deep a reply sits under the main post on a thread page
    filtered: list[str] = field(default_factory=list)  # titles of the viewer's "warn" filters that matched
    poll: PollView | None = None  # the shown post's poll as the viewer sees it
    remote_urls: dict[int, str] = field(default_factory=dict)  # remote attachments not stored here: where they live

    @property
    def media_entries(self) -> list[tuple[Media, str]]:
        """Each attachment with its remote URL ("" when its file is stored here)."""
        return [(m, self.remote_urls.get(m.pk, "") if m.awaiting_file else "") for m in self.media]

    @property
    def id(self) -> int:
        return self.shown.pk

    @property
    def hidden_behind_warning(self) -> bool:
        return bool(self.shown.spoiler_text or self.shown.moderation_label)

    @property
    def notice_url(self) -> str:
        """The author's notice about this post (resolved to the action when followed: cards run no queries)."""
        return f"/notices/post/{self.shown.pk}"

    @property
    def media_class(self) -> str:
        return f"media-grid n{min(len(self.media), 4)}"


def _quote(shown: Post, visible: Any) -> Quote | None:
    quoted = shown.quote_of
    if quoted is None or shown.quote_state == QuoteState.DETACHED or not visible:
        return None
    return Quote(post=quoted, url=post_url(quoted))


def card(post: Post, viewer: Account | None, *, focus: bool = False) -> Card:
    is_repost = post.repost_of_id is not None and post.repost_of is not None
    shown = post.repost_of if is_repost else post
    assert shown is not None
    quote_visible = getattr(post, "repost_quote_visible" if is_repost else "quote_visible", False)
    media = list(shown.media.all())  # prefetched by with_viewer_state
    # A remote post's attachment whose file is not stored here is linked to its origin (one query,
    # only for such a post).
    waiting = [m.pk for m in media if m.awaiting_file]
    remote_urls = {pk: o.url for pk, o in remote_media.origins(waiting).items()} if waiting else {}
    signed_in = viewer is not None
    is_author = viewer is not None and shown.author_id == viewer.pk
    return Card(
        post=post,
        shown=shown,
        url=post_url(shown),
        reposted_by=post.author if is_repost else None,
        quote=_quote(shown, quote_visible),
        media=media,
        liked=bool(getattr(post, "viewer_liked", False)),
        reposted=bool(getattr(post, "viewer_reposted", False)),
        bookmarked=bool(getattr(post, "viewer_bookmarked", False)),
        can_edit=signed_in and policies.can_edit(viewer, shown),
        can_delete=signed_in and policies.can_delete(viewer, shown),
        can_repost=signed_in and policies.can_repost(viewer, shown),  # type: ignore[arg-type]
        can_quote=signed_in and policies.can_quote(viewer, shown),  # type: ignore[arg-type]
        can_detach_quote=bool(
            signed_in and shown.quote_of is not None and shown.quote_state != QuoteState.DETACHED
            and shown.quote_of.author_id == viewer.pk  # type: ignore[union-attr]
        ),
        signed_in=signed_in,
        is_author=is_author,
        can_report=signed_in and not is_author,
        focus=focus,
        poll=poll_for_post(viewer, shown),
        remote_urls=remote_urls,
    )


def cards(posts: list[Post], viewer: Account | None) -> list[Card]:
    return [card(p, viewer) for p in posts]
