"""Federation's HTTP surface: discovery, actors, notes, collections, the inboxes.

Each view parses, authorises (through ``queries``, i.e. the visibility door), and renders a
document from ``documents``. Anything an anonymous visitor may not see answers the same 404 as
something that does not exist; a deleted public post answers 410 with a Tombstone.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode, urlsplit

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.http.request import RawPostDataException
from django.utils.cache import patch_vary_headers
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST, require_safe

from rostra.core.errors import NotFound
from rostra.federation import actions, authorized_fetch, documents, inbox, queries, uris
from rostra.federation import instance_actor as instance_actor_module

View = Callable[..., HttpResponse]
AS_CONTENT_TYPE = "application/activity+json; charset=utf-8"
_NOT_FOUND = {"error": "Record not found"}
_ACCT = re.compile(r"^@?(?P<user>[A-Za-z0-9_]{1,30})@(?P<host>[^@/\s]+)$")
_USER_PATH = re.compile(r"^/(?:@|users/)(?P<user>[A-Za-z0-9_]{1,30})/?$")


def wants_activity_json(request: HttpRequest) -> bool:
    """Does the client ask for ActivityStreams rather than a page? (Servers do; browsers do not.)"""
    accept = request.headers.get("Accept", "").lower()
    return "application/activity+json" in accept or "application/ld+json" in accept


def activity_response(doc: dict[str, Any], status: int = 200) -> JsonResponse:
    response = JsonResponse(doc, status=status, content_type=AS_CONTENT_TYPE, json_dumps_params={"ensure_ascii": False})
    patch_vary_headers(response, ("Accept",))
    return response


def not_found() -> JsonResponse:
    """The one 404 for every missing or invisible thing: the same bytes whatever the reason."""
    response = JsonResponse(_NOT_FOUND, status=404)
    patch_vary_headers(response, ("Accept",))
    return response


def _found_or_404(view: View) -> View:
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except NotFound:
            return not_found()

    return wrapper


# --- Discovery -------------------------------------------------------------------------------------


@require_safe
def webfinger(request: HttpRequest) -> HttpResponse:
    resource = request.GET.get("resource", "").strip()
    if _names_instance_actor(resource):
        return _jrd(instance_actor_module.webfinger())
    username = _resource_user(resource)
    if username is None:
        return JsonResponse({"error": "resource must be acct:user@domain or the URL of a profile here"}, status=400)
    if not username:
        return not_found()  # well-formed, but another server's
    try:
        account = queries.local_actor(username)
    except NotFound:
        return not_found()
    response = JsonResponse(documents.webfinger(account, uris.domain()), content_type="application/jrd+json; charset=utf-8")
    response["Access-Control-Allow-Origin"] = "*"
    return response


def _jrd(doc: dict[str, Any]) -> HttpResponse:
    response = JsonResponse(doc, content_type="application/jrd+json; charset=utf-8")
    response["Access-Control-Allow-Origin"] = "*"
    return response


def _names_instance_actor(resource: str) -> bool:
    """``acct:<host>@<host>`` or the instance actor's URL."""
    host = uris.domain().lower()
    return resource.lower() in (f"acct:{host}@{host}", instance_actor_module.actor_uri().lower())


def _resource_user(resource: str) -> str | None:
    """The local username a resource names; "" for another server's; None for a malformed one."""
    if resource.lower().startswith("acct:"):
        m = _ACCT.match(resource[5:])
        if m is None:
            return None
        return m["user"] if uris.is_local_host(m["host"]) else ""
    if resource.startswith(("https://", "http://")):
        try:
            parts = urlsplit(resource)
        except ValueError:
            return None
        m = _USER_PATH.match(parts.path)
        if m is None:
            return None
        return m["user"] if uris.is_local_host(parts.netloc) else ""
    return None


