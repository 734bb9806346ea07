from __future__ import annotations

from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _ensure_index(sender: AppConfig, using: str = "default", **kwargs: Any) -> None:
    from django.db import connections

    from rostra.search import schema

    schema.ensure(connections[using])


class SearchConfig(AppConfig):
    name = "rostra.search"
    label = "search"

    def ready(self) -> None:
        # Schema upkeep, not a domain side effect: a table rebuild by a later posts migration
        # on SQLite drops the index triggers, and this puts them back.
        post_migrate.connect(_ensure_index, sender=self, dispatch_uid="rostra.search.ensure_index")
