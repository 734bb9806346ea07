"""The screener: stage 0 (normalise, rules, near-duplicates) and stage 1 (the linear heads).

See the package docstring for the interface. A ``Screener`` is built once per process and is safe
to share between threads: the model is read-only, the rule automaton's cache tolerates races
(a lost update only costs a recomputation), and the near-duplicate index takes a lock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from .categories import CATEGORIES
from .model import LinearModel
from .neardup import NONE, NearDuplicateIndex
from .normalise import normalise
from .rules import RuleMatch, RuleSet

DEFAULT_MODELS_DIR = Path(__file__).resolve().parent / "models"
DEFAULT_BORDERLINE = (0.2, 0.8)


@dataclass(frozen=True, slots=True)
class ScreenResult:
    scores: dict[str, float]  # every category, calibrated probability in [0, 1]
    normalised_text: str
    matched_rules: tuple[RuleMatch, ...]
    near_duplicates: int  # near-duplicates seen recently (not counting this post)
    near_duplicate_authors: int  # distinct authors among them
    borderline: frozenset[str]  # categories whose score is in the band that stage 2 should look at
    stage: int
    model_version: str

    def top(self) -> tuple[str, float]:
        """The highest-scoring category and its score."""
        category = max(self.scores, key=lambda c: self.scores[c])
        return category, self.scores[category]

    def as_dict(self) -> dict[str, Any]:
        return {
            "scores": dict(self.scores),
            "normalised_text": self.normalised_text,
            "matched_rules": [
                {"id": m.rule_id, "category": m.category, "action": m.action, "kind": m.kind, "end": m.end, "excerpt": m.excerpt}
                for m in self.matched_rules
            ],
            "near_duplicates": self.near_duplicates,
            "near_duplicate_authors": self.near_duplicate_authors,
            "borderline": sorted(self.borderline),
            "stage": self.stage,
            "model_version": self.model_version,
        }


@runtime_checkable
class Stage2(Protocol):
    """The slower, more accurate model a worker runs on what stage 1 found borderline.

    ``score`` receives normalised texts and, for each, the categories to score; it returns one
    mapping per text with a calibrated probability for (at least) each requested category.
    """

    version: str

    def score(self, texts: Sequence[str], categories: Sequence[frozenset[str]]) -> list[Mapping[str, float]]: ...


Band = tuple[float, float]


class Screener:
    def __init__(
        self,
        model: LinearModel,
        *,
        rules: RuleSet | None = None,
        near_duplicates: NearDuplicateIndex | None = None,
        borderline: Band | Mapping[str, Band] = DEFAULT_BORDERLINE,
    ) -> None:
        if tuple(model.categories) != CATEGORIES:
            raise ValueError(f"the model's categories {model.categories} are not {CATEGORIES}")
        self.model = model
        self.rules = rules if rules is not None else RuleSet.empty()
        self.near_duplicate_index = near_duplicates if near_duplicates is not None else NearDuplicateIndex()
        self.borderline_bands = _bands(borderline)

    @classmethod
    def load(
        cls,
        models_dir: str | Path | None = None,
        *,
        rules: Iterable[Mapping[str, Any]] = (),
        borderline: Band | Mapping[str, Band] = DEFAULT_BORDERLINE,
        near_duplicate_window: float = 3600.0,
        near_duplicate_capacity: int = 50_000,
        near_duplicate_index: NearDuplicateIndex | None = None,
    ) -> Screener:
        """Load the stage-1 model from ``models_dir`` (default: the committed models)."""
        model = LinearModel.load(models_dir or DEFAULT_MODELS_DIR)
        return cls(
            model,
            rules=RuleSet.compile(rules, categories=CATEGORIES),
            near_duplicates=near_duplicate_index
            if near_duplicate_index is not None
            else NearDuplicateIndex(window_seconds=near_duplicate_window, max_entries=near_duplicate_capacity),
            borderline=borderline,
        )

    @property
    def model_version(self) -> str:
        return self.model.version

    def set_rules(self, rules: Iterable[Mapping[str, Any]]) -> None:
        """Replace the admin rules; raises ``UnsafeRule`` (and keeps the old rules) if one is refused."""
        self.rules = RuleSet.compile(rules, categories=CATEGORIES)

    def screen(
        self, text: str, *, author_key: str | None = None, now: float | None = None, remember: bool = True
    ) -> ScreenResult:
        """Screen one post. ``remember=False`` leaves the near-duplicate index untouched (re-screens, evaluation)."""
        normalised = normalise(text)
        scores = self.model.scores(normalised)
        dup = (
            self.near_duplicate_index.check(normalised, author_key=author_key, now=now, remember=remember) if normalised else NONE
        )
        return ScreenResult(
            scores=scores,
            normalised_text=normalised,
            matched_rules=self.rules.match(normalised) if len(self.rules) else (),
            near_duplicates=dup.count,
            near_duplicate_authors=dup.authors,
            borderline=frozenset(c for c, s in scores.items() if self.borderline_bands[c][0] <= s < self.borderline_bands[c][1]),
            stage=1,
            model_version=self.model.version,
        )

    def screen_many(
        self,
        texts: Iterable[str],
        *,
        author_keys: Iterable[str | None] | None = None,
        now: float | None = None,
        remember: bool = False,
    ) -> list[ScreenResult]:
        """Screen posts in order. By default the near-duplicate index is consulted but not fed."""
        texts = list(texts)
        keys = list(author_keys) if author_keys is not None else [None] * len(texts)
        if len(keys) != len(texts):
            raise ValueError("author_keys must have one entry per text")
        return [self.screen(t, author_key=k, now=now, remember=remember) for t, k in zip(texts, keys, strict=True)]

    def deepen(self, results: Sequence[ScreenResult], stage2: Stage2) -> list[ScreenResult]:
        """Run ``stage2`` on the borderline categories of ``results``; other scores stay stage 1's.

        Results with nothing borderline come back unchanged (stage 1). The others come back with
        ``stage=2``, the stage-2 scores for their borderline categories, and a model version naming
        both models. The band is not recomputed: ``borderline`` still says what stage 2 looked at.
        """
        todo = [i for i, r in enumerate(results) if r.borderline]
        out = list(results)
        if not todo:
            return out
        deep = stage2.score([results[i].normalised_text for i in todo], [results[i].borderline for i in todo])
        for i, extra in zip(todo, deep, strict=True):
            r = results[i]
            scores = dict(r.scores)
            for c in r.borderline:
                if c in extra:
                    scores[c] = min(1.0, max(0.0, float(extra[c])))
            out[i] = replace(r, scores=scores, stage=2, model_version=f"{r.model_version}+{stage2.version}")
        return out


def _bands(borderline: Band | Mapping[str, Band]) -> dict[str, Band]:
    if isinstance(borderline, Mapping):
        bands = {c: tuple(borderline.get(c, DEFAULT_BORDERLINE)) for c in CATEGORIES}
    else:
        bands = {c: tuple(borderline) for c in CATEGORIES}
    for c, band in bands.items():
        if len(band) != 2 or not 0.0 <= band[0] <= band[1] <= 1.0:
            raise ValueError(f"borderline band for {c} must be (low, high) with 0 <= low <= high <= 1, not {band}")
    return {c: (float(b[0]), float(b[1])) for c, b in bands.items()}
