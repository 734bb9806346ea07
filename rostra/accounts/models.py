"""Users (who log in) and Accounts (the public actors people follow), and the social graph."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from rostra.core.ids import new_id
from rostra.core.models import OpaqueIdModel


class Role(models.TextChoices):
    MEMBER = "member", "Member"
    MODERATOR = "moderator", "Moderator"
    ADMIN = "admin", "Admin"


class UserManager(BaseUserManager["User"]):
    def get_by_natural_key(self, username: str | None) -> User:
        return self.get(username__iexact=username)


class User(AbstractBaseUser, PermissionsMixin):
    """The login: credentials and private settings. Its public face is ``account``."""

    id = models.BigIntegerField(primary_key=True, default=new_id, editable=False)
    username = models.CharField(max_length=30, unique=True)
    email = models.EmailField(max_length=254)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # When the password last changed: API tokens issued before it stop working at once.
    credentials_changed_at = models.DateTimeField(null=True, blank=True)
    # Preferences
    default_visibility = models.CharField(max_length=16, default="public")
    default_sensitive = models.BooleanField(default=False)
    default_language = models.CharField(max_length=8, blank=True, default="")  # ISO 639-1; "" for none

    objects = UserManager()
    USERNAME_FIELD = "username"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["email"]

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("email"), name="user_email_ci_unique"),
            models.UniqueConstraint(Lower("username"), name="user_username_ci_unique"),
        ]
        indexes = [models.Index(fields=["created_at"], name="user_created_idx")]  # surge mode counts recent sign-ups

    @property
    def is_staff(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def is_moderator(self) -> bool:
        return self.role in (Role.MODERATOR, Role.ADMIN)

    def __str__(self) -> str:
        return self.username


class Account(OpaqueIdModel):
    """A public actor: a local person (``user`` set) or, once federation exists, a remote one."""

    user = models.OneToOneField(User, null=True, blank=True, on_delete=models.CASCADE, related_name="account")
    username = models.CharField(max_length=30)
    domain = models.CharField(max_length=255, blank=True, default="")  # "" for local accounts
    display_name = models.CharField(max_length=60, blank=True, default="")
    note = models.TextField(blank=True, default="")  # the bio as typed
    note_html = models.TextField(blank=True, default="")
    fields = models.JSONField(default=list, blank=True)  # [{"name": ..., "value": ..., "value_html": ...}]
    avatar = models.CharField(max_length=100, blank=True, default="")  # file name in the media store
    header = models.CharField(max_length=100, blank=True, default="")
    locked = models.BooleanField(default=False)  # follow requests need approval
    discoverable = models.BooleanField(default=True)
    bot = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    last_status_at = models.DateTimeField(null=True, blank=True)
    # Last use of the web or the API, refreshed at most hourly (rostra.timelines.activity): home
    # fan-out skips followers away for ROSTRA_INACTIVE_DAYS. New accounts start active.
    last_active_at = models.DateTimeField(default=timezone.now, db_index=True)
    suspended_at = models.DateTimeField(null=True, blank=True)
    suspended_until = models.DateTimeField(null=True, blank=True)  # null with suspended_at set: for good
    hold_posts_until = models.DateTimeField(null=True, blank=True)  # a moderator reviews new posts until then
    followers_count = models.PositiveIntegerField(default=0)
    following_count = models.PositiveIntegerField(default=0)
    posts_count = models.PositiveIntegerField(default=0)
    # Moving (docs/federation.md, "Moving an account"): the account this one moved to, and the
    # actor URIs of the accounts allowed to move here (ActivityPub's alsoKnownAs).
    moved_to = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="moved_from")
    moved_at = models.DateTimeField(null=True, blank=True)
    also_known_as = models.JSONField(default=list, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(Lower("username"), "domain", name="account_handle_unique")]
        indexes = [models.Index(Lower("username"), name="account_username_ci_idx")]

    @property
    def is_local(self) -> bool:
        return self.domain == ""

    @property
    def acct(self) -> str:
        return self.username if self.is_local else f"{self.username}@{self.domain}"

    @property
    def name(self) -> str:
        return self.display_name or self.username

    def __str__(self) -> str:
        return f"@{self.acct}"


class Follow(OpaqueIdModel):
    follower = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="following_rel")
    target = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="follower_rel")
    created_at = models.DateTimeField(auto_now_add=True)
    show_reposts = models.BooleanField(default=True)
    notify = models.BooleanField(default=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["follower", "target"], name="follow_unique")]
        indexes = [models.Index(fields=["target", "follower"], name="follow_target_idx")]


class FollowRequest(OpaqueIdModel):
    requester = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="outgoing_requests")
    target = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="incoming_requests")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["requester", "target"], name="follow_request_unique")]


class Block(OpaqueIdModel):
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="blocking_rel")
    target = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="blocked_by_rel")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "target"], name="block_unique")]
        indexes = [models.Index(fields=["target", "account"], name="block_target_idx")]


class Mute(OpaqueIdModel):
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="muting_rel")
    target = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="muted_by_rel")
    hide_notifications = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "target"], name="mute_unique")]


class SuggestionDismissal(OpaqueIdModel):
    """``account`` asked not to be suggested ``target`` again (Mastodon's DELETE /suggestions/:id)."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="dismissed_suggestions")
    target = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "target"], name="suggestion_dismissal_unique")]


