"""Search: posts (full text, built into the database), accounts and hashtags.

Post results always start from the visibility door (``visible_posts`` and ``without_muted``),
so search can never show what the viewer could not open. On top of the door, search is a
discovery surface and narrows further, as the public timelines do: unlisted and limited-reach
posts are found only by their author, the author's followers and the people they mention.

What a person types is never handed to a query language. It is cut into plain words (letters
and digits); each becomes a quoted term, all are required, and the last one also matches as a
prefix, so results follow typing. Operators, quotes and brackets are dropped, so no input can
make a query fail. SQLite matches against the FTS5 table kept by ``rostra.search.schema``;
PostgreSQL matches the GIN-indexed expression with ``websearch_to_tsquery``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.db import connection
from django.db.models import Case, Exists, IntegerField, OuterRef, Q, QuerySet, Value, When
from django.db.models.expressions import RawSQL
from django.db.models.functions import Length

from rostra.accounts.models import Account, Block, Follow
from rostra.core.pagination import Page, PageRequest, paginate
from rostra.core.replicas import on_replica
from rostra.core.text import parse
from rostra.posts.models import Hashtag, Mention, ModerationState, Post, Visibility
from rostra.posts.queries import visible_posts, with_viewer_state, without_muted
from rostra.search.schema import search_vector

MAX_QUERY_CHARS = 256  # a search box, not a document: anything longer is cut
MAX_TERMS = 12
MAX_TERM_CHARS = 64  # no word people search for is longer; a run of 10,000 'x' is not a word
MAX_NAME_QUERY = 100
MAX_RESULTS = 100
_WORD = re.compile(r"[^\W_]+")  # letters and digits: what both tokenizers treat as word characters
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def query_terms(q: str) -> list[str]:
    """The plain words of a query, in order, without repeats; [] when there are none."""
    text = unicodedata.normalize("NFKC", (q or "")[: MAX_QUERY_CHARS * 4])[:MAX_QUERY_CHARS]
    terms: list[str] = []
    seen: set[str] = set()
    for word in _WORD.findall(text):
        key = word.casefold()
        if len(word) <= MAX_TERM_CHARS and key not in seen:
            seen.add(key)
            terms.append(word)
    return terms[:MAX_TERMS]


def fts5_query(terms: list[str]) -> str:
    """FTS5 syntax for the terms: each quoted, all required, the last one also as a prefix."""
    quoted = ['"' + t.replace('"', '""') + '"' for t in terms]
    return " ".join(quoted) + "*"


def _matching_sqlite(qs: QuerySet[Post], terms: list[str]) -> QuerySet[Post]:
    # The only input is the match expression, bound as a parameter.
    matches = RawSQL("SELECT rowid FROM search_post_fts WHERE search_post_fts MATCH %s", (fts5_query(terms),))
    return qs.filter(pk__in=matches)


def _matching_postgresql(qs: QuerySet[Post], terms: list[str]) -> QuerySet[Post]:
    from django.contrib.postgres.search import SearchQuery

    # Quoted words are literal to websearch_to_tsquery ("or" and "-" lose their meaning), and
    # the last word, letters and digits only, is safe inside a raw prefix query.
    *words, last = terms
    query = SearchQuery(f"'{last}':*", search_type="raw", config="simple")
    if words:
        query = SearchQuery(" ".join(f'"{w}"' for w in words), search_type="websearch", config="simple") & query
    return qs.alias(search_document=search_vector()).filter(search_document=query)


def _matching(qs: QuerySet[Post], terms: list[str]) -> QuerySet[Post]:
    if connection.vendor == "postgresql":
        return _matching_postgresql(qs, terms)
    if connection.vendor == "sqlite":
        return _matching_sqlite(qs, terms)
    raise NotImplementedError(f"full-text search is not built for {connection.vendor}")


def _discoverable(viewer: Account | None) -> Q:
    """Beyond the door: only public, fully published posts are found by everybody."""
    public = Q(visibility=Visibility.PUBLIC, moderation_state=ModerationState.PUBLISHED)
    if viewer is None:
        return public
    follows_author = Exists(Follow.objects.filter(follower_id=viewer.pk, target_id=OuterRef("author_id")))
    mentioned = Exists(Mention.objects.filter(post_id=OuterRef("pk"), account_id=viewer.pk))
    return public | Q(author_id=viewer.pk) | follows_author | mentioned


def search_posts(viewer: Account | None, q: str, req: PageRequest, *, account_id: int | None = None, offset: int = 0) -> Page[Post]:
    """Posts whose text or content warning has every word of ``q``; newest first, by keyset.

    ``account_id`` keeps only that author's posts; ``offset`` skips that many results (the
    Mastodon API's paging; the keyset cursors still apply and are preferred)."""
    tag = _single_hashtag(q)
    terms = query_terms(q)
    if not terms and tag is None:
        return Page(items=[], next_max_id=None, prev_min_id=None)
    # No "repost_of IS NULL" here: reposts are never in the SQLite index and their empty text
    # never matches on PostgreSQL, and the extra condition tempts both planners to walk the
    # repost_of index over every original post instead of starting from the matches.
    qs = without_muted(visible_posts(viewer), viewer).filter(_discoverable(viewer))
    if account_id is not None:
        qs = qs.filter(author_id=account_id)
    # "#tea" asks for the posts carrying that hashtag, not for words starting with "tea".
    matching = qs.filter(hashtags__name=tag) if tag is not None else _matching(qs, terms)
    qs = on_replica(with_viewer_state(matching, viewer), viewer)
    if offset > 0:
        if req.max_id is not None:
            qs = qs.filter(pk__lt=req.max_id)
        offset = min(offset, 10_000)
        items = list(qs.order_by("-id")[offset : offset + req.limit])
        return Page(items=items, next_max_id=items[-1].pk if len(items) == req.limit else None, prev_min_id=None)
    return paginate(qs, req)


