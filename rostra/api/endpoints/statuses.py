"""Statuses and polls (Mastodon 4.x): compose, read, edit, delete, the thread around a status, and
everything one does to a status (reblog, favourite, bookmark, pin, mute), plus poll reads and votes.

See docs/api-compatibility.md, "Statuses, media and polls".
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.dateparse import parse_datetime
from ninja import Router, Schema

from rostra.accounts.models import Account
from rostra.api import entities, schemas
from rostra.api.http import (
    ApiError,
    MaybeScoped,
    Scoped,
    account_of,
    as_list,
    body_int,
    body_params,
    form_body_openapi,
    nested_attributes,
    optional_id,
    page_request,
    paginated,
    parse_bool,
    path_id,
    query_ids,
    viewer_of,
)
from rostra.core.errors import NotFound
from rostra.core.ids import parse_id
from rostra.core.pagination import Page, PageRequest
from rostra.posts import actions
from rostra.posts import queries as post_queries
from rostra.posts.models import Post, PostEdit
from rostra.posts.polls import PollDraft, poll_unchanged

router = Router(tags=["statuses"])

MAX_IDS = 20  # GET /api/v1/statuses?id[]=...: as many as Mastodon answers at once


# --- Response shapes that only these endpoints use -------------------------------------------


class Context(Schema):
    ancestors: list[schemas.Status]
    descendants: list[schemas.Status]


class StatusSource(Schema):
    id: str
    text: str
    spoiler_text: str


class StatusEditPoll(Schema):
    options: list[dict[str, str]]


class StatusEdit(Schema):
    content: str
    spoiler_text: str
    sensitive: bool
    created_at: str
    account: schemas.Account
    poll: StatusEditPoll | None
    media_attachments: list[schemas.MediaAttachment]
    emojis: list[Any]


class StatusIn(Schema):
    """``POST /api/v1/statuses`` (form, multipart or JSON; arrays as ``key[]=`` in forms)."""

    status: str | None = None
    media_ids: list[str] | None = None
    poll: dict[str, Any] | None = None
    in_reply_to_id: str | None = None
    quoted_status_id: str | None = None
    sensitive: bool | None = None
    spoiler_text: str | None = None
    visibility: str | None = None
    language: str | None = None
    scheduled_at: str | None = None


class MediaAttributeIn(Schema):
    id: str
    description: str | None = None
    focus: str | None = None


class StatusEditIn(Schema):
    """``PUT /api/v1/statuses/:id``: omitted fields keep their value."""

    status: str | None = None
    spoiler_text: str | None = None
    sensitive: bool | None = None
    language: str | None = None
    media_ids: list[str] | None = None
    media_attributes: list[MediaAttributeIn] | None = None
    poll: dict[str, Any] | None = None


class VoteIn(Schema):
    choices: list[int]


# --- Input helpers ---------------------------------------------------------------------------


def _poll_draft(data: dict[str, Any]) -> PollDraft | None:
    """The poll of a compose or an edit: JSON ``{"poll": {...}}`` or the form's ``poll[...]`` keys."""
    raw = data.get("poll")
    if isinstance(raw, dict):
        options, expires_in, multiple, hide = (raw.get("options"), raw.get("expires_in"), raw.get("multiple"), raw.get("hide_totals"))
    else:
        options = data.get("poll[options]")
        expires_in, multiple, hide = data.get("poll[expires_in]"), data.get("poll[multiple]"), data.get("poll[hide_totals]")
    if options is None and expires_in is None:
        return None
    return PollDraft(
        options=[str(o) for o in as_list(options)],
        expires_in=body_int(expires_in, "poll[expires_in]", unit="seconds") or 0,
        multiple=bool(parse_bool(multiple, "poll[multiple]", default=False)),
        hide_totals=bool(parse_bool(hide, "poll[hide_totals]", default=False)),
    )


