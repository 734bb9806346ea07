"""Quote posts arriving from other servers: which post a Note quotes, and finding it.

A Note names the post it quotes in any of four ways (see ``note_extras``): a FEP-e232 ``Link``
tag whose ``mediaType`` is ActivityStreams, ``quoteUrl`` (Pleroma/Akkoma), ``quoteUri``
(Fedibird) or ``_misskey_quote`` (Misskey). An unknown quoted post is fetched from its own host
(``resolve.fetch_post``: its id on the host fetched, its author there too); one that cannot be
had leaves the quote unresolved, and the Note is stored without it.
"""

from __future__ import annotations

import contextvars
import logging
import re
from collections.abc import Callable
from typing import Any

from rostra.federation import resolve
from rostra.posts.models import Post

log = logging.getLogger(__name__)

# A quoted post that quotes another is stored without fetching that one: a chain of quotes
# cannot make one activity fetch without end.
MAX_QUOTE_FETCH_DEPTH = 1
_depth: contextvars.ContextVar[int] = contextvars.ContextVar("rostra_quote_depth", default=0)

# Compared without white space and case: servers differ in both.
AS_LINK_TYPES = frozenset(
    {"application/activity+json", 'application/ld+json;profile="https://www.w3.org/ns/activitystreams"', "application/ld+json"}
)
_QUOTE_INLINE = re.compile(
    r'<(span|p)\b[^>]*\bclass="[^"]*\bquote-inline\b[^"]*"[^>]*>.*?</\1>', re.IGNORECASE | re.DOTALL
)


def quote_target(note: dict[str, Any]) -> str:
    """The id of the post a Note quotes ("" when none): the FEP-e232 Link tag first, then the
    older properties."""
    tags = note.get("tag")
    for tag in tags if isinstance(tags, list) else [tags]:
        if not isinstance(tag, dict) or tag.get("type") != "Link" or not isinstance(tag.get("href"), str):
            continue
        media_type = "".join(str(tag.get("mediaType") or "").split()).lower()
        if media_type in AS_LINK_TYPES:
            return str(tag["href"])[:2048]
    for key in ("quoteUrl", "quoteUri", "_misskey_quote", "quoteURL"):
        value = note.get(key)
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            return value[:2048]
    return ""


def without_inline_quote(content: str) -> str:
    """Content without the ``RE: <url>`` fallback that servers add for readers of quotes
    (an element with the ``quote-inline`` class): the quote itself is shown instead."""
    return _QUOTE_INLINE.sub("", content)


def quoted_post(note: dict[str, Any], known: Callable[[str], Post | None]) -> Post | None:
    """The post the Note quotes: known here, or fetched from its own host; None when the Note
    quotes nothing or the quoted post cannot be had (the quote stays unresolved)."""
    target = quote_target(note)
    if not target or target == note.get("id"):
        return None
    found = known(target)
    if found is not None or _depth.get() >= MAX_QUOTE_FETCH_DEPTH:
        return found
    token = _depth.set(_depth.get() + 1)
    try:
        return resolve.fetch_post(target)
    except Exception as exc:  # noqa: BLE001 - a quote is optional: the Note is stored without it
        log.info("the quoted post %s could not be fetched: %s", target[:200], exc)
        return None
    finally:
        _depth.reset(token)
