"""Parsing and rendering what people type: mentions, hashtags, links; never any markup through."""

from __future__ import annotations

from html import unescape
from html.parser import HTMLParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rostra.core.text import parse, render, render_plain

# --- mentions


@pytest.mark.parametrize(
    ("text", "mentions"),
    [
        ("hi @alice", [("alice", "")]),
        ("@Alice and @BOB", [("alice", ""), ("bob", "")]),
        ("(@alice)", [("alice", "")]),
        ("@alice, @alice!", [("alice", "")]),  # deduplicated
        ("@alice@example.org hello", [("alice", "example.org")]),
        ("@alice@Social.Example.ORG.", [("alice", "social.example.org")]),
        ("@bob@localhost:8000 yo", [("bob", "localhost:8000")]),
        ("@alice @alice@other.example", [("alice", ""), ("alice", "other.example")]),
        ("mail bob@example.org now", []),  # an email address is not a mention
        ("a/@alice or .@alice", []),
        ("@ alone", []),
        ("@" + "a" * 40, [("a" * 30, "")]),  # usernames are at most 30 characters
    ],
)
def test_mentions(text, mentions):
    assert parse(text).mentions == mentions


# --- hashtags


@pytest.mark.parametrize(
    ("text", "tags"),
    [
        ("#Rostra rocks", ["rostra"]),
        ("#rostra #ROSTRA", ["rostra"]),
        ("#café au lait", ["café"]),
        ("#日本語 と #한국어", ["日本語", "한국어"]),
        ("#Ελληνικά", ["ελληνικά"]),
        ("#2024", []),  # all digits is a number, not a tag
        ("#1984isnow", ["1984isnow"]),
        ("#_", []),
        ("#__init__", ["__init__"]),
        ("#snake_case", ["snake_case"]),
        ("issue#12 and a#tag", []),
        ("&#39; is an entity", []),
        ("https://example.org/page#section", []),
        ("(#tag)", ["tag"]),
        ("#tag.", ["tag"]),
    ],
)
def test_hashtags(text, tags):
    assert parse(text).hashtags == tags


def test_hashtags_are_at_most_100_characters():
    # The Hashtag.name column holds 100 characters; a longer "tag" must not reach it (PostgreSQL
    # would refuse the insert and the post would fail with a server error).
    for text in ("#" + "a" * 150, "#" + "1" * 99 + "a" * 98, "#" + "_" * 99 + "b" * 150, "#" + "9" * 150 + "x"):
        for tag in parse(text).hashtags:
            assert len(tag) <= 100, (text[:20], len(tag))
    assert parse("#" + "1" * 99 + "a" * 98).hashtags == ["1" * 99 + "a"]
    assert parse("#" + "a" * 150).hashtags == ["a" * 100]


# --- links


@pytest.mark.parametrize(
    ("text", "links"),
    [
        ("see https://example.org", ["https://example.org"]),
        ("see https://example.org.", ["https://example.org"]),
        ("see https://example.org/a?b=c&d=e, then", ["https://example.org/a?b=c&d=e"]),
        ("(https://example.org/x)", ["https://example.org/x"]),
        ("https://en.wikipedia.org/wiki/Rostra_(Rome)", ["https://en.wikipedia.org/wiki/Rostra_(Rome)"]),
        ("(https://en.wikipedia.org/wiki/Rostra_(Rome))", ["https://en.wikipedia.org/wiki/Rostra_(Rome)"]),
        ("https://en.wikipedia.org/wiki/Rostra_(Rome)).", ["https://en.wikipedia.org/wiki/Rostra_(Rome)"]),
        ('"https://example.org/q"', ["https://example.org/q"]),
        ("https://example.org/!?", ["https://example.org/"]),
        ("http://a.example http://b.example", ["http://a.example", "http://b.example"]),
        ("https://", []),
        ("https://.", []),
        ("ftp://example.org javascript:alert(1) data:text/html,x", []),
        ("xhttps://example.org", []),
    ],
)
def test_links(text, links):
    assert parse(text).links == links


def test_urls_are_bounded():
    url = "https://example.org/" + "a" * 5000
    (link,) = parse(url).links[:1]
    assert len(link) <= 2048 + len("https://")


# --- rendering


