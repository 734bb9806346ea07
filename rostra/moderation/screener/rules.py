"""Stage 0, part 2: the instance's keyword and pattern rules, matched in linear time.

A rule is data — a mapping with ``id``, ``pattern``, ``kind`` (``"keyword"`` or ``"regex"``),
``category`` and ``action`` — so admins can edit rules in the policy without touching code.
``RuleSet.compile(rules)`` checks every rule and raises ``UnsafeRule`` naming the rule and the
reason; a compiled set matches the *normalised* text (see ``normalise``), so one keyword
``kill yourself`` also catches ``K i l l  y0urself`` and the same in fullwidth letters.

Keywords are normalised like posts and matched as whole words (``ass`` does not fire inside
``class``) by one Aho-Corasick automaton over all keywords: one pass, time linear in the text
plus the matches, whatever the number of keywords.

Regular expressions are *not* run by Python's ``re``, whose backtracking takes exponential time
on patterns like ``(a+)+$`` and quadratic time on ``.*x`` over long input. They are parsed with
the standard library's parser, compiled into one Thompson NFA for all regex rules, and run as a
lazily built DFA: each character costs one dictionary look-up once the automaton is warm, and at
most O(size of the NFA) when a new state is built, so the running time is linear in the text
whatever the pattern. Nested quantifiers are therefore safe here. Refused, with the reason:

- backreferences ``\\1`` and conditionals ``(?(1)…)`` — they need memory of what matched, which
  no finite automaton has; backtracking engines take exponential time on them;
- lookahead and lookbehind ``(?=…) (?!…) (?<=…) (?<!…)`` — not expressible in this automaton
  (``\\b`` and ``\\B`` are supported);
- atomic groups and possessive quantifiers ``(?>…) a*+`` — their meaning depends on the
  backtracking order;
- bounded repeats above ``{0,50}`` and patterns that expand past 5,000 automaton states — they
  would make every unseen state slow to build.

Matching is case-insensitive (the text is lower case) and ``.`` matches any character.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .normalise import normalise

RULE_KINDS = ("keyword", "regex")
MAX_BOUNDED_REPEAT = 50
MAX_NFA_STATES = 5000
_CACHE_LIMIT = 50_000


class UnsafeRule(ValueError):
    """A rule that cannot be matched in linear time, or is malformed; ``str()`` says why."""

    def __init__(self, rule_id: str, reason: str) -> None:
        super().__init__(f"rule {rule_id!r}: {reason}")
        self.rule_id = rule_id
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    pattern: str
    kind: str
    category: str
    action: str


@dataclass(frozen=True, slots=True)
class RuleMatch:
    rule_id: str
    category: str
    action: str
    kind: str
    end: int  # offset in the normalised text just after the first match
    excerpt: str  # the keyword, or up to 40 characters of normalised text ending at the match


def _is_word_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


class _AhoCorasick:
    """All keywords at once; ``find`` reports each keyword's first whole-word occurrence."""

    def __init__(self, keywords: list[str]) -> None:
        self.goto: list[dict[str, int]] = [{}]
        self.fail: list[int] = [0]
        self.out: list[list[int]] = [[]]
        self.lengths = [len(k) for k in keywords]
        for index, word in enumerate(keywords):
            node = 0
            for ch in word:
                nxt = self.goto[node].get(ch)
                if nxt is None:
                    nxt = len(self.goto)
                    self.goto[node][ch] = nxt
                    self.goto.append({})
                    self.fail.append(0)
                    self.out.append([])
                node = nxt
            self.out[node].append(index)
        queue = deque(self.goto[0].values())
        while queue:
            node = queue.popleft()
            for ch, child in self.goto[node].items():
                queue.append(child)
                f = self.fail[node]
                while f and ch not in self.goto[f]:
                    f = self.fail[f]
                target = self.goto[f].get(ch, 0)
                self.fail[child] = target if target != child else 0
                self.out[child] = self.out[child] + self.out[self.fail[child]]

    def find(self, text: str) -> dict[int, int]:
        found: dict[int, int] = {}
        goto, fail, out, lengths = self.goto, self.fail, self.out, self.lengths
        node = 0
        last = len(text) - 1
        for i, ch in enumerate(text):
            while node and ch not in goto[node]:
                node = fail[node]
            node = goto[node].get(ch, 0)
            if out[node]:
                for k in out[node]:
                    start = i - lengths[k] + 1
                    if k in found:
                        continue
                    if (start == 0 or not _is_word_char(text[start - 1])) and (i == last or not _is_word_char(text[i + 1])):
                        found[k] = i + 1
        return found


