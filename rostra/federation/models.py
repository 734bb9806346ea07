"""What federation keeps: actors' signing keys, the inbox as received, and tombstones.

The inbox is stored first and processed later (``InboxItem``): the view checks the signature and
size, writes the row, and answers 202; handlers (one per activity type) turn rows into posts,
follows and the rest afterwards. A row's ``activity_id`` is unique, so a replayed activity is
acknowledged but stored, and processed, once.
"""

from __future__ import annotations

from django.db import models

from rostra.accounts.models import Account
from rostra.core.models import OpaqueIdModel
from rostra.posts.models import Post

MAX_ID_LENGTH = 2048  # URLs longer than this are refused (400) before anything is stored


class ActorKey(OpaqueIdModel):
    """A local actor's RSA key pair for HTTP Signatures, made on first need.

    The private key is sealed at rest (``rostra.core.sealing``): a leaked database does not let
    anyone sign as the instance's people."""

    account = models.OneToOneField(Account, on_delete=models.CASCADE, related_name="actor_key")
    public_key_pem = models.TextField()
    private_key_pem = models.TextField()  # sealed; see rostra.federation.keys
    created_at = models.DateTimeField(auto_now_add=True)


class RemoteKey(OpaqueIdModel):
    """A remote actor's public key, fetched from its actor document to check its signatures."""

    key_id = models.CharField(max_length=MAX_ID_LENGTH, unique=True)
    owner = models.CharField(max_length=MAX_ID_LENGTH)  # the actor URL the key belongs to
    public_key_pem = models.TextField()
    fetched_at = models.DateTimeField()
    # The last time a failed verification made Rostra fetch the key again (key rotation): at most
    # once per ``signatures_keys.REFETCH_EVERY``, so forged requests cannot make it fetch on demand.
    refetched_at = models.DateTimeField(null=True, blank=True)


class InboxState(models.TextChoices):
    PENDING = "pending", "Received, not yet processed"
    PROCESSED = "processed", "Processed"
    FAILED = "failed", "Processing failed"
    IGNORED = "ignored", "Not an activity Rostra processes"


class InboxItem(OpaqueIdModel):
    """One activity as it arrived, signature checked, waiting for its handler."""

    activity_id = models.CharField(max_length=MAX_ID_LENGTH, unique=True)
    activity_type = models.CharField(max_length=64)
    actor = models.CharField(max_length=MAX_ID_LENGTH)  # equals the signing key's owner (C3)
    key_id = models.CharField(max_length=MAX_ID_LENGTH)
    recipient = models.ForeignKey(
        Account, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )  # None: the shared inbox
    body = models.JSONField()
    state = models.CharField(max_length=16, choices=InboxState.choices, default=InboxState.PENDING)
    received_at = models.DateTimeField()
    processed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=500, blank=True, default="")  # why it failed or was ignored
    # A transient failure (a remote unreachable, timing out or answering 5xx) leaves the item
    # pending and sets when to try again (``receive.INBOX_RETRY_SCHEDULE``); attempts counts them.
    attempts = models.PositiveSmallIntegerField(default=0)
    retry_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["state", "id"], name="inbox_item_state_idx")]


class Tombstone(OpaqueIdModel):
    """A deleted public post: only its id and URL, so fetching it answers 410 Gone, not 404."""

    post_id = models.BigIntegerField(unique=True)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    uri = models.CharField(max_length=MAX_ID_LENGTH)
    deleted_at = models.DateTimeField()


class RemoteActor(OpaqueIdModel):
    """What federation needs to know about a remote account (an ``Account`` with a domain): where
    its documents and inboxes are. Written when an actor document is fetched or arrives."""

    account = models.OneToOneField(Account, on_delete=models.CASCADE, related_name="remote_actor")
    uri = models.CharField(max_length=MAX_ID_LENGTH, unique=True)  # the actor's id
    url = models.CharField(max_length=MAX_ID_LENGTH, blank=True, default="")  # its profile page
    inbox = models.CharField(max_length=MAX_ID_LENGTH)
    shared_inbox = models.CharField(max_length=MAX_ID_LENGTH, blank=True, default="")
    outbox = models.CharField(max_length=MAX_ID_LENGTH, blank=True, default="")
    followers = models.CharField(max_length=MAX_ID_LENGTH, blank=True, default="")
    following = models.CharField(max_length=MAX_ID_LENGTH, blank=True, default="")
    featured = models.CharField(max_length=MAX_ID_LENGTH, blank=True, default="")
    actor_type = models.CharField(max_length=32, default="Person")  # Person, Service (bot), Group, ...
    fetched_at = models.DateTimeField()
    # Avatar and header (``rostra.federation.media``): the URLs the actor document names, and the
    # URLs the account's cached files were made from; when they differ, the images are fetched again.
    avatar_url = models.CharField(max_length=MAX_ID_LENGTH, blank=True, default="")
    header_url = models.CharField(max_length=MAX_ID_LENGTH, blank=True, default="")
    avatar_cached_from = models.CharField(max_length=MAX_ID_LENGTH, blank=True, default="")
    header_cached_from = models.CharField(max_length=MAX_ID_LENGTH, blank=True, default="")