def test_render_links_mentions_tags_and_paragraphs():
    html = render(
        "Hi @alice, see https://example.org/x. #Rostra\n\nSecond <b>para</b>\nline two",
        lambda user, domain: "/@alice" if (user, domain) == ("alice", "") else None,
    )
    rel = 'rel="nofollow noopener noreferrer"'
    assert f'<span class="h-card"><a href="/@alice" class="u-url mention" {rel}>@<span>alice</span></a></span>' in html
    assert f'<a href="https://example.org/x" target="_blank" {rel}>example.org/x</a>.' in html
    # The sanitiser forces one rel on every link, the tag link's own rel="tag" included.
    assert f'<a href="/tags/rostra" class="mention hashtag" {rel}>#<span>Rostra</span></a>' in html
    assert "<p>Second &lt;b&gt;para&lt;/b&gt;<br>line two</p>" in html
    assert html.count("<p>") == 2


def test_unknown_mentions_stay_text():
    assert render("hi @nobody") == "<p>hi @nobody</p>"


def test_render_plain_escapes():
    assert render_plain("<script>x</script>\nline") == "&lt;script&gt;x&lt;/script&gt;<br>line"


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))


def _scheme_of(url: str) -> str:
    # Browsers ignore ASCII whitespace and control characters inside a scheme ("java\tscript:").
    cleaned = "".join(ch for ch in unescape(url) if ord(ch) > 0x20 and ord(ch) != 0x7F).lower()
    return cleaned.split(":", 1)[0] if ":" in cleaned.split("/", 1)[0] else ""


def assert_inert(html: str) -> None:
    """Only the allow-list's tags and attributes, no event handlers, no script-bearing URLs."""
    assert "<script" not in html.lower()
    for tag, attrs in _parsed(html):
        assert tag in {"p", "br", "span", "a"}, tag
        for name, value in attrs:
            assert not name.startswith("on"), (tag, name)
            assert name in {"href", "class", "title", "target", "rel"}, (tag, name)
            if name == "href":
                assert _scheme_of(value or "") in {"", "http", "https", "mailto"}, value
        if tag == "a":
            assert ("rel", "nofollow noopener noreferrer") in attrs


HOSTILE_PIECES = [
    "<script>alert(1)</script>", "<img src=x onerror=alert(1)>", '" onmouseover="alert(1)', "javascript:alert(1)",
    "<a href='javascript:alert(1)'>x</a>", "@alice", "#tag", "https://example.org/", "http://x.example/\"onclick=",
    "<svg onload=alert(1)>", "</p><p>", "&lt;script&gt;", "\n\n", "(", ")", "'", "`", "<", ">", "&", "@", "#", "//",
]


@settings(max_examples=300)
@given(st.lists(st.one_of(st.sampled_from(HOSTILE_PIECES), st.text(max_size=20)), max_size=12).map("".join))
def test_rendered_text_is_always_inert(text):
    html = render(text, lambda user, domain: f"/@{user}")
    assert_inert(html)
    # What a person typed as "javascript:" stays text: no link target ever holds it.
    hrefs = [value or "" for _, attrs in _parsed(html) for name, value in attrs if name == "href"]
    assert not any("javascript:" in _scheme_of(h) + ":" for h in hrefs)
    assert all(h.startswith(("http://", "https://", "/@", "/tags/")) for h in hrefs), hrefs


def _parsed(html: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    parser = _Collect()
    parser.feed(html)
    parser.close()
    return parser.tags


@given(st.text())
def test_render_never_raises(text):
    assert isinstance(render(text), str)
    assert isinstance(render_plain(text), str)


# --- hostile input (SECURITY-TESTS B3: 50,000-character inputs parse in < 100 ms)

PATHOLOGICAL = {
    "at-signs": "@" * 50_000,
    "hashes": "#" * 50_000,
    "long-url": "http://" + "a" * 50_000,
    "url-parens": "https://x.example/" + ")" * 50_000,
    "url-open-parens": "https://x.example/" + "(" * 25_000 + ")" * 25_000,
    "many-urls": "http://" * 7_143,
    "mention-domains": "@a@" + "a." * 25_000,
    "mention-dashes": "@a@" + "a-" * 25_000,
    "mention-chain": "@a" * 25_000,
    "digit-tag": "#" + "1" * 50_000,
    "underscore-tag": "#" + "_" * 50_000,
    "tag-chain": "#a" * 25_000,
    "spaces-at": " @" * 25_000,
    "newlines": "\n" * 50_000,
    "mixed": "@#http://(" * 5_000,
}


@pytest.mark.parametrize("name", sorted(PATHOLOGICAL))
def test_pathological_input_parses_and_renders(name):
    # Speed is not asserted here (no timed assertions in tests): tests/security/test_b3_redos.py
    # runs these shapes under a watchdog that catches catastrophic backtracking, and
    # `python -m bench.parser` prints the figures (parse medians 0.4-27 ms for 50,000 characters).
    text = PATHOLOGICAL[name]
    parsed = parse(text)
    html = render(text)
    assert isinstance(parsed.hashtags, list) and "<script" not in html
