"""The written policy: data that turns screener scores into a decision. No ORM here.

A policy is a JSON document (the shipped default is ``default_policy.json``; admins edit it in
the UI, and every save is a new version stored by ``actions.save_policy``). It names, per
category, the community guideline people read and the thresholds the screener's scores are
held to, with stricter thresholds for accounts younger than ``new_account_days``::

    {
      "name": "...", "summary": "...",
      "new_account_days": 7,
      "spam_wave": {"posts": 5, "authors": 3, "action": "hold"},
      "categories": {
        "violence": {
          "title": "Violence", "severity": 5, "label": "Violence",
          "guideline": "No threats ...",
          "thresholds": [{"score": 0.8, "action": "hold"}, {"score": 0.55, "action": "limit"}],
          "new_account_thresholds": [{"score": 0.6, "action": "hold"}]
        }, ...
      },
      "rules": [{"id": "r1", "kind": "keyword", "pattern": "...", "category": "spam", "action": "hold"}]
    }

Actions, from mildest to strictest (``ACTIONS``): ``publish``; ``label`` (published behind a
content warning naming the category); ``limit`` (visible to those allowed, but kept off public
and hashtag timelines, search for strangers, and federation); ``hold`` (visible to the author
only, with a banner, until a moderator decides); ``refuse`` (not stored; the author is told the
rule). ``decide`` takes the strictest action any category, rule or spam wave calls for.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from rostra.moderation.screener import CATEGORIES, RuleSet, UnsafeRule

ACTIONS = ("publish", "label", "limit", "hold", "refuse")
STRICTNESS = {a: i for i, a in enumerate(ACTIONS)}
# What each action leaves the post as (posts.models.ModerationState values; "refused" is never stored).
STATE_FOR_ACTION = {"publish": "published", "label": "published", "limit": "limited", "hold": "held", "refuse": "refused"}
DEFAULT_POLICY_PATH = Path(__file__).resolve().parent / "default_policy.json"
MAX_GUIDELINE = 4000
# Surge mode (rostra.accounts.surge): new accounts' thresholds are lowered by this much, so
# borderline posts from the accounts a wave of sign-ups brings are limited or held sooner.
SURGE_TIGHTEN = 0.1
SURGE_FLOOR = 0.05


class PolicyError(ValueError):
    """The document is not a valid policy; ``errors`` maps a path such as ``categories.hate.thresholds`` to messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))


@dataclass(frozen=True)
class Threshold:
    score: float
    action: str


@dataclass(frozen=True)
class CategoryPolicy:
    name: str
    title: str
    guideline: str
    severity: int
    label: str
    thresholds: tuple[Threshold, ...]  # strictest first
    new_account_thresholds: tuple[Threshold, ...]


@dataclass(frozen=True)
class Verdict:
    """What the policy decided for one post, and why."""

    action: str
    category: str = ""  # the category that decided it ("" when published cleanly)
    rule: str = ""  # e.g. "violence.thresholds[0]", "rule:r1", "spam_wave", "account_hold"
    reason: str = ""  # a sentence for the person and the moderator
    label: str = ""  # the content warning for "label"

    @property
    def state(self) -> str:
        return STATE_FOR_ACTION[self.action]


