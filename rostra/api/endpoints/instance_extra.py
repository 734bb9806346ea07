"""Instance extras phone apps ask for on start-up: peers, weekly activity, the extended
description, privacy policy and terms, translation languages, domain blocks and languages.
See docs/api-compatibility.md (Accounts)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils.html import escape
from ninja import Router, Schema

from rostra.accounts import queries as account_queries
from rostra.api import schemas
from rostra.api.http import ApiError
from rostra.core.languages import LANGUAGES

router = Router(tags=["instance"])


class Activity(Schema):
    week: str
    statuses: str
    logins: str
    registrations: str


class ExtendedDescription(Schema):
    updated_at: str | None
    content: str


class PrivacyPolicy(Schema):
    updated_at: str
    content: str


class TermsOfService(Schema):
    effective_date: str
    effective: bool
    content: str
    succeeded_by: str | None


class DomainBlock(Schema):  # served by rostra.federation.admin_api (the instance policy)
    domain: str
    digest: str
    severity: str
    comment: str | None = None


class Language(Schema):
    code: str
    name: str


@router.get("/v1/instance/peers", response=list[str], auth=None, summary="Domains this instance knows ([]: no federation yet)")
def peers(request: HttpRequest) -> list[str]:
    return []


@router.get("/v1/instance/activity", response=list[Activity], auth=None, summary="Weekly local activity over the last 12 weeks")
def activity(request: HttpRequest) -> list[dict[str, str]]:
    return [
        {
            "week": str(int(w.week.timestamp())),
            "statuses": str(w.statuses),
            "logins": str(w.logins),
            "registrations": str(w.registrations),
        }
        for w in account_queries.weekly_activity()
    ]


@router.get(
    "/v1/instance/extended_description",
    response=ExtendedDescription,
    auth=None,
    summary="The instance's description as HTML",
)
def extended_description(request: HttpRequest) -> dict[str, Any]:
    text = settings.ROSTRA.instance_description.strip()
    # The description is a setting, not a record: there is no time it was last changed.
    return {"updated_at": None, "content": f"<p>{escape(text)}</p>" if text else ""}


@router.get(
    "/v1/instance/privacy_policy",
    response={200: PrivacyPolicy, 404: schemas.Error},
    auth=None,
    summary="The privacy policy (404: Rostra publishes none)",
)
def privacy_policy(request: HttpRequest) -> Any:
    raise ApiError(404, "Record not found")


@router.get(
    "/v1/instance/terms_of_service",
    response={200: TermsOfService, 404: schemas.Error},
    auth=None,
    summary="The terms of service (404: Rostra publishes none)",
)
def terms_of_service(request: HttpRequest) -> Any:
    raise ApiError(404, "Record not found")


@router.get(
    "/v1/instance/translation_languages",
    response=dict[str, list[str]],
    auth=None,
    summary="Translation pairs ({}: Rostra does not translate)",
)
def translation_languages(request: HttpRequest) -> dict[str, list[str]]:
    return {}


@router.get("/v1/instance/languages", response=list[Language], auth=None, summary="The languages posts may be written in")
def languages(request: HttpRequest) -> list[dict[str, str]]:
    return [{"code": code, "name": name} for code, name in LANGUAGES.items()]
