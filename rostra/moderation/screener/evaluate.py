"""Evaluation: per-category ROC AUC, average precision and precision at fixed recall, in numpy.

``load_labelled(path)`` reads a labelled file in either shape:

- one column (CSV) or key (JSONL) per category with 0/1 — ``text,violence,hate`` — where an
  empty cell, a missing key or ``null`` means "not labelled for that category";
- long form ``text,category,label`` — one label per row.

``evaluate(screener, rows)`` screens every text once (without feeding the near-duplicate index)
and returns ``{category: CategoryMetrics}`` for each category with at least one positive and one
negative label. The metric functions follow the usual definitions (scikit-learn's, with ties
handled the same way) and are tested against worked examples.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from .categories import CATEGORIES


@dataclass(frozen=True, slots=True)
class LabelledRow:
    text: str
    labels: Mapping[str, int]  # only the categories this row is labelled for


@dataclass(frozen=True, slots=True)
class CategoryMetrics:
    n_positive: int
    n_negative: int
    roc_auc: float
    average_precision: float
    precision_at_80_recall: float
    precision_at_90_recall: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class _Scores(Protocol):
    @property
    def scores(self) -> Mapping[str, float]: ...


class _Screens(Protocol):
    def screen_many(self, texts: Iterable[str], *, remember: bool = ...) -> Sequence[_Scores]: ...


# --- metrics --------------------------------------------------------------------------------------


def roc_auc(labels: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney U with average ranks for ties)."""
    y = np.asarray(labels, dtype=bool)
    s = np.asarray(scores, dtype=np.float64)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(len(s), dtype=np.float64)
    sorted_s = s[order]
    # Average rank over each run of tied scores.
    boundaries = np.flatnonzero(np.diff(sorted_s)) + 1
    starts = np.concatenate(([0], boundaries))
    ends = np.concatenate((boundaries, [len(s)]))
    avg = (starts + ends + 1) / 2.0  # 1-based average rank of each run
    ranks[order] = np.repeat(avg, ends - starts)
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def _pr_curve(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Precision and recall at each distinct score threshold, from the highest threshold down."""
    order = np.argsort(-scores, kind="mergesort")
    y = labels[order].astype(np.float64)
    s = scores[order]
    last_of_run = np.concatenate((np.flatnonzero(np.diff(s)), [len(s) - 1]))
    tp = np.cumsum(y)[last_of_run]
    predicted = last_of_run + 1.0
    precision = tp / predicted
    recall = tp / max(y.sum(), 1.0)
    return precision, recall


def average_precision(labels: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray) -> float:
    """Σ (Rₙ - Rₙ₋₁) · Pₙ over thresholds (no interpolation), as scikit-learn computes it."""
    y = np.asarray(labels, dtype=bool)
    if not y.any():
        return float("nan")
    precision, recall = _pr_curve(y, np.asarray(scores, dtype=np.float64))
    gained = np.diff(np.concatenate(([0.0], recall)))
    return float(np.sum(gained * precision))


def precision_at_recall(labels: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray, recall: float) -> float:
    """The best precision among thresholds that reach at least ``recall``."""
    y = np.asarray(labels, dtype=bool)
    if not y.any():
        return float("nan")
    precision, rec = _pr_curve(y, np.asarray(scores, dtype=np.float64))
    ok = rec >= recall - 1e-12
    return float(precision[ok].max()) if ok.any() else 0.0


def threshold_at_recall(
    labels: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray, recall: float
) -> tuple[float, float]:
    """The highest score threshold that still reaches ``recall``, and the precision there."""
    y = np.asarray(labels, dtype=bool)
    s = np.asarray(scores, dtype=np.float64)
    if not y.any():
        return float("nan"), float("nan")
    precision, rec = _pr_curve(y, s)
    thresholds = np.sort(np.unique(s))[::-1]  # the same order as the curve's points
    first = int(np.flatnonzero(rec >= recall - 1e-12)[0])
    return float(thresholds[first]), float(precision[first])


def metrics(labels: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray) -> CategoryMetrics:
    y = np.asarray(labels, dtype=bool)
    s = np.asarray(scores, dtype=np.float64)
    return CategoryMetrics(
        n_positive=int(y.sum()),
        n_negative=int((~y).sum()),
        roc_auc=roc_auc(y, s),
        average_precision=average_precision(y, s),
        precision_at_80_recall=precision_at_recall(y, s, 0.8),
        precision_at_90_recall=precision_at_recall(y, s, 0.9),
    )


# --- evaluation -------------------------------------------------------------------------------------


def evaluate_scores(
    rows: Sequence[LabelledRow], scores: Sequence[Mapping[str, float]], categories: Iterable[str] = CATEGORIES
) -> dict[str, CategoryMetrics]:
    out: dict[str, CategoryMetrics] = {}
    for c in categories:
        ys, ss = [], []
        for row, sc in zip(rows, scores, strict=True):
            if c in row.labels:
                ys.append(row.labels[c])
                ss.append(sc[c])
        if ys and 0 < sum(ys) < len(ys):
            out[c] = metrics(ys, ss)
    return out


def evaluate(
    screener: _Screens, rows: Iterable[LabelledRow], *, categories: Iterable[str] = CATEGORIES
) -> dict[str, CategoryMetrics]:
    """Per-category metrics of ``screener`` on labelled rows (categories lacking both classes are left out)."""
    rows = list(rows)
    results = screener.screen_many([r.text for r in rows], remember=False)
    return evaluate_scores(rows, [r.scores for r in results], categories)


def format_metrics(table: Mapping[str, CategoryMetrics]) -> str:
    lines = [f"{'category':<14}{'pos':>7}{'neg':>8}{'ROC AUC':>9}{'AP':>8}{'P@R80':>8}{'P@R90':>8}"]
    for c, m in table.items():
        lines.append(
            f"{c:<14}{m.n_positive:>7}{m.n_negative:>8}{m.roc_auc:>9.3f}{m.average_precision:>8.3f}{m.precision_at_80_recall:>8.3f}{m.precision_at_90_recall:>8.3f}"
        )
    return "\n".join(lines)


# --- loading --------------------------------------------------------------------------------------


def _label(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        return 1 if float(value) >= 0.5 else 0
    text = str(value).strip().lower()
    if text in ("", "null", "none", "na", "?"):
        return None
    if text in ("true", "yes"):
        return 1
    if text in ("false", "no"):
        return 0
    return 1 if float(text) >= 0.5 else 0


def rows_from_records(records: Iterable[Mapping[str, Any]], *, categories: Iterable[str] = CATEGORIES) -> list[LabelledRow]:
    cats = tuple(categories)
    out = []
    for n, rec in enumerate(records, 1):
        text = rec.get("text")
        if not isinstance(text, str):
            raise ValueError(f"record {n}: no text")
        if "category" in rec and "label" in rec:
            category = str(rec["category"])
            if category not in cats:
                raise ValueError(f"record {n}: unknown category {category!r}")
            label = _label(rec["label"])
            labels = {category: label} if label is not None else {}
        else:
            labels = {c: v for c in cats if c in rec and (v := _label(rec[c])) is not None}
        out.append(LabelledRow(text, labels))
    return out


def load_labelled(path: str | Path, *, categories: Iterable[str] = CATEGORIES) -> list[LabelledRow]:
    """Read a labelled ``.csv`` or ``.jsonl`` file (see the module docstring)."""
    path = Path(path)
    if path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
        with path.open(encoding="utf-8") as fh:
            records = [json.loads(line) for line in fh if line.strip()]
    else:
        with path.open(encoding="utf-8", newline="") as fh:
            records = list(csv.DictReader(fh))
    return rows_from_records(records, categories=categories)
