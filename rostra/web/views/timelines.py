"""The landing page, the timelines, bookmarks, search and the about page."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from urllib.parse import quote

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_GET, require_POST

from rostra.accounts import queries as account_queries
from rostra.accounts.models import Account
from rostra.core.pagination import paginate
from rostra.posts.models import Hashtag
from rostra.posts.queries import bookmarked_posts, with_viewer_state
from rostra.search import queries as search
from rostra.timelines import queries as timelines
from rostra.timelines import tags
from rostra.web.cards import cards
from rostra.web.forms import MAX_MEDIA, ComposeForm, SearchForm
from rostra.web.http import account_required, back, domain_errors, is_htmx, me, viewer
from rostra.web.views.common import more_url, page_request, render_timeline


@require_GET
def landing(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return HttpResponseRedirect("/home")
    page = timelines.local_public(None, page_request(request))
    return render_timeline(request, "rostra/landing.html", page, None, {"nav": "landing"}, empty="No public posts yet. Be the first!")


@require_GET
@domain_errors
@account_required
def home(request: HttpRequest) -> HttpResponse:
    account = me(request)
    page = timelines.home(account, page_request(request))
    user = request.user
    compose = ComposeForm(initial={
        "visibility": user.default_visibility, "sensitive": user.default_sensitive,  # type: ignore[union-attr]
        "idempotency_key": secrets.token_urlsafe(16),
    })
    return render_timeline(
        request, "rostra/home.html", page, account, {"nav": "home", "compose_form": compose, "media_slots": range(MAX_MEDIA)},
        empty="Your home timeline is quiet. Follow people to see their posts here — try the local timeline.",
        filter_context="home",
    )


@require_GET
@domain_errors
def local(request: HttpRequest) -> HttpResponse:
    account = viewer(request)
    page = timelines.local_public(account, page_request(request))
    return render_timeline(request, "rostra/local.html", page, account, {"nav": "local"}, empty="No public posts yet.", filter_context="public")


@require_GET
@domain_errors
def tag(request: HttpRequest, tag: str) -> HttpResponse:
    account = viewer(request)
    name = tag.lstrip("#")[:100]
    page = timelines.hashtag(account, name, page_request(request))
    following = tags.follows_name(account, name)
    return render_timeline(
        request, "rostra/tag.html", page, account, {"tag": name, "nav": "search", "following": following, "signed_in": account is not None},
        empty=f"No public posts with #{name} yet.", filter_context="public",
    )


def _tag_button(act: Callable[[Account, str], Hashtag], done: str) -> Callable[[HttpRequest, str], HttpResponse]:
    """The hashtag page's Follow / Unfollow button: a plain form post, then back to the page."""

    @require_POST
    @domain_errors
    @account_required
    def view(request: HttpRequest, tag: str) -> HttpResponse:
        hashtag = act(me(request), tag)
        messages.success(request, done.format(name=f"#{hashtag.display_name or hashtag.name}"))
        return back(request, f"/tags/{quote(hashtag.name)}")

    return view


tag_follow = _tag_button(tags.follow_tag, "You follow {name} now: its new public posts appear in your home timeline.")
tag_unfollow = _tag_button(tags.unfollow_tag, "You no longer follow {name}.")


@require_GET
@domain_errors
@account_required
def bookmarks(request: HttpRequest) -> HttpResponse:
    account = me(request)
    page = paginate(with_viewer_state(bookmarked_posts(account), account), page_request(request))
    return render_timeline(request, "rostra/bookmarks.html", page, account, {"nav": "bookmarks"}, empty="Posts you bookmark appear here, only for you.")


@require_GET
@domain_errors
def search_page(request: HttpRequest) -> HttpResponse:
    account = viewer(request)
    form = SearchForm(request.GET)
    q = form.cleaned_data["q"].strip() if form.is_valid() else ""
    ctx: dict[str, object] = {"form": form, "q": q, "nav": "search"}
    if q:
        req = page_request(request)
        posts = search.search_posts(account, q, req)
        people = search.search_accounts(account, q) if not req.max_id else []
        found_cards = cards(posts.items, account)
        if not req.max_id:
            # A pasted post or profile URL, or a handle: found here, or (signed in) fetched from its server.
            found = search.resolve(account, q, remote=account is not None)
            if found.account is not None and all(a.pk != found.account.pk for a in people):
                people.insert(0, found.account)
            if found.post is not None:
                found_cards = [*cards([found.post], account), *found_cards]
        ctx.update(
            accounts=people,
            hashtags=search.search_hashtags(q) if not req.max_id else [],
            cards=found_cards,
            more_url=more_url(request, posts.next_max_id),
        )
        if is_htmx(request) and req.max_id:
            return render(request, "rostra/partials/timeline_page.html", ctx)
    return render(request, "rostra/search.html", ctx)


@require_GET
def about(request: HttpRequest) -> HttpResponse:
    return render(
        request, "rostra/about.html",
        {"staff": account_queries.staff(), "stats": account_queries.instance_stats(), "nav": "about"},
    )


@require_GET
def offline(request: HttpRequest) -> HttpResponse:
    # Cached by the service worker; must not depend on who is signed in.
    return render(request, "rostra/offline.html", {"offline_page": True})

