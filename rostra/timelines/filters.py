"""Filters (Mastodon's v2 filters): writes, permission-checked reads, and matching posts.

A filter belongs to one person; another person's filter answers like a missing one. Matching
is a pure function over posts already read through the door: ``match_filters`` compiles the
viewer's active keywords once per call and returns, per post id, the filters that matched it
(``FilterResult``). ``apply_filters`` drops the posts a ``hide`` filter matched from a page.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Prefetch, Q, prefetch_related_objects

from rostra.accounts.models import Account
from rostra.core.clock import now
from rostra.core.errors import NotFound, ValidationError
from rostra.core.ids import parse_id
from rostra.core.prepared import Prepared
from rostra.posts.models import Post
from rostra.posts.queries import get_post
from rostra.timelines.models import FILTER_CONTEXTS, Filter, FilterAction, FilterKeyword, FilterStatus

MAX_TITLE = 100
MAX_KEYWORD = 100
MAX_KEYWORDS = 50  # per filter
MAX_FILTERS = 100  # per person
MAX_STATUSES = 100  # per filter

_UNSET: Any = object()


@dataclass(frozen=True)
class KeywordDraft:
    """A keyword to add (``id`` None), change (``id`` set) or remove (``destroy``)."""

    keyword: str = ""
    whole_word: bool = True
    id: Any = None
    destroy: bool = False


@dataclass(frozen=True)
class FilterDraft:
    title: str
    context: Sequence[str]
    action: str = FilterAction.WARN
    expires_in: int | str | None = None  # seconds from now (a form may send digits); None: never
    keywords: Sequence[KeywordDraft] = ()


@dataclass(frozen=True)
class FilterResult:
    """Why a post matched one filter (Mastodon's FilterResult)."""

    filter: Filter
    keyword_matches: list[str] = field(default_factory=list)
    status_matches: list[int] = field(default_factory=list)


# -- reads ---------------------------------------------------------------------------------------


def _active(qs: Any, at: datetime | None = None) -> Any:
    return qs.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now() if at is None else at))


_in_force = Prepared("an account's filters in force", lambda account_id, at: _active(Filter.objects.filter(account_id=account_id), at))


def filters_of(account: Account) -> list[Filter]:
    """All of the account's filters (expired ones too, as Mastodon lists them), keywords prefetched."""
    return list(
        Filter.objects.filter(account_id=account.pk)
        .prefetch_related(Prefetch("keywords", queryset=FilterKeyword.objects.order_by("id")), "statuses")
        .order_by("id")
    )


def get_filter(account: Account, filter_id: Any) -> Filter:
    fid = parse_id(filter_id)
    found = Filter.objects.filter(pk=fid, account_id=account.pk).first() if fid is not None else None
    if found is None:
        raise NotFound("No such filter.")
    return found


def get_filter_keyword(account: Account, keyword_id: Any) -> FilterKeyword:
    kid = parse_id(keyword_id)
    found = FilterKeyword.objects.filter(pk=kid, filter__account_id=account.pk).select_related("filter").first() if kid else None
    if found is None:
        raise NotFound("No such filter keyword.")
    return found


def get_filter_status(account: Account, filter_status_id: Any) -> FilterStatus:
    sid = parse_id(filter_status_id)
    found = FilterStatus.objects.filter(pk=sid, filter__account_id=account.pk).select_related("filter").first() if sid else None
    if found is None:
        raise NotFound("No such filtered post.")
    return found


def compile_keyword(keyword: str, whole_word: bool) -> re.Pattern[str]:
    """Case-insensitive, Unicode-aware. Whole-word bounds apply only where the keyword starts or
    ends with a word character (so "#tag" or "c++" still match), as Mastodon does."""
    body = re.escape(keyword)
    if whole_word:
        start = r"(?<!\w)" if re.match(r"\w", keyword) else ""
        end = r"(?!\w)" if re.search(r"\w$", keyword) else ""
        body = f"{start}{body}{end}"
    return re.compile(body, re.IGNORECASE | re.UNICODE)


