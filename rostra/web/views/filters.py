"""Settings → Filters: create, edit and delete filters (keywords, contexts, expiry, action)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import render
from django.views.decorators.http import require_http_methods, require_POST

from rostra.core.errors import ValidationError
from rostra.timelines import filters
from rostra.timelines.filters import FilterDraft, KeywordDraft
from rostra.timelines.models import FILTER_CONTEXTS, Filter, FilterAction
from rostra.web.http import account_required, domain_errors, me

EXPIRY_CHOICES = [("", "Never"), ("1800", "30 minutes"), ("3600", "1 hour"), ("21600", "6 hours"), ("86400", "1 day"), ("604800", "1 week")]


def _keywords(post: QueryDict) -> list[str]:
    # One keyword a line; blank lines are ignored (an empty form has no keywords, not an empty one).
    return [line.strip() for line in post.get("keywords", "").splitlines() if line.strip()]


def _ctx(**extra: Any) -> dict[str, Any]:
    return {"contexts": FILTER_CONTEXTS, "actions": FilterAction.choices, "expiries": EXPIRY_CHOICES,
            "nav": "settings", "section": "filters", **extra}


@require_http_methods(["GET", "POST"])
@domain_errors
@account_required
def index(request: HttpRequest) -> HttpResponse:
    account = me(request)
    status = 200
    if request.method == "POST":
        whole = request.POST.get("whole_word") == "on"
        draft = FilterDraft(
            title=request.POST.get("title", ""), context=request.POST.getlist("context"),
            action=request.POST.get("action", FilterAction.WARN), expires_in=request.POST.get("expires_in") or None,
            keywords=[KeywordDraft(k, whole_word=whole) for k in _keywords(request.POST)],
        )
        try:
            filters.create_filter(account, draft)
        except ValidationError as exc:
            messages.error(request, exc.message)
            status = 400
        else:
            messages.success(request, "The filter is saved.")
            return HttpResponseRedirect("/settings/filters")
    return render(request, "rostra/settings/filters.html", _ctx(filters=filters.filters_of(account)), status=status)


@require_http_methods(["GET", "POST"])
@domain_errors
@account_required
def edit(request: HttpRequest, filter_id: str) -> HttpResponse:
    account = me(request)
    flt = filters.get_filter(account, filter_id)
    status = 200
    if request.method == "POST":
        whole = request.POST.get("whole_word") == "on"
        wanted = _keywords(request.POST)
        existing = {k.keyword: k for k in flt.keywords.all()}
        # Keep the keywords still listed (so their ids stay), remove the rest, add the new ones.
        changes = [KeywordDraft(k.keyword, whole_word=whole, id=k.pk) for text, k in existing.items() if text in wanted]
        changes += [KeywordDraft(id=k.pk, destroy=True) for text, k in existing.items() if text not in wanted]
        changes += [KeywordDraft(text, whole_word=whole) for text in dict.fromkeys(wanted) if text not in existing]
        expiry = request.POST.get("expires_in", "keep")
        try:
            filters.update_filter(
                account, flt.pk, title=request.POST.get("title", ""), context=request.POST.getlist("context"),
                action=request.POST.get("action", FilterAction.WARN), keywords=changes,
                **({} if expiry == "keep" else {"expires_in": expiry or None}),
            )
        except ValidationError as exc:
            messages.error(request, exc.message)
            status = 400
        else:
            messages.success(request, "The filter is saved.")
            return HttpResponseRedirect("/settings/filters")
    return render(request, "rostra/settings/filters_edit.html", _ctx(filter=flt, keywords_text=_keyword_text(flt)), status=status)


def _keyword_text(flt: Filter) -> str:
    return "\n".join(k.keyword for k in flt.keywords.order_by("id"))


@require_POST
@domain_errors
@account_required
def delete(request: HttpRequest, filter_id: str) -> HttpResponse:
    filters.delete_filter(me(request), filter_id)
    messages.success(request, "The filter is deleted.")
    return HttpResponseRedirect("/settings/filters")
