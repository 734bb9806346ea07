"""Evaluation metrics against worked examples, and the labelled-file loaders."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rostra.moderation.screener.evaluate import (
    LabelledRow,
    average_precision,
    evaluate,
    format_metrics,
    load_labelled,
    precision_at_recall,
    roc_auc,
    threshold_at_recall,
)

Y = [0, 0, 1, 1]
S = [0.1, 0.4, 0.35, 0.8]


def test_metrics_on_the_textbook_example() -> None:
    # The example in scikit-learn's documentation: ROC AUC 0.75, average precision 0.8333.
    assert roc_auc(Y, S) == pytest.approx(0.75)
    assert average_precision(Y, S) == pytest.approx(0.833333, abs=1e-6)
    assert precision_at_recall(Y, S, 0.5) == pytest.approx(1.0)
    assert precision_at_recall(Y, S, 0.8) == pytest.approx(2 / 3)
    assert precision_at_recall(Y, S, 0.9) == pytest.approx(2 / 3)


def test_threshold_at_recall_gives_the_operating_point() -> None:
    assert threshold_at_recall(Y, S, 0.5) == (0.8, 1.0)
    threshold, precision = threshold_at_recall(Y, S, 0.8)
    assert threshold == 0.35 and precision == pytest.approx(2 / 3)


def test_metrics_with_ties() -> None:
    y = [1, 1, 0, 0, 1]
    s = [0.9, 0.6, 0.6, 0.2, 0.1]
    assert roc_auc(y, s) == pytest.approx(3.5 / 6)  # the tie counts one half
    assert average_precision(y, s) == pytest.approx(1 / 3 + 2 / 9 + 0.2)
    assert precision_at_recall(y, s, 0.9) == pytest.approx(0.6)
    assert roc_auc([1, 0, 1, 0], [0.5] * 4) == pytest.approx(0.5)
    assert average_precision([1, 0, 1, 0], [0.5] * 4) == pytest.approx(0.5)


def test_perfect_and_inverted_rankings() -> None:
    assert roc_auc([0, 0, 1], [0.1, 0.2, 0.9]) == 1.0
    assert roc_auc([1, 1, 0], [0.1, 0.2, 0.9]) == 0.0
    assert average_precision([0, 1], [0.1, 0.9]) == 1.0


class _FixedScores:
    def __init__(self, table: dict[str, dict[str, float]]) -> None:
        self.table = table

    def screen_many(self, texts, *, author_keys=None, now=None, remember=False):
        class R:
            def __init__(self, scores: dict[str, float]) -> None:
                self.scores = scores

        return [R(self.table[t]) for t in texts]


def test_evaluate_skips_unlabelled_and_one_class_categories() -> None:
    rows = [LabelledRow(t, {"violence": y}) for t, y in zip("abcd", Y, strict=True)] + [LabelledRow("e", {"spam": 1})]
    table = {t: {"violence": s, "spam": 0.5} for t, s in zip("abcd", S, strict=True)} | {"e": {"violence": 0.0, "spam": 0.9}}
    out = evaluate(_FixedScores(table), rows)
    assert set(out) == {"violence"}  # spam has positives only
    assert out["violence"].roc_auc == pytest.approx(0.75)
    assert out["violence"].n_positive == 2
    assert "violence" in format_metrics(out)


def test_load_wide_csv_and_long_jsonl(tmp_path: Path) -> None:
    wide = tmp_path / "wide.csv"
    wide.write_text('text,violence,hate\n"I will hurt you",1,\n"nice day",0,0\n')
    rows = load_labelled(wide)
    assert rows == [LabelledRow("I will hurt you", {"violence": 1}), LabelledRow("nice day", {"violence": 0, "hate": 0})]

    long = tmp_path / "long.jsonl"
    long.write_text(
        "\n".join(
            json.dumps(r)
            for r in [{"text": "buy now", "category": "spam", "label": 1}, {"text": "hi", "category": "spam", "label": "0"}]
        )
    )
    assert load_labelled(long) == [LabelledRow("buy now", {"spam": 1}), LabelledRow("hi", {"spam": 0})]

    wide_jsonl = tmp_path / "wide.jsonl"
    wide_jsonl.write_text(json.dumps({"text": "x", "violence": True, "self_harm": None}) + "\n")
    assert load_labelled(wide_jsonl) == [LabelledRow("x", {"violence": 1})]


def test_loader_rejects_unknown_categories(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"text": "x", "category": "rudeness", "label": 1}) + "\n")
    with pytest.raises(ValueError, match="unknown category"):
        load_labelled(bad)