def match_filters(account: Account | None, posts: Iterable[Post], context: str) -> dict[int, list[FilterResult]]:
    """``{post_id: [FilterResult, ...]}`` for each post one of the account's active filters in
    ``context`` matches; two queries however many posts. A repost is matched by what it reposts."""
    posts = list(posts)
    if account is None or not posts or context not in FILTER_CONTEXTS:
        return {}
    # Asked of every timeline page: a prepared query, and nothing more for most people, who have
    # no filter in force.
    active = [f for f in _in_force.models(account_id=account.pk, at=now()) if context in (f.context or [])]
    if not active:
        return {}
    prefetch_related_objects(active, "keywords", "statuses")
    compiled = [(f, [(k.keyword, compile_keyword(k.keyword, k.whole_word)) for k in f.keywords.all()]) for f in active]
    status_sets = [{s.post_id for s in f.statuses.all()} for f in active]
    results: dict[int, list[FilterResult]] = {}
    for post in posts:
        target = post.repost_of if post.repost_of_id and post.repost_of is not None else post
        haystack = f"{target.spoiler_text}\n{target.text}"
        for (flt, patterns), statuses in zip(compiled, status_sets, strict=True):
            words = [kw for kw, rx in patterns if rx.search(haystack)]
            ids = [pid for pid in {post.pk, target.pk} if pid in statuses]
            if words or ids:
                results.setdefault(post.pk, []).append(FilterResult(flt, words, sorted(ids)))
    return results


def apply_filters(account: Account | None, posts: Sequence[Post], context: str) -> tuple[list[Post], dict[int, list[FilterResult]]]:
    """The posts minus those a ``hide`` filter matched, and the ``warn`` results for the rest."""
    results = match_filters(account, posts, context)
    kept: list[Post] = []
    warnings: dict[int, list[FilterResult]] = {}
    for post in posts:
        found = results.get(post.pk, [])
        if any(r.filter.action == FilterAction.HIDE for r in found):
            continue
        kept.append(post)
        if found:
            warnings[post.pk] = found
    return kept, warnings


# -- writes --------------------------------------------------------------------------------------


def _clean_title(title: Any) -> str:
    cleaned = str(title or "").strip()
    if not cleaned:
        raise ValidationError("A filter needs a title.", field="title")
    if len(cleaned) > MAX_TITLE:
        raise ValidationError(f"A filter's title can be at most {MAX_TITLE} characters.", field="title")
    return cleaned


def _clean_context(context: Any) -> list[str]:
    if isinstance(context, str):
        context = [context]
    values = [str(c) for c in (context or [])]
    if not values:
        raise ValidationError("Choose at least one context for the filter.", field="context")
    unknown = [c for c in values if c not in FILTER_CONTEXTS]
    if unknown:
        raise ValidationError(f"Unknown context {unknown[0]!r}: use {', '.join(FILTER_CONTEXTS)}.", field="context")
    return [c for c in FILTER_CONTEXTS if c in values]


def _clean_action(action: Any) -> str:
    if action not in FilterAction.values:
        raise ValidationError("The filter action must be warn or hide.", field="filter_action")
    return str(action)


def _clean_expiry(expires_in: Any) -> Any:
    if expires_in in (None, ""):
        return None
    try:
        seconds = int(expires_in)
    except (TypeError, ValueError, OverflowError):
        raise ValidationError("expires_in must be a number of seconds.", field="expires_in") from None
    if seconds <= 0 or seconds > 10 * 365 * 86400:
        raise ValidationError("expires_in must be a positive number of seconds, at most ten years.", field="expires_in")
    return now() + timedelta(seconds=seconds)


def _clean_keyword(keyword: Any) -> str:
    cleaned = str(keyword or "").strip()
    if not cleaned:
        raise ValidationError("A keyword cannot be empty.", field="keyword")
    if len(cleaned) > MAX_KEYWORD:
        raise ValidationError(f"A keyword can be at most {MAX_KEYWORD} characters.", field="keyword")
    return cleaned


def _check_keyword_count(flt: Filter, adding: int = 1) -> None:
    if flt.keywords.count() + adding > MAX_KEYWORDS:
        raise ValidationError(f"A filter can have at most {MAX_KEYWORDS} keywords.", field="keywords")