def _single_hashtag(q: str) -> str | None:
    """The tag's name when the whole query is one hashtag (``#Tea``), else None."""
    text = (q or "").strip()
    if not text.startswith("#") or any(c.isspace() for c in text):
        return None
    found = parse(text).hashtags
    return found[0] if len(found) == 1 and f"#{found[0]}" == text.lower() else None


def _clean(q: str, limit: int = MAX_NAME_QUERY) -> str:
    return _CONTROL.sub("", unicodedata.normalize("NFKC", (q or "")[: limit * 4]))[:limit].strip()


def search_accounts(viewer: Account | None, q: str, limit: int = 20, *, offset: int = 0, following: bool = False) -> list[Account]:
    """Accounts by the start of the username or of a word in the display name; ``@name`` and ``name@domain`` work too.

    An exact username comes first, then local accounts, then those who chose to be discoverable,
    then the most followed. Suspended accounts, and accounts that block the viewer, are left out.
    ``following``: only accounts the viewer follows; ``offset`` skips that many results.
    """
    q = _clean(q).lstrip("@").strip()
    if not q:
        return []
    limit = max(1, min(MAX_RESULTS, limit))
    username, at, domain = q.partition("@")
    username, domain = username.strip(), domain.strip().lower()
    if at and not username:
        return []
    local_domain = str(settings.ROSTRA.domain).lower()
    if at:
        # A handle: the username part as a prefix, on the named domain (also a prefix, for typing).
        match = Q(username__istartswith=username)
        exact = Q(username__iexact=username)
        if domain in (local_domain, local_domain.split(":", 1)[0]):
            match, exact = match & Q(domain=""), exact & Q(domain="")
        elif domain:
            match, exact = match & Q(domain__istartswith=domain), exact & Q(domain__iexact=domain)
    else:
        # A display name matches where any of its words starts: "lid" finds "Alice Liddell".
        match = Q(username__istartswith=q) | Q(display_name__istartswith=q) | Q(display_name__icontains=f" {q}")
        exact = Q(username__iexact=q, domain="")
    qs = Account.objects.filter(match, suspended_at__isnull=True)
    if viewer is not None:
        qs = qs.exclude(Exists(Block.objects.filter(account_id=OuterRef("pk"), target_id=viewer.pk)))
        if following:
            qs = qs.filter(Exists(Follow.objects.filter(follower_id=viewer.pk, target_id=OuterRef("pk"))))
    elif following:
        return []
    offset = max(0, min(offset, 10_000))
    ranked = qs.annotate(
        exact_rank=Case(When(exact, then=Value(0)), default=Value(1), output_field=IntegerField()),
        local_rank=Case(When(domain="", then=Value(0)), default=Value(1), output_field=IntegerField()),
    ).order_by("exact_rank", "local_rank", "-discoverable", "-followers_count", "username", "id")
    return list(on_replica(ranked, viewer)[offset : offset + limit])