@dataclass(frozen=True)
class Policy:
    document: dict[str, Any]
    name: str
    summary: str
    new_account_days: int
    spam_wave_posts: int
    spam_wave_authors: int
    spam_wave_action: str
    categories: dict[str, CategoryPolicy]
    rules: tuple[dict[str, Any], ...] = field(default=())

    # ---- loading and validation -------------------------------------------------------------

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> Policy:
        """Validate and parse; raises ``PolicyError`` listing every problem at once."""
        errors: dict[str, list[str]] = {}

        def err(path: str, message: str) -> None:
            errors.setdefault(path, []).append(message)

        if not isinstance(document, Mapping):
            raise PolicyError({"__all__": ["A policy is a JSON object."]})
        name = document.get("name", "")
        if not isinstance(name, str) or not name.strip():
            err("name", "Give the policy a name.")
        summary = document.get("summary", "")
        if not isinstance(summary, str):
            err("summary", "The summary is text.")
        days = document.get("new_account_days", 7)
        if not isinstance(days, int) or isinstance(days, bool) or not 0 <= days <= 365:
            err("new_account_days", "new_account_days is a whole number of days from 0 to 365.")
            days = 7
        wave = document.get("spam_wave", {"posts": 5, "authors": 3, "action": "hold"})
        wave_posts, wave_authors, wave_action = 5, 3, "hold"
        if not isinstance(wave, Mapping):
            err("spam_wave", "spam_wave is an object with posts, authors and action.")
        else:
            wave_posts, wave_authors, wave_action = wave.get("posts", 5), wave.get("authors", 3), wave.get("action", "hold")
            if not isinstance(wave_posts, int) or isinstance(wave_posts, bool) or wave_posts < 2:
                err("spam_wave.posts", "posts is a whole number of at least 2 (near-duplicates seen within the hour).")
                wave_posts = 5
            if not isinstance(wave_authors, int) or isinstance(wave_authors, bool) or wave_authors < 1:
                err("spam_wave.authors", "authors is a whole number of at least 1.")
                wave_authors = 3
            if wave_action not in ACTIONS:
                err("spam_wave.action", f"action must be one of {', '.join(ACTIONS)}.")
                wave_action = "hold"
        cats_raw = document.get("categories")
        categories: dict[str, CategoryPolicy] = {}
        if not isinstance(cats_raw, Mapping):
            err("categories", "categories is an object with one entry per category.")
            cats_raw = {}
        for unknown in sorted(set(cats_raw) - set(CATEGORIES)):
            err(f"categories.{unknown}", f"Unknown category; the screener knows {', '.join(CATEGORIES)}.")
        for cat in CATEGORIES:
            raw = cats_raw.get(cat)
            path = f"categories.{cat}"
            if not isinstance(raw, Mapping):
                err(path, "Every category needs an entry (use empty thresholds to only publish).")
                continue
            title = raw.get("title") or cat.replace("_", " ").capitalize()
            guideline = raw.get("guideline", "")
            if not isinstance(guideline, str) or len(guideline) > MAX_GUIDELINE:
                err(f"{path}.guideline", f"The guideline is text of at most {MAX_GUIDELINE} characters.")
                guideline = ""
            severity = raw.get("severity", 1)
            if not isinstance(severity, int) or isinstance(severity, bool) or not 1 <= severity <= 5:
                err(f"{path}.severity", "severity is a whole number from 1 (mildest) to 5 (gravest).")
                severity = 1
            label = raw.get("label") or str(title)
            thresholds = _thresholds(raw.get("thresholds", []), f"{path}.thresholds", err)
            newer = raw.get("new_account_thresholds")
            new_thresholds = thresholds if newer is None else _thresholds(newer, f"{path}.new_account_thresholds", err)
            categories[cat] = CategoryPolicy(cat, str(title)[:80], guideline, severity, str(label)[:80], thresholds, new_thresholds)
        rules = document.get("rules", [])
        if not isinstance(rules, list) or not all(isinstance(r, Mapping) for r in rules):
            err("rules", "rules is a list of objects with id, kind, pattern, category and action.")
            rules = []
        else:
            for r in rules:
                if r.get("action") not in ACTIONS or r.get("action") == "publish":
                    err(f"rules.{r.get('id', '?')}", f"A rule's action is one of {', '.join(ACTIONS[1:])}.")
            try:
                RuleSet.compile(rules, categories=CATEGORIES)
            except UnsafeRule as e:
                err(f"rules.{e.rule_id}", e.reason)
        if errors:
            raise PolicyError(errors)
        return cls(
            document=json.loads(json.dumps(document)),
            name=str(name).strip(),
            summary=str(summary),
            new_account_days=days,
            spam_wave_posts=wave_posts,
            spam_wave_authors=wave_authors,
            spam_wave_action=wave_action,
            categories=categories,
            rules=tuple(dict(r) for r in rules),
        )

    # ---- deciding ---------------------------------------------------------------------------

    def decide(
        self,
        scores: Mapping[str, float],
        *,
        matched_rules: Sequence[Any] = (),
        near_duplicates: int = 0,
        near_duplicate_authors: int = 0,
        new_account: bool = False,
        account_on_hold: bool = False,
        surge: bool = False,
    ) -> Verdict:
        """The strictest action any category threshold, matched rule or spam wave calls for.

        Ties between categories go to the graver category (severity), then the higher score.
        ``surge`` (surge mode is on) lowers a new account's thresholds by ``SURGE_TIGHTEN``; the
        verdict's rule then ends in ``@surge`` and its reason says so.
        """
        tighten = SURGE_TIGHTEN if surge and new_account else 0.0
        best = Verdict("publish")
        best_key: tuple[int, int, float] = (0, 0, 0.0)
        for cat in CATEGORIES:
            cp = self.categories[cat]
            score = float(scores.get(cat, 0.0))
            table = cp.new_account_thresholds if new_account else cp.thresholds
            for i, t in enumerate(table):
                limit = max(SURGE_FLOOR, t.score - tighten) if tighten else t.score
                if score >= limit:
                    key = (STRICTNESS[t.action], cp.severity, score)
                    if key > best_key:
                        which = "new_account_thresholds" if new_account and table is not cp.thresholds else "thresholds"
                        best_key = key
                        if tighten:
                            ending = f", lowered to {limit:.2f} for new accounts while surge mode is on."
                        else:
                            ending = " for new accounts." if which.startswith("new") else "."
                        best = Verdict(
                            t.action,
                            cat,
                            f"{cat}.{which}[{i}]" + ("@surge" if tighten else ""),
                            f"The screener scored this post {score:.2f} for {cp.title.lower()}, at or above the policy's "
                            f"{t.score:.2f} threshold to {t.action}" + ending,
                            cp.label if t.action == "label" else "",
                        )
                    break  # thresholds are strictest first: the first one reached decides
        for m in matched_rules:
            action = getattr(m, "action", "")
            cat = getattr(m, "category", "")
            if action not in STRICTNESS or cat not in self.categories:
                continue
            cp = self.categories[cat]
            key = (STRICTNESS[action], cp.severity, 1.0)
            if key > best_key:
                best_key = key
                best = Verdict(
                    action,
                    cat,
                    f"rule:{m.rule_id}",
                    f"The post matches the instance's rule {m.rule_id!r} ({cp.title.lower()}).",
                    cp.label if action == "label" else "",
                )
        if near_duplicates + 1 >= self.spam_wave_posts and near_duplicate_authors + 1 >= self.spam_wave_authors:
            cp = self.categories["spam"]
            key = (STRICTNESS[self.spam_wave_action], cp.severity, 1.0)
            if key > best_key:
                best_key = key
                best = Verdict(
                    self.spam_wave_action,
                    "spam",
                    "spam_wave",
                    f"{near_duplicates} near-identical posts from {near_duplicate_authors} accounts arrived within the hour.",
                    cp.label if self.spam_wave_action == "label" else "",
                )
        if account_on_hold and STRICTNESS[best.action] < STRICTNESS["hold"]:
            best = Verdict("hold", best.category, "account_hold", "A moderator has asked to review this account's posts before they are shown.")
        return best

    # ---- presenting -------------------------------------------------------------------------

    def guidelines(self) -> list[CategoryPolicy]:
        """The categories, gravest first, for the community guidelines page."""
        return sorted(self.categories.values(), key=lambda c: (-c.severity, CATEGORIES.index(c.name)))


