"""Profiles, followers and following lists, the buttons that change a relationship, follow requests."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.core.exceptions import ObjectDoesNotExist
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from rostra.accounts import actions as accounts
from rostra.accounts import queries as account_queries
from rostra.accounts.models import Account
from rostra.core.errors import NotFound
from rostra.core.ids import parse_id
from rostra.timelines import queries as timelines
from rostra.web.http import account_required, back, domain_errors, is_htmx, me, toast, viewer
from rostra.web.views.common import more_url, page_request, render_timeline

TABS = {"posts": "Posts", "with_replies": "Posts and replies", "media": "Media"}


def _remote_profile_url(account: Account) -> str:
    """Where a remote account's own server shows its profile ("" for a local account). Read
    through the ``remote_actor`` relation: nothing is fetched."""
    if account.is_local:
        return ""
    try:
        actor = account.remote_actor
    except ObjectDoesNotExist:
        return ""
    url = str(actor.url or actor.uri or "")
    return url if url.startswith(("https://", "http://")) else ""


def _profile_context(request: HttpRequest, account: Account, tab: str) -> dict[str, object]:
    me_ = viewer(request)
    return {
        "account": account,
        "remote_profile_url": _remote_profile_url(account),
        "rel": account_queries.relationship(me_, account),
        "tab": tab,
        "tabs": TABS,
        "nav": "profile" if me_ is not None and me_.pk == account.pk else "",
    }


def _profile(tab: str) -> Callable[[HttpRequest, str], HttpResponse]:
    @require_GET
    @domain_errors
    def view(request: HttpRequest, username: str) -> HttpResponse:
        account = account_queries.get_account_by_acct(username)
        me_ = viewer(request)
        page = timelines.profile(me_, account, page_request(request), with_replies=tab == "with_replies", media_only=tab == "media")
        template = "rostra/profile_media.html" if tab == "media" else "rostra/profile.html"
        empty = {"media": "No images yet.", "with_replies": "No posts yet."}.get(tab, "No posts yet.")
        ctx = {**_profile_context(request, account, tab), "tiles": tab == "media"}
        return render_timeline(request, template, page, me_, ctx, empty=empty)

    return view


profile = _profile("posts")
profile_with_replies = _profile("with_replies")
profile_media = _profile("media")


def _graph(direction: str) -> Callable[[HttpRequest, str], HttpResponse]:
    @require_GET
    @domain_errors
    def view(request: HttpRequest, username: str) -> HttpResponse:
        account = account_queries.get_account_by_acct(username)
        lister = account_queries.followers if direction == "followers" else account_queries.following
        page = lister(viewer(request), account, page_request(request))
        ctx = {**_profile_context(request, account, direction), "people": page.items, "more_url": more_url(request, page.next_max_id), "direction": direction}
        if is_htmx(request) and request.GET.get("max_id"):
            return render(request, "rostra/partials/people_page.html", ctx)
        return render(request, "rostra/people.html", ctx)

    return view


followers = _graph("followers")
following = _graph("following")


def _relationship_button(act: Callable[[Account, Account], object], done: str) -> Callable[[HttpRequest, str], HttpResponse]:
    """A profile button: act on the relationship, then redraw the controls (htmx) or go back."""

    @require_POST
    @domain_errors
    @account_required
    def view(request: HttpRequest, username: str) -> HttpResponse:
        account = me(request)
        target = account_queries.get_account_by_acct(username)
        result = act(account, target)
        message = done.format(name=f"@{target.acct}")
        if result == "requested":
            message = f"Follow request sent to @{target.acct}."
        if is_htmx(request):
            rel = account_queries.relationship(account, target)
            return toast(render(request, "rostra/partials/relationship.html", {"account": target, "rel": rel}), message)
        messages.success(request, message)
        return back(request, f"/@{target.acct}")

    return view


follow = _relationship_button(accounts.follow, "You follow {name} now.")
unfollow = _relationship_button(accounts.unfollow, "You no longer follow {name}.")
block = _relationship_button(accounts.block, "You blocked {name}. Neither of you sees the other now.")
unblock = _relationship_button(accounts.unblock, "You unblocked {name}.")
mute = _relationship_button(accounts.mute, "You muted {name}. Their posts leave your timelines.")
unmute = _relationship_button(accounts.unmute, "You unmuted {name}.")


@require_POST
@domain_errors
@account_required
def note(request: HttpRequest, username: str) -> HttpResponse:
    """Save (or, when empty, remove) the signed-in person's private note on a profile."""
    account = me(request)
    target = account_queries.get_account_by_acct(username)
    accounts.set_account_note(account, target, request.POST.get("comment", ""))
    messages.success(request, f"Your private note on @{target.acct} is saved.")
    return back(request, f"/@{target.acct}")


@require_POST
@domain_errors
@account_required
def remove_follower(request: HttpRequest, username: str) -> HttpResponse:
    account = me(request)
    follower = account_queries.get_account_by_acct(username)
    accounts.remove_follower(account, follower)
    message = f"@{follower.acct} no longer follows you."
    if is_htmx(request):
        return toast(HttpResponse(""), message)
    messages.success(request, message)
    return back(request, f"/@{account.username}/followers")


@require_GET
@domain_errors
@account_required
def follow_requests(request: HttpRequest) -> HttpResponse:
    account = me(request)
    return render(request, "rostra/follow_requests.html", {"requesters": account_queries.follow_requesters(account), "nav": "requests"})


def _answer(act: Callable[[Account, int], None], done: str) -> Callable[[HttpRequest, str], HttpResponse]:
    @require_POST
    @domain_errors
    @account_required
    def view(request: HttpRequest, account_id: str) -> HttpResponse:
        account = me(request)
        requester_id = parse_id(account_id)
        if requester_id is None:
            raise NotFound("That follow request no longer exists.")
        act(account, requester_id)
        if is_htmx(request):
            return toast(HttpResponse(""), done)
        messages.success(request, done)
        return back(request, "/follow-requests")

    return view


accept_request = _answer(accounts.accept_follow_request, "Follow request accepted.")
reject_request = _answer(accounts.reject_follow_request, "Follow request rejected.")

