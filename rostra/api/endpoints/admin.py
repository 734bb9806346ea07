"""The moderators' tools through the client API: Mastodon's admin reports and accounts.
See docs/api-compatibility.md for how Rostra's reports, cases and actions map onto Mastodon's.

Every endpoint needs an admin scope *and* a token whose person is a moderator or an admin
(``rostra.moderation.policies.is_moderator``); anyone else gets 403. Every action goes through
``rostra.moderation.actions``, so each one writes its audit entry and, where it punishes, a
notice naming the rule and the evidence, exactly as from the web tools.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Router, Schema

from rostra.accounts.models import Account, User
from rostra.api import entities, schemas
from rostra.api.endpoints.reports import ReportFields, report_fields, rule_numbers
from rostra.api.http import ApiError, Scoped, body_int, body_params, flag, form_body_openapi, page_request, paginated, token_of
from rostra.core.clock import now
from rostra.core.pagination import Page
from rostra.moderation import actions as moderation
from rostra.moderation import policies
from rostra.moderation import queries as mod_queries
from rostra.moderation.gate import active_policy
from rostra.moderation.models import CATEGORY_CHOICES, Case, ModAction, Report

router = Router(tags=["admin"])

READ_REPORTS = Scoped("admin:read", "admin:read:reports")
WRITE_REPORTS = Scoped("admin:write", "admin:write:reports")
READ_ACCOUNTS = Scoped("admin:read", "admin:read:accounts")
WRITE_ACCOUNTS = Scoped("admin:write", "admin:write:accounts")
NOT_ALLOWED = "This action is not allowed"

# Mastodon's account action types → Rostra's account actions (see the docs for the reasons).
ACTION_KINDS = {"none": ModAction.Kind.WARN, "silence": ModAction.Kind.HOLD_ACCOUNT, "suspend": ModAction.Kind.BAN}
UNSUPPORTED_ACTIONS = {
    "disable": "Rostra has no separate login freeze: suspend the account instead (a suspended person can only read their notices and appeal)",
    "sensitive": "Rostra has no account-wide sensitive mark: label the account's posts instead",
}
CATEGORIES = {c for c, _ in CATEGORY_CHOICES}


class AdminAccount(Schema):
    id: str
    username: str
    domain: str | None
    created_at: str
    email: str
    ip: str | None
    ips: list[Any]
    locale: str
    invite_request: str | None
    role: schemas.Role
    confirmed: bool
    approved: bool
    disabled: bool
    silenced: bool
    suspended: bool
    sensitized: bool
    account: schemas.Account
    created_by_application_id: str | None
    invited_by_account_id: str | None


class AdminReport(ReportFields):
    updated_at: str
    account: AdminAccount
    target_account: AdminAccount
    assigned_account: AdminAccount | None
    action_taken_by_account: AdminAccount | None
    statuses: list[schemas.Status]
    rules: list[schemas.Rule]


class AccountActionIn(Schema):
    type: str
    report_id: str | None = None
    warning_preset_id: str | None = None
    text: str | None = None
    send_email_notification: bool | None = None
    days: int | None = None  # Rostra: suspend for this many days instead of for good
    category: str | None = None  # Rostra: the policy category (rule) the action is under


def moderator_of(request: HttpRequest) -> User:
    """The token's person, if a moderator or an admin; 403 otherwise (as Mastodon answers)."""
    user = token_of(request).user
    if user is None or not policies.is_moderator(user):
        raise ApiError(403, NOT_ALLOWED)
    return user


# --- entities -----------------------------------------------------------------------------------


def admin_account(a: Account, at: datetime | None = None) -> dict[str, Any]:
    """Mastodon's Admin::Account. Rostra keeps no IP addresses, invites or locales."""
    user = a.user
    when = at or now()
    return {
        "id": str(a.pk),
        "username": a.username,
        "domain": a.domain or None,
        "created_at": entities.timestamp(a.created_at),
        "email": user.email if user is not None else "",
        "ip": None,
        "ips": [],
        "locale": "",
        "invite_request": None,
        "role": entities.role(user),
        "confirmed": True,
        "approved": True,
        "disabled": bool(user is not None and not user.is_active),
        "silenced": bool(a.hold_posts_until is not None and a.hold_posts_until > when),
        "suspended": a.suspended_at is not None,
        "sensitized": False,
        "account": entities.account(a),
        "created_by_application_id": None,
        "invited_by_account_id": None,
    }


def _rules(category: str) -> list[dict[str, str]]:
    number = rule_numbers().get(category)
    if number is None:
        return []
    _version, policy = active_policy()
    cp = policy.categories[category]
    return [{"id": number, "text": cp.title, "hint": cp.guideline}]