def create_filter(account: Account, draft: FilterDraft) -> Filter:
    """Validate everything, then write the filter and its keywords in one transaction."""
    title = _clean_title(draft.title)
    context = _clean_context(draft.context)
    action = _clean_action(draft.action)
    expires_at = _clean_expiry(draft.expires_in)
    if any(k.id is not None or k.destroy for k in draft.keywords):
        raise ValidationError("A new filter's keywords cannot name existing keywords.", field="keywords")
    keywords = [(_clean_keyword(k.keyword), bool(k.whole_word)) for k in draft.keywords]
    if len(keywords) > MAX_KEYWORDS:
        raise ValidationError(f"A filter can have at most {MAX_KEYWORDS} keywords.", field="keywords")
    if Filter.objects.filter(account_id=account.pk).count() >= MAX_FILTERS:
        raise ValidationError(f"You can have at most {MAX_FILTERS} filters.")
    with transaction.atomic():
        flt = Filter.objects.create(account=account, title=title, context=context, action=action, expires_at=expires_at)
        FilterKeyword.objects.bulk_create([FilterKeyword(filter=flt, keyword=k, whole_word=w) for k, w in keywords])
    return flt


def update_filter(
    account: Account,
    filter_id: Any,
    *,
    title: Any = _UNSET,
    context: Any = _UNSET,
    action: Any = _UNSET,
    expires_in: Any = _UNSET,
    keywords: Sequence[KeywordDraft] = (),
) -> Filter:
    """Change what is given (``expires_in=None`` clears the expiry); ``keywords`` adds, changes
    and removes keywords like Mastodon's ``keywords_attributes``. All or nothing."""
    flt = get_filter(account, filter_id)
    if title is not _UNSET:
        flt.title = _clean_title(title)
    if context is not _UNSET:
        flt.context = _clean_context(context)
    if action is not _UNSET:
        flt.action = _clean_action(action)
    if expires_in is not _UNSET:
        flt.expires_at = _clean_expiry(expires_in)
    existing = {k.pk: k for k in flt.keywords.all()}
    adds: list[FilterKeyword] = []
    changes: list[FilterKeyword] = []
    removes: set[int] = set()
    for k in keywords:
        if k.id is None:
            adds.append(FilterKeyword(filter=flt, keyword=_clean_keyword(k.keyword), whole_word=bool(k.whole_word)))
            continue
        row = existing.get(parse_id(k.id) or 0)
        if row is None:
            raise NotFound("No such filter keyword.")
        if k.destroy:
            removes.add(row.pk)
        else:
            row.keyword = _clean_keyword(k.keyword)
            row.whole_word = bool(k.whole_word)
            changes.append(row)
    if len(existing) - len(removes) + len(adds) > MAX_KEYWORDS:
        raise ValidationError(f"A filter can have at most {MAX_KEYWORDS} keywords.", field="keywords")
    with transaction.atomic():
        flt.save(update_fields=["title", "context", "action", "expires_at"])
        FilterKeyword.objects.filter(pk__in=removes).delete()
        FilterKeyword.objects.bulk_update(changes, ["keyword", "whole_word"])
        FilterKeyword.objects.bulk_create(adds)
    return flt


def delete_filter(account: Account, filter_id: Any) -> None:
    get_filter(account, filter_id).delete()


def add_filter_keyword(account: Account, filter_id: Any, keyword: Any, *, whole_word: bool = True) -> FilterKeyword:
    flt = get_filter(account, filter_id)
    cleaned = _clean_keyword(keyword)
    _check_keyword_count(flt)
    return FilterKeyword.objects.create(filter=flt, keyword=cleaned, whole_word=bool(whole_word))


def update_filter_keyword(account: Account, keyword_id: Any, *, keyword: Any = _UNSET, whole_word: Any = _UNSET) -> FilterKeyword:
    row = get_filter_keyword(account, keyword_id)
    if keyword is not _UNSET:
        row.keyword = _clean_keyword(keyword)
    if whole_word is not _UNSET:
        row.whole_word = bool(whole_word)
    row.save(update_fields=["keyword", "whole_word"])
    return row


def delete_filter_keyword(account: Account, keyword_id: Any) -> None:
    get_filter_keyword(account, keyword_id).delete()


def add_filter_status(account: Account, filter_id: Any, post_id: Any) -> FilterStatus:
    """Filter one post the account can see (an invisible post answers like a missing one)."""
    flt = get_filter(account, filter_id)
    post = get_post(account, post_id)
    if flt.statuses.count() >= MAX_STATUSES:
        raise ValidationError(f"A filter can have at most {MAX_STATUSES} posts.", field="status_id")
    row, _ = FilterStatus.objects.get_or_create(filter=flt, post=post)
    return row


def delete_filter_status(account: Account, filter_status_id: Any) -> None:
    get_filter_status(account, filter_status_id).delete()
