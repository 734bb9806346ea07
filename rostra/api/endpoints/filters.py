"""Filters: Mastodon's v2 filters (keywords and statuses), and the v1 list read from them.
See docs/api-compatibility.md.

The domain is ``rostra.timelines.filters``: every write validates all its input first and writes
in one transaction, so a bad keyword in a request leaves nothing half-saved.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema

from rostra.api import entities, schemas
from rostra.api.http import ApiError, Scoped, account_of, body_params, form_body_openapi, nested_attributes, parse_bool
from rostra.timelines import filters as domain
from rostra.timelines.filters import FilterDraft, KeywordDraft
from rostra.timelines.models import FilterAction

router = Router(tags=["filters"])

READ = Scoped("read", "read:filters")
WRITE = Scoped("write", "write:filters")

class FilterIn(Schema):
    title: str
    context: list[str]
    filter_action: str | None = "warn"
    expires_in: int | None = None
    keywords_attributes: list[dict[str, Any]] | None = None


class KeywordIn(Schema):
    keyword: str
    whole_word: bool | None = True


class StatusIn(Schema):
    status_id: str


class V1FilterIn(Schema):
    phrase: str
    context: list[str]
    irreversible: bool | None = False
    whole_word: bool | None = True
    expires_in: int | None = None


class V1Filter(Schema):
    id: str
    phrase: str
    context: list[str]
    whole_word: bool
    expires_at: str | None
    irreversible: bool


def _bool(data: dict[str, Any], name: str, *, default: bool) -> bool:
    return bool(parse_bool(data.get(name), name, default=default))


def _params(request: HttpRequest) -> tuple[dict[str, Any], list[dict[str, Any]] | None]:
    """Plain parameters (``key[]`` as lists) and ``keywords_attributes`` (None when absent)."""
    data = body_params(request)
    return data, nested_attributes(request, data, "keywords_attributes")


def _drafts(raw: list[dict[str, Any]]) -> list[KeywordDraft]:
    return [
        KeywordDraft(
            keyword=str(k.get("keyword") or ""),
            whole_word=_bool(k, "whole_word", default=True),
            id=k.get("id") or None,
            destroy=_bool(k, "_destroy", default=False),
        )
        for k in raw
    ]


# --- v2 filters ---------------------------------------------------------------------------------


@router.get("/v2/filters", response=list[schemas.Filter], auth=READ, summary="The signed-in person's filters")
def list_filters(request: HttpRequest) -> list[dict[str, Any]]:
    return [entities.filter_entity(f) for f in domain.filters_of(account_of(request))]


@router.post("/v2/filters", response=schemas.Filter, auth=WRITE, summary="Create a filter", openapi_extra=form_body_openapi(FilterIn))
def create_filter(request: HttpRequest) -> dict[str, Any]:
    account = account_of(request)
    data, keywords = _params(request)
    draft = FilterDraft(
        title=str(data.get("title") or ""),
        context=data.get("context") or [],
        action=str(data.get("filter_action") or FilterAction.WARN),
        expires_in=data.get("expires_in"),
        keywords=_drafts(keywords or []),
    )
    return entities.filter_entity(domain.create_filter(account, draft))


@router.get("/v2/filters/{filter_id}", response=schemas.Filter, auth=READ, summary="One filter")
def get_filter(request: HttpRequest, filter_id: str) -> dict[str, Any]:
    return entities.filter_entity(domain.get_filter(account_of(request), filter_id))


@router.put("/v2/filters/{filter_id}", response=schemas.Filter, auth=WRITE, summary="Change a filter (and add, change or remove its keywords)", openapi_extra=form_body_openapi(FilterIn))
def update_filter(request: HttpRequest, filter_id: str) -> dict[str, Any]:
    account = account_of(request)
    data, keywords = _params(request)
    changes: dict[str, Any] = {}
    if "title" in data:
        changes["title"] = data["title"]
    if "context" in data:
        changes["context"] = data["context"]
    if "filter_action" in data:
        changes["action"] = data["filter_action"]
    if "expires_in" in data:
        changes["expires_in"] = data["expires_in"] or None
    flt = domain.update_filter(account, filter_id, keywords=_drafts(keywords or []), **changes)
    return entities.filter_entity(domain.get_filter(account, flt.pk))


@router.delete("/v2/filters/{filter_id}", response=schemas.Empty, auth=WRITE, summary="Delete a filter")
def delete_filter(request: HttpRequest, filter_id: str) -> dict[str, Any]:
    domain.delete_filter(account_of(request), filter_id)
    return {}


# --- keywords -----------------------------------------------------------------------------------


@router.get("/v2/filters/{filter_id}/keywords", response=list[schemas.FilterKeyword], auth=READ, summary="A filter's keywords")
def list_keywords(request: HttpRequest, filter_id: str) -> list[dict[str, Any]]:
    flt = domain.get_filter(account_of(request), filter_id)
    return [entities.filter_keyword(k) for k in flt.keywords.order_by("id")]


@router.post("/v2/filters/{filter_id}/keywords", response=schemas.FilterKeyword, auth=WRITE, summary="Add a keyword to a filter", openapi_extra=form_body_openapi(KeywordIn))
def add_keyword(request: HttpRequest, filter_id: str) -> dict[str, Any]:
    data = body_params(request)
    whole_word = _bool(data, "whole_word", default=True)
    row = domain.add_filter_keyword(account_of(request), filter_id, data.get("keyword"), whole_word=whole_word)
    return entities.filter_keyword(row)


@router.get("/v2/filter_keywords/{keyword_id}", response=schemas.FilterKeyword, auth=READ, summary="One filter keyword")
@router.get("/v2/filters/keywords/{keyword_id}", response=schemas.FilterKeyword, auth=READ, include_in_schema=False)
def get_keyword(request: HttpRequest, keyword_id: str) -> dict[str, Any]:
    return entities.filter_keyword(domain.get_filter_keyword(account_of(request), keyword_id))


@router.put("/v2/filter_keywords/{keyword_id}", response=schemas.FilterKeyword, auth=WRITE, summary="Change a filter keyword", openapi_extra=form_body_openapi(KeywordIn))
@router.put("/v2/filters/keywords/{keyword_id}", response=schemas.FilterKeyword, auth=WRITE, include_in_schema=False)
def update_keyword(request: HttpRequest, keyword_id: str) -> dict[str, Any]:
    data, _ = _params(request)
    changes: dict[str, Any] = {}
    if "keyword" in data:
        changes["keyword"] = data["keyword"]
    if "whole_word" in data:
        changes["whole_word"] = _bool(data, "whole_word", default=True)
    return entities.filter_keyword(domain.update_filter_keyword(account_of(request), keyword_id, **changes))


@router.delete("/v2/filter_keywords/{keyword_id}", response=schemas.Empty, auth=WRITE, summary="Remove a filter keyword")
@router.delete("/v2/filters/keywords/{keyword_id}", response=schemas.Empty, auth=WRITE, include_in_schema=False)
def delete_keyword(request: HttpRequest, keyword_id: str) -> dict[str, Any]:
    domain.delete_filter_keyword(account_of(request), keyword_id)
    return {}


# --- statuses -----------------------------------------------------------------------------------


@router.get("/v2/filters/{filter_id}/statuses", response=list[schemas.FilterStatus], auth=READ, summary="The statuses a filter names")
def list_statuses(request: HttpRequest, filter_id: str) -> list[dict[str, Any]]:
    flt = domain.get_filter(account_of(request), filter_id)
    return [entities.filter_status(s) for s in flt.statuses.order_by("id")]


@router.post("/v2/filters/{filter_id}/statuses", response=schemas.FilterStatus, auth=WRITE, summary="Add a status to a filter", openapi_extra=form_body_openapi(StatusIn))
def add_status(request: HttpRequest, filter_id: str) -> dict[str, Any]:
    data = body_params(request)
    if not data.get("status_id"):
        raise ApiError(422, "Validation failed: Status can't be blank")
    return entities.filter_status(domain.add_filter_status(account_of(request), filter_id, data["status_id"]))


@router.get("/v2/filter_statuses/{filter_status_id}", response=schemas.FilterStatus, auth=READ, summary="One filtered status")
@router.get("/v2/filters/statuses/{filter_status_id}", response=schemas.FilterStatus, auth=READ, include_in_schema=False)
def get_status(request: HttpRequest, filter_status_id: str) -> dict[str, Any]:
    return entities.filter_status(domain.get_filter_status(account_of(request), filter_status_id))


@router.delete("/v2/filter_statuses/{filter_status_id}", response=schemas.Empty, auth=WRITE, summary="Remove a status from a filter")
@router.delete("/v2/filters/statuses/{filter_status_id}", response=schemas.Empty, auth=WRITE, include_in_schema=False)
def delete_status(request: HttpRequest, filter_status_id: str) -> dict[str, Any]:
    domain.delete_filter_status(account_of(request), filter_status_id)
    return {}


# --- v1: each v2 keyword is one v1 filter ------------------------------------------------------


def _v1(flt: Any, k: Any) -> dict[str, Any]:
    return {
        "id": str(k.pk),
        "phrase": k.keyword,
        "context": list(flt.context or []),
        "whole_word": k.whole_word,
        "expires_at": entities.timestamp(flt.expires_at),
        "irreversible": flt.action == FilterAction.HIDE,
    }


@router.get("/v1/filters", response=list[V1Filter], auth=READ, summary="v1 filters: each v2 keyword as one filter")
def list_v1(request: HttpRequest) -> list[dict[str, Any]]:
    return [_v1(f, k) for f in domain.filters_of(account_of(request)) for k in f.keywords.all()]


@router.get("/v1/filters/{keyword_id}", response=V1Filter, auth=READ, summary="One v1 filter (a v2 keyword)")
def get_v1(request: HttpRequest, keyword_id: str) -> dict[str, Any]:
    k = domain.get_filter_keyword(account_of(request), keyword_id)
    return _v1(k.filter, k)


@router.post("/v1/filters", response=V1Filter, auth=WRITE, summary="Create a v1 filter (a v2 filter with one keyword)", openapi_extra=form_body_openapi(V1FilterIn))
def create_v1(request: HttpRequest) -> dict[str, Any]:
    account = account_of(request)
    data, _ = _params(request)
    phrase = str(data.get("phrase") or "")
    whole_word = _bool(data, "whole_word", default=True)
    draft = FilterDraft(
        title=phrase,
        context=data.get("context") or [],
        action=FilterAction.HIDE if _bool(data, "irreversible", default=False) else FilterAction.WARN,
        expires_in=data.get("expires_in"),
        keywords=[KeywordDraft(keyword=phrase, whole_word=whole_word)],
    )
    flt = domain.create_filter(account, draft)
    return _v1(flt, flt.keywords.get())


@router.put("/v1/filters/{keyword_id}", response=V1Filter, auth=WRITE, summary="Change a v1 filter (its keyword and its v2 filter)", openapi_extra=form_body_openapi(V1FilterIn))
def update_v1(request: HttpRequest, keyword_id: str) -> dict[str, Any]:
    account = account_of(request)
    data, _ = _params(request)
    k = domain.get_filter_keyword(account, keyword_id)
    changes: dict[str, Any] = {}
    if "context" in data:
        changes["context"] = data["context"]
    if "irreversible" in data:
        changes["action"] = FilterAction.HIDE if _bool(data, "irreversible", default=False) else FilterAction.WARN
    if "expires_in" in data:
        changes["expires_in"] = data["expires_in"] or None
    draft = KeywordDraft(
        keyword=str(data["phrase"]) if "phrase" in data else k.keyword,
        whole_word=_bool(data, "whole_word", default=k.whole_word),
        id=k.pk,
    )
    flt = domain.update_filter(account, k.filter_id, keywords=[draft], **changes)  # one transaction: all or nothing
    return _v1(flt, domain.get_filter_keyword(account, k.pk))


@router.delete("/v1/filters/{keyword_id}", response=schemas.Empty, auth=WRITE, summary="Delete a v1 filter (its keyword)")
def delete_v1(request: HttpRequest, keyword_id: str) -> dict[str, Any]:
    domain.delete_filter_keyword(account_of(request), keyword_id)
    return {}
