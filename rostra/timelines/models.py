from __future__ import annotations

from django.db import models

from rostra.accounts.models import Account
from rostra.posts.models import Post


class HomeEntry(models.Model):
    """One post in one person's home timeline (the database backend of fan-out on write).

    Internal rows: their sequence id never leaves the database; pages are keyed by post id.
    """

    owner = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="home_entries")
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="home_entries")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["owner", "post"], name="home_entry_unique")]
        indexes = [models.Index(fields=["owner", "-post"], name="home_owner_post_idx")]
