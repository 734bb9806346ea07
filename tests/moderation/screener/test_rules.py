# ruff: noqa: RUF001 - these tests feed look-alike characters on purpose
"""Admin rules: keywords and regular expressions, matched in linear time, unsafe ones refused."""

from __future__ import annotations

import time

import pytest

from rostra.moderation.screener import RuleSet, UnsafeRule, normalise


def rule(rule_id: str, pattern: str, kind: str = "keyword", category: str = "violence", action: str = "hold") -> dict[str, str]:
    return {"id": rule_id, "pattern": pattern, "kind": kind, "category": category, "action": action}


def matched(rules: RuleSet, text: str) -> list[str]:
    return [m.rule_id for m in rules.match(normalise(text))]


def test_keywords_match_whole_words_after_normalisation() -> None:
    rules = RuleSet.compile([rule("kys", "kill yourself", category="self_harm"), rule("ass", "ass", category="harassment")])
    assert matched(rules, "go K i l l  y0urself") == ["kys"]
    assert matched(rules, "ｋｉｌｌ yourself") == ["kys"]
    assert matched(rules, "you a$$!") == ["ass"]
    assert matched(rules, "first class, passed the assessment") == []  # no match inside words
    assert matched(rules, "skill yourselves up") == []


def test_many_keywords_in_one_pass_report_each_once() -> None:
    words = [f"word{i}" for i in range(2000)] + ["spam link"]
    rules = RuleSet.compile([rule(f"k{i}", w, category="spam") for i, w in enumerate(words)])
    hits = rules.match(normalise("buy now: spam link, spam link, word7 and word1999"))
    assert [h.rule_id for h in hits] == ["k7", "k1999", "k2000"]
    assert hits[-1].excerpt == "spam link"


def test_regular_expressions_match_with_anchors_classes_and_repeats() -> None:
    rules = RuleSet.compile(
        [
            rule("followers", r"\bbuy (cheap )?followers\b", "regex", "spam"),
            rule("phone", r"\d{3}[ .-]\d{4}", "regex", "private_info"),
            rule("start", r"^free\b", "regex", "spam"),
            rule("nested", r"(ha)+h", "regex", "spam"),
            rule("case", r"[A-Z]+ CRYPTO", "regex", "spam"),
        ]
    )
    assert matched(rules, "Buy cheap followers now") == ["followers"]
    assert matched(rules, "rebuy followers") == []  # \b
    assert matched(rules, "call 555-0143") == ["phone"]
    assert matched(rules, "free stuff") == ["start"]
    assert matched(rules, "totally free stuff") == []  # ^
    assert matched(rules, "hahahah") == ["nested"]
    assert matched(rules, "MOON CRYPTO") == ["case"]  # matched case-insensitively


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        (r"(a)\1", "backreference"),
        (r"(?P<x>a)(?P=x)", "backreference"),
        (r"kill(?= you)", "lookahead"),
        (r"(?<!s)kill", "lookbehind"),
        (r"(?<=i )kill", "lookahead/lookbehind"),
        (r"(a)?(?(1)b|c)", "conditional"),
        (r"(?>a+)b", "atomic"),
        (r"a++b", "possessive"),
        (r"a{1,500}", "bounded repeats"),
        (r"(", "not a valid regular expression"),
    ],
)
def test_unsafe_or_invalid_regexes_are_refused_with_a_reason(pattern: str, reason: str) -> None:
    with pytest.raises(UnsafeRule) as caught:
        RuleSet.compile([rule("bad", pattern, "regex")])
    assert caught.value.rule_id == "bad"
    assert reason in str(caught.value)


def test_malformed_rules_are_refused() -> None:
    with pytest.raises(UnsafeRule, match="kind"):
        RuleSet.compile([rule("x", "a", "glob")])
    with pytest.raises(UnsafeRule, match="unknown category"):
        RuleSet.compile([rule("x", "a", category="rudeness")], categories=["violence"])
    with pytest.raises(UnsafeRule, match="duplicate"):
        RuleSet.compile([rule("x", "a"), rule("x", "b")])
    with pytest.raises(UnsafeRule, match="empty"):
        RuleSet.compile([rule("x", "  ")])


def test_patterns_that_backtrack_catastrophically_elsewhere_run_in_linear_time() -> None:
    # (a+)+$ and (a|aa)*c take exponential time in a backtracking engine; .*x.*y quadratic.
    rules = RuleSet.compile(
        [
            rule("p1", r"(a+)+$", "regex", "spam"),
            rule("p2", r"(a|aa)*c", "regex", "spam"),
            rule("p3", r".*x.*y", "regex", "spam"),
            rule("k", "a a a a b", "keyword", "spam"),
        ]
    )
    text = "a" * 49_999 + "!"
    started = time.perf_counter()
    hits = rules.match(text)
    elapsed = time.perf_counter() - started
    assert [h.rule_id for h in hits] == []
    assert elapsed < 1.0, f"{elapsed:.3f} s"  # about 0.03 s on the 2-core dev machine
