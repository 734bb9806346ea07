# ruff: noqa: RUF001, RUF003 - these tests feed look-alike characters on purpose
"""Stage 0 normalisation: one test per evasion, and what must survive it."""

from __future__ import annotations

import pytest

from rostra.moderation.screener import normalise


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ｋｉｌｌ", "kill"),  # fullwidth
        ("𝐤𝐢𝐥𝐥 𝓎ℴ𝓊", "kill you"),  # mathematical alphanumerics
        ("ⓚⓘⓛⓛ", "kill"),  # circled letters
        ("kіll уоu", "kill you"),  # Cyrillic і, у, о inside Latin text
        ("κill yοu", "kill you"),  # Greek κ, ο
        ("ᴋɪʟʟ", "kill"),  # small capitals
        ("🇰🇮🇱🇱", "kill"),  # regional indicators
        ("k\u200bi\u200cl\u200dl", "kill"),  # zero-width space, non-joiner, joiner
        ("k\u00adi\u2060l\ufeffl", "kill"),  # soft hyphen, word joiner, BOM
        ("k̷̢i̵̛l̶l̸", "kill"),  # combining "Zalgo" marks
        ("kíll", "kill"),  # accents
        ("k1ll", "kill"),  # leetspeak
        ("h4t3 y0u", "hate you"),
        ("5hit $hit a$$ b@stard", "shit shit ass bastard"),
        ("ki11", "kill"),  # 1 as l when i makes no word
        ("1d1ot", "idiot"),
        ("k i l l", "kill"),  # spaced letters
        ("k i l l  y o u", "kill you"),
        ("k.i.l.l", "kill"),  # dotted letters
        ("k-i-l-l", "kill"),
        ("k*i*l*l", "kill"),
        ("ki.ll yo.u", "kill you"),  # punctuation inside words
        ("sh*t", "sht"),
        ("kiiiiill", "kill"),  # stretched letters
        ("goooood", "good"),  # ... keeping a real double letter
        ("nooooo", "no"),
        ("!!!!!!!!", "!!!"),
        ("Tom &amp; Jerry", "tom & jerry"),  # HTML entities
        ("K I L L   Y O U", "kill you"),
    ],
)
def test_evasions_are_undone(raw: str, expected: str) -> None:
    assert normalise(raw) == expected


@pytest.mark.parametrize(
    "text",
    [
        "call 555-0143 or +44 20 7946 0958",
        "42 maple street, apt 3",
        "covid19 mp3 3pm 2nd 10k 1080p",
        "https://example.org/a1b3?x=4",
        "@dave4 and me@example.org",
        "3.5 and 10-12",
    ],
)
def test_numbers_urls_emails_and_mentions_survive(text: str) -> None:
    assert normalise(text) == text


def test_other_scripts_are_left_readable() -> None:
    assert normalise("привет мир") == "привет мир"
    assert normalise("καλημέρα κόσμε") == "καλημερα κοσμε"  # accents go, letters stay Greek
    assert normalise("नमस्ते") == "नमस्ते"  # a vowel sign on a Devanagari letter is kept


def test_whitespace_and_case_are_folded() -> None:
    assert normalise("  Hello\n\tWORLD  ") == "hello world"
    assert normalise("") == ""
