"""What members see of trust and safety: reporting, their notices and appeals, and jury service.

Every page works without JavaScript: forms post, errors re-render the page (400) with the
messages next to the fields, and success redirects (post/redirect/get). Suspended people can
still sign in, so nothing here asks whether the account is suspended.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from rostra.accounts import queries as account_queries
from rostra.accounts.models import Account
from rostra.core.errors import NotFound, ValidationError
from rostra.core.ids import parse_id
from rostra.moderation import actions, inbox
from rostra.web.cards import card
from rostra.web.http import account_required, domain_errors, me

VOTE_CHOICES = [("reverse", "Reverse the decision"), ("uphold", "Uphold the decision")]


def _id(raw: Any) -> int:
    value = parse_id(raw)
    if value is None:
        raise NotFound("No such page.")
    return value


def _field_errors(exc: ValidationError) -> dict[str, list[str]]:
    return {k: list(v) for k, v in exc.errors.items()}


# ---- reports ---------------------------------------------------------------------------------


def _report_target(request: HttpRequest, reporter: Account) -> inbox.ReportTarget:
    source = request.POST if request.method == "POST" else request.GET
    post_id = parse_id(source.get("post") or "") if source.get("post") else None
    account_id = parse_id(source.get("account") or "") if source.get("account") else None
    if post_id is None and account_id is None:
        raise NotFound("Say which post or account you are reporting.")
    target = inbox.report_target(reporter, post_id=post_id, account_id=account_id)
    if target.account.pk == reporter.pk:
        raise ValidationError("You cannot report yourself.")
    return target


@require_http_methods(["GET", "POST"])
@domain_errors
@account_required
def report(request: HttpRequest) -> HttpResponse:
    # Parse and authorise: the target must be something the reporter can see.
    reporter = me(request)
    target = _report_target(request, reporter)
    values: dict[str, Any] = {"category": "", "comment": "", "evidence": set(), "forward": False}
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        raw_evidence = request.POST.getlist("evidence")
        evidence = [parse_id(x) for x in raw_evidence]
        values = {
            "category": request.POST.get("category", ""), "comment": request.POST.get("comment", ""), "evidence": {e for e in evidence if e},
            "forward": request.POST.get("forward") == "1" and not target.account.is_local,  # to a remote's moderators
        }
        try:
            if any(e is None for e in evidence):
                raise ValidationError("Evidence must be posts by the reported account that you can see.", field="evidence")
            # Act
            rep = actions.report(
                reporter,
                post_id=target.post.pk if target.post else None,
                account_id=None if target.post else target.account.pk,
                category=values["category"],
                comment=values["comment"],
                evidence_post_ids=[e for e in evidence if e is not None],
                forward=values["forward"],
            )
        except ValidationError as exc:
            errors = _field_errors(exc)
        else:
            return HttpResponseRedirect(f"/report/sent/{rep.pk}")
    # Render the form (again, with the messages next to the fields)
    ctx = {
        "target": target,
        "target_card": card(target.post, reporter) if target.post is not None and target.visible else None,
        "categories": inbox.report_categories(),
        "choices": [card(p, reporter) for p in inbox.evidence_choices(reporter, target)],
        "values": values,
        "errors": errors,
        "general_errors": [m for k, v in errors.items() if k not in ("category", "comment", "evidence") for m in v],
    }
    return render(request, "rostra/moderation/member_report.html", ctx, status=400 if errors else 200)


@require_GET
@domain_errors
@account_required
def report_sent(request: HttpRequest, report_id: str) -> HttpResponse:
    reporter = me(request)
    rep = inbox.own_report(reporter, _id(report_id))
    target = rep.account
    return render(request, "rostra/moderation/member_report_sent.html", {
        "report": rep,
        "target": target,
        "rel": account_queries.relationship(reporter, target),
        "local": target.domain == "",
        "here": f"/report/sent/{rep.pk}",
    })


# ---- notices and appeals ---------------------------------------------------------------------


@require_GET
@domain_errors
@account_required
def notices(request: HttpRequest) -> HttpResponse:
    rows = inbox.notices(me(request))
    return render(request, "rostra/moderation/member_notices.html", {"rows": rows, "nav": "notices"})


@require_GET
@domain_errors
@account_required
def notice_for_post(request: HttpRequest, post_id: str) -> HttpResponse:
    """The "see the notice" link on a post card (cards know the post, not the action)."""
    action_id = inbox.notice_action_for_post(me(request), _id(post_id))
    return HttpResponseRedirect(f"/notices/{action_id}" if action_id is not None else "/notices")


def _render_notice(request: HttpRequest, account: Account, action_id: int, *, errors: dict[str, list[str]] | None = None,
                   values: dict[str, str] | None = None) -> HttpResponse:
    detail = inbox.notice(account, action_id)  # NotFound for anyone but the person acted against
    ctx = {
        "d": detail,
        "post_card": card(detail.post, account) if detail.post is not None else None,
        "errors": errors or {},
        "values": values or {},
        "nav": "notices",
        "here": f"/notices/{action_id}",
    }
    return render(request, "rostra/moderation/member_notice.html", ctx, status=400 if errors else 200)


@require_GET
@domain_errors
@account_required
def notice(request: HttpRequest, action_id: str) -> HttpResponse:
    account = me(request)
    aid = _id(action_id)
    response = _render_notice(request, account, aid)
    actions.mark_notice_read(account, aid)  # opening it reads it; the page above still says it was new
    return response


@require_POST
@domain_errors
@account_required
def appeal(request: HttpRequest, action_id: str) -> HttpResponse:
    account = me(request)
    aid = _id(action_id)
    inbox.notice(account, aid)  # the same door as the page: 404 for anyone else
    statement = request.POST.get("statement", "")
    try:
        actions.appeal(account, aid, statement)
    except ValidationError as exc:
        return _render_notice(request, account, aid, errors=_field_errors(exc), values={"statement": statement})
    messages.success(request, "Your appeal is sent. A moderator other than the one who acted will read it; you can add to the conversation below until they decide.")
    return HttpResponseRedirect(f"/notices/{aid}")


@require_POST
@domain_errors
@account_required
def appeal_message(request: HttpRequest, action_id: str) -> HttpResponse:
    account = me(request)
    aid = _id(action_id)
    detail = inbox.notice(account, aid)
    if detail.appeal is None:
        raise NotFound("No appeal yet.")
    body = request.POST.get("body", "")
    try:
        actions.appeal_message(request.user, detail.appeal.pk, body)  # type: ignore[arg-type]
    except ValidationError as exc:
        return _render_notice(request, account, aid, errors=_field_errors(exc), values={"body": body})
    messages.success(request, "Your message is added to the appeal.")
    return HttpResponseRedirect(f"/notices/{aid}#conversation")


# ---- the community jury ----------------------------------------------------------------------


@require_GET
@domain_errors
@account_required
def juries(request: HttpRequest) -> HttpResponse:
    return render(request, "rostra/moderation/member_jury_list.html", {"rows": inbox.jury_seats(me(request)), "nav": "jury"})


def _render_jury(request: HttpRequest, account: Account, jury_id: int, *, errors: dict[str, list[str]] | None = None,
                 values: dict[str, str] | None = None) -> HttpResponse:
    case = inbox.jury_case(account, jury_id)  # NotFound for anyone not seated on it
    ctx = {
        "case": case,
        "vote_choices": VOTE_CHOICES,
        "errors": errors or {},
        "values": values or {},
        "nav": "jury",
        "here": f"/jury/{jury_id}",
    }
    return render(request, "rostra/moderation/member_jury.html", ctx, status=400 if errors else 200)


@require_GET
@domain_errors
@account_required
def jury(request: HttpRequest, jury_id: str) -> HttpResponse:
    return _render_jury(request, me(request), _id(jury_id))


@require_POST
@domain_errors
@account_required
def vote(request: HttpRequest, jury_id: str) -> HttpResponse:
    account = me(request)
    jid = _id(jury_id)
    inbox.jury_case(account, jid)
    values = {"vote": request.POST.get("vote", ""), "reason": request.POST.get("reason", "")}
    try:
        actions.vote(account, jid, values["vote"], values["reason"])
    except ValidationError as exc:
        return _render_jury(request, account, jid, errors=_field_errors(exc), values=values)
    messages.success(request, "Your vote is counted. Thank you for serving.")
    return HttpResponseRedirect(f"/jury/{jid}")


@require_POST
@domain_errors
@account_required
def recuse(request: HttpRequest, jury_id: str) -> HttpResponse:
    account = me(request)
    jid = _id(jury_id)
    inbox.jury_case(account, jid)
    actions.recuse(account, jid, request.POST.get("reason", ""))
    messages.success(request, "You have stepped aside from this jury.")
    return HttpResponseRedirect("/jury")

