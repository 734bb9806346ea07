"""The moderators' tools: the review queue, a case, an account, appeals and the audit log.

Every page answers 404 to anyone who is not a moderator, exactly like a page that does not exist.
Reads go through ``moderation.queries`` and writes through ``moderation.actions``; each action
is a POST that redirects with a message. A refusal the moderator can fix (a missing number of
days, a reason left out) re-renders the page with the message beside the form and what was typed
kept; a conflict (someone else's claim, a case already closed) is a message on the fresh page.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_GET, require_POST

from rostra.accounts.models import User
from rostra.core.clock import now
from rostra.core.errors import Conflict, DomainError, NotFound, PermissionDenied, ValidationError
from rostra.core.ids import parse_id
from rostra.core.pagination import PageRequest
from rostra.moderation import actions, policies, queries
from rostra.moderation.models import CATEGORY_CHOICES, Appeal, Case
from rostra.moderation.queries import QueueFilter
from rostra.web.http import domain_errors, not_found

View = Callable[..., HttpResponse]


@dataclass(frozen=True)
class Button:
    """One action button: the ``kind`` it submits, its label, its key, and how it asks first."""

    kind: str
    label: str
    key: str = ""
    style: str = ""  # "danger" for the irreversible-looking ones
    confirm: str = ""  # asked before submitting (moderation.js; without JavaScript it submits at once)
    needs_days: bool = False


POST_BUTTONS = [
    Button("remove", "Remove", "r", "danger"),
    Button("limit", "Limit reach", "l"),
    Button("label", "Content warning", "b"),
    Button("restore", "Approve / restore", "a"),
]
DISMISS = Button("dismiss", "Dismiss", "d")
ACCOUNT_BUTTONS = [
    Button("warn", "Warn", "w"),
    Button("hold_account", "Hold new posts", "h"),
    Button("suspend", "Suspend", "s", "danger", "Suspend this account for the number of days given?", needs_days=True),
    Button("ban", "Suspend for good", "", "danger", "Suspend this account for good? They can still appeal."),
]
LIFT = Button("lift", "Lift restrictions", "")
DONE = {
    "remove": "Post removed.",
    "limit": "Post's reach limited.",
    "label": "Content warning added.",
    "restore": "Post approved.",
    "dismiss": "Case dismissed.",
    "warn": "Account warned.",
    "hold_account": "The account's new posts will be held for review.",
    "suspend": "Account suspended.",
    "ban": "Account suspended for good.",
    "lift": "The account's restrictions are lifted.",
}
BULK_KINDS = [(b.kind, b.label) for b in [*POST_BUTTONS, DISMISS, *ACCOUNT_BUTTONS]]
AUDIT_VERBS = [
    "post.", "account.", "case.", "appeal.", "jury.", "report.", "policy.",
    "post.held", "post.remove", "post.limit", "post.label", "post.restore", "case.claimed", "case.dismissed",
    "account.warn", "account.suspend", "account.ban", "account.lift", "appeal.reversed", "appeal.upheld", "policy.saved",
]
POST_KINDS = {b.kind for b in POST_BUTTONS}
ACCOUNT_KINDS = {b.kind for b in [*ACCOUNT_BUTTONS, LIFT]}


def staff_only(view: View) -> View:
    """Moderators only; everyone else (signed in or not) gets the ordinary 404, whatever the method."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not policies.is_moderator(request.user):
            return not_found(request)
        response = view(request, *args, **kwargs)
        add_never_cache_headers(response)  # held posts and people's histories: never kept by a cache
        return response

    return wrapper


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def _id(raw: str) -> int:
    value = parse_id(raw)
    if value is None:
        raise NotFound("Not found.")
    return value


def _days(raw: str | None) -> int | None:
    text = (raw or "").strip()
    if not text:
        return None
    if not text.isascii() or not text.isdigit() or len(text) > 6:
        raise ValidationError("The period is a whole number of days.", field="days")
    return int(text)


def _redirect(path: str, query: str = "") -> HttpResponseRedirect:
    return HttpResponseRedirect(f"{path}?{query}" if query else path)


def _status(exc: DomainError) -> int:
    return 403 if isinstance(exc, PermissionDenied) else 400


def _form(request: HttpRequest) -> dict[str, str]:
    """What was typed into an action form, to put back when the action is refused."""
    return {k: request.POST.get(k, "") for k in ("kind", "reason", "category", "days", "outcome", "size", "body")}


