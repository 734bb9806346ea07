"""The NinjaAPI object: routers, the OpenAPI document and the mapping of errors to Mastodon's format."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from rostra.api.endpoints import (
    accounts,
    admin,
    announcements,
    apps,
    conversations,
    directory,
    featured_tags,
    filters,
    instance,
    instance_extra,
    lists,
    markers,
    media,
    notifications,
    preferences,
    reports,
    scheduled,
    search,
    statuses,
    suggestions,
    timelines,
    trends,
)
from rostra.api.http import INVALID_TOKEN, ApiError, error_response
from rostra.api.version import MASTODON_VERSION
from rostra.core.errors import Conflict, DomainError, NotFound, PermissionDenied, RateLimited, ValidationError

api = NinjaAPI(
    title="Rostra client API (Mastodon-compatible)",
    version=MASTODON_VERSION,
    description="The Mastodon 4.x client API as Rostra implements it; see docs/api-compatibility.md.",
    openapi_url="/openapi.json",
    docs_url=None,  # the interactive docs page loads scripts from a CDN; the JSON document is enough
    urls_namespace="api",
)
for _module in (
    instance,
    apps,
    accounts,
    statuses,
    media,
    timelines,
    lists,
    markers,
    notifications,
    conversations,
    search,
    trends,
    filters,
    reports,
    admin,
    preferences,
    suggestions,
    scheduled,
    directory,
    announcements,
    instance_extra,
    featured_tags,
):
    api.add_router("", _module.router)


@api.exception_handler(ApiError)
def _api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
    return error_response(exc.status, exc.message, exc.headers)


@api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, exc: Exception) -> HttpResponse:
    return error_response(401, INVALID_TOKEN)


@api.exception_handler(NinjaValidationError)
def _invalid_input(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    parts = []
    for err in exc.errors:
        where = ".".join(str(p) for p in err.get("loc", ())[1:] if p != "body") or "input"
        parts.append(f"{where} {err.get('msg', 'is invalid')}")
    return error_response(422, "Validation failed: " + "; ".join(parts))


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return error_response(exc.status_code, str(exc))


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Exception) -> HttpResponse:
    return error_response(404, "Record not found")


@api.exception_handler(DomainError)
def _domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    status, headers = domain_status(exc)
    return error_response(status, exc.message, headers)


def domain_status(exc: DomainError) -> tuple[int, dict[str, Any]]:
    """Domain errors to Mastodon statuses: the one mapping every endpoint uses."""
    if isinstance(exc, NotFound):
        return 404, {}
    if isinstance(exc, PermissionDenied):
        return 403, {}
    if isinstance(exc, RateLimited):
        return 429, {"Retry-After": str(max(1, int(exc.retry_after)))}
    if isinstance(exc, ValidationError | Conflict):
        return 422, {}  # Mastodon answers 422 for invalid records and for conflicting ones alike
    return 422, {}
