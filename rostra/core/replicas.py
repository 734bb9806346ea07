"""Read replicas: which database a timeline or search read goes to.

With ``DATABASE_REPLICA_URLS`` (PostgreSQL only), settings define one database alias per replica
(``replica_1``, ``replica_2``...) and list them in ``settings.ROSTRA_READ_REPLICAS``. Only the
reads that tolerate a second of lag use them: the public, local, hashtag, tag and profile
timelines and search (``on_replica(qs, viewer)``). Everything else, and every write, stays on the
primary (``ReplicaRouter`` sends every write to ``default`` whatever database an object was read
from).

Replicas lag behind the primary, so a person who has just written (any non-GET request that
succeeded) reads from the primary for ``READ_YOUR_WRITES_SECONDS``: ``ReadYourWritesMiddleware``
marks the window in the cache (shared by every web process when Redis is configured), keyed to
the signed-in user, and ``reader_alias`` honours it.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse

PRIMARY = "default"
READ_YOUR_WRITES_SECONDS = 5
_KEY = "rostra:rw:{}"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})

M = TypeVar("M", bound=Model)


class _Viewer(Protocol):
    user_id: int | None


def replica_aliases() -> list[str]:
    """The configured replica aliases (empty: no replicas, everything reads the primary)."""
    return list(getattr(settings, "ROSTRA_READ_REPLICAS", ()) or ())


def _window_key(user_id: int) -> str:
    return _KEY.format(user_id)


def note_write(user_id: int | None) -> None:
    """Open the read-your-writes window of this user: their reads go to the primary for a while."""
    if user_id is None or not replica_aliases():
        return
    cache.set(_window_key(user_id), 1, READ_YOUR_WRITES_SECONDS)


def recently_wrote(user_id: int | None) -> bool:
    return user_id is not None and cache.get(_window_key(user_id)) is not None


def reader_alias(viewer: _Viewer | None) -> str:
    """The database a lag-tolerant read for ``viewer`` goes to: a replica picked at random, or the
    primary when there is none or the viewer wrote within the window."""
    aliases = replica_aliases()
    if not aliases:
        return PRIMARY
    if viewer is not None and recently_wrote(viewer.user_id):
        return PRIMARY
    return random.choice(aliases)  # noqa: S311 - spreading load, not a secret


def on_replica(qs: QuerySet[M], viewer: _Viewer | None) -> QuerySet[M]:
    """``qs`` read from the database ``reader_alias`` picks (unchanged without replicas)."""
    alias = reader_alias(viewer)
    return qs if alias == PRIMARY else qs.using(alias)


class ReplicaRouter:
    """Writes always go to the primary, even for an object read from a replica; migrations run on
    the primary only. Reads follow Django's default (the alias a queryset names, else the
    primary; related objects from the database their parent came from)."""

    def db_for_read(self, model: type[Model], **hints: Any) -> str | None:
        return None

    def db_for_write(self, model: type[Model], **hints: Any) -> str:
        return PRIMARY

    def allow_relation(self, obj1: Model, obj2: Model, **hints: Any) -> bool:
        return True

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints: Any) -> bool:
        return db == PRIMARY


class ReadYourWritesMiddleware:
    """After a successful write request by a signed-in person (web session or API token), open
    their read-your-writes window. Does nothing without replicas."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.method not in _SAFE_METHODS and response.status_code < 400 and replica_aliases():
            note_write(_writer(request))
        return response


def _writer(request: HttpRequest) -> int | None:
    user = getattr(request, "user", None)
    if user is not None and getattr(user, "is_authenticated", False):
        return int(user.pk)
    token = getattr(request, "auth", None)  # the API's bearer token, set by django-ninja
    user_id = getattr(token, "user_id", None)
    return int(user_id) if user_id is not None else None