def _media_attributes(request: HttpRequest, data: dict[str, Any]) -> dict[int, str]:
    """``media_attributes[][id]``/``[description]`` (form, indexed or not) or a JSON list: ``{media id: alt text}``."""
    out: dict[int, str] = {}
    for row in nested_attributes(request, data, "media_attributes") or []:
        mid = parse_id(row.get("id"))
        if mid is not None and row.get("description") is not None:
            out[mid] = str(row["description"])
    return out


# --- Rendering -------------------------------------------------------------------------------


def _render(viewer: Account | None, post_id: int) -> dict[str, Any]:
    return entities.one_status(post_queries.get_post(viewer, post_id), viewer)


def _own_post(account: Account, status_id: str) -> Post:
    """One of the account's own posts; anybody else's answers 404, as a missing one."""
    post = post_queries.get_post(account, status_id)
    if post.author_id != account.pk:
        raise NotFound("Record not found")
    return post


def _edit_poll(post: Post) -> dict[str, Any] | None:
    poll = post_queries.poll_of(post)
    return {"options": [{"title": o.title} for o in poll.options.all()]} if poll is not None else None


def _status_edit(post: Post, version: PostEdit | None, media: list[dict[str, Any]]) -> dict[str, Any]:
    """Mastodon's StatusEdit: one version of a post (``version`` None: the current one)."""
    if version is None:
        content, spoiler, sensitive, when = post.content_html, post.spoiler_text, post.sensitive, post.edited_at or post.created_at
        attached = media
    else:
        content, spoiler, sensitive, when = version.content_html, version.spoiler_text, version.sensitive, version.created_at
        # Rostra keeps the alt text of earlier versions, not their files: the images are today's.
        descriptions = list(version.media_descriptions or [])
        attached = [{**m, "description": descriptions[i] or None} for i, m in enumerate(media[: len(descriptions)])]
    return {
        "content": content,
        "spoiler_text": spoiler or post.moderation_label,
        "sensitive": bool(sensitive or post.moderation_label),
        "created_at": entities.timestamp(when),
        "account": entities.account(post.author),
        "poll": _edit_poll(post),
        "media_attachments": attached,
        "emojis": [],
    }


# --- Compose, read, edit, delete -------------------------------------------------------------


@router.post(
    "/v1/statuses",
    response=schemas.Status,
    auth=Scoped("write:statuses"),
    summary="Post a status (with media or a poll, as a reply or a quote); with scheduled_at, schedule it",
    openapi_extra=form_body_openapi(StatusIn),
)
def create_status(request: HttpRequest) -> Any:
    account = account_of(request)
    data = body_params(request)
    user = account.user
    draft = actions.Draft(
        text=str(data.get("status") or ""),
        visibility=str(data.get("visibility") or (user.default_visibility if user else "public")),
        spoiler_text=str(data.get("spoiler_text") or ""),
        sensitive=bool(parse_bool(data.get("sensitive"), "sensitive", default=bool(user.default_sensitive) if user else False)),
        in_reply_to_id=optional_id(data.get("in_reply_to_id")),
        quote_of_id=optional_id(data.get("quoted_status_id") or data.get("quote_id")),
        media_ids=[parse_id(m) or 0 for m in as_list(data.get("media_ids"))],
        language=str(data.get("language") or ""),
        idempotency_key=request.headers.get("Idempotency-Key") or None,
        poll=_poll_draft(data),
    )
    scheduled_at = data.get("scheduled_at")
    if scheduled_at:
        return _schedule(account, draft, scheduled_at)
    post = actions.create_post(account, draft)
    return _render(account, post.pk)