def search_hashtags(q: str, limit: int = 20, *, offset: int = 0) -> list[Hashtag]:
    """Hashtags starting with ``q`` (a leading '#' is fine): the exact one first, then the shortest
    names, alphabetically (Mastodon's order, so clients list ``#tea, #teapot, #teatime``)."""
    name = _clean(q).lstrip("#").strip().lower()
    if not name:
        return []
    limit = max(1, min(MAX_RESULTS, limit))
    offset = max(0, min(offset, 10_000))
    exact = Case(When(name=name, then=Value(0)), default=Value(1), output_field=IntegerField())
    return list(
        on_replica(Hashtag.objects.all(), None)
        .filter(name__startswith=name)
        .annotate(exact_rank=exact)
        .order_by("exact_rank", Length("name"), "name")[offset : offset + limit]
    )


# -- resolving a URL or a handle -----------------------------------------------------------------

_LOCAL_PATH = re.compile(r"^/(?:@(?P<at>[A-Za-z0-9_]+)|users/(?P<user>[A-Za-z0-9_]+))(?:/(?:statuses/)?(?P<post>[0-9]{1,19}))?/?$")


@dataclass(frozen=True)
class Resolved:
    """What a pasted URL or handle names: an account, a post, or nothing the viewer may see."""

    account: Account | None = None
    post: Post | None = None


def resolve(viewer: Account | None, q: str, *, remote: bool = False) -> Resolved:
    """A local profile or post URL (``https://<domain>/@alice/123``, ``/users/alice/statuses/123``)
    or a local handle (``@alice@<domain>``). Posts come through the door (an invisible post
    resolves to nothing, as a missing one does); suspended accounts resolve to nothing.

    ``remote`` (signed-in viewers only): another server's URL or handle is also fetched and stored
    (``rostra.search.remote``, rate-limited per person); what it finds passes the same door."""
    text = _clean(q, MAX_QUERY_CHARS)
    if text.startswith(("http://", "https://")):
        parts = urlsplit(text)
        hosts = {str(settings.ROSTRA.domain).lower(), str(settings.ROSTRA.domain).lower().split(":", 1)[0]}
        if (parts.netloc or "").lower() not in hosts:
            return _resolve_remote(viewer, text) if remote else Resolved()
        m = _LOCAL_PATH.match(parts.path or "")
        if m is None:
            return Resolved()
        username = m.group("at") or m.group("user") or ""
        if m.group("post"):
            post = with_viewer_state(visible_posts(viewer).filter(pk=int(m.group("post")), author__username__iexact=username, author__domain=""), viewer).first()
            return Resolved(post=post)
        return Resolved(account=Account.objects.filter(username__iexact=username, domain="", suspended_at__isnull=True).first())
    handle = text.lstrip("@")
    username, at, domain = handle.partition("@")
    local = str(settings.ROSTRA.domain).lower()
    if at and username and domain.lower() in (local, local.split(":", 1)[0]):
        return Resolved(account=Account.objects.filter(username__iexact=username, domain="", suspended_at__isnull=True).first())
    if at and username and domain and remote:
        return _resolve_remote(viewer, handle)
    return Resolved()


def _resolve_remote(viewer: Account | None, q: str) -> Resolved:
    """Another server's account or post, fetched now, then read through the door like any other."""
    from rostra.search import remote

    found = remote.fetch(viewer, q) if viewer is not None else None
    if isinstance(found, Post):
        return Resolved(post=with_viewer_state(visible_posts(viewer).filter(pk=found.pk), viewer).first())
    if isinstance(found, Account):
        return Resolved(account=Account.objects.filter(pk=found.pk, suspended_at__isnull=True).first())
    return Resolved()


def is_url(q: str) -> bool:
    return _clean(q, MAX_QUERY_CHARS).startswith(("http://", "https://"))