class RemotePost(OpaqueIdModel):
    """The ActivityPub id (and page URL) of a post that came from another server: how Updates,
    Deletes, replies, likes and announces from the fediverse find the local row."""

    post = models.OneToOneField(Post, on_delete=models.CASCADE, related_name="remote")
    uri = models.CharField(max_length=MAX_ID_LENGTH, unique=True)
    url = models.CharField(max_length=MAX_ID_LENGTH, blank=True, default="")


class InboundFollow(OpaqueIdModel):
    """The id of a remote ``Follow`` activity for one of our accounts: the ``Accept`` (or
    ``Reject``) sent back names it, and an ``Undo`` of it ends the follow."""

    follower = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")  # the remote account
    target = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")  # the local account
    activity_id = models.CharField(max_length=MAX_ID_LENGTH)
    received_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["follower", "target"], name="inbound_follow_unique")]


# --- Delivery: the outbox of activities sent to other servers (rostra.federation.delivery) ---------


class OutboxActivity(OpaqueIdModel):
    """One activity this instance sends, as it goes over the wire. Its id is unique, so a
    pipeline handler that runs twice builds it once; ``subject`` is the local object it is about
    (a note's or a follow's URI), which is how a later Delete or Undo finds what went before."""

    activity_id = models.CharField(max_length=MAX_ID_LENGTH, unique=True)
    activity_type = models.CharField(max_length=32)
    # None only for a deleted account's farewell (the Delete of its actor, sent after it is gone,
    # signed with ``sealed_key``); its other activities are deleted with it (delivery.on_account_purged).
    sender = models.ForeignKey(Account, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    subject = models.CharField(max_length=MAX_ID_LENGTH, blank=True, default="", db_index=True)
    body = models.JSONField()
    created_at = models.DateTimeField()
    sealed_key = models.TextField(blank=True, default="")  # the farewell's signing key, sealed as ActorKey's


class DeliveryState(models.TextChoices):
    PENDING = "pending", "Waiting to be sent (or retried)"
    DONE = "done", "Accepted by the remote (2xx)"
    FAILED = "failed", "Given up: refused for good, or out of retries"


class Delivery(OpaqueIdModel):
    """One activity to one remote inbox (a shared inbox stands for every follower behind it).
    A state machine on the row: pending → done | failed, with ``next_attempt_at`` moved along
    the retry schedule and by a lease while a worker sends it."""

    activity = models.ForeignKey(OutboxActivity, on_delete=models.CASCADE, related_name="deliveries")
    inbox = models.CharField(max_length=MAX_ID_LENGTH)
    domain = models.CharField(max_length=255)  # the inbox's host[:port], the circuit breaker's key
    state = models.CharField(max_length=16, choices=DeliveryState.choices, default=DeliveryState.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    last_status = models.PositiveIntegerField(null=True, blank=True)  # the last HTTP status, if any
    last_error = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["activity", "inbox"], name="delivery_activity_inbox_unique")]
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="delivery_due_idx")]


class DomainHealth(OpaqueIdModel):
    """The circuit breaker of one remote domain: consecutive failures since the last success;
    while ``paused_until`` is ahead, nothing is sent there (deliveries wait); after it, one probe."""

    domain = models.CharField(max_length=255, unique=True)
    consecutive_failures = models.PositiveIntegerField(default=0)
    failing_since = models.DateTimeField(null=True, blank=True)
    paused_until = models.DateTimeField(null=True, blank=True)
    pauses = models.PositiveIntegerField(default=0)  # pauses in a row, each longer (capped)
    # Which HTTP Signatures scheme the domain's inboxes accepted ("rfc9421" or "cavage"; "" not yet
    # known) and when that was learnt: deliveries try RFC 9421 first and fall back (double-knocking).
    signature_scheme = models.CharField(max_length=16, blank=True, default="")
    signature_scheme_at = models.DateTimeField(null=True, blank=True)


