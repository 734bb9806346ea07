"""Suggestions: whom to follow, from local activity (GET /api/v2/suggestions, /api/v1/suggestions,
DELETE /api/v1/suggestions/:account_id). See ``rostra.accounts.queries.suggestions``."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema

from rostra.accounts import actions as account_actions
from rostra.accounts import queries as account_queries
from rostra.api import entities, schemas
from rostra.api.http import Scoped, account_of, path_id

router = Router(tags=["suggestions"])

DEFAULT_LIMIT = 40
MAX_LIMIT = 80

# Mastodon 4.3's sources, and the deprecated single ``source`` each one maps to.
LEGACY_SOURCE = {"friends_of_friends": "past_interactions", "most_followed": "global", "featured": "staff"}


class Suggestion(Schema):
    source: str
    sources: list[str]
    account: schemas.Account


def _limit(limit: int) -> int:
    return max(1, min(MAX_LIMIT, limit))


@router.get("/v2/suggestions", response=list[Suggestion], auth=Scoped("read:accounts"), summary="Accounts you might follow, with why")
def suggestions_v2(request: HttpRequest, limit: int = DEFAULT_LIMIT) -> list[dict[str, Any]]:
    viewer = account_of(request)
    return [
        {"source": LEGACY_SOURCE.get(s.source, "global"), "sources": [s.source], "account": entities.account(s.account)}
        for s in account_queries.suggestions(viewer, _limit(limit))
    ]


@router.get("/v1/suggestions", response=list[schemas.Account], auth=Scoped("read:accounts"), summary="Accounts you might follow (v1)")
def suggestions_v1(request: HttpRequest, limit: int = DEFAULT_LIMIT) -> list[dict[str, Any]]:
    viewer = account_of(request)
    return [entities.account(s.account) for s in account_queries.suggestions(viewer, _limit(limit))]


@router.delete("/v1/suggestions/{account_id}", response=schemas.Empty, auth=Scoped("write:accounts"), summary="Stop suggesting an account")
def dismiss(request: HttpRequest, account_id: str) -> dict[str, Any]:
    viewer = account_of(request)
    account_actions.dismiss_suggestion(viewer, account_queries.get_account(path_id(account_id)))
    return {}
