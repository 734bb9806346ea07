"""The HTML sanitiser: an allow-list, applied to everything user-controlled that becomes HTML.

Only ``p br span a`` survive; links may only be http(s) or mailto and are forced to
``rel="nofollow noopener noreferrer"``. ``sanitize`` never raises: anything it cannot make
sense of is dropped or escaped.
"""

from __future__ import annotations

import nh3

ALLOWED_TAGS = {"p", "br", "span", "a"}
ALLOWED_ATTRIBUTES = {"a": {"href", "class", "title", "target"}, "span": {"class"}}
ALLOWED_SCHEMES = {"http", "https", "mailto"}
LINK_REL = "nofollow noopener noreferrer"


def _clean(html: str) -> str:
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        # "*": nothing, or nh3 would also keep its default generic attributes (lang, title) on every tag.
        attributes={**ALLOWED_ATTRIBUTES, "*": set()},
        url_schemes=ALLOWED_SCHEMES,
        link_rel=LINK_REL,
        strip_comments=True,
    )


def sanitize(html: str) -> str:
    """Allow-listed HTML, stable: sanitising the result again changes nothing. One pass is not
    always stable: html5ever's tree building can serialise markup that parses differently (an
    ``<a>`` foster-parented out of a ``<table>`` comes out nested in another ``<a>``), so a
    second pass settles it."""
    try:
        return _clean(_clean(html))
    except Exception:  # noqa: BLE001 - the sanitiser never raises; nh3 does not on str input
        return nh3.clean_text(html)


def to_plain_text(html: str) -> str:
    """Text only (for search, notifications and email), with no markup at all."""
    return nh3.clean(html.replace("<br>", "\n").replace("</p>", "\n\n"), tags=set()).strip()
