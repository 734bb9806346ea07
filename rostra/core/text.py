"""Parsing and rendering of what people type: mentions, hashtags and links.

Posts are stored as the text the author typed; HTML is rendered from it here and then passed
through the allow-list sanitiser, so user text can never inject markup. Every pattern is a
bounded character-class run with no nested quantifiers: linear time on hostile input
(50,000 characters of '@@@@' or '####' parse in milliseconds).
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import quote

from rostra.core.html import LINK_REL, sanitize

MAX_URL = 2048
_URL = r"(?P<url>\bhttps?://[^\s<>\"'`]{1,2048})"
_MENTION = (
    r"(?P<mention>(?<![\w@/.])@(?P<m_user>[A-Za-z0-9_]{1,30})"
    r"(?:@(?P<m_domain>[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}\.){0,10}[A-Za-z0-9-]{1,63}(?::\d{1,5})?))?)"
)
# A tag is 1-100 word characters with a letter among the first 100 (so not all digits); the
# lookahead is bounded, and the name fits the 100-character Hashtag.name column.
_HASHTAG = r"(?P<tag>(?<![\w#&/])#(?P<t_name>(?=[\d_]{0,99}[^\W\d_])\w{1,100}))"
TOKEN_RE = re.compile("|".join((_URL, _MENTION, _HASHTAG)))
_TRAILING = ".,;:!?\"')]}*"


@dataclass
class Parsed:
    mentions: list[tuple[str, str]] = field(default_factory=list)  # (username, domain or "")
    hashtags: list[str] = field(default_factory=list)  # normalised (lower case), unique, in order
    links: list[str] = field(default_factory=list)


def _trim_url(url: str) -> str:
    # Trailing punctuation belongs to the sentence, except a ')' that closes a '(' in the URL.
    while url and url[-1] in _TRAILING:
        if url[-1] == ")" and url.count("(") >= url.count(")"):
            break
        url = url[:-1]
    return url


def _tokens(text: str) -> list[tuple[int, int, str, dict[str, str]]]:
    out: list[tuple[int, int, str, dict[str, str]]] = []
    for m in TOKEN_RE.finditer(text):
        if m.group("url"):
            url = _trim_url(m.group("url"))
            if len(url) > len("https://"):
                out.append((m.start(), m.start() + len(url), "url", {"url": url}))
        elif m.group("mention"):
            out.append((m.start(), m.end(), "mention", {"user": m.group("m_user"), "domain": (m.group("m_domain") or "").lower()}))
        elif m.group("tag"):
            out.append((m.start(), m.end(), "tag", {"name": m.group("t_name")}))
    return out


def parse(text: str) -> Parsed:
    parsed = Parsed()
    seen_tags: set[str] = set()
    seen_mentions: set[tuple[str, str]] = set()
    for _, _, kind, data in _tokens(text):
        if kind == "url":
            parsed.links.append(data["url"])
        elif kind == "mention":
            key = (data["user"].lower(), data["domain"])
            if key not in seen_mentions:
                seen_mentions.add(key)
                parsed.mentions.append(key)
        else:
            name = data["name"].lower()
            if name not in seen_tags:
                seen_tags.add(name)
                parsed.hashtags.append(name)
    return parsed


MentionResolver = Callable[[str, str], str | None]  # (username, domain) -> profile URL or None


def _display_url(url: str) -> str:
    shown = re.sub(r"^https?://(www\.)?", "", url)
    return shown if len(shown) <= 40 else shown[:39] + "…"


def render(text: str, resolve_mention: MentionResolver | None = None) -> str:
    """Plain text -> safe HTML with linked mentions, hashtags and URLs."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    tokens = _tokens(text)
    pieces: list[str] = []
    pos = 0
    for start, end, kind, data in tokens:
        pieces.append(html.escape(text[pos:start], quote=False))
        raw = text[start:end]
        if kind == "url":
            url = data["url"]
            pieces.append(
                f'<a href="{html.escape(url)}" rel="{LINK_REL}" target="_blank">{html.escape(_display_url(url))}</a>'
            )
        elif kind == "mention":
            href = resolve_mention(data["user"].lower(), data["domain"]) if resolve_mention else None
            if href:
                pieces.append(
                    f'<span class="h-card"><a href="{html.escape(href)}" class="u-url mention">@<span>{html.escape(data["user"])}</span></a></span>'
                )
            else:
                pieces.append(html.escape(raw, quote=False))
        else:
            name = data["name"]
            pieces.append(f'<a href="/tags/{quote(name.lower())}" class="mention hashtag" rel="tag">#<span>{html.escape(name)}</span></a>')
        pos = end
    pieces.append(html.escape(text[pos:], quote=False))
    body = "".join(pieces)
    paragraphs = [p for p in re.split(r"\n{2,}", body) if p.strip()]
    rendered = "".join(f"<p>{p.strip(chr(10)).replace(chr(10), '<br>')}</p>" for p in paragraphs)
    return sanitize(rendered)


def render_plain(text: str) -> str:
    """Plain text (a bio line, a display name) -> escaped HTML with line breaks, no links."""
    return sanitize(html.escape(text.strip(), quote=False).replace("\n", "<br>"))