def _base(request: HttpRequest, tab: str) -> dict[str, Any]:
    return {"mod_tab": tab, "categories": CATEGORY_CHOICES, "open_appeals": Appeal.objects.filter(status=Appeal.Status.OPEN).count()}


# ---- the queue -------------------------------------------------------------------------------


@staff_only
@require_GET
@domain_errors
def queue(request: HttpRequest) -> HttpResponse:
    flt = QueueFilter.from_params(request.GET)
    page = queries.queue(_user(request), flt, after=request.GET.get("after", ""))
    more = ""
    if page.next_cursor:
        more = "/moderation?" + "&".join(q for q in (flt.query, urlencode({"after": page.next_cursor})) if q)
    return render(request, "rostra/moderation/staff_queue.html", {
        **_base(request, "queue"), "page": page, "flt": flt, "more_url": more, "bulk_kinds": BULK_KINDS,
    })


@staff_only
@require_POST
@domain_errors
def bulk(request: HttpRequest) -> HttpResponse:
    flt = QueueFilter.from_params(request.GET)  # the queue filter rides on the form's URL
    ids = [i for i in (parse_id(raw) for raw in request.POST.getlist("case")) if i is not None]
    kind = request.POST.get("kind", "")
    back = _redirect("/moderation", flt.query)
    if not ids:
        messages.warning(request, "Select at least one case.")
        return back
    if kind not in dict(BULK_KINDS):
        messages.warning(request, "Choose what to do with the selected cases.")
        return back
    try:
        days = _days(request.POST.get("days"))
        if kind == "suspend" and days is None:
            raise ValidationError("Say for how many days to suspend; to suspend for good, choose 'Suspend for good'.", field="days")
        result = actions.bulk_decide(_user(request), ids, kind, reason=request.POST.get("reason", ""), days=days)
    except (ValidationError, PermissionDenied) as exc:
        messages.error(request, exc.message)
        return back
    done, skipped = len(result["done"]), len(result["skipped"])
    text = f"{DONE.get(kind, 'Done.')[:-1]}: {done} case{'s' if done != 1 else ''}."
    if skipped:
        text += f" Skipped {skipped}: closed already, claimed by another moderator, or not applicable."
    (messages.success if done else messages.warning)(request, text)
    return back


# ---- one case --------------------------------------------------------------------------------


def _auto_claim(user: User, case: Case) -> None:
    """Opening a case claims it, unless someone else holds it; a live claim of one's own is only
    renewed when half of it has run out, so reloading the page does not fill the audit log."""
    if case.status != Case.Status.OPEN:
        return
    when = now()
    live = case.claimed_by_id is not None and case.claimed_until is not None and case.claimed_until > when
    if live and case.claimed_by_id != user.pk:
        return
    if live and case.claimed_until is not None and case.claimed_until - when > timedelta(minutes=actions.CLAIM_MINUTES / 2):
        return
    try:
        actions.claim(user, case.pk)
    except Conflict:
        pass  # claimed a moment ago by someone else: the page shows who


def _render_case(request: HttpRequest, case_id: Any, *, form: dict[str, str] | None = None, error: str = "", status: int = 200) -> HttpResponse:
    user = _user(request)
    flt = QueueFilter.from_params(request.GET)
    view = queries.case_detail(user, case_id)
    case = view.case
    is_open = case.status == Case.Status.OPEN
    values = form or {"category": case.category}
    return render(request, "rostra/moderation/staff_case.html", {
        **_base(request, "queue"),
        "v": view,
        "c": case,
        "flt": flt,
        "is_open": is_open,
        "can_act": is_open and not view.claimed_by_other,
        "next_id": queries.next_case_id(user, case, flt),
        "prev_id": queries.next_case_id(user, case, flt, backwards=True),
        "post_buttons": POST_BUTTONS if case.post_id else [],
        "dismiss": DISMISS,
        "account_buttons": ACCOUNT_BUTTONS,
        "form": values,
        "error": error,
        "own_account": getattr(getattr(user, "account", None), "pk", None) == case.account_id,
    }, status=status)


@staff_only
@require_GET
@domain_errors
def case_page(request: HttpRequest, case_id: str) -> HttpResponse:
    case = queries.get_case(_user(request), case_id)
    _auto_claim(_user(request), case)
    return _render_case(request, case.pk)


