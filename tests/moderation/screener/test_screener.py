# ruff: noqa: RUF001 - these tests feed look-alike characters on purpose
"""The public interface on the committed model: loading, scores, rules, near-duplicates, stage 2."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from rostra.moderation.screener import CATEGORIES, DEFAULT_MODELS_DIR, Screener, ScreenResult, Stage2, UnsafeRule
from rostra.moderation.screener.authoring import authored_examples
from rostra.moderation.screener.evaluate import roc_auc

from . import heldout


@pytest.fixture(scope="module")
def screener() -> Screener:
    return Screener.load()


def violence(screener: Screener, texts: list[str]) -> list[float]:
    return [r.scores["violence"] for r in screener.screen_many(texts)]


def test_the_committed_model_loads_small_and_versioned(screener: Screener) -> None:
    files = {p.name: p.stat().st_size for p in DEFAULT_MODELS_DIR.iterdir()}
    assert {"stage1.npz", "stage1.json", "MODEL_CARD.md"} <= set(files)
    assert files["stage1.npz"] < 5_000_000
    meta = json.loads((DEFAULT_MODELS_DIR / "stage1.json").read_text())
    assert screener.model_version == meta["model_version"]
    assert screener.model_version.startswith("stage1-")
    assert "violence" in (DEFAULT_MODELS_DIR / "MODEL_CARD.md").read_text()


def test_every_category_gets_a_score_in_range(screener: Screener) -> None:
    for text in ["", "hello", "🙂" * 3, "a" * 10_000, "@x https://example.org"]:
        result = screener.screen(text, remember=False)
        assert set(result.scores) == set(CATEGORIES)
        assert all(0.0 <= v <= 1.0 for v in result.scores.values())
        assert result.stage == 1
        json.dumps(result.as_dict())


def test_held_out_threats_score_high_and_their_look_alikes_low(screener: Screener) -> None:
    threats = violence(screener, heldout.VIOLENT + heldout.VIOLENT_BLIND)
    benign = violence(screener, heldout.BENIGN + heldout.BENIGN_BLIND)
    assert min(threats) >= 0.5, sorted(zip(threats, heldout.VIOLENT + heldout.VIOLENT_BLIND, strict=True))[:3]
    # Look-alikes are hard for a bag of n-grams: most must stay below the hold-for-review range.
    assert sum(b < 0.7 for b in benign) >= 0.8 * len(benign)
    assert roc_auc([1] * len(threats) + [0] * len(benign), threats + benign) >= 0.93


def test_ordinary_posts_stay_low_on_every_head(screener: Screener) -> None:
    posts = heldout.ORDINARY + heldout.ORDINARY_BLIND
    highest = [max(r.scores.values()) for r in screener.screen_many(posts)]
    # Scores are calibrated with a balanced prior (see MODEL_CARD.md): 0.5 is not a threshold.
    assert sum(h < 0.7 for h in highest) >= 0.8 * len(posts)
    assert max(highest) < 0.95, max(zip(highest, posts, strict=True))


def test_the_held_out_lists_are_not_in_the_training_data() -> None:
    training = {e.text.strip().lower() for e in authored_examples()}
    for text in (
        heldout.VIOLENT
        + heldout.BENIGN
        + heldout.VIOLENT_BLIND
        + heldout.BENIGN_BLIND
        + heldout.ORDINARY
        + heldout.ORDINARY_BLIND
    ):
        assert text.strip().lower() not in training, text


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("@nadia_q you worthless clown, nobody wants you here, log off forever", "harassment"),
        ("💸 Make $800/day from home!! limited spots, click bit.ly/xx9 now 💸", "spam"),
        ("I can't keep going anymore, I've decided tonight is my last night", "self_harm"),
        ("her home address is 61 linden road, flat 4, go and wait for her there", "private_info"),
        ("horny and bored, my explicit videos are in bio 🔞", "sexual"),
        ("how old are you, 12? don't tell your mum we talk, send me a pic", "sexual_minors"),
    ],
)
def test_clear_cases_of_the_other_categories_lead_their_category(screener: Screener, text: str, category: str) -> None:
    scores = screener.screen(text, remember=False).scores
    assert scores[category] >= 0.5, scores


def test_evasion_does_not_lower_a_threat(screener: Screener) -> None:
    plain = screener.screen("I will kill you @rowan_b", remember=False).scores["violence"]
    for disguised in [
        "I w1ll k i l l y0u @rowan_b",
        "I wіll ｋｉｌｌ you @rowan_b",
        "I will k\u200bi\u200bl\u200bl you @rowan_b",
        "I will kiiiiiill you @rowan_b",
    ]:
        assert screener.screen(disguised, remember=False).scores["violence"] == pytest.approx(plain, abs=1e-6), disguised


def test_rules_are_reported_and_unsafe_rules_refused() -> None:
    screener = Screener.load(
        rules=[{"id": "r1", "pattern": "kill yourself", "kind": "keyword", "category": "self_harm", "action": "hold"}]
    )
    result = screener.screen("just k1ll yourself lol", remember=False)
    assert [(m.rule_id, m.category, m.action) for m in result.matched_rules] == [("r1", "self_harm", "hold")]
    with pytest.raises(UnsafeRule):
        screener.set_rules([{"id": "r2", "pattern": r"(\w+)\1", "kind": "regex", "category": "spam", "action": "refuse"}])
    assert len(screener.rules) == 1  # the old rules stay


def test_near_duplicates_from_many_authors_are_counted(screener: Screener) -> None:
    fresh = Screener(screener.model)
    wave = "Claim your free $100 gift card before midnight, only 50 left, link in my profile!"
    results = [fresh.screen(f"@target{i} {wave}", author_key=f"acct:{i}", now=100.0 + i) for i in range(5)]
    assert results[-1].near_duplicates == 4
    assert results[-1].near_duplicate_authors == 4


def test_borderline_band_is_configurable(screener: Screener) -> None:
    everything = Screener(screener.model, borderline=(0.0, 1.0)).screen("hello there", remember=False)
    assert everything.borderline == frozenset(CATEGORIES)
    nothing = Screener(screener.model, borderline={"violence": (0.5, 0.5)}).screen("hello there", remember=False)
    assert "violence" not in nothing.borderline
    with pytest.raises(ValueError, match="band"):
        Screener(screener.model, borderline=(0.9, 0.1))


class _FakeStage2:
    version = "fake-minilm"

    def __init__(self) -> None:
        self.calls: list[tuple[str, frozenset[str]]] = []

    def score(self, texts: Sequence[str], categories: Sequence[frozenset[str]]) -> list[Mapping[str, float]]:
        self.calls.extend(zip(texts, categories, strict=True))
        return [dict.fromkeys(cats, 0.01) for cats in categories]


def test_stage2_rescores_only_the_borderline_categories(screener: Screener) -> None:
    stage2 = _FakeStage2()
    assert isinstance(stage2, Stage2)
    banded = Screener(
        screener.model, borderline={"violence": (0.0, 1.0), **{c: (1.0, 1.0) for c in CATEGORIES if c != "violence"}}
    )
    first = banded.screen_many(["we destroyed them 5-0", "hello"])
    deep = banded.deepen(first, stage2)
    assert [c for _, c in stage2.calls] == [frozenset({"violence"})] * 2
    assert all(r.stage == 2 and r.scores["violence"] == 0.01 for r in deep)
    assert deep[0].scores["spam"] == first[0].scores["spam"]
    assert deep[0].model_version == f"{screener.model_version}+fake-minilm"
    untouched = Screener(screener.model, borderline=(1.0, 1.0)).screen_many(["hello"])
    assert banded.deepen(untouched, stage2) == untouched


def test_pathological_50k_character_posts_take_linear_time(screener: Screener) -> None:
    screener = Screener(screener.model, rules=screener.rules)
    screener.set_rules(
        [
            {"id": "p", "pattern": r"(a+)+$", "kind": "regex", "category": "spam", "action": "hold"},
            {"id": "k", "pattern": "aaab", "kind": "keyword", "category": "spam", "action": "hold"},
        ]
    )
    inputs = {
        "one letter": "a" * 50_000,
        "digits": "1" * 50_000,
        "spaced": "a " * 25_000,
        "dotted": "a." * 25_000,
        "leet": "k1" * 25_000,
        "zalgo": "k\u0301\u0302\u0303" * 12_500,
        "near-email": "a" * 49_990 + "@b",
        "stretched words": " ".join(["aaab"] * 10_000),
        "numbers": "12 " * 16_666,
    }
    worst = 0.0
    for name, text in inputs.items():
        started = time.perf_counter()
        result = screener.screen(text, remember=False)
        elapsed = time.perf_counter() - started
        worst = max(worst, elapsed)
        assert elapsed < 1.0, f"{name}: {elapsed:.3f} s"
        assert isinstance(result, ScreenResult)
    print(f"worst 50k-character post: {worst * 1000:.0f} ms")  # about 0.1 s on the 2-core dev machine


def test_the_package_is_pure_python_with_numpy() -> None:
    code = (
        "import sys; import rostra.moderation.screener as s; s.Screener.load().screen('hi');"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in {'django', 'sklearn', 'scipy', 'torch', 'tqdm'} "
        "or (m.startswith('rostra.') and not m.startswith('rostra.moderation.screener') and m != 'rostra.moderation'));"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    root = Path(__file__).resolve().parents[3]
    done = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
