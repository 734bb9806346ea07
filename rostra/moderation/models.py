"""Trust and safety's records: the policy's versions, every decision, reports, the review queue,
actions and their notices, appeals and juries, and the append-only audit log.

Foreign keys name other apps' models by string so that ``moderation.gate`` (on the write path of
``posts``) can use these models without importing ``posts``.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import Q

from rostra.core.models import OpaqueIdModel

CATEGORY_CHOICES = [
    ("violence", "Violence and incitement"),
    ("hate", "Hateful conduct"),
    ("harassment", "Harassment"),
    ("spam", "Spam"),
    ("sexual", "Sexual content"),
    ("sexual_minors", "Sexual content involving minors"),
    ("self_harm", "Suicide and self-harm"),
    ("private_info", "Private information"),
    ("other", "Something else"),
]


class PolicyVersion(models.Model):
    """One saved version of the written policy. The highest version is in force."""

    version = models.PositiveIntegerField(primary_key=True)
    document = models.JSONField()
    note = models.CharField(max_length=500, blank=True, default="")  # what changed and why
    created_by = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"policy v{self.version}"


class Decision(OpaqueIdModel):
    """What the screener and the policy decided for one post (or a refused draft), at one moment.

    A post gets one at creation, one per edit, and one from stage 2 when stage 1 was unsure. No
    text is kept: the post holds it, and a deleted post's decisions keep only scores and outcome.
    """

    class Source(models.TextChoices):
        CREATE = "create", "On posting"
        EDIT = "edit", "On editing"
        DEEP = "deep", "Second-stage screen"
        REMOTE = "remote", "Arrived from another server"

    post = models.ForeignKey("posts.Post", null=True, blank=True, on_delete=models.SET_NULL, related_name="decisions")
    account = models.ForeignKey("accounts.Account", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    source = models.CharField(max_length=16, choices=Source.choices)
    action = models.CharField(max_length=16)  # policy.ACTIONS
    category = models.CharField(max_length=32, blank=True, default="")
    rule = models.CharField(max_length=120, blank=True, default="")
    reason = models.TextField(blank=True, default="")
    scores = models.JSONField(default=dict)
    stage = models.PositiveSmallIntegerField(default=1)
    model_version = models.CharField(max_length=120, blank=True, default="")
    policy_version = models.PositiveIntegerField(default=0)
    borderline = models.JSONField(default=list)  # categories stage 2 should look at
    created_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["post", "-created_at"], name="decision_post_idx"),
            models.Index(fields=["created_at"], name="decision_created_idx"),
        ]


class Case(OpaqueIdModel):
    """An item in the review queue: one open case per post (or per account, for account reports)."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed"

    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="moderation_cases")
    post = models.ForeignKey("posts.Post", null=True, blank=True, on_delete=models.CASCADE, related_name="moderation_cases")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    category = models.CharField(max_length=32, choices=CATEGORY_CHOICES, default="other")
    score = models.FloatField(default=0.0)  # the strongest evidence: screener score or report weight, 0..1
    severity = models.PositiveSmallIntegerField(default=1)  # 1..5 from the policy
    reach = models.FloatField(default=1.0)  # followers and velocity, >= 1
    priority = models.FloatField(default=0.0)  # severity x reach x score; the queue's order
    sources = models.JSONField(default=list)  # "screener", "deep_screen", "report", "appeal", "spam_wave", "account_hold"
    reports_count = models.PositiveIntegerField(default=0)
    claimed_by = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    claimed_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    resolution = models.CharField(max_length=32, blank=True, default="")  # the action taken, or "dismissed"

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["post"], condition=Q(status="open", post__isnull=False), name="case_one_open_per_post"),
            models.UniqueConstraint(fields=["account"], condition=Q(status="open", post__isnull=True), name="case_one_open_per_account"),
        ]
        indexes = [models.Index(fields=["status", "-priority"], name="case_queue_idx")]


