"""Posts and what hangs off them: edits, media, likes, bookmarks, hashtags, mentions, polls."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import models
from django.db.models import Q

from rostra.accounts.models import Account
from rostra.core.models import OpaqueIdModel


class Visibility(models.TextChoices):
    PUBLIC = "public", "Public"
    UNLISTED = "unlisted", "Unlisted"  # visible to all, kept off public timelines and hashtags
    PRIVATE = "private", "Followers only"
    DIRECT = "direct", "Mentioned people only"


class ModerationState(models.TextChoices):
    """Set by the trust-and-safety gate on the write path (issue 3 owns the gate's policy)."""

    PUBLISHED = "published", "Published"
    LIMITED = "limited", "Limited reach"  # visible to those allowed, off public surfaces
    HELD = "held", "Held for review"  # visible to the author only
    REMOVED = "removed", "Removed by a moderator"  # visible to the author only, with a notice


VISIBLE_STATES = (ModerationState.PUBLISHED, ModerationState.LIMITED)


class QuoteState(models.TextChoices):
    ACCEPTED = "accepted", "Accepted"
    DETACHED = "detached", "Detached by the quoted author"


class Hashtag(OpaqueIdModel):
    name = models.CharField(max_length=100, unique=True)  # lower case
    display_name = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"#{self.display_name}"


class PostQuerySet(models.QuerySet["Post"]):
    """Posts, with an optional step run once on each fetched page (``after_fetch``).

    The step lets a page ask a follow-up question of all its posts in one query (e.g. which
    quoted posts the viewer may see) instead of nesting that question into the main SQL, which
    Django takes far longer to compile than the database takes to run.
    """

    _after_fetch: Callable[[list[Any]], None] | None = None

    def after_fetch(self, step: Callable[[list[Any]], None]) -> PostQuerySet:
        clone = self._chain()  # type: ignore[attr-defined]  # Django's private clone API
        clone._after_fetch = step
        return clone

    def _clone(self) -> PostQuerySet:
        clone = super()._clone()  # type: ignore[misc]
        clone._after_fetch = self._after_fetch
        return clone

    def _fetch_all(self) -> None:
        fresh = self._result_cache is None
        super()._fetch_all()
        rows = self._result_cache
        if fresh and self._after_fetch is not None and rows and isinstance(rows[0], Post):
            self._after_fetch(rows)


class Post(OpaqueIdModel):
    objects = PostQuerySet.as_manager()

    author = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="posts")
    text = models.TextField(blank=True, default="")  # as typed
    content_html = models.TextField(blank=True, default="")  # rendered and sanitised
    spoiler_text = models.CharField(max_length=500, blank=True, default="")  # content warning
    sensitive = models.BooleanField(default=False)
    visibility = models.CharField(max_length=16, choices=Visibility.choices, default=Visibility.PUBLIC)
    language = models.CharField(max_length=16, blank=True, default="")
    in_reply_to = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replies")
    in_reply_to_account = models.ForeignKey(
        Account, null=True, blank=True, on_delete=models.SET_NULL, related_name="replies_received"
    )
    thread_id = models.BigIntegerField(null=True, blank=True)  # the id of the thread's root post
    repost_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="reposts")
    quote_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="quotes")
    quote_state = models.CharField(max_length=16, choices=QuoteState.choices, blank=True, default="")
    moderation_state = models.CharField(
        max_length=16, choices=ModerationState.choices, default=ModerationState.PUBLISHED
    )
    moderation_label = models.CharField(max_length=80, blank=True, default="")  # a content warning the policy added
    created_at = models.DateTimeField()
    edited_at = models.DateTimeField(null=True, blank=True)
    replies_count = models.PositiveIntegerField(default=0)
    reposts_count = models.PositiveIntegerField(default=0)
    likes_count = models.PositiveIntegerField(default=0)
    quotes_count = models.PositiveIntegerField(default=0)
    hashtags = models.ManyToManyField(Hashtag, related_name="posts", blank=True)
    mentions = models.ManyToManyField(Account, related_name="mentioned_in", blank=True, through="Mention")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["author", "repost_of"], condition=Q(repost_of__isnull=False), name="one_repost_per_account"
            )
        ]
        indexes = [
            models.Index(fields=["author", "-id"], name="post_author_idx"),
            models.Index(fields=["thread_id", "id"], name="post_thread_idx"),
            models.Index(fields=["visibility", "moderation_state", "-id"], name="post_public_idx"),
        ]

    @property
    def is_repost(self) -> bool:
        return self.repost_of_id is not None

    @property
    def is_edited(self) -> bool:
        return self.edited_at is not None

    def __str__(self) -> str:
        return f"{self.author} {self.id}"


class Mention(OpaqueIdModel):
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="mention_rows")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="mention_rows")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["post", "account"], name="mention_unique")]
        indexes = [models.Index(fields=["account", "post"], name="mention_account_idx")]


