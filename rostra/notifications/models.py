from __future__ import annotations

from django.db import models

from rostra.accounts.models import Account
from rostra.core.models import OpaqueIdModel
from rostra.posts.models import Post


class Kind(models.TextChoices):
    MENTION = "mention", "Mention"
    REPLY = "reply", "Reply"
    REPOST = "reblog", "Repost"
    QUOTE = "quote", "Quote"
    LIKE = "favourite", "Like"
    FOLLOW = "follow", "Follow"
    FOLLOW_REQUEST = "follow_request", "Follow request"
    POLL = "poll", "Poll ended"
    MOVE = "move", "Moved"  # someone you follow moved; the actor is the old account, which names the new one  # to the voters and the author; the actor is the author
    # From the moderators (the actor is the recipient themselves; ``notice`` says what happened)
    MODERATION = "moderation_warning", "Moderation notice"
    APPEAL_DECIDED = "appeal_decided", "Appeal decided"
    JURY_SUMMONS = "jury_summons", "Jury summons"


SYSTEM_KINDS = (Kind.MODERATION, Kind.APPEAL_DECIDED, Kind.JURY_SUMMONS)


class Notification(OpaqueIdModel):
    recipient = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    actor = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    post = models.ForeignKey(Post, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    notice = models.ForeignKey("moderation.Notice", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)
    dedupe_key = models.CharField(max_length=128, unique=True)  # re-running a handler adds nothing

    class Meta:
        indexes = [models.Index(fields=["recipient", "-id"], name="notification_recipient_idx")]