# --- regular expressions: parse, check, Thompson NFA, lazy DFA ------------------------------------

_CHAR, _SPLIT, _ASSERT, _MATCH = 0, 1, 2, 3
_START, _WORD, _OTHER, _END = 0, 1, 2, 3


class _Pred:
    """A character test: a set of literals and ranges, optional categories, maybe negated."""

    __slots__ = ("any", "categories", "chars", "negate", "ranges")

    def __init__(
        self,
        chars: frozenset[str] = frozenset(),
        ranges: tuple[tuple[int, int], ...] = (),
        categories: tuple[str, ...] = (),
        negate: bool = False,
        any_char: bool = False,
    ) -> None:
        self.chars, self.ranges, self.categories, self.negate, self.any = chars, ranges, categories, negate, any_char

    def _plain(self, ch: str) -> bool:
        if ch in self.chars:
            return True
        o = ord(ch)
        if any(lo <= o <= hi for lo, hi in self.ranges):
            return True
        for cat in self.categories:
            hit = {
                "CATEGORY_DIGIT": ch.isdigit(),
                "CATEGORY_NOT_DIGIT": not ch.isdigit(),
                "CATEGORY_SPACE": ch.isspace(),
                "CATEGORY_NOT_SPACE": not ch.isspace(),
                "CATEGORY_WORD": _is_word_char(ch),
                "CATEGORY_NOT_WORD": not _is_word_char(ch),
            }.get(cat, False)
            if hit:
                return True
        return False

    def accepts(self, ch: str) -> bool:
        if self.any:
            return True
        hit = self._plain(ch) or self._plain(ch.upper())
        return hit != self.negate


class _NFA:
    def __init__(self) -> None:
        self.kind: list[int] = []
        self.arg: list[Any] = []
        self.out1: list[int] = []
        self.out2: list[int] = []

    def add(self, kind: int, arg: Any = None, out1: int = -1, out2: int = -1) -> int:
        if len(self.kind) >= MAX_NFA_STATES:
            raise ValueError(f"the pattern expands past {MAX_NFA_STATES} automaton states")
        self.kind.append(kind)
        self.arg.append(arg)
        self.out1.append(out1)
        self.out2.append(out2)
        return len(self.kind) - 1


def _parse(pattern: str) -> Any:
    import re._parser as sre_parse  # the standard library's own regex parser (Python 3.11+)

    try:
        return sre_parse.parse(pattern)
    except (re.error, RecursionError, OverflowError, ValueError) as exc:  # report; never crash the policy editor
        raise ValueError(f"not a valid regular expression: {exc}") from None


_REFUSED = {
    "GROUPREF": "backreferences need memory of what matched: no linear-time automaton can run them",
    "GROUPREF_EXISTS": "conditionals on a group need memory of what matched: no linear-time automaton can run them",
    "ASSERT": "lookahead/lookbehind is not supported by the linear-time matcher (use \\b, or widen the pattern)",
    "ASSERT_NOT": "negative lookahead/lookbehind is not supported by the linear-time matcher",
    "ATOMIC_GROUP": "atomic groups depend on backtracking order and are not supported",
    "POSSESSIVE_REPEAT": "possessive quantifiers depend on backtracking order and are not supported",
}


def _build(nfa: _NFA, items: Any, nxt: int) -> int:
    """Build states for a parsed sequence so that they lead to ``nxt``; return the entry state."""
    for op, av in reversed(list(items)):
        nxt = _build_one(nfa, str(op), av, nxt)
    return nxt