def _schedule(account: Account, draft: actions.Draft, raw: Any) -> HttpResponse:
    """Hand the draft to the scheduler (rostra.posts.scheduled), answering a ScheduledStatus."""
    try:
        when = parse_datetime(str(raw))
    except ValueError:  # well-formed but impossible, e.g. month 13
        when = None
    if when is None:
        raise ApiError(422, "scheduled_at is not a valid ISO 8601 time")
    try:  # imported here: the scheduler is optional to this module (and its endpoint module renders the entity)
        scheduled = importlib.import_module("rostra.posts.scheduled")
        render = importlib.import_module("rostra.api.endpoints.scheduled").scheduled_status_entity
    except (ImportError, AttributeError):
        raise ApiError(422, "Scheduled posts are not available") from None
    row = scheduled.schedule_post(account, draft, when)
    return JsonResponse(render(row))


@router.get(
    "/v1/statuses",
    response=list[schemas.Status],
    auth=MaybeScoped("read:statuses"),
    summary="Several statuses by id (id[]=..., at most 20); ids that are missing or not visible are skipped",
)
def get_statuses(request: HttpRequest) -> list[dict[str, Any]]:
    viewer = viewer_of(request)
    return entities.statuses(post_queries.get_posts(viewer, query_ids(request, at_most=MAX_IDS)), viewer)


@router.get("/v1/statuses/{status_id}", response=schemas.Status, auth=MaybeScoped("read:statuses"), summary="One status")
def get_status(request: HttpRequest, status_id: str) -> dict[str, Any]:
    viewer = viewer_of(request)
    return entities.one_status(post_queries.get_post(viewer, status_id), viewer)


@router.delete(
    "/v1/statuses/{status_id}",
    response=schemas.Status,
    auth=Scoped("write:statuses"),
    summary="Delete one's status; answers it with its source text (for delete and redraft)",
)
def delete_status(request: HttpRequest, status_id: str) -> dict[str, Any]:
    account = account_of(request)
    post = _own_post(account, status_id)
    out = entities.one_status(post, account)
    out["text"] = post.text
    delete_media = bool(parse_bool(request.GET.get("delete_media") or body_params(request).get("delete_media"), "delete_media", default=False))
    actions.delete_post(account, post.pk, keep_media=not delete_media)
    return out


@router.put(
    "/v1/statuses/{status_id}",
    response=schemas.Status,
    auth=Scoped("write:statuses"),
    summary="Edit one's status: text, content warning, sensitivity, media and alt text, language",
    openapi_extra=form_body_openapi(StatusEditIn),
)
def edit_status(request: HttpRequest, status_id: str) -> dict[str, Any]:
    account = account_of(request)
    data = body_params(request)
    post = _own_post(account, status_id)
    if ("poll" in data or any(k.startswith("poll[") for k in data)) and not poll_unchanged(post, _poll_draft(data)):
        raise ApiError(422, "Polls cannot be edited here: delete the post and post it again with the new poll")
    media_ids = [parse_id(m) or 0 for m in as_list(data.get("media_ids"))] if "media_ids" in data else None
    actions.edit_post(
        account,
        post.pk,
        text=str(data["status"]) if data.get("status") is not None else post.text,
        spoiler_text=str(data["spoiler_text"]) if data.get("spoiler_text") is not None else post.spoiler_text,
        sensitive=bool(parse_bool(data.get("sensitive"), "sensitive", default=post.sensitive)),
        media_ids=media_ids,
        media_descriptions=_media_attributes(request, data),
        language=str(data["language"]) if data.get("language") is not None else None,
    )
    return _render(account, post.pk)


@router.get(
    "/v1/statuses/{status_id}/history",
    response=list[StatusEdit],
    auth=MaybeScoped("read:statuses"),
    summary="Every version of a status, oldest first, the current one last",
)
def status_history(request: HttpRequest, status_id: str) -> list[dict[str, Any]]:
    viewer = viewer_of(request)
    post, edits = post_queries.edit_history(viewer, status_id)
    media = [entities.media_attachment(m, viewer.pk if viewer else None) for m in post.media.all()]
    return [_status_edit(post, e, media) for e in reversed(edits)] + [_status_edit(post, None, media)]


