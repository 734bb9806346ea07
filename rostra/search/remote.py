"""Finding what search is asked about on other servers: the plug federation fills.

Search is a domain app and never imports federation; at start-up federation registers the
function that fetches a handle (WebFinger) or a URL (ActivityStreams) from another server and
stores what it finds (``rostra.federation.resolve.for_search``). Resolving costs requests to
strangers' servers, so it is for signed-in people only and rate-limited per person (the
``resolve`` rule of ``ROSTRA_RATE_LIMITS``). Nothing registered, the limit reached, the limiter
down or the remote failing: nothing is found, never an error.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from rostra.accounts.models import Account
from rostra.core import ratelimit
from rostra.posts.models import Post

log = logging.getLogger(__name__)

Fetcher = Callable[[str], Account | Post | None]

_fetcher: Fetcher | None = None


def register_fetcher(fetcher: Fetcher | None) -> None:
    global _fetcher
    _fetcher = fetcher


def fetch(viewer: Account, q: str) -> Account | Post | None:
    """The account or post ``q`` (a handle or a URL) names on another server, fetched and stored
    now; None when nothing is registered, the person resolved too much lately, or nothing is found."""
    if _fetcher is None:
        return None
    try:
        verdict = ratelimit.limiter().hit(ratelimit.rules()["resolve"], str(viewer.pk))
    except ratelimit.LimiterUnavailable:
        return None  # fail closed: nothing counts, nothing is fetched
    if not verdict.allowed:
        log.info("account %s resolved too much; %r not fetched", viewer.pk, q[:200])
        return None
    return _fetcher(q)