class InstanceKey(OpaqueIdModel):
    """The instance actor's RSA key pair (``rostra.federation.instance_actor``): it signs the
    GETs Rostra makes of other servers' documents. One row, made on first need; the private
    half is sealed at rest like ``ActorKey``'s."""

    name = models.CharField(max_length=16, unique=True, default="instance")
    public_key_pem = models.TextField()
    private_key_pem = models.TextField()  # sealed
    created_at = models.DateTimeField(auto_now_add=True)


# --- Instance policy: domain blocks and the allow-list (rostra.federation.policy) --------------------


class Severity(models.TextChoices):
    SILENCE = "silence", "Silence: off public timelines, follows need approval"
    SUSPEND = "suspend", "Suspend: nothing exchanged, its accounts and posts hidden"
    NOOP = "noop", "None: only the media or report options below"


class DomainBlock(OpaqueIdModel):
    """A moderation decision about a whole remote domain (and its subdomains), as Mastodon's.
    ``domain`` is normalised (``policy.normalize_domain``): lower case, punycode, no port."""

    domain = models.CharField(max_length=255, unique=True)
    severity = models.CharField(max_length=16, choices=Severity.choices, default=Severity.SILENCE)
    reject_media = models.BooleanField(default=False)
    reject_reports = models.BooleanField(default=False)
    private_comment = models.TextField(blank=True, default="")  # for moderators only
    public_comment = models.TextField(blank=True, default="")  # shown on the about page and the API
    obfuscate = models.BooleanField(default=False)  # publish the domain with some letters starred
    created_by = models.ForeignKey(Account, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()


class DomainAllow(OpaqueIdModel):
    """A domain this instance federates with in allow-list mode (``ROSTRA_FEDERATION_MODE``)."""

    domain = models.CharField(max_length=255, unique=True)
    created_by = models.ForeignKey(Account, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField()


class QuestionSync(OpaqueIdModel):
    """A local poll's counts as last announced to other servers (``Update`` of the ``Question``).
    Votes mark it ``dirty``; an Update goes out at most once a minute per poll
    (``rostra.federation.polls``), and once more when the poll closes."""

    poll = models.OneToOneField("posts.Poll", on_delete=models.CASCADE, related_name="+")
    dirty = models.BooleanField(default=False)
    sent_at = models.DateTimeField(null=True, blank=True)


# --- Remote media: where a remote post's attachments came from (rostra.federation.media) ----------


class RemoteMediaState(models.TextChoices):
    PENDING = "pending", "Waiting to be fetched"
    CACHED = "cached", "Fetched, processed and stored here"
    FAILED = "failed", "Fetching or processing failed; shown from its origin"
    REMOTE = "remote", "Not fetched (video, audio or unknown kind); shown from its origin"
    REJECTED = "rejected", "Not fetched: the instance policy rejects media from its domain"
    PRUNED = "pruned", "Was cached, removed by the cache's retention; shown from its origin"


class RemoteMedia(OpaqueIdModel):
    """The origin of a remote post's attachment. The attachment itself is a ``posts.Media`` row
    (so the door, the API, the web, deletion and purges treat it like any media); until its file
    is fetched and processed, that row names no file (``Media.awaiting_file``) and the surfaces
    show ``remote_url``, as Mastodon does for media it has not downloaded."""

    media = models.OneToOneField("posts.Media", on_delete=models.CASCADE, related_name="remote")
    remote_url = models.CharField(max_length=MAX_ID_LENGTH)
    kind = models.CharField(max_length=16, default="image")  # Mastodon's type: image, video, audio, unknown
    blurhash = models.CharField(max_length=100, blank=True, default="")
    state = models.CharField(max_length=16, choices=RemoteMediaState.choices, default=RemoteMediaState.PENDING)
    error = models.CharField(max_length=300, blank=True, default="")
    created_at = models.DateTimeField()
    fetched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["state", "fetched_at"], name="remote_media_state_idx")]
