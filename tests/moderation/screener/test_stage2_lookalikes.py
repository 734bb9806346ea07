"""Does stage 1 + 2 (deepened on the committed bands) behave better than stage 1 alone?

Three sets of posts the models never trained on:

- the hand-written validation rows of ``rostra/moderation/data/`` (the seeded split puts them
  aside; threats against their look-alikes, every category) — where stage 2 must do better;
- ordinary chatter (``heldout.ORDINARY*``) — where stage 2 must take scores down;
- look-alike lists aimed at stage 1's known weakness, idioms and negation
  (``stage2_lists``, ``heldout``) — where stage 2 is *not* better (a sentence embedding reads
  topic, not intent: see MODEL_CARD.md) and must at least do no harm: no threat may be lost and
  the ranking may not get materially worse. The known failure is asserted as such (and must be in
  the model card), so that a stage 2 that fixes it is noticed.
"""

from __future__ import annotations

import numpy as np
import pytest

from rostra.moderation.screener import CATEGORIES, Screener, ScreenResult
from rostra.moderation.screener.authoring import authored_examples
from rostra.moderation.screener.evaluate import LabelledRow, evaluate_scores, roc_auc
from rostra.moderation.screener.stage2 import MiniLMStage2, load_stage2, stage2_bands, stage2_unavailable_reason
from rostra.moderation.screener.train import collect_examples, split_groups

from . import heldout, stage2_lists


@pytest.fixture(scope="module")
def screener() -> Screener:
    return Screener.load(borderline=stage2_bands() or (0.2, 0.8))


@pytest.fixture(scope="module")
def stage2(screener: Screener) -> MiniLMStage2:
    loaded = load_stage2(stage1=screener.model)
    assert loaded is not None, stage2_unavailable_reason()
    return loaded


def both(screener: Screener, stage2: MiniLMStage2, texts: list[str]) -> tuple[list[ScreenResult], list[ScreenResult]]:
    first = screener.screen_many(texts)
    return first, screener.deepen(first, stage2)


def violence(results: list[ScreenResult]) -> np.ndarray:
    return np.array([r.scores["violence"] for r in results])


def test_the_lists_are_not_training_data() -> None:
    training = {" ".join(e.text.lower().split()) for e in authored_examples()}
    for text in stage2_lists.LOOK_ALIKES + stage2_lists.THREATS:
        assert " ".join(text.lower().split()) not in training, text


def test_stage2_beats_stage1_on_the_held_out_hand_written_posts(screener: Screener, stage2: MiniLMStage2) -> None:
    # The same seeded split as training: the authored strata are drawn first, so these are exactly
    # the authored validation rows of the committed model (183 labelled for violence: 30 threats).
    examples = collect_examples(None)
    held = split_groups(examples, seed=1)
    rows = [LabelledRow(e.text, e.labels) for e, h in zip(examples, held, strict=True) if h and e.source == "authored"]
    first, deep = both(screener, stage2, [r.text for r in rows])
    before = evaluate_scores(rows, [r.scores for r in first])
    after = evaluate_scores(rows, [r.scores for r in deep])
    assert set(before) == set(CATEGORIES)
    # Small categories have 5-8 positives here: one post changing places moves AP by a few points.
    for c in CATEGORIES:
        assert after[c].average_precision >= before[c].average_precision - 0.05, (c, before[c], after[c])
    assert sum(after[c].average_precision - before[c].average_precision for c in CATEGORIES) >= 0.1
    assert after["violence"].average_precision > before["violence"].average_precision
    assert after["violence"].roc_auc >= before["violence"].roc_auc
    assert after["harassment"].precision_at_90_recall > before["harassment"].precision_at_90_recall


def test_stage2_takes_ordinary_posts_down(screener: Screener, stage2: MiniLMStage2) -> None:
    posts = heldout.ORDINARY + heldout.ORDINARY_BLIND
    first, deep = both(screener, stage2, posts)
    high_before = sum(max(r.scores.values()) >= 0.5 for r in first)
    high_after = sum(max(r.scores.values()) >= 0.5 for r in deep)
    assert high_after < high_before
    assert high_after <= 0.15 * len(posts)


@pytest.mark.parametrize(
    ("threats", "look_alikes"),
    [
        (stage2_lists.THREATS, stage2_lists.LOOK_ALIKES),
        (heldout.VIOLENT + heldout.VIOLENT_BLIND, heldout.BENIGN + heldout.BENIGN_BLIND),
    ],
    ids=["stage2-lists", "heldout-lists"],
)
def test_on_idioms_and_negation_stage2_does_no_harm(
    screener: Screener, stage2: MiniLMStage2, threats: list[str], look_alikes: list[str]
) -> None:
    t1, t2 = (violence(r) for r in both(screener, stage2, threats))
    b1, b2 = (violence(r) for r in both(screener, stage2, look_alikes))
    assert t2.min() >= 0.5, "a threat fell below 0.5 after deepening"
    y = [1] * len(threats) + [0] * len(look_alikes)
    assert roc_auc(y, np.r_[t2, b2]) >= roc_auc(y, np.r_[t1, b1]) - 0.03
    assert b2.mean() <= b1.mean() + 0.02


def test_look_alikes_stage1_misreads_by_their_words_come_down(screener: Screener, stage2: MiniLMStage2) -> None:
    # Where the n-grams mislead but the sentence is plainly about something else (cooking, a
    # game, a film), the encoder's topic reading corrects stage 1.
    posts = [
        "the recipe says to beat the butter and sugar until pale",
        "they bombed the audition but they're trying again next year",
        "the film's final shootout is beautifully choreographed",
    ]
    first, deep = both(screener, stage2, posts)
    for text, a, b in zip(posts, violence(first), violence(deep), strict=True):
        assert b <= a, (text, a, b)
    assert violence(deep).max() < 0.3


def test_the_known_limitation_is_still_true_and_written_in_the_model_card(screener: Screener, stage2: MiniLMStage2) -> None:
    # Both models read "kill ... fuel" as a threat; the card says so and a moderator releases
    # such posts from the queue. When a better stage 2 fixes it this fails: update the card.
    from rostra.moderation.screener import DEFAULT_MODELS_DIR

    _first, deep = both(screener, stage2, ["kill the engine before you refuel"])
    assert deep[0].scores["violence"] >= 0.5
    assert "kill the engine" in (DEFAULT_MODELS_DIR / "MODEL_CARD.md").read_text(encoding="utf-8")