def _build_one(nfa: _NFA, op: str, av: Any, nxt: int) -> int:
    if op in _REFUSED:
        raise ValueError(_REFUSED[op])
    if op == "LITERAL":
        return nfa.add(_CHAR, _Pred(chars=frozenset(chr(av).lower())), nxt)
    if op == "NOT_LITERAL":
        return nfa.add(_CHAR, _Pred(chars=frozenset({chr(av).lower(), chr(av).upper()}), negate=True), nxt)
    if op == "ANY":
        return nfa.add(_CHAR, _Pred(any_char=True), nxt)
    if op == "IN":
        chars: set[str] = set()
        ranges: list[tuple[int, int]] = []
        cats: list[str] = []
        negate = False
        for sub_op, sub_av in av:
            name = str(sub_op)
            if name == "NEGATE":
                negate = True
            elif name == "LITERAL":
                chars.update({chr(sub_av).lower(), chr(sub_av).upper()})
            elif name == "RANGE":
                ranges.append((sub_av[0], sub_av[1]))
                lo, hi = chr(sub_av[0]), chr(sub_av[1])
                ranges.append((ord(lo.lower()), ord(hi.lower())))
            elif name == "CATEGORY":
                cats.append(str(sub_av))
            else:
                raise ValueError(f"unsupported character-class item {name}")
        return nfa.add(_CHAR, _Pred(frozenset(chars), tuple(ranges), tuple(cats), negate), nxt)
    if op == "SUBPATTERN":
        return _build(nfa, av[3], nxt)
    if op == "BRANCH":
        entries = [_build(nfa, alt, nxt) for alt in av[1]]
        entry = entries[-1]
        for e in reversed(entries[:-1]):
            entry = nfa.add(_SPLIT, None, e, entry)
        return entry
    if op in ("MAX_REPEAT", "MIN_REPEAT"):
        lo, hi, body = av
        unbounded = str(hi) == "MAXREPEAT"
        if (not unbounded and hi > MAX_BOUNDED_REPEAT) or lo > MAX_BOUNDED_REPEAT:
            raise ValueError(f"bounded repeats are limited to {{0,{MAX_BOUNDED_REPEAT}}}")
        if unbounded:
            loop = nfa.add(_SPLIT, None, -1, nxt)
            nfa.out1[loop] = _build(nfa, body, loop)
            entry = loop
        else:
            entry = nxt
            for _ in range(hi - lo):  # optional copies, nested: (body (body ...)?)?
                entry = nfa.add(_SPLIT, None, _build(nfa, body, entry), nxt)
                nxt = entry
        for _ in range(lo):
            entry = _build(nfa, body, entry)
        return entry
    if op == "AT":
        kind = str(av)
        if kind in ("AT_BEGINNING", "AT_BEGINNING_STRING", "AT_END", "AT_END_STRING", "AT_BOUNDARY", "AT_NON_BOUNDARY"):
            return nfa.add(_ASSERT, kind, nxt)
        raise ValueError(f"unsupported anchor {kind}")
    if op == "CATEGORY":
        return nfa.add(_CHAR, _Pred(categories=(str(av),)), nxt)
    raise ValueError(f"unsupported regular-expression construct {op}")


def _assert_holds(kind: str, prev: int, cur: int) -> bool:
    if kind in ("AT_BEGINNING", "AT_BEGINNING_STRING"):
        return prev == _START
    if kind in ("AT_END", "AT_END_STRING"):
        return cur == _END
    boundary = (prev == _WORD) != (cur == _WORD)
    return boundary if kind == "AT_BOUNDARY" else not boundary


class _LazyDFA:
    """Runs the union NFA of all regex rules as a DFA built on demand (see the module docstring)."""

    def __init__(self, nfa: _NFA, starts: list[int]) -> None:
        self.nfa = nfa
        self.starts = starts
        self._ids: dict[tuple[frozenset[int], int], int] = {}
        self._states: list[tuple[frozenset[int], int]] = []
        self._cache: dict[tuple[int, str | None], tuple[int, tuple[int, ...]]] = {}

    def _state_id(self, kernel: frozenset[int], prev: int) -> int:
        key = (kernel, prev)
        sid = self._ids.get(key)
        if sid is None:
            sid = len(self._states)
            self._ids[key] = sid
            self._states.append(key)
        return sid

    def _step(self, sid: int, ch: str | None) -> tuple[int, tuple[int, ...]]:
        kernel, prev = self._states[sid]
        cur = _END if ch is None else (_WORD if _is_word_char(ch) else _OTHER)
        nfa = self.nfa
        # Epsilon closure of kernel | starts under this (previous, current) character context.
        seen: set[int] = set()
        stack = list(kernel) + self.starts
        matches: list[int] = []
        moved: set[int] = set()
        while stack:
            s = stack.pop()
            if s in seen:
                continue
            seen.add(s)
            kind = nfa.kind[s]
            if kind == _SPLIT:
                stack.append(nfa.out1[s])
                stack.append(nfa.out2[s])
            elif kind == _ASSERT:
                if _assert_holds(nfa.arg[s], prev, cur):
                    stack.append(nfa.out1[s])
            elif kind == _MATCH:
                matches.append(nfa.arg[s])
            elif ch is not None and nfa.arg[s].accepts(ch):
                moved.add(nfa.out1[s])
        return self._state_id(frozenset(moved), cur), tuple(sorted(set(matches)))

    def scan(self, text: str, wanted: int) -> dict[int, int]:
        """Map rule index → offset just after its first match."""
        if len(self._cache) > _CACHE_LIMIT:
            self._ids.clear()
            self._states.clear()
            self._cache.clear()
        cache = self._cache
        found: dict[int, int] = {}
        sid = self._state_id(frozenset(), _START)
        for i, ch in enumerate((*text, None)):
            key = (sid, ch)
            hit = cache.get(key)
            if hit is None:
                hit = cache[key] = self._step(sid, ch)
            sid, matches = hit
            if matches:
                for m in matches:
                    found.setdefault(m, i)
                if len(found) == wanted:
                    break
        return found