@router.get(
    "/v1/statuses/{status_id}/source",
    response=StatusSource,
    auth=Scoped("read:statuses"),
    summary="What the author typed (for editing)",
)
def status_source(request: HttpRequest, status_id: str) -> dict[str, Any]:
    post = post_queries.get_post(account_of(request), status_id)
    return {"id": str(post.pk), "text": post.text, "spoiler_text": post.spoiler_text}


@router.get(
    "/v1/statuses/{status_id}/context",
    response=Context,
    auth=MaybeScoped("read:statuses"),
    summary="The visible ancestors and descendants of a status",
)
def status_context(request: HttpRequest, status_id: str) -> dict[str, Any]:
    viewer = viewer_of(request)
    ancestors, descendants = post_queries.thread(viewer, post_queries.get_post(viewer, status_id))
    built = entities.statuses([*ancestors, *descendants], viewer)
    return {"ancestors": built[: len(ancestors)], "descendants": built[len(ancestors) :]}


# --- What one does to a status ---------------------------------------------------------------


@router.post("/v1/statuses/{status_id}/reblog", response=schemas.Status, auth=Scoped("write:statuses"), summary="Reblog (repost) a status")
def reblog(request: HttpRequest, status_id: str) -> dict[str, Any]:
    account = account_of(request)
    rp = actions.repost(account, path_id(status_id))  # ``visibility`` is accepted and ignored: a repost has its post's
    return _render(account, rp.pk)


@router.post("/v1/statuses/{status_id}/unreblog", response=schemas.Status, auth=Scoped("write:statuses"), summary="Undo a reblog")
def unreblog(request: HttpRequest, status_id: str) -> dict[str, Any]:
    account = account_of(request)
    post = post_queries.get_post(account, status_id)
    original = post.repost_of_id if post.repost_of_id else post.pk
    actions.unrepost(account, original)
    return _render(account, original)


@router.post(
    "/v1/statuses/{status_id}/favourite", response=schemas.Status, auth=Scoped("write:favourites"), summary="Favourite (like) a status"
)
def favourite(request: HttpRequest, status_id: str) -> dict[str, Any]:
    account = account_of(request)
    liked = actions.like(account, path_id(status_id))
    return _render(account, liked.pk)


@router.post("/v1/statuses/{status_id}/unfavourite", response=schemas.Status, auth=Scoped("write:favourites"), summary="Undo a favourite")
def unfavourite(request: HttpRequest, status_id: str) -> dict[str, Any]:
    account = account_of(request)
    post = post_queries.get_post(account, status_id)
    actions.unlike(account, post.pk)
    return _render(account, post.repost_of_id or post.pk)


@router.post("/v1/statuses/{status_id}/bookmark", response=schemas.Status, auth=Scoped("write:bookmarks"), summary="Bookmark a status")
def bookmark(request: HttpRequest, status_id: str) -> dict[str, Any]:
    account = account_of(request)
    actions.bookmark(account, path_id(status_id))
    return _render(account, path_id(status_id))


@router.post("/v1/statuses/{status_id}/unbookmark", response=schemas.Status, auth=Scoped("write:bookmarks"), summary="Remove a bookmark")
def unbookmark(request: HttpRequest, status_id: str) -> dict[str, Any]:
    account = account_of(request)
    post = post_queries.get_post(account, status_id)
    actions.unbookmark(account, post.pk)
    return _render(account, post.pk)


@router.post(
    "/v1/statuses/{status_id}/pin", response=schemas.Status, auth=Scoped("write:accounts"), summary="Pin one's status to one's profile (at most 5)"
)
def pin(request: HttpRequest, status_id: str) -> dict[str, Any]:
    account = account_of(request)
    return _render(account, actions.pin(account, path_id(status_id)).pk)


@router.post("/v1/statuses/{status_id}/unpin", response=schemas.Status, auth=Scoped("write:accounts"), summary="Unpin a status")
def unpin(request: HttpRequest, status_id: str) -> dict[str, Any]:
    account = account_of(request)
    return _render(account, actions.unpin(account, path_id(status_id)).pk)


