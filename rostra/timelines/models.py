from __future__ import annotations

from django.db import models

from rostra.accounts.models import Account
from rostra.core.models import OpaqueIdModel
from rostra.posts.models import Hashtag, Post


class HomeEntry(models.Model):
    """One post in one person's home timeline (the database backend of fan-out on write).

    Internal rows: their sequence id never leaves the database; pages are keyed by post id.
    """

    owner = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="home_entries")
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="home_entries")

    class Meta:
        # The unique index (owner, post) also serves an owner's page, read backwards: a second
        # index on the same columns only made every fan-out insert dearer.
        constraints = [models.UniqueConstraint(fields=["owner", "post"], name="home_entry_unique")]


class RepliesPolicy(models.TextChoices):
    FOLLOWED = "followed", "Replies to anyone you follow"
    LIST = "list", "Replies to members of the list"
    NONE = "none", "No replies"


class List(OpaqueIdModel):
    """A list of accounts its owner follows, with its own timeline (Mastodon's List)."""

    owner = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="lists")
    title = models.CharField(max_length=100)
    replies_policy = models.CharField(max_length=16, choices=RepliesPolicy.choices, default=RepliesPolicy.LIST)
    exclusive = models.BooleanField(default=False)  # members' posts leave the owner's home timeline
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["owner", "title"], name="list_owner_title_idx")]


class ListMember(models.Model):
    list = models.ForeignKey(List, on_delete=models.CASCADE, related_name="members")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="list_memberships")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["list", "account"], name="list_member_unique")]
        indexes = [models.Index(fields=["account", "list"], name="list_member_account_idx")]


class MarkerTimeline(models.TextChoices):
    HOME = "home", "Home"
    NOTIFICATIONS = "notifications", "Notifications"


class Marker(models.Model):
    """Where a person stopped reading a timeline, shared between their apps (Mastodon's Marker)."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="markers")
    timeline = models.CharField(max_length=16, choices=MarkerTimeline.choices)
    last_read_id = models.BigIntegerField()
    version = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "timeline"], name="marker_unique")]


class FilterAction(models.TextChoices):
    WARN = "warn", "Show with a warning"
    HIDE = "hide", "Hide completely"


FILTER_CONTEXTS = ("home", "notifications", "public", "thread", "account")


class Filter(OpaqueIdModel):
    """A person's filter (Mastodon's v2 Filter): keywords and posts, in some contexts, until expiry."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="filters")
    title = models.CharField(max_length=100)
    context = models.JSONField(default=list)  # a subset of FILTER_CONTEXTS
    expires_at = models.DateTimeField(null=True, blank=True)
    action = models.CharField(max_length=8, choices=FilterAction.choices, default=FilterAction.WARN)
    created_at = models.DateTimeField(auto_now_add=True)


class FilterKeyword(OpaqueIdModel):
    filter = models.ForeignKey(Filter, on_delete=models.CASCADE, related_name="keywords")
    keyword = models.CharField(max_length=100)
    whole_word = models.BooleanField(default=True)


class FilterStatus(OpaqueIdModel):
    filter = models.ForeignKey(Filter, on_delete=models.CASCADE, related_name="statuses")
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["filter", "post"], name="filter_status_unique")]


class ConversationState(models.Model):
    """One person's state of one direct conversation (a thread of direct posts they are in).

    Conversations themselves are read from the posts at read time; this row only says how far
    the person has read (``read_up_to``) and up to which post they removed it from their list
    (``hidden_up_to``: a newer post brings it back, as in Mastodon). Both are post ids."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="conversation_states")
    thread_id = models.BigIntegerField()
    read_up_to = models.BigIntegerField(default=0)
    hidden_up_to = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "thread_id"], name="conversation_state_unique")]


class FollowedTag(OpaqueIdModel):
    """A person follows a hashtag (Mastodon's TagFollow): new public posts carrying it reach
    their home timeline. The id is the cursor of ``GET /api/v1/followed_tags``."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="followed_tags")
    hashtag = models.ForeignKey(Hashtag, on_delete=models.CASCADE, related_name="followers")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "hashtag"], name="followed_tag_unique")]
        indexes = [models.Index(fields=["hashtag", "account"], name="followed_tag_hashtag_idx")]


class FanoutBatch(models.Model):
    """One queued slice of a large fan-out (recipients with ids in ``(lo, hi]``), so the worker
    that finishes the last one knows the post is fully delivered (``observe_fanout``). Deleted
    when its slice is done."""

    post_id = models.BigIntegerField()
    lo = models.BigIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["post_id", "lo"], name="fanout_batch_unique")]
