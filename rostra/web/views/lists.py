"""Lists: the owner's lists (create, rename, delete) and one list's timeline and members."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_http_methods, require_POST

from rostra.core.errors import ValidationError
from rostra.timelines import lists
from rostra.timelines.models import RepliesPolicy
from rostra.web.http import account_required, domain_errors, me
from rostra.web.views.common import page_request, render_timeline


@require_http_methods(["GET", "POST"])
@domain_errors
@account_required
def index(request: HttpRequest) -> HttpResponse:
    account = me(request)
    status = 200
    if request.method == "POST":
        draft = lists.ListDraft(
            title=request.POST.get("title", ""),
            replies_policy=request.POST.get("replies_policy", RepliesPolicy.LIST),
            exclusive=request.POST.get("exclusive") == "on",
        )
        try:
            created = lists.create_list(account, draft)
        except ValidationError as exc:
            messages.error(request, exc.message)
            status = 400
        else:
            return HttpResponseRedirect(f"/lists/{created.pk}")
    ctx = {"lists": lists.lists_of(account), "policies": RepliesPolicy.choices, "nav": "lists"}
    return render(request, "rostra/lists.html", ctx, status=status)


@require_http_methods(["GET"])
@domain_errors
@account_required
def detail(request: HttpRequest, list_id: str) -> HttpResponse:
    account = me(request)
    lst = lists.get_list(account, list_id)
    page = lists.list_timeline(account, lst.pk, page_request(request))
    ctx = {
        "list": lst, "policies": RepliesPolicy.choices, "nav": "lists",
        "candidates": lists.member_candidates(account, lst.pk) if not request.GET.get("max_id") else [],
    }
    return render_timeline(request, "rostra/lists_detail.html", page, account, ctx, empty="No posts from this list's members yet.")


@require_POST
@domain_errors
@account_required
def edit(request: HttpRequest, list_id: str) -> HttpResponse:
    account = me(request)
    lst = lists.get_list(account, list_id)
    try:
        lists.update_list(
            account, lst.pk, title=request.POST.get("title", ""),
            replies_policy=request.POST.get("replies_policy", RepliesPolicy.LIST), exclusive=request.POST.get("exclusive") == "on",
        )
    except ValidationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "The list is saved.")
    return HttpResponseRedirect(f"/lists/{lst.pk}")


@require_POST
@domain_errors
@account_required
def delete(request: HttpRequest, list_id: str) -> HttpResponse:
    lists.delete_list(me(request), list_id)
    messages.success(request, "The list is deleted.")
    return HttpResponseRedirect("/lists")


@require_POST
@domain_errors
@account_required
def members(request: HttpRequest, list_id: str) -> HttpResponse:
    account = me(request)
    lst = lists.get_list(account, list_id)
    target = request.POST.get("account_id", "")
    if request.POST.get("action") == "remove":
        lists.remove_members(account, lst.pk, [target])
    else:
        lists.add_members(account, lst.pk, [target])
    return HttpResponseRedirect(f"/lists/{lst.pk}")