def admin_report(rep: Report, moderator: User, staff: dict[int, Account] | None = None) -> dict[str, Any]:
    """Mastodon's Admin::Report from a Rostra report and the case it belongs to: the case's live
    claim is ``assigned_account``, whoever closed the case is ``action_taken_by_account``."""
    case: Case | None = rep.case
    when = now()
    if staff is None:
        staff = mod_queries.staff_accounts([u for u in (case.claimed_by, case.closed_by) if u is not None] if case else [])
    assigned = None
    if case is not None and case.status == Case.Status.OPEN and case.claimed_by_id and case.claimed_until and case.claimed_until > when:
        assigned = staff.get(case.claimed_by_id)
    closed_by = staff.get(case.closed_by_id) if case is not None and case.closed_by_id and rep.status != Report.Status.OPEN else None
    posts = mod_queries.report_posts(moderator, rep)
    return {
        **report_fields(rep),
        "updated_at": entities.timestamp(rep.resolved_at or rep.created_at),
        "account": admin_account(rep.reporter, when),
        "target_account": admin_account(rep.account, when),
        "assigned_account": admin_account(assigned, when) if assigned is not None else None,
        "action_taken_by_account": admin_account(closed_by, when) if closed_by is not None else None,
        "statuses": entities.statuses(posts, getattr(moderator, "account", None)),
        "rules": _rules(rep.category),
    }


# --- reports ------------------------------------------------------------------------------------


@router.get("/v1/admin/reports", response=list[AdminReport], auth=READ_REPORTS, summary="Reports (open ones unless resolved=true)")
def list_reports(request: HttpRequest, response: HttpResponse) -> list[dict[str, Any]]:
    user = moderator_of(request)
    req = page_request(request, default_limit=100, max_limit=200)
    page: Page[Report] = mod_queries.admin_reports(
        user, resolved=flag(request, "resolved"), account_id=request.GET.get("account_id"),
        target_account_id=request.GET.get("target_account_id"), req=req,
    )
    paginated(request, response, page)
    staff = mod_queries.staff_accounts([u for r in page.items if r.case for u in (r.case.claimed_by, r.case.closed_by) if u is not None])
    return [admin_report(r, user, staff) for r in page.items]


@router.get("/v1/admin/reports/{report_id}", response=AdminReport, auth=READ_REPORTS, summary="One report")
def get_report(request: HttpRequest, report_id: str) -> dict[str, Any]:
    user = moderator_of(request)
    return admin_report(mod_queries.admin_report(user, report_id), user)


def _case_of(rep: Report) -> Case:
    if rep.case_id is None or rep.case is None:
        raise ApiError(422, "This report is not in the review queue any more")
    return rep.case


@router.post("/v1/admin/reports/{report_id}/assign_to_self", response=AdminReport, auth=WRITE_REPORTS, summary="Claim the report's case")
def assign_to_self(request: HttpRequest, report_id: str) -> dict[str, Any]:
    user = moderator_of(request)
    rep = mod_queries.admin_report(user, report_id)
    moderation.claim(user, _case_of(rep).pk)
    return admin_report(mod_queries.admin_report(user, report_id), user)


@router.post("/v1/admin/reports/{report_id}/unassign", response=AdminReport, auth=WRITE_REPORTS, summary="Release the report's case")
def unassign(request: HttpRequest, report_id: str) -> dict[str, Any]:
    user = moderator_of(request)
    rep = mod_queries.admin_report(user, report_id)
    moderation.release(user, _case_of(rep).pk)
    return admin_report(mod_queries.admin_report(user, report_id), user)


@router.post("/v1/admin/reports/{report_id}/resolve", response=AdminReport, auth=WRITE_REPORTS, summary="Resolve the report (dismiss its case)")
def resolve(request: HttpRequest, report_id: str) -> dict[str, Any]:
    user = moderator_of(request)
    rep = mod_queries.admin_report(user, report_id)
    if rep.status == Report.Status.OPEN:
        case = _case_of(rep)
        if case.status == Case.Status.OPEN:
            moderation.decide_case(user, case.pk, ModAction.Kind.DISMISS, reason="Resolved through the API without action.")
    return admin_report(mod_queries.admin_report(user, report_id), user)


@router.post("/v1/admin/reports/{report_id}/reopen", response=AdminReport, auth=WRITE_REPORTS, summary="Reopen a report (not supported: answers 422)")
def reopen(request: HttpRequest, report_id: str) -> dict[str, Any]:
    user = moderator_of(request)
    rep = mod_queries.admin_report(user, report_id)
    if rep.status == Report.Status.OPEN:
        return admin_report(rep, user)
    raise ApiError(422, "Rostra does not reopen decided cases: appeals reverse actions, and a new report opens a new case")


# --- accounts -----------------------------------------------------------------------------------


def _account_filter(request: HttpRequest, *, v2: bool) -> mod_queries.AccountFilter:
    p = request.GET
    if v2:
        origin = p.get("origin") or ""
        status = p.get("status") or ""
        staff = p.get("permissions") == "staff"
    else:
        origin = "local" if flag(request, "local") else "remote" if flag(request, "remote") else ""
        status = next((s for s in mod_queries.ADMIN_ACCOUNT_STATUSES if flag(request, s)), "")
        staff = flag(request, "staff")
    if origin not in ("", "local", "remote"):
        raise ApiError(422, "origin must be local or remote")
    if status not in ("", *mod_queries.ADMIN_ACCOUNT_STATUSES):
        raise ApiError(422, f"status must be one of {', '.join(mod_queries.ADMIN_ACCOUNT_STATUSES)}")
    return mod_queries.AccountFilter(
        origin=origin, status=status, staff=staff, username=p.get("username") or "", display_name=p.get("display_name") or "",
        by_domain=p.get("by_domain") or "", email=p.get("email") or "",
    )