@require_safe
def host_meta(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(documents.host_meta(), content_type="application/xrd+xml; charset=utf-8")
    response["Access-Control-Allow-Origin"] = "*"
    return response


# --- The instance actor (always served unsigned: peers fetch its key to check our signed GETs) -----


@require_safe
def instance_actor(request: HttpRequest) -> HttpResponse:
    if not wants_activity_json(request):
        response = HttpResponseRedirect("/about")
        patch_vary_headers(response, ("Accept",))
        return response
    return activity_response(instance_actor_module.document())


@require_safe
def instance_actor_outbox(request: HttpRequest) -> HttpResponse:
    return activity_response(documents.collection(f"{instance_actor_module.actor_uri()}/outbox", 0))


# --- Actors and their collections ------------------------------------------------------------------


@_found_or_404
def _minimal_actor(request: HttpRequest, username: str) -> HttpResponse:
    """What an unsigned GET of an actor gets under authorised fetch: its key and inboxes only."""
    account = queries.local_actor(username)
    return activity_response(authorized_fetch.minimal(documents.person(account, actions.ensure_key(account).public_key_pem)))


@require_safe
@authorized_fetch.signed_only(minimal_actor=_minimal_actor, html_passes=True)
@_found_or_404
def actor(request: HttpRequest, username: str) -> HttpResponse:
    account = queries.local_actor(username)
    if not wants_activity_json(request):
        response = HttpResponseRedirect(f"/@{account.username}")
        patch_vary_headers(response, ("Accept",))
        return response
    return activity_response(documents.person(account, actions.ensure_key(account).public_key_pem))


@require_safe
@authorized_fetch.signed_only(html_passes=True)
@_found_or_404
def note(request: HttpRequest, username: str, post_id: str) -> HttpResponse:
    account = queries.local_actor(username)
    if (gone := queries.tombstone(account, post_id)) is not None:
        return activity_response(documents.tombstone(gone), status=410)
    post = queries.public_post(account, post_id)
    if not wants_activity_json(request):
        response = HttpResponseRedirect(f"/@{account.username}/{post.pk}")
        patch_vary_headers(response, ("Accept",))
        return response
    return activity_response({**documents.note(post)})


@require_safe
@authorized_fetch.signed_only()
@_found_or_404
def outbox(request: HttpRequest, username: str) -> HttpResponse:
    account = queries.local_actor(username)
    url = f"{uris.actor_url(account.username)}/outbox"
    if request.GET.get("page") != "true":
        total = queries.outbox_posts(account).count()
        return activity_response(documents.collection(url, total, first=f"{url}?page=true"))
    max_id = request.GET.get("max_id")
    posts = queries.outbox_page(account, max_id)
    page_url = f"{url}?{urlencode({'page': 'true', **({'max_id': max_id} if max_id else {})})}"
    next_url = f"{url}?{urlencode({'page': 'true', 'max_id': posts[-1].pk})}" if len(posts) == queries.OUTBOX_PAGE_SIZE else None
    items = [documents.activity_of(p) for p in posts]
    return activity_response(documents.collection_page(url, page_url, items, next_url=next_url))


def _graph_count(field: str) -> View:
    @require_safe
    @authorized_fetch.signed_only()
    @_found_or_404
    def view(request: HttpRequest, username: str) -> HttpResponse:
        # Counts only, as Mastodon shows a hidden graph: who follows whom is not served here.
        account = queries.local_actor(username)
        return activity_response(
            documents.collection(f"{uris.actor_url(account.username)}/{field}", getattr(account, f"{field}_count"))
        )

    return view


followers = _graph_count("followers")
following = _graph_count("following")


@require_safe
@authorized_fetch.signed_only()
@_found_or_404
def featured(request: HttpRequest, username: str) -> HttpResponse:
    account = queries.local_actor(username)
    return activity_response(documents.featured(account, queries.featured_posts(account)))


# --- The inboxes -----------------------------------------------------------------------------------


def _receive(request: HttpRequest, username: str | None) -> HttpResponse:
    recipient = None
    if username is not None:
        try:
            recipient = queries.local_actor(username)
        except NotFound:
            return not_found()
    try:
        inbox.check_size(request.META.get("CONTENT_LENGTH"))
        try:
            body = request.body
        except (RequestDataTooBig, RawPostDataException):
            raise inbox.Refused(413, f"Inbox bodies are limited to {inbox.MAX_BODY_BYTES} bytes.") from None
        received = inbox.receive(
            method=request.method or "POST",
            path=request.get_full_path(),
            scheme="https" if request.is_secure() else "http",
            headers=request.headers,
            body=body,
            content_type=request.content_type or "",
            recipient=recipient,
        )
    except inbox.Refused as exc:
        refused = JsonResponse({"error": exc.message}, status=exc.status)
        if exc.retry_after is not None:
            refused["Retry-After"] = str(exc.retry_after)
        return refused
    return HttpResponse(status=202, content_type="application/json", content=json.dumps({"stored": received.stored}))


@csrf_exempt  # authenticated by HTTP Signatures, never by cookie: there is nothing to forge
@require_POST
def user_inbox(request: HttpRequest, username: str) -> HttpResponse:
    return _receive(request, username)


@csrf_exempt  # as above
@require_POST
def shared_inbox(request: HttpRequest) -> HttpResponse:
    return _receive(request, None)