class AnnouncementRead(OpaqueIdModel):
    """``account`` dismissed an announcement (Mastodon's ``POST /api/v1/announcements/:id/dismiss``).

    Rostra's announcements are the instance's moderation-policy changes, so ``announcement`` is a
    policy version number (``rostra.moderation.models.PolicyVersion.version``)."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="read_announcements")
    announcement = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "announcement"], name="announcement_read_unique")]


class AccountNote(OpaqueIdModel):
    """``account``'s private note about ``target`` (Mastodon's ``POST /accounts/:id/note``): only its writer sees it."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="account_notes")
    target = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    comment = models.TextField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "target"], name="account_note_unique")]


class Endorsement(OpaqueIdModel):
    """``account`` features ``target`` on its profile (Mastodon's endorsements, ``AccountPin``).
    Only people one follows can be endorsed; ending the follow ends the endorsement."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="endorsements")
    target = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="endorsed_by")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "target"], name="endorsement_unique")]
        indexes = [models.Index(fields=["target", "account"], name="endorsement_target_idx")]


class TwoFactor(OpaqueIdModel):
    """A login's authenticator app (TOTP, RFC 6238): see ``rostra.accounts.twofactor``.

    ``confirmed_at`` is null while the person is still enrolling (the secret is shown only then);
    ``last_used_step`` is the time step of the last accepted code, so no code works twice."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="two_factor")
    secret = models.CharField(max_length=255)  # base32, sealed (twofactor.seal); never shown once confirmed
    confirmed_at = models.DateTimeField(null=True, blank=True)
    last_used_step = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)


class RecoveryCode(OpaqueIdModel):
    """One of a login's single-use recovery codes, kept only as a SHA-256 digest (the codes carry
    80 random bits, so a digest cannot be reversed by guessing)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="recovery_codes")
    code_hash = models.CharField(max_length=64)
    used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "code_hash"], name="recovery_code_unique")]


class UserSession(OpaqueIdModel):
    """One web sign-in, so a person can see where they are signed in and end any of them
    (``rostra.accounts.sessions``). Created by Django's ``user_logged_in`` signal, removed with the
    session.

    ``session_key`` is Django's own key, not a digest: ending a sign-in deletes the session through
    the session backend, which needs the key (the ``django_session`` table holds the same keys)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="web_sessions")
    session_key = models.CharField(max_length=40, unique=True)
    created_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()  # refreshed at most once a minute
    ip = models.CharField(max_length=45, blank=True, default="")  # as text; "" when unknown
    user_agent = models.CharField(max_length=300, blank=True, default="")

    class Meta:
        indexes = [models.Index(fields=["user", "last_seen_at"], name="user_session_user_idx")]


# --- Surge mode (rostra.accounts.surge) ---------------------------------------------------------


class SurgeState(models.Model):
    """The one row (pk 1) saying whether sign-ups are queued: see ``rostra.accounts.surge``.

    ``mode`` is what an admin chose (off, on, auto); ``auto_active`` is whether auto mode has
    found the sign-up rate over its threshold; ``below_since`` starts the 30 minutes a rate below
    the threshold must last before auto mode turns off again."""

    class Mode(models.TextChoices):
        OFF = "off", "Off"
        ON = "on", "On"
        AUTO = "auto", "Automatic"

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    mode = models.CharField(max_length=8, choices=Mode.choices, default=Mode.OFF)
    auto_active = models.BooleanField(default=False)
    below_since = models.DateTimeField(null=True, blank=True)
    message = models.TextField(blank=True, default="")  # the banner; "" for the default words
    changed_at = models.DateTimeField(null=True, blank=True)


class Invite(OpaqueIdModel):
    """An invite link (``/signup?invite=CODE``): skips the surge waitlist, ``max_uses`` times until ``expires_at``."""

    code = models.CharField(max_length=32, unique=True)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField()
    max_uses = models.PositiveIntegerField(default=1)
    uses = models.PositiveIntegerField(default=0)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)


class WaitlistEntry(OpaqueIdModel):
    """A person queued for an account during a surge. Their link carries the id and an HMAC of it
    under the secret key (``rostra.accounts.surge.token_for``), so nothing secret is stored.
    Admitted entries (``admitted_at``) may sign up through that link until ``used_at``. The
    queue's order is the id's (ids sort by time)."""

    email = models.EmailField(max_length=254)
    created_at = models.DateTimeField()
    admitted_at = models.DateTimeField(null=True, blank=True)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(Lower("email"), name="waitlist_email_ci_unique")]
        indexes = [models.Index(fields=["admitted_at", "id"], name="waitlist_queue_idx")]


# --- Case-insensitive lookups that use the indexes -----------------------------------------------


class LowerExact(models.Lookup):
    """``iexact`` as ``LOWER(column) = LOWER(value)``, the expression of the unique indexes above.

    Django's own ``iexact`` is ``LIKE`` on SQLite and ``UPPER(column) = UPPER(value)`` on
    PostgreSQL, which no index on ``lower(...)`` serves: every ``username__iexact`` or
    ``email__iexact`` (sign-up checks, sign-in, WebFinger, mentions, lookups) read the whole table,
    ~60 ms a query on PostgreSQL with 100,000 people. Registered on the fields below only, so every
    existing ``__iexact`` on them is served by its index without changing a call site."""

    lookup_name = "iexact"

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, tuple[Any, ...]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"LOWER({lhs}) = LOWER({rhs})", (*lhs_params, *rhs_params)


for _field in (User._meta.get_field("username"), User._meta.get_field("email"), Account._meta.get_field("username"), WaitlistEntry._meta.get_field("email")):
    assert isinstance(_field, models.CharField)
    _field.register_lookup(LowerExact)
