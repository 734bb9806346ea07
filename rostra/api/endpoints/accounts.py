"""Accounts: for now, the signed-in person's own account (verify_credentials)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router

from rostra.accounts import queries as account_queries
from rostra.api import entities, schemas
from rostra.api.http import Scoped, account_of

router = Router(tags=["accounts"])


@router.get(
    "/v1/accounts/verify_credentials",
    response=schemas.CredentialAccount,
    auth=Scoped("read:accounts", "profile"),
    summary="The signed-in person's account, with its source",
)
def verify_credentials(request: HttpRequest) -> dict[str, Any]:
    account = account_of(request)
    return entities.credential_account(account, follow_requests_count=account_queries.follow_request_count(account))
