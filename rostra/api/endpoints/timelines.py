"""Timelines: home, public, hashtag and list (Mastodon's ``/api/v1/timelines/...``).

Each reads one domain query (a filter on the visibility door), applies the viewer's v2 filters
for the timeline's context (``hide`` drops a post, ``warn`` adds ``filtered`` to it) and renders
the page. The ``Link`` header is computed from the page before filtering, so a page whose
posts were all hidden still tells the client where the next one is.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import Router

from rostra.accounts.models import Account
from rostra.api import entities, schemas
from rostra.api.http import MaybeScoped, Scoped, account_of, flag, page_request, paginated, prebuilt, query_list, viewer_of
from rostra.core.pagination import Page
from rostra.posts.models import Post
from rostra.timelines import lists
from rostra.timelines import queries as timelines
from rostra.timelines.filters import apply_filters

router = Router(tags=["timelines"])

def render(request: HttpRequest, response: HttpResponse, viewer: Account | None, page: Page[Post], context: str) -> HttpResponse:
    paginated(request, response, page)  # from the unfiltered page: paging goes on past hidden posts
    kept, warnings = apply_filters(viewer, page.items, context)
    return prebuilt(response, entities.statuses(kept, viewer, filtered=warnings))


@router.get("/v1/timelines/home", response=list[schemas.Status], auth=Scoped("read:statuses"), summary="The home timeline")
def home(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    viewer = account_of(request)
    return render(request, response, viewer, timelines.home(viewer, page_request(request)), "home")


@router.get(
    "/v1/timelines/public",
    response=list[schemas.Status],
    auth=MaybeScoped("read:statuses"),
    summary="The public timeline (local=true: this server only; remote=true: other servers, none yet)",
)
def public(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    viewer = viewer_of(request)
    page = timelines.public(
        viewer, page_request(request), local=flag(request, "local"), remote=flag(request, "remote"), only_media=flag(request, "only_media")
    )
    return render(request, response, viewer, page, "public")


@router.get(
    "/v1/timelines/tag/{hashtag}",
    response=list[schemas.Status],
    auth=MaybeScoped("read:statuses"),
    summary="Public posts with a hashtag (any[], all[], none[], local, remote, only_media)",
)
def tag(request: HttpRequest, response: HttpResponse, hashtag: str) -> HttpResponse:
    viewer = viewer_of(request)
    page = timelines.tag_timeline(
        viewer,
        hashtag,
        page_request(request),
        any_of=query_list(request, "any"),
        all_of=query_list(request, "all"),
        none_of=query_list(request, "none"),
        local=flag(request, "local"),
        remote=flag(request, "remote"),
        only_media=flag(request, "only_media"),
    )
    return render(request, response, viewer, page, "public")


@router.get(
    "/v1/timelines/list/{list_id}",
    response=list[schemas.Status],
    auth=Scoped("read:lists"),
    summary="The timeline of one of your lists",
)
def list_timeline(request: HttpRequest, response: HttpResponse, list_id: str) -> HttpResponse:
    viewer = account_of(request)
    # Mastodon applies the home context's filters to lists.
    return render(request, response, viewer, lists.list_timeline(viewer, list_id, page_request(request)), "home")
