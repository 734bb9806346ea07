"""Posts brought in from an account archive (the lifeboat): history, not news.

An imported post keeps its original date (and an id made for that date, so it sorts into the
profile where it belongs), passes the same moderation gate as any new post (held ones are held,
refused ones are not written), and is committed with a ``post.imported`` event instead of
``post.created``: the pipeline screens it again where stage 1 found it borderline, but does not
fan it out into anyone's home timeline, notify anyone or deliver it as a new post.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import transaction
from django.db.models import F, Q
from django.db.models.functions import Greatest

from rostra.accounts.models import Account
from rostra.core import events
from rostra.core.clock import now
from rostra.core.errors import ValidationError
from rostra.core.ids import EPOCH_MS, id_at
from rostra.core.text import parse
from rostra.moderation.gate import record as record_decision
from rostra.moderation.gate import screen_post
from rostra.posts.actions import MAX_MEDIA, MAX_MENTIONS, _check_text, _held, _mentioned_accounts, _render, _set_tags
from rostra.posts.models import Media, Mention, ModerationState, Post, QuoteState, Visibility
from rostra.posts.polls import PollDraft, check_poll
from rostra.posts.polls import write_poll as _write_poll

EARLIEST = datetime.fromtimestamp(EPOCH_MS / 1000, tz=UTC)


class Refused(Exception):
    """The moderation gate refused the post (the decision is recorded); the reason is the message."""


@dataclass
class HistoricDraft:
    text: str
    created_at: datetime
    visibility: str = Visibility.PUBLIC
    spoiler_text: str = ""
    sensitive: bool = False
    language: str = ""
    edited_at: datetime | None = None
    in_reply_to: Post | None = None  # already resolved (and visible to the author)
    quote_of: Post | None = None
    media: Sequence[Media] = ()  # the author's fresh uploads
    poll_options: Sequence[str] = ()
    poll_multiple: bool = False
    poll_ends_at: datetime | None = None
    limited: bool = False  # the old server's moderators limited it: it stays off public surfaces


def check_historic(draft: HistoricDraft, *, media_count: int | None = None) -> str:
    """The reason this post cannot be brought in on this server, or "" (writes nothing).
    ``media_count``: the images it will have, when they are not uploaded yet."""
    has_media = bool(draft.media) if media_count is None else media_count > 0
    if draft.visibility not in Visibility.values:
        return "unknown visibility"
    if (media_count or len(draft.media)) > MAX_MEDIA:
        return f"more than {MAX_MEDIA} images"
    try:
        _check_text(draft.text, draft.spoiler_text, has_media or bool(draft.poll_options))
        if draft.poll_options:
            # The poll's length is checked as a fresh one of a day: its dates are history.
            check_poll(PollDraft(options=list(draft.poll_options), expires_in=86_400, multiple=draft.poll_multiple), has_media=has_media)
    except ValidationError as exc:
        return exc.message
    return ""


def import_post(author: Account, draft: HistoricDraft) -> Post:
    """Screen and write one historic post inside the caller's transaction; Refused if the gate says no.

    Call ``check_historic`` first. The post's id is made for its original date (clamped to the
    id epoch, 2024-01-01), so it sorts into the profile in date order."""
    text, spoiler = _check_text(draft.text, draft.spoiler_text, bool(draft.media) or bool(draft.poll_options))
    decision = screen_post(
        author_id=author.pk, text=text, spoiler_text=spoiler, account_created_at=author.created_at,
        account_held=_held(author), remember=False,  # a burst of history is not a spam wave
    )
    if decision.refused:
        record_decision(decision, post_id=None, account_id=author.pk, source="create")
        raise Refused(f"breaks the rule on {decision.category.replace('_', ' ')}")
    created = min(draft.created_at, now())
    parsed = parse(text)
    mentions = _mentioned_accounts(parsed.mentions, look_up=False)  # history: nothing fetched from other servers
    parent = draft.in_reply_to
    with transaction.atomic():
        post = Post.objects.create(
            id=id_at(max(created, EARLIEST)),
            author=author,
            text=text,
            content_html=_render(text, mentions),
            spoiler_text=spoiler,
            sensitive=draft.sensitive or bool(spoiler),
            visibility=draft.visibility,
            language=draft.language[:16],
            in_reply_to=parent,
            in_reply_to_account_id=parent.author_id if parent else None,
            thread_id=(parent.thread_id or parent.pk) if parent else None,
            quote_of=draft.quote_of,
            quote_state=QuoteState.ACCEPTED if draft.quote_of else "",
            moderation_state=ModerationState.LIMITED if draft.limited and decision.state == ModerationState.PUBLISHED else decision.state,
            moderation_label=decision.label,
            created_at=created,
            edited_at=min(draft.edited_at, now()) if draft.edited_at and draft.edited_at > created else None,
        )
        if parent is None:
            Post.objects.filter(pk=post.pk).update(thread_id=post.pk)
            post.thread_id = post.pk
        record_decision(decision, post_id=post.pk, account_id=author.pk, source="create", excerpt=text)
        _set_tags(post, parsed.hashtags, created)
        Mention.objects.bulk_create([Mention(post=post, account=m) for m in mentions[:MAX_MENTIONS] if m.pk != author.pk])
        for position, m in enumerate(draft.media):
            Media.objects.filter(pk=m.pk, owner_id=author.pk, post__isnull=True).update(post=post, position=position)
        if draft.poll_options:
            ends = draft.poll_ends_at or created
            poll_draft = PollDraft(options=list(draft.poll_options), expires_in=max(0, int((ends - created).total_seconds())), multiple=draft.poll_multiple)
            poll = _write_poll(post, poll_draft, [o.strip() for o in draft.poll_options], created)
            if poll.expires_at <= now():
                type(poll).objects.filter(pk=poll.pk).update(closed_at=poll.expires_at)  # ended long ago: nobody is told again
        Account.objects.filter(pk=author.pk).update(
            posts_count=F("posts_count") + 1,
            last_status_at=Greatest(F("last_status_at"), created),  # NULL in SQLite when none yet: set just below
        )
        Account.objects.filter(Q(pk=author.pk), Q(last_status_at__isnull=True)).update(last_status_at=created)
        if parent is not None:
            Post.objects.filter(pk=parent.pk).update(replies_count=F("replies_count") + 1)
        if draft.quote_of is not None:
            Post.objects.filter(pk=draft.quote_of.pk).update(quotes_count=F("quotes_count") + 1)
        events.emit("post.imported", post_id=post.pk)
    return post