@staff_only
@require_POST
@domain_errors
def claim(request: HttpRequest, case_id: str) -> HttpResponse:
    flt = QueueFilter.from_params(request.GET)  # the queue filter rides on the form's URL
    cid = _id(case_id)
    try:
        actions.claim(_user(request), cid)
        messages.success(request, f"You have claimed this case for {actions.CLAIM_MINUTES} minutes.")
    except Conflict as exc:
        messages.warning(request, exc.message)
    return _redirect(f"/moderation/cases/{cid}", flt.query)


@staff_only
@require_POST
@domain_errors
def release(request: HttpRequest, case_id: str) -> HttpResponse:
    flt = QueueFilter.from_params(request.GET)  # the queue filter rides on the form's URL
    cid = _id(case_id)
    actions.release(_user(request), cid)
    messages.success(request, "Released: another moderator can take this case.")
    return _redirect("/moderation", flt.query)


@staff_only
@require_POST
@domain_errors
def decide(request: HttpRequest, case_id: str) -> HttpResponse:
    user = _user(request)
    flt = QueueFilter.from_params(request.GET)  # the queue filter rides on the form's URL
    case = queries.get_case(user, case_id)
    kind = request.POST.get("kind", "")
    if kind not in DONE:
        return _render_case(request, case.pk, form=_form(request), error="Choose an action: press one of the buttons.", status=400)
    try:
        actions.decide_case(
            user, case.pk, kind, reason=request.POST.get("reason", ""), days=_days(request.POST.get("days")),
            category=request.POST.get("category") or None,
        )
    except Conflict as exc:
        messages.warning(request, exc.message)
        return _redirect(f"/moderation/cases/{case.pk}", flt.query)
    except (ValidationError, PermissionDenied) as exc:
        return _render_case(request, case.pk, form=_form(request), error=exc.message, status=_status(exc))
    # Then straight on to the next case, as the queue orders them.
    following = queries.next_case_id(user, case, flt)
    if following is None:
        messages.success(request, f"{DONE.get(kind, 'Done.')} The queue is empty.")
        return _redirect("/moderation", flt.query)
    messages.success(request, f"{DONE.get(kind, 'Done.')} Here is the next case.")
    return _redirect(f"/moderation/cases/{following}", flt.query)


@staff_only
@require_POST
@domain_errors
def act_on_post(request: HttpRequest, post_id: str) -> HttpResponse:
    """Act on a post outside the queue (from a closed case); its open case, if any, is closed."""
    user = _user(request)
    pid = _id(post_id)
    back = request.POST.get("case", "")
    target = f"/moderation/cases/{parse_id(back)}" if parse_id(back) else "/moderation"
    kind = request.POST.get("kind", "")
    if kind not in POST_KINDS:
        messages.error(request, "Choose an action on the post.")
        return _redirect(target)
    try:
        actions.act_on_post(user, pid, kind, reason=request.POST.get("reason", ""), category=request.POST.get("category") or "other")
    except (ValidationError, PermissionDenied, Conflict) as exc:
        messages.error(request, exc.message)
        return _redirect(target)
    messages.success(request, DONE[kind])
    return _redirect(target)


# ---- an account ------------------------------------------------------------------------------


def _render_account(request: HttpRequest, account_id: Any, *, form: dict[str, str] | None = None, error: str = "", status: int = 200) -> HttpResponse:
    history = queries.account_history(_user(request), account_id)
    return render(request, "rostra/moderation/staff_account.html", {
        **_base(request, "queue"),
        "h": history,
        "a": history.account,
        "account_buttons": [*ACCOUNT_BUTTONS, LIFT],
        "can_act": True,
        "form": form or {"category": "other"},
        "error": error,
    }, status=status)


@staff_only
@require_GET
@domain_errors
def account_page(request: HttpRequest, account_id: str) -> HttpResponse:
    return _render_account(request, account_id)


@staff_only
@require_POST
@domain_errors
def act_on_account(request: HttpRequest, account_id: str) -> HttpResponse:
    user = _user(request)
    history = queries.account_history(user, account_id)
    aid = history.account.pk
    kind = request.POST.get("kind", "")
    if kind not in ACCOUNT_KINDS:
        return _render_account(request, aid, form=_form(request), error="Choose an action on the account.", status=400)
    try:
        actions.act_on_account(
            user, aid, kind, reason=request.POST.get("reason", ""), days=_days(request.POST.get("days")),
            category=request.POST.get("category") or "other",
        )
    except (ValidationError, PermissionDenied) as exc:
        return _render_account(request, aid, form=_form(request), error=exc.message, status=_status(exc))
    except Conflict as exc:
        messages.warning(request, exc.message)
        return _redirect(f"/moderation/accounts/{aid}")
    messages.success(request, DONE[kind])
    return _redirect(f"/moderation/accounts/{aid}")


