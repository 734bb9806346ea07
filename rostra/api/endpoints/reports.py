"""Reports: ``POST /api/v1/reports``; see docs/api-compatibility.md.

Mastodon's report categories and rule ids map onto Rostra's policy categories: a rule id is a
rule as ``/api/v1/instance/rules`` numbers them (the policy's categories, gravest first), so
``violation`` with ``rule_ids`` names the category; ``spam`` is Rostra's spam; ``legal`` and
``other`` are Rostra's "something else".
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema

from rostra.accounts import queries as account_queries
from rostra.api import entities, schemas
from rostra.api.http import ApiError, Scoped, account_of, as_list, body_params, form_body_openapi, parse_bool
from rostra.core.ids import parse_id
from rostra.moderation import actions as moderation
from rostra.moderation.gate import active_policy
from rostra.moderation.models import Report
from rostra.posts.queries import get_post

router = Router(tags=["reports"])

MASTODON_CATEGORIES = ("spam", "legal", "violation", "other")
MAX_STATUSES = moderation.MAX_EVIDENCE + 1


class ReportIn(Schema):
    account_id: str
    status_ids: list[str] | None = None
    comment: str | None = None
    forward: bool | None = None
    category: str | None = None
    rule_ids: list[str] | None = None


class ReportFields(Schema):
    """The fields Mastodon's Report and Admin::Report share (``report_fields``)."""

    id: str
    action_taken: bool
    action_taken_at: str | None
    category: str
    comment: str
    forwarded: bool
    created_at: str


class ReportOut(ReportFields):
    status_ids: list[str] | None
    rule_ids: list[str] | None
    target_account: schemas.Account


def rule_numbers() -> dict[str, str]:
    """Policy category name → its rule id in /api/v1/instance/rules."""
    _version, policy = active_policy()
    return {c.name: str(i) for i, c in enumerate(policy.guidelines(), start=1)}


def mastodon_category(category: str) -> tuple[str, list[str]]:
    """A Rostra category as Mastodon's (category, rule_ids)."""
    if category == "spam":
        return "spam", []
    if category == "other":
        return "other", []
    number = rule_numbers().get(category)
    return "violation", [number] if number else []


def report_fields(rep: Report) -> dict[str, Any]:
    """What Mastodon's Report and Admin::Report share (the fields up to ``created_at``)."""
    return {
        "id": str(rep.pk),
        "action_taken": rep.status != Report.Status.OPEN,
        "action_taken_at": entities.timestamp(rep.resolved_at),
        "category": mastodon_category(rep.category)[0],
        "comment": rep.comment,
        "forwarded": rep.forwarded,
        "created_at": entities.timestamp(rep.created_at),
    }


def report_entity(rep: Report) -> dict[str, Any]:
    _category, rule_ids = mastodon_category(rep.category)
    return {
        **report_fields(rep),
        "status_ids": [str(i) for i in dict.fromkeys([*([rep.post_id] if rep.post_id else []), *rep.evidence_post_ids])],
        "rule_ids": rule_ids,
        "target_account": entities.account(rep.account),
    }


def rostra_category(category: str, rule_ids: list[Any]) -> str:
    """Mastodon's category and rule ids → one Rostra category (422 for unknown ones)."""
    if category and category not in MASTODON_CATEGORIES:
        raise ApiError(422, f"Validation failed: category must be one of {', '.join(MASTODON_CATEGORIES)}")
    if rule_ids:
        by_number = {number: name for name, number in rule_numbers().items()}
        names = [by_number.get(str(r)) for r in rule_ids]
        if None in names:
            raise ApiError(422, "Validation failed: rule_ids must be rules from /api/v1/instance/rules")
        if category in ("", "violation"):  # Mastodon: rule ids make a report a violation report
            return str(names[0])
    if category == "spam":
        return "spam"
    return "other"


@router.post("/v1/reports", response=ReportOut, auth=Scoped("write", "write:reports"), summary="Report an account and some of its statuses", openapi_extra=form_body_openapi(ReportIn))
@router.post("/v1/reports/", response=ReportOut, auth=Scoped("write", "write:reports"), include_in_schema=False)  # Mastodon.py's path
def create_report(request: HttpRequest) -> dict[str, Any]:
    reporter = account_of(request)
    data = body_params(request)
    account_id = parse_id(data.get("account_id"))
    if account_id is None:
        raise ApiError(422, "Validation failed: account_id is missing or not an account id")
    category = rostra_category(str(data.get("category") or ""), as_list(data.get("rule_ids")))
    forward = bool(parse_bool(data.get("forward"), "forward", default=False))
    target = account_queries.get_account(account_id)
    status_ids = list(dict.fromkeys(as_list(data.get("status_ids"))))
    if len(status_ids) > MAX_STATUSES:
        raise ApiError(422, f"Validation failed: report at most {MAX_STATUSES} statuses")
    posts = [get_post(reporter, sid) for sid in status_ids]  # through the door: an invisible post is a 404
    if any(p.author_id != target.pk for p in posts):
        raise ApiError(422, "Validation failed: the statuses must be the reported account's")
    rep = moderation.report(
        reporter,
        account_id=target.pk if not posts else None,
        post_id=posts[0].pk if posts else None,
        category=category,
        comment=str(data.get("comment") or ""),
        evidence_post_ids=[p.pk for p in posts[1:]],
        forward=forward,
    )
    rep.account = target
    # Forwarded: sent to the reported account's own server (a remote one) as a Flag
    return report_entity(rep)