@router.post(
    "/v1/statuses/{status_id}/mute",
    response=schemas.Status,
    auth=Scoped("write:mutes", "write:conversations"),
    summary="Mute the conversation: no more notifications from it",
)
def mute(request: HttpRequest, status_id: str) -> dict[str, Any]:
    account = account_of(request)
    return _render(account, actions.mute_thread(account, path_id(status_id)).pk)


@router.post(
    "/v1/statuses/{status_id}/unmute", response=schemas.Status, auth=Scoped("write:mutes", "write:conversations"), summary="Unmute the conversation"
)
def unmute(request: HttpRequest, status_id: str) -> dict[str, Any]:
    account = account_of(request)
    return _render(account, actions.unmute_thread(account, path_id(status_id)).pk)


# --- Who reblogged, favourited or quoted ----------------------------------------------------


def _who(request: HttpRequest, response: HttpResponse, status_id: str, query: Callable[[Account | None, Post, PageRequest], Page[Account]]) -> list[dict[str, Any]]:
    """A page of the accounts that reblogged or favourited a status (the original, for a reblog)."""
    viewer = viewer_of(request)
    post = post_queries.get_post(viewer, status_id)
    page = query(viewer, post.repost_of or post, page_request(request, default_limit=40, max_limit=80))
    paginated(request, response, page)
    return [entities.account(a) for a in page.items]


@router.get(
    "/v1/statuses/{status_id}/reblogged_by",
    response=list[schemas.Account],
    auth=MaybeScoped("read:accounts"),
    summary="Who reblogged a status (paginated, Link header)",
)
def reblogged_by(request: HttpRequest, response: HttpResponse, status_id: str) -> list[dict[str, Any]]:
    return _who(request, response, status_id, post_queries.reposters_page)


@router.get(
    "/v1/statuses/{status_id}/favourited_by",
    response=list[schemas.Account],
    auth=MaybeScoped("read:accounts"),
    summary="Who favourited a status (paginated, Link header)",
)
def favourited_by(request: HttpRequest, response: HttpResponse, status_id: str) -> list[dict[str, Any]]:
    return _who(request, response, status_id, post_queries.likers_page)


@router.get(
    "/v1/statuses/{status_id}/quotes",
    response=list[schemas.Status],
    auth=Scoped("read:statuses"),
    summary="The quotes of one of one's own statuses (Mastodon 4.5; paginated, Link header)",
)
def quotes(request: HttpRequest, response: HttpResponse, status_id: str) -> list[dict[str, Any]]:
    account = account_of(request)
    page = post_queries.quotes_page(account, status_id, page_request(request))
    paginated(request, response, page)
    return entities.statuses(page.items, account)


# --- Polls -----------------------------------------------------------------------------------


@router.get("/v1/polls/{poll_id}", response=schemas.Poll, auth=MaybeScoped("read:statuses"), summary="A poll")
def get_poll(request: HttpRequest, poll_id: str) -> dict[str, Any]:
    return entities.poll(post_queries.get_poll(viewer_of(request), poll_id))


def _choice(raw: Any) -> int:
    """An option index; anything that is not one becomes -1, which the domain refuses as an
    option that does not exist."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.strip().isascii() and raw.strip().isdigit() and len(raw.strip()) < 6:
        return int(raw.strip())
    return -1


@router.post(
    "/v1/polls/{poll_id}/votes",
    response=schemas.Poll,
    auth=Scoped("write:statuses"),
    summary="Vote on a poll (choices[]=index)",
    openapi_extra=form_body_openapi(VoteIn),
)
def vote(request: HttpRequest, poll_id: str) -> dict[str, Any]:
    account = account_of(request)
    choices = [_choice(c) for c in as_list(body_params(request).get("choices"))]
    actions.vote(account, path_id(poll_id), choices)
    return entities.poll(post_queries.get_poll(account, poll_id))