@dataclass(frozen=True)
class RuleSet:
    """Compiled rules; ``match(normalised_text)`` returns every rule that fires, in rule order."""

    rules: tuple[Rule, ...]
    _keywords: tuple[int, ...]  # rule index for each keyword in the automaton
    _keyword_ac: _AhoCorasick | None
    _regexes: tuple[int, ...]
    _dfa: _LazyDFA | None

    @classmethod
    def empty(cls) -> RuleSet:
        return cls((), (), None, (), None)

    @classmethod
    def compile(cls, rules: Iterable[Mapping[str, Any]], *, categories: Iterable[str] | None = None) -> RuleSet:
        allowed = set(categories) if categories is not None else None
        parsed: list[Rule] = []
        keywords: list[str] = []
        keyword_rules: list[int] = []
        regex_rules: list[int] = []
        nfa = _NFA()
        starts: list[int] = []
        seen_ids: set[str] = set()
        for raw in rules:
            rule_id = str(raw.get("id", "")).strip()
            if not rule_id:
                raise UnsafeRule("?", "every rule needs an id")
            if rule_id in seen_ids:
                raise UnsafeRule(rule_id, "duplicate rule id")
            seen_ids.add(rule_id)
            kind = str(raw.get("kind", ""))
            pattern = str(raw.get("pattern", ""))
            category = str(raw.get("category", ""))
            action = str(raw.get("action", ""))
            if kind not in RULE_KINDS:
                raise UnsafeRule(rule_id, f"kind must be one of {RULE_KINDS}, not {kind!r}")
            if allowed is not None and category not in allowed:
                raise UnsafeRule(rule_id, f"unknown category {category!r}")
            if not pattern.strip():
                raise UnsafeRule(rule_id, "empty pattern")
            rule = Rule(rule_id, pattern, kind, category, action)
            index = len(parsed)
            parsed.append(rule)
            if kind == "keyword":
                word = normalise(pattern)
                if not word:
                    raise UnsafeRule(rule_id, "the keyword is empty once normalised")
                keywords.append(word)
                keyword_rules.append(index)
            else:
                try:
                    accept = nfa.add(_MATCH, len(regex_rules))
                    starts.append(_build(nfa, _parse(pattern), accept))
                except ValueError as exc:
                    raise UnsafeRule(rule_id, str(exc)) from None
                regex_rules.append(index)
        return cls(
            tuple(parsed),
            tuple(keyword_rules),
            _AhoCorasick(keywords) if keywords else None,
            tuple(regex_rules),
            _LazyDFA(nfa, starts) if regex_rules else None,
        )

    def __len__(self) -> int:
        return len(self.rules)

    def match(self, text: str) -> tuple[RuleMatch, ...]:
        hits: dict[int, RuleMatch] = {}
        if self._keyword_ac is not None:
            for k, end in self._keyword_ac.find(text).items():
                rule = self.rules[self._keywords[k]]
                hits[self._keywords[k]] = RuleMatch(
                    rule.id, rule.category, rule.action, rule.kind, end, text[end - self._keyword_ac.lengths[k] : end]
                )
        if self._dfa is not None:
            for r, end in self._dfa.scan(text, len(self._regexes)).items():
                rule = self.rules[self._regexes[r]]
                hits[self._regexes[r]] = RuleMatch(
                    rule.id, rule.category, rule.action, rule.kind, end, text[max(0, end - 40) : end]
                )
        return tuple(hits[i] for i in sorted(hits))