class PostEdit(OpaqueIdModel):
    """A previous version of an edited post, kept so readers can see what changed."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="edits")
    text = models.TextField(blank=True, default="")
    content_html = models.TextField(blank=True, default="")
    spoiler_text = models.CharField(max_length=500, blank=True, default="")
    sensitive = models.BooleanField(default=False)
    media_descriptions = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField()  # when this version was written


class Media(OpaqueIdModel):
    """An uploaded image, re-encoded with its metadata stripped. Originals are never kept."""

    owner = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="media")
    post = models.ForeignKey(Post, null=True, blank=True, on_delete=models.SET_NULL, related_name="media")
    position = models.PositiveSmallIntegerField(default=0)
    file = models.CharField(max_length=100, unique=True)  # random name, e.g. 3f9c...e1.webp
    thumbnail = models.CharField(max_length=100, blank=True, default="")
    content_type = models.CharField(max_length=32)
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    size = models.PositiveIntegerField(default=0)
    description = models.TextField(blank=True, default="")  # alt text
    focus_x = models.FloatField(default=0.0)
    focus_y = models.FloatField(default=0.0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["position", "id"]

    @property
    def awaiting_file(self) -> bool:
        """A remote post's attachment not (or no longer) stored here: it names no file yet, and the
        surfaces show it from its origin (``rostra.posts.remote_media``)."""
        return self.file.startswith(REMOTE_PLACEHOLDER)


# The file name of a remote attachment with no file here (a unique, never-served name).
REMOTE_PLACEHOLDER = "remote:"


class IdempotencyKey(OpaqueIdModel):
    """A client's ``Idempotency-Key`` for a post it created, kept for an hour (as Mastodon does).

    Written in the post's own transaction, so a client that retries after a crash, a restart or a
    lost cache gets the post it already made, never a second one. ``key`` is the SHA-256 of what
    the client sent: any length, and nothing the client chose is stored."""

    author = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=64)
    post = models.ForeignKey("Post", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["author", "key"], name="idempotency_key_unique")]
        indexes = [models.Index(fields=["created_at"], name="idempotency_key_created_idx")]


class Like(OpaqueIdModel):
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="likes")
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="likes")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "post"], name="like_unique")]
        indexes = [models.Index(fields=["post", "account"], name="like_post_idx")]


class Bookmark(OpaqueIdModel):
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="bookmarks")
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="bookmarks")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "post"], name="bookmark_unique")]


class Poll(OpaqueIdModel):
    """A post's poll (Mastodon's Poll entity). Counters move with F expressions in ``posts.polls``."""

    post = models.OneToOneField(Post, on_delete=models.CASCADE, related_name="poll")
    multiple = models.BooleanField(default=False)  # several options may be chosen
    hide_totals = models.BooleanField(default=False)  # counts shown only once the poll has ended
    expires_at = models.DateTimeField()
    votes_count = models.PositiveIntegerField(default=0)  # one per chosen option
    voters_count = models.PositiveIntegerField(default=0)  # one per account that voted
    closed_at = models.DateTimeField(null=True, blank=True)  # when the end was noticed and announced

    class Meta:
        indexes = [models.Index(fields=["closed_at", "expires_at"], name="poll_open_idx")]


class PollOption(OpaqueIdModel):
    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="options")
    position = models.PositiveSmallIntegerField()  # the choice index voters send
    title = models.CharField(max_length=200)  # local polls: 50 (posts.polls); other servers allow longer
    votes_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position"]
        constraints = [models.UniqueConstraint(fields=["poll", "position"], name="poll_option_unique")]


class PollVote(OpaqueIdModel):
    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="votes")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="poll_votes")
    choice = models.PositiveSmallIntegerField()  # PollOption.position
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["poll", "account", "choice"], name="poll_vote_unique")]
        indexes = [models.Index(fields=["account", "poll"], name="poll_vote_account_idx")]


class Pin(OpaqueIdModel):
    """A post its author pinned to their profile (Mastodon: at most 5)."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="pins")
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="pins")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "post"], name="pin_unique")]


class ThreadMute(OpaqueIdModel):
    """A conversation someone muted: no more notifications from that thread (Mastodon's mute)."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="thread_mutes")
    thread_id = models.BigIntegerField()  # the id of the thread's root post
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "thread_id"], name="thread_mute_unique")]


class ScheduledPost(OpaqueIdModel):
    """A post to publish later (Mastodon's ScheduledStatus). ``params`` is the draft as written;
    it is validated when scheduled and again, with the moderation gate, when published.
    ``media`` are the attached uploads, reserved for this post until it is published or cancelled."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="scheduled_posts")
    scheduled_at = models.DateTimeField()
    params = models.JSONField(default=dict)
    media = models.ManyToManyField(Media, blank=True, related_name="scheduled_posts")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(fields=["scheduled_at"], name="scheduled_due_idx"),
            models.Index(fields=["account", "scheduled_at"], name="scheduled_account_idx"),
        ]

    def __str__(self) -> str:
        return f"scheduled {self.pk} at {self.scheduled_at:%Y-%m-%d %H:%M}"


class FeaturedTag(OpaqueIdModel):
    """A hashtag ``account`` shows on its profile (Mastodon's FeaturedTag); at most
    ``rostra.posts.featured_tags.MAX_FEATURED_TAGS`` each. Its counts are computed when read."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="featured_tags")
    hashtag = models.ForeignKey(Hashtag, on_delete=models.CASCADE, related_name="featured_by")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "hashtag"], name="featured_tag_unique")]

    def __str__(self) -> str:
        return f"{self.account} features #{self.hashtag_id}"
