"""Looking into home timelines whichever store holds them (database rows, or Redis sets when the
suite runs with ROSTRA_TEST_REDIS_URL)."""

from __future__ import annotations

from rostra.accounts.models import Account
from rostra.timelines.store import get_store


def owners(post) -> set[int]:
    store = get_store()
    return {pk for pk in Account.objects.values_list("pk", flat=True) if store.has(pk, post.pk)}


def holds(owner, post) -> bool:
    return get_store().has(owner.pk, post.pk)


def clear(owner) -> None:
    get_store().clear(owner.pk)