# ---- appeals ---------------------------------------------------------------------------------


@staff_only
@require_GET
@domain_errors
def appeals(request: HttpRequest) -> HttpResponse:
    tab = request.GET.get("tab", "open")
    tab = tab if tab in queries.APPEAL_TABS else "open"
    page = queries.appeals(_user(request), tab, req=PageRequest.from_params(request.GET, default_limit=40))
    more = f"/moderation/appeals?tab={tab}&max_id={page.next_max_id}" if page.next_max_id else ""
    return render(request, "rostra/moderation/staff_appeals.html", {
        **_base(request, "appeals"), "page": page, "tab": tab, "more_url": more,
    })


def _render_appeal(request: HttpRequest, appeal_id: Any, *, form: dict[str, str] | None = None, error: str = "", status: int = 200) -> HttpResponse:
    view = queries.appeal_detail(_user(request), appeal_id)
    ap = view.appeal
    return render(request, "rostra/moderation/staff_appeal.html", {
        **_base(request, "appeals"),
        "v": view,
        "ap": ap,
        "is_open": ap.status == Appeal.Status.OPEN,
        "is_decided": ap.status in (Appeal.Status.REVERSED, Appeal.Status.UPHELD),
        "form": form or {"size": str(actions.JURY_SIZE), "days": str(actions.JURY_DAYS)},
        "error": error,
    }, status=status)


@staff_only
@require_GET
@domain_errors
def appeal_page(request: HttpRequest, appeal_id: str) -> HttpResponse:
    return _render_appeal(request, appeal_id)


def _appeal_action(act: Callable[[HttpRequest, User, int], str]) -> View:
    """An appeal form: act, then back to the appeal with a message; refusals shown beside the form."""

    @staff_only
    @require_POST
    @domain_errors
    def view(request: HttpRequest, appeal_id: str) -> HttpResponse:
        user = _user(request)
        aid = queries.appeal_detail(user, appeal_id).appeal.pk
        try:
            done = act(request, user, aid)
        except Conflict as exc:
            messages.warning(request, exc.message)
            return _redirect(f"/moderation/appeals/{aid}")
        except (ValidationError, PermissionDenied) as exc:
            return _render_appeal(request, aid, form=_form(request), error=exc.message, status=_status(exc))
        messages.success(request, done)
        return _redirect(f"/moderation/appeals/{aid}")

    return view


def _message(request: HttpRequest, user: User, appeal_id: int) -> str:
    actions.appeal_message(user, appeal_id, request.POST.get("body", ""))
    return "Message sent."


def _decide(request: HttpRequest, user: User, appeal_id: int) -> str:
    ap = actions.decide_appeal(user, appeal_id, request.POST.get("outcome", ""), request.POST.get("reason", ""))
    return "Appeal decided: the decision is reversed." if ap.status == Appeal.Status.REVERSED else "Appeal decided: the decision stands."


def _jury(request: HttpRequest, user: User, appeal_id: int) -> str:
    size, days = _days(request.POST.get("size")), _days(request.POST.get("days"))
    jury = actions.send_to_jury(user, appeal_id, size=size or actions.JURY_SIZE, days=days or actions.JURY_DAYS)
    return f"Sent to a community jury of {jury.size}; they have until {jury.deadline:%d %b %Y %H:%M} UTC."


appeal_message = _appeal_action(_message)
decide_appeal = _appeal_action(_decide)
send_to_jury = _appeal_action(_jury)


# ---- the audit log ---------------------------------------------------------------------------


@staff_only
@require_GET
@domain_errors
def audit(request: HttpRequest) -> HttpResponse:
    account = (request.GET.get("account") or "").strip()
    verb = (request.GET.get("verb") or "").strip()[:48]
    page = queries.audit_log(_user(request), account_id=account, verb=verb, req=PageRequest.from_params(request.GET, default_limit=40))
    more = ""
    if page.next_max_id:
        more = "/moderation/audit?" + urlencode({**({"account": account} if account else {}), **({"verb": verb} if verb else {}), "max_id": page.next_max_id})
    return render(request, "rostra/moderation/staff_audit.html", {
        **_base(request, "audit"), "page": page, "account": account, "verb": verb, "more_url": more, "audit_verbs": AUDIT_VERBS,
    })