def _thresholds(raw: Any, path: str, err: Any) -> tuple[Threshold, ...]:
    if not isinstance(raw, list):
        err(path, "thresholds is a list of {score, action}.")
        return ()
    out: list[Threshold] = []
    for i, t in enumerate(raw):
        if not isinstance(t, Mapping):
            err(f"{path}[{i}]", "Each threshold is an object with score and action.")
            continue
        score, action = t.get("score"), t.get("action")
        if not isinstance(score, int | float) or isinstance(score, bool) or not 0.0 < float(score) <= 1.0:
            err(f"{path}[{i}].score", "score is a number above 0 and at most 1.")
            continue
        if action not in ACTIONS or action == "publish":
            err(f"{path}[{i}].action", f"action is one of {', '.join(ACTIONS[1:])}.")
            continue
        out.append(Threshold(float(score), str(action)))
    out.sort(key=lambda t: -t.score)
    for a, b in itertools.pairwise(out):
        if STRICTNESS[a.action] < STRICTNESS[b.action]:
            err(path, f"A higher score must not lead to a milder action ({a.score:g} → {a.action}, {b.score:g} → {b.action}).")
            break
    return tuple(out)


@lru_cache(maxsize=1)
def default_document() -> dict[str, Any]:
    return json.loads(DEFAULT_POLICY_PATH.read_text(encoding="utf-8"))


def default_policy() -> Policy:
    return Policy.from_document(default_document())
