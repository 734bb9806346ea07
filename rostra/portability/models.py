"""A person's archive exports and CSV imports: long-running work as explicit states on rows.

Both belong to an account and go with it (``on_delete=CASCADE``); the archive files on disk
are removed after the account's deletion by the pipeline (``account.deleted``), and after seven
days by the expiry task. ``done``/``total`` are what the progress bars show.
"""

from __future__ import annotations

from django.db import models

from rostra.accounts.models import Account
from rostra.core.models import OpaqueIdModel


class JobState(models.TextChoices):
    PENDING = "pending", "Waiting to start"
    RUNNING = "running", "In progress"
    READY = "ready", "Ready"  # an export's archive can be downloaded; an import is finished
    FAILED = "failed", "Failed"


class Export(OpaqueIdModel):
    """One archive of everything an account owns: pending → running → ready | failed."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="exports")
    state = models.CharField(max_length=16, choices=JobState.choices, default=JobState.PENDING)
    file_name = models.CharField(max_length=100, blank=True, default="")  # <32 hex>.zip under exports/<account id>/
    size = models.PositiveBigIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)  # posts written so far
    total = models.PositiveIntegerField(default=0)  # posts to write
    error = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField()
    heartbeat_at = models.DateTimeField(null=True, blank=True)  # a running job touches this as it goes
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["account", "-created_at"], name="export_account_idx"),
            models.Index(fields=["expires_at"], name="export_expires_idx"),
        ]


class ImportKind(models.TextChoices):
    FOLLOWING = "following", "People you follow"
    BLOCKS = "blocks", "People you block"
    MUTES = "mutes", "People you mute"
    LISTS = "lists", "Lists and their members"
    BOOKMARKS = "bookmarks", "Bookmarks"


class ImportMode(models.TextChoices):
    MERGE = "merge", "Merge: keep what you have and add what the file names"
    OVERWRITE = "overwrite", "Overwrite: make yours exactly what the file names"


class Import(OpaqueIdModel):
    """One CSV import, validated as a whole before this row exists: pending → running → ready.

    ``rows`` holds the parsed rows with their line numbers; ``outcome`` counts what happened to
    them and ``issues`` lists the rows that could not be applied, with the reason."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="imports")
    kind = models.CharField(max_length=16, choices=ImportKind.choices)
    mode = models.CharField(max_length=16, choices=ImportMode.choices, default=ImportMode.MERGE)
    file_name = models.CharField(max_length=200, blank=True, default="")  # as uploaded, for the person's own reference
    state = models.CharField(max_length=16, choices=JobState.choices, default=JobState.PENDING)
    rows = models.JSONField(default=list)
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    outcome = models.JSONField(default=dict)  # {"applied": n, "requested": n, "not_found": n, "failed": n}
    issues = models.JSONField(default=list)  # [{"line": n, "value": "...", "reason": "..."}], capped
    overwritten = models.BooleanField(default=False)  # overwrite mode's removal step has run
    created_at = models.DateTimeField()
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["account", "-created_at"], name="import_account_idx")]


class ImportedPost(OpaqueIdModel):
    """A post restored from an account archive, by the address it had on the old server.

    Importing the same archive again skips what is mapped here (no duplicates), replies and
    quotes between imported posts are re-linked through it, and ``GET /imported?uri=<old URL>``
    redirects the old address to the restored post. Anyone may restore any archive (its posts
    become theirs, as copying public text would), so an old address may be mapped into several
    accounts here; the redirect goes only to the account the old actor (``old_actor``, the
    archive's actor id) is known to have moved to, so a forged archive cannot capture someone
    else's old addresses."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="imported_posts")
    old_uri = models.CharField(max_length=2048, db_index=True)
    old_actor = models.CharField(max_length=2048, blank=True, default="")
    post = models.ForeignKey("posts.Post", on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "old_uri"], name="imported_post_account_uri_unique")]
