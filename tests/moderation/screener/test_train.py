"""Training on a tiny subset: reproducible for a seed, with a model card, decisions included."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from rostra.moderation.screener import Screener
from rostra.moderation.screener.authoring import authored_examples
from rostra.moderation.screener.sources import shared_examples
from rostra.moderation.screener.train import fit_platt, split_groups, train


def _tiny_shared(root: Path) -> Path:
    """A few rows in each shared set's real format (made up here, not copied)."""
    (root / "davidson").mkdir(parents=True)
    with (root / "davidson" / "labeled_data.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["", "count", "hate_speech", "offensive_language", "neither", "class", "tweet"])
        rows = [
            (0, "those people are vermin and should leave our country"),
            (1, "this damn traffic is trash lol"),
            (2, "lovely weather for a picnic today"),
        ]
        for i in range(30):
            cls, text = rows[i % 3]
            w.writerow([i, 3, 0, 0, 0, cls, f"{text} #{i}"])
    (root / "ethos").mkdir()
    (root / "ethos" / "Ethos_Dataset_Binary.csv").write_text(
        "comment;isHate\n"
        + "".join(f"group x are animals and must be wiped out {i};1.0\nI enjoyed this video a lot {i};0.0\n" for i in range(10))
    )
    (root / "ethos" / "Ethos_Dataset_Multi_Label.csv").write_text(
        "comment;violence;directed_vs_generalized;gender;race;national_origin;disability;religion;sexual_orientation\n"
        + "".join(f"group x are animals and must be wiped out {i};1;0;0;1;0;0;0;0\n" for i in range(10))
    )
    (root / "youtube_spam").mkdir()
    with (root / "youtube_spam" / "Youtube01-Test.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["COMMENT_ID", "AUTHOR", "DATE", "CONTENT", "CLASS"])
        for i in range(20):
            w.writerow(
                [
                    f"id{i}",
                    "someone",
                    "2014-01-01",
                    f"check out my channel and subscribe {i}" if i % 2 else f"great song, love it {i}",
                    i % 2,
                ]
            )
    return root


@pytest.fixture(scope="module")
def tiny_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    base = tmp_path_factory.mktemp("train")
    shared = _tiny_shared(base / "shared")
    decisions = [
        ("you lot are getting a visit from me and my crowbar", "violence", 1),
        ("that crowbar fixed my shed door", "violence", 0),
    ]
    kwargs = {"bits": 16, "max_iter": 30, "limit_per_source": 120, "progress": False, "decisions": decisions}
    first = train(shared, base / "a", 7, **kwargs)
    second = train(shared, base / "b", 7, **kwargs)
    other = train(shared, base / "c", 8, **kwargs)
    return {"first": first, "second": second, "other": other, "base": base, "shared": shared}


def test_training_is_reproducible_for_a_seed(tiny_runs: dict) -> None:
    first, second, other, base = tiny_runs["first"], tiny_runs["second"], tiny_runs["other"], tiny_runs["base"]
    assert first.model_version == second.model_version
    assert (base / "a" / "stage1.npz").read_bytes() == (base / "b" / "stage1.npz").read_bytes()
    assert other.model_version != first.model_version  # another seed, another split


def test_training_writes_a_loadable_model_and_a_model_card(tiny_runs: dict) -> None:
    first, base = tiny_runs["first"], tiny_runs["base"]
    screener = Screener.load(base / "a")
    assert screener.model_version == first.model_version
    card = (base / "a" / "MODEL_CARD.md").read_text()
    for needed in (
        "Davidson",
        "ETHOS",
        "YouTube",
        "CC BY 4.0",
        "GPL-3.0",
        "MIT",
        "ROC AUC",
        "precision at 90 % recall",
        "Known limitations",
        first.model_version,
    ):
        assert needed in card, needed
    assert "| authored | `violence` |" in card or "| davidson | `hate` |" in card  # the by-source table
    assert first.counts["violence"]["positive"] > 0
    assert "decisions" in first.extra["sources"]
    assert "violence" in first.summary()


def test_shared_sources_are_labelled_only_where_they_know(tiny_runs: dict) -> None:
    examples = shared_examples(tiny_runs["shared"])
    davidson = [e for e in examples if e.source == "davidson"]
    offensive = next(e for e in davidson if "traffic" in e.text)
    assert offensive.labels["hate"] == 0 and "violence" not in offensive.labels  # offensive is not hate
    hateful = next(e for e in davidson if "vermin" in e.text)
    assert hateful.labels["hate"] == 1
    ethos = next(e for e in examples if e.source == "ethos" and "wiped out" in e.text)
    assert ethos.labels["hate"] == 1 and ethos.labels["violence"] == 1
    spam = [e for e in examples if e.source == "youtube_spam"]
    assert {e.labels["spam"] for e in spam} == {0, 1} and all(e.labels["violence"] == 0 for e in spam)


def test_template_expansions_never_reach_validation() -> None:
    from rostra.moderation.screener.train import collect_examples

    examples = collect_examples(None)
    held = split_groups(examples, 1)
    assert not any(h for e, h in zip(examples, held, strict=True) if e.source == "authored-template")
    hand = [h for e, h in zip(examples, held, strict=True) if e.source == "authored"]
    assert 0.1 < sum(hand) / len(hand) < 0.3


def test_authored_data_is_balanced_and_large_enough() -> None:
    rows = authored_examples()

    def count(category: str, label: int, kinds: set[str] | None = None) -> int:
        return sum(1 for r in rows if r.labels.get(category) == label and (kinds is None or r.kind in kinds))

    violent = count("violence", 1)
    look_alikes = sum(1 for r in rows if r.group.startswith("violence.json") and r.labels.get("violence") == 0)
    assert violent >= 600
    assert look_alikes >= violent
    assert count("harassment", 1) >= 300
    for category in ("sexual", "self_harm", "private_info", "sexual_minors", "spam"):
        assert count(category, 1) >= 150, category


def test_platt_scaling_stays_finite_on_separable_data() -> None:
    margins = np.array([-3.0, -2.0, -1.0, 1.0, 2.0, 3.0])
    a, b = fit_platt(margins, np.array([0, 0, 0, 1, 1, 1], dtype=float))
    assert np.isfinite(a) and np.isfinite(b) and a > 0