def _accounts(request: HttpRequest, response: HttpResponse, *, v2: bool) -> list[dict[str, Any]]:
    user = moderator_of(request)
    page = mod_queries.admin_accounts(user, _account_filter(request, v2=v2), page_request(request, default_limit=100, max_limit=200))
    paginated(request, response, page)
    when = now()
    return [admin_account(a, when) for a in page.items]


@router.get("/v1/admin/accounts", response=list[AdminAccount], auth=READ_ACCOUNTS, summary="Accounts, with v1 filters")
def list_accounts_v1(request: HttpRequest, response: HttpResponse) -> list[dict[str, Any]]:
    return _accounts(request, response, v2=False)


@router.get("/v2/admin/accounts", response=list[AdminAccount], auth=READ_ACCOUNTS, summary="Accounts, with v2 filters")
def list_accounts_v2(request: HttpRequest, response: HttpResponse) -> list[dict[str, Any]]:
    return _accounts(request, response, v2=True)


@router.get("/v1/admin/accounts/{account_id}", response=AdminAccount, auth=READ_ACCOUNTS, summary="One account")
def get_account(request: HttpRequest, account_id: str) -> dict[str, Any]:
    return admin_account(mod_queries.admin_account(moderator_of(request), account_id))


@router.post("/v1/admin/accounts/{account_id}/action", response=schemas.Empty, auth=WRITE_ACCOUNTS, summary="Act on an account (warn, silence, suspend)", openapi_extra=form_body_openapi(AccountActionIn))
def account_action(request: HttpRequest, account_id: str) -> dict[str, Any]:
    user = moderator_of(request)
    data = body_params(request)
    kind_name = str(data.get("type") or "")
    if kind_name in UNSUPPORTED_ACTIONS:
        raise ApiError(422, UNSUPPORTED_ACTIONS[kind_name])
    if kind_name not in ACTION_KINDS:
        raise ApiError(422, "Validation failed: type must be none, silence or suspend (disable and sensitive are not supported)")
    account = mod_queries.admin_account(user, account_id)
    kind = ACTION_KINDS[kind_name]
    days = body_int(data.get("days"), "days")
    if kind == ModAction.Kind.BAN and days is not None:
        kind = ModAction.Kind.SUSPEND  # Rostra: a suspension for a period
    category = str(data.get("category") or "")
    if category and category not in CATEGORIES:
        raise ApiError(422, f"Validation failed: category must be one of {', '.join(sorted(CATEGORIES))}")
    reason = str(data.get("text") or "")
    rep = mod_queries.admin_report(user, data["report_id"]) if data.get("report_id") else None
    if rep is not None and rep.account_id != account.pk:
        raise ApiError(422, "Validation failed: the report is about another account")
    if rep is not None and rep.case is not None and rep.case.status == Case.Status.OPEN:
        # Deciding the report's case closes it, resolves its reports and takes their evidence.
        moderation.decide_case(user, rep.case.pk, kind, reason=reason, days=days, category=category or None)
    else:
        moderation.act_on_account(user, account.pk, kind, reason=reason, days=days, category=category or (rep.category if rep else "other"))
    return {}


def _lift(request: HttpRequest, account_id: str, *, needs: str) -> dict[str, Any]:
    user = moderator_of(request)
    account = mod_queries.admin_account(user, account_id)
    when = now()
    if needs == "suspended" and account.suspended_at is None:
        raise ApiError(403, f"{NOT_ALLOWED}: the account is not suspended")
    if needs == "silenced" and not (account.hold_posts_until is not None and account.hold_posts_until > when):
        raise ApiError(403, f"{NOT_ALLOWED}: the account is not silenced")
    moderation.act_on_account(user, account.pk, ModAction.Kind.LIFT, reason=f"Un{needs} through the API.")
    return admin_account(mod_queries.admin_account(user, account_id))


@router.post("/v1/admin/accounts/{account_id}/unsuspend", response=AdminAccount, auth=WRITE_ACCOUNTS, summary="Lift a suspension")
def unsuspend(request: HttpRequest, account_id: str) -> dict[str, Any]:
    return _lift(request, account_id, needs="suspended")


@router.post("/v1/admin/accounts/{account_id}/unsilence", response=AdminAccount, auth=WRITE_ACCOUNTS, summary="Lift a hold on new posts")
def unsilence(request: HttpRequest, account_id: str) -> dict[str, Any]:
    return _lift(request, account_id, needs="silenced")


@router.post("/v1/admin/accounts/{account_id}/unsensitive", response=AdminAccount, auth=WRITE_ACCOUNTS, summary="Unmark sensitive (a no-op: Rostra has no account-wide mark)")
def unsensitive(request: HttpRequest, account_id: str) -> dict[str, Any]:
    user = moderator_of(request)
    return admin_account(mod_queries.admin_account(user, account_id))
