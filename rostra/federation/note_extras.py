"""What a Note carries besides its text: the post it quotes (FEP-e232 and the older
``quoteUrl``/``quoteUri``/``_misskey_quote`` properties) and, for a post with a poll, the shape of
a ``Question``. Wire formats only; ``documents.note`` calls ``add_quote`` and ``add_poll``.

A quote is announced four ways because the fediverse reads four: Mastodon (4.4+) and FEP-e232
readers take the ``Link`` tag, Misskey and its forks ``_misskey_quote``, Fedibird ``quoteUri``,
Pleroma/Akkoma ``quoteUrl``. Servers that read none see the ``RE: <url>`` line in the content.
"""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Any

from rostra.core import clock
from rostra.federation import uris
from rostra.federation.models import RemotePost
from rostra.posts.models import Poll, Post, QuoteState

# The JSON-LD terms these properties need (added to the Note context in documents.NOTE_CONTEXT).
CONTEXT_TERMS: dict[str, Any] = {
    "votersCount": "toot:votersCount",
    "quoteUrl": "as:quoteUrl",
    "quoteUri": "http://fedibird.com/ns#quoteUri",
    "_misskey_quote": "https://misskey-hub.net/ns#_misskey_quote",
    "misskey": "https://misskey-hub.net/ns#",
    "fedibird": "http://fedibird.com/ns#",
}
QUOTE_LINK_MEDIA_TYPE = uris.LD_PROFILE


def _iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def quoted_uri(post: Post) -> str | None:
    """The ActivityPub id of the post ``post`` quotes (None: no quote, a detached one, or a remote
    post whose id was never learnt)."""
    if post.quote_of_id is None or post.quote_state != QuoteState.ACCEPTED:
        return None
    quoted = post.quote_of  # selected with its author and remote id by pages of notes (queries._anonymous)
    if quoted is None:
        return None
    if quoted.author.is_local:
        return uris.note_url(quoted.author.username, quoted.pk)
    try:
        return quoted.remote.uri
    except RemotePost.DoesNotExist:
        return None


def add_quote(post: Post, doc: dict[str, Any]) -> None:
    """The quote properties, the FEP-e232 Link tag and the ``RE:`` line, when ``post`` quotes one."""
    uri = quoted_uri(post)
    if uri is None:
        return
    doc["quoteUrl"] = doc["quoteUri"] = doc["_misskey_quote"] = uri
    doc.setdefault("tag", []).append({"type": "Link", "mediaType": QUOTE_LINK_MEDIA_TYPE, "href": uri, "name": f"RE: {uri}"})
    if uri not in doc.get("content", ""):
        link = escape(uri, quote=True)
        doc["content"] = f'{doc.get("content", "")}<p class="quote-inline">RE: <a href="{link}">{link}</a></p>'
        if "contentMap" in doc:
            doc["contentMap"] = dict.fromkeys(doc["contentMap"], doc["content"])


def add_poll(post: Post, doc: dict[str, Any]) -> None:
    """A post with a poll is a ``Question``: ``oneOf`` (``anyOf`` when several answers are allowed)
    lists the options as Notes with their counts, ``endTime`` the end, ``closed`` when it ended."""
    try:
        poll = post.poll  # selected, with its options, by pages of notes (queries._anonymous)
    except Poll.DoesNotExist:
        return
    ended = poll.closed_at is not None or poll.expires_at <= clock.now()
    hidden = poll.hide_totals and not ended  # counts are shown once the poll has ended
    doc["type"] = "Question"
    doc["oneOf" if not poll.multiple else "anyOf"] = [
        {
            "type": "Note",
            "name": option.title,
            "replies": {"type": "Collection", "totalItems": 0 if hidden else option.votes_count},
        }
        for option in poll.options.all()
    ]
    doc["endTime"] = _iso(poll.expires_at)
    doc["votersCount"] = 0 if hidden else poll.voters_count
    if ended:
        doc["closed"] = _iso(poll.closed_at or poll.expires_at)