class Report(OpaqueIdModel):
    """Someone asking the moderators to look at a post or an account."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        ACTIONED = "actioned", "Action taken"
        DISMISSED = "dismissed", "No action"

    reporter = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="reports_made")
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="reports_received")
    post = models.ForeignKey("posts.Post", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    evidence_post_ids = models.JSONField(default=list)  # more of the account's posts, as evidence
    category = models.CharField(max_length=32, choices=CATEGORY_CHOICES)
    comment = models.TextField(blank=True, default="")
    case = models.ForeignKey(Case, null=True, blank=True, on_delete=models.SET_NULL, related_name="reports")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    forwarded = models.BooleanField(default=False)  # also sent to the remote account's own server (a Flag)

    class Meta:
        indexes = [models.Index(fields=["reporter", "-created_at"], name="report_reporter_idx")]


class ModAction(OpaqueIdModel):
    """Something done to a post or an account, by a moderator or automatically by the policy."""

    class Kind(models.TextChoices):
        # on a post
        REMOVE = "remove", "Removed the post"
        LABEL = "label", "Put the post behind a content warning"
        LIMIT = "limit", "Limited the post's reach"
        HOLD = "hold", "Held the post for review"
        RESTORE = "restore", "Restored the post"
        # on an account
        WARN = "warn", "Warned the account"
        HOLD_ACCOUNT = "hold_account", "Held all the account's new posts for review"
        SUSPEND = "suspend", "Suspended the account for a period"
        BAN = "ban", "Suspended the account for good"
        LIFT = "lift", "Lifted the account's restrictions"
        DISMISS = "dismiss", "Dismissed the case without action"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="moderation_actions")
    post = models.ForeignKey("posts.Post", null=True, blank=True, on_delete=models.SET_NULL, related_name="moderation_actions")
    case = models.ForeignKey(Case, null=True, blank=True, on_delete=models.SET_NULL, related_name="actions")
    category = models.CharField(max_length=32, blank=True, default="")
    rule = models.CharField(max_length=200, blank=True, default="")  # the guideline's title, or the policy rule id
    reason = models.TextField(blank=True, default="")  # the moderator's words to the person
    evidence = models.JSONField(default=list)  # [{"post_id", "excerpt", "scores"}]
    automated = models.BooleanField(default=False)
    moderator = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    policy_version = models.PositiveIntegerField(default=0)
    ends_at = models.DateTimeField(null=True, blank=True)  # for period suspensions and holds
    created_at = models.DateTimeField()
    reversed_at = models.DateTimeField(null=True, blank=True)
    reversed_by = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        indexes = [
            models.Index(fields=["account", "-created_at"], name="modaction_account_idx"),
            models.Index(fields=["created_at"], name="modaction_created_idx"),
        ]

    @property
    def is_appealable(self) -> bool:
        return self.kind not in (self.Kind.RESTORE, self.Kind.LIFT, self.Kind.DISMISS, self.Kind.HOLD) and self.reversed_at is None


class Notice(OpaqueIdModel):
    """What the person acted against is told: the rule, the evidence, the action, its duration, how to appeal."""

    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="moderation_notices")
    action = models.OneToOneField(ModAction, on_delete=models.CASCADE, related_name="notice")
    subject = models.CharField(max_length=200)
    body = models.TextField()
    created_at = models.DateTimeField()
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)


class Appeal(OpaqueIdModel):
    """A person asking for an action to be reconsidered; a conversation until someone decides."""

    class Status(models.TextChoices):
        OPEN = "open", "Waiting for a moderator"
        JURY = "jury", "With a community jury"
        REVERSED = "reversed", "Reversed"
        UPHELD = "upheld", "Upheld"

    action = models.OneToOneField(ModAction, on_delete=models.CASCADE, related_name="appeal")
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="appeals")
    statement = models.TextField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    decided_by_jury = models.BooleanField(default=False)
    decision_reason = models.TextField(blank=True, default="")

    class Meta:
        indexes = [models.Index(fields=["status", "created_at"], name="appeal_status_idx")]


class AppealMessage(OpaqueIdModel):
    appeal = models.ForeignKey(Appeal, on_delete=models.CASCADE, related_name="messages")
    author = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    from_staff = models.BooleanField(default=False)
    body = models.TextField()
    created_at = models.DateTimeField()


class Jury(OpaqueIdModel):
    """The optional second tier: randomly drawn eligible members vote on an appeal."""

    class Status(models.TextChoices):
        OPEN = "open", "Deliberating"
        DECIDED = "decided", "Decided"
        LAPSED = "lapsed", "Lapsed without a majority"

    appeal = models.OneToOneField(Appeal, on_delete=models.CASCADE, related_name="jury")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    size = models.PositiveSmallIntegerField()
    created_at = models.DateTimeField()
    deadline = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=16, blank=True, default="")  # "reverse", "uphold" or ""


class JurySeat(OpaqueIdModel):
    class Status(models.TextChoices):
        INVITED = "invited", "Invited"
        RECUSED = "recused", "Recused"
        VOTED = "voted", "Voted"

    jury = models.ForeignKey(Jury, on_delete=models.CASCADE, related_name="seats")
    account = models.ForeignKey("accounts.Account", on_delete=models.CASCADE, related_name="jury_seats")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.INVITED)
    vote = models.CharField(max_length=16, blank=True, default="")  # "reverse" or "uphold"
    reason = models.TextField(blank=True, default="")
    voted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["jury", "account"], name="jury_seat_unique")]


class AuditQuerySet(models.QuerySet["AuditEntry"]):
    def update(self, **kwargs: Any) -> int:
        raise PermissionError("The audit log is append-only.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise PermissionError("The audit log is append-only.")


class AuditEntry(models.Model):
    """Append-only: who did what, to what, when, why, under which policy version.

    The application cannot change or delete a row (``save`` of an existing row, ``delete`` and
    queryset ``update``/``delete`` raise), and database triggers refuse UPDATE and DELETE too.
    Ids are plain ascending integers: the log's order is part of its meaning.
    """

    id = models.BigAutoField(primary_key=True)
    created_at = models.DateTimeField()
    actor_id = models.BigIntegerField(null=True, blank=True)  # a User id; null = the system (policy, screener, timer)
    actor_name = models.CharField(max_length=64)  # "@maya" or "system"
    verb = models.CharField(max_length=48)  # e.g. "post.held", "case.claimed", "policy.saved", "appeal.reversed"
    target_type = models.CharField(max_length=24, blank=True, default="")
    target_id = models.BigIntegerField(null=True, blank=True)
    account_id = models.BigIntegerField(null=True, blank=True)  # the person affected, if any
    reason = models.TextField(blank=True, default="")
    detail = models.JSONField(default=dict)
    policy_version = models.PositiveIntegerField(default=0)

    objects = AuditQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["account_id", "id"], name="audit_account_idx")]

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise PermissionError("The audit log is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise PermissionError("The audit log is append-only.")
