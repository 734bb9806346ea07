"""Writes ``MODEL_CARD.md`` next to a trained model, from the training report."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .categories import CATEGORIES

if TYPE_CHECKING:
    from .evaluate import CategoryMetrics
    from .train import TrainReport

SOURCES = """\
| source | what it gives | attribution | licence |
|---|---|---|---|
| `davidson/labeled_data.csv` | 24,783 tweets; class 0 hate speech → `hate` 1, class 1 offensive and class 2 neither → `hate` 0 (offensive is not hate: hard negatives) | T. Davidson, D. Warmsley, M. Macy, I. Weber, *Automated Hate Speech Detection and the Problem of Offensive Language*, ICWSM 2017 — github.com/t-davidson/hate-speech-and-offensive-language | MIT |
| `ethos/Ethos_Dataset_Binary.csv`, `ethos/Ethos_Dataset_Multi_Label.csv` | 998 comments, isHate ≥ 0.5 → `hate`; multi-label `violence` ≥ 0.5 → `violence` | I. Mollas, Z. Chrysopoulou, S. Karlos, G. Tsoumakas, *ETHOS: an Online Hate Speech Detection Dataset*, 2020 — github.com/intelligence-csd-auth-gr/Ethos-Hate-Speech-Dataset | GPL-3.0 |
| `youtube_spam/*.csv` | comments from 4 videos, `CLASS` → `spam` | T. C. Alberto, J. V. Lochter, T. A. Almeida, *TubeSpam: Comment Spam Filtering on YouTube*, ICMLA 2015 (UCI YouTube Spam Collection), via arshikachauhan/youtube-spam-comment-detector | CC BY 4.0 (as listed upstream) |
| `rostra/moderation/data/` | the project's own hand-written posts and template expansions for every category, with as many benign look-alikes as violations | Rostra contributors | the project's licence (AGPL-3.0-or-later) |
| moderator decisions | `(text, category, label)` passed to `train(...)`, weighted x2 | the instance's moderators | the instance's |
"""

LIMITATIONS = """\
- **English only.** The features are English word and character n-grams; other languages get
  scores near each head's base rate, which is not a judgement.
- **Bag of n-grams.** Word bigrams and character n-grams see "nobody should hurt anyone" and
  "someone should hurt them" as mostly the same words. The authored data teaches the common
  negations, condemnations and quotations, but a threat quoted in order to condemn it, irony and
  context spread across a thread are beyond a linear model: that is what the borderline band and
  stage 2 are for, and why the policy holds for review rather than refusing on a middling score.
- **The authored data is small and written by the project.** Template expansions are split by
  template, so the validation figures do not reward memorising a template, but the templates
  still share a style; expect lower figures on real posts, and retrain with moderator decisions.
- **Davidson's hate labels lean on slurs**, and its tweets (2017, US) use dialect that
  annotators over-labelled as offensive or hateful (Davidson et al. 2019, Sap et al. 2019): the
  `hate` head can over-score African-American English. Treat `hate` as a reason for review.
- **Calibration assumes balanced classes** (see "Operating points"): a score is not the share
  of live posts like it that are violations, which is far lower. Ordinary posts can reach 0.5 on
  some head; thresholds belong at the operating points, and the instance's own decisions should
  move them.
- **`sexual_minors`, `self_harm` and `private_info` rest on authored data alone** (a few
  hundred examples each). `private_info` relies on shapes (phone numbers, street addresses,
  "lives at"); business addresses and public venues are taught as negatives but will sometimes
  score. `sexual_minors` must never be the only safeguard: hash matching of known images and
  human review are outside this model.
- **Evasion.** Stage 0 undoes common Unicode, leetspeak, spacing and repetition tricks; new
  tricks (images of text, deliberate misspellings unlike the training data) get through.
"""


def _table(metrics: dict[str, CategoryMetrics]) -> str:
    lines = [
        "| category | positives | negatives | ROC AUC | average precision | precision at 80 % recall | precision at 90 % recall |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for c in CATEGORIES:
        if c in metrics:
            m = metrics[c]
            lines.append(
                f"| `{c}` | {m.n_positive} | {m.n_negative} | {m.roc_auc:.3f} | {m.average_precision:.3f} | {m.precision_at_80_recall:.3f} | {m.precision_at_90_recall:.3f} |"
            )
        else:
            lines.append(f"| `{c}` | - | - | - | - | - | - |")
    return "\n".join(lines)


def _by_source(tables: dict[str, dict[str, CategoryMetrics]]) -> str:
    lines = [
        "| source | category | positives | negatives | ROC AUC | average precision | P@80 % recall | P@90 % recall |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for source, table in tables.items():
        for c, m in table.items():
            lines.append(
                f"| {source} | `{c}` | {m.n_positive} | {m.n_negative} | {m.roc_auc:.3f} | {m.average_precision:.3f} | {m.precision_at_80_recall:.3f} | {m.precision_at_90_recall:.3f} |"
            )
    return "\n".join(lines)


def _operating_table(points: dict[str, dict[str, float]]) -> str:
    lines = [
        "| category | threshold for 80 % recall | precision there | threshold for 90 % recall | precision there |",
        "|---|---:|---:|---:|---:|",
    ]
    for c in CATEGORIES:
        p = points.get(c)
        if p:
            lines.append(
                f"| `{c}` | {p['threshold_at_80_recall']:.3f} | {p['precision_at_80_recall']:.3f} | {p['threshold_at_90_recall']:.3f} | {p['precision_at_90_recall']:.3f} |"
            )
    return "\n".join(lines)


def write_model_card(path: Path, report: TrainReport) -> None:
    counts = "\n".join(f"| `{c}` | {report.counts[c]['positive']} | {report.counts[c]['negative']} |" for c in CATEGORIES)
    sources = ", ".join(f"{k} {v}" for k, v in sorted(report.extra.get("sources", {}).items()))
    text = f"""# Model card: Rostra screener, stage 1

`{report.model_version}` — one calibrated logistic head per category over hashed word 1-2 grams
and character 3-5 grams (2^{report.extra.get("bits")} signed buckets) of the normalised text (stage 0
undoes Unicode, leetspeak, spacing and repetition tricks first), plus word skip-bigrams. Weights
are µ-law int8 with a scale per category (`stage1.npz`); `stage1.json` holds the metadata and the
operating points. Inference needs Python and numpy only.

**Intended use**: the fast screen inside the request, before a post is visible to anyone else;
the instance's policy turns the scores into decisions, and categories in the borderline band go
to stage 2 and to people. **Not** for deciding about a person on a score alone.

## How it was trained

```
{report.extra.get("command")}
```

Seed {report.seed}; L2 {report.extra.get("l2")}; balanced class weights; L-BFGS (numpy); Platt
scaling per head on the validation split, with a balanced prior. {report.examples} examples ({sources}); data digest
`{report.data_digest[:16]}`. A stratified 80/20 split by group ({report.train_rows} training rows,
{report.validation_rows} validation rows): every expansion of one authored template, and every
copy of a repeated text, stays on one side. Training took {report.seconds:.0f} s on 2 cores.
The same command with the same data and seed gives the same model version.

Each source labels only the categories it knows; the others are masked for its rows.

## Data

{SOURCES}
Labelled rows per category (all splits):

| category | positive | negative |
|---|---:|---:|
{counts}

## Validation figures

Measured with the saved (quantised, calibrated) model through `Screener.screen_many`, the
production path, on the held-out split. All sources:

{_table(report.validation)}

Authored examples only (the hardest part of the split: threats against their look-alikes):

{_table(report.validation_authored)}

By source (validation rows of each source; the shared sets label only some categories):

{_by_source(report.extra.get("by_source", {}))}

Read the small categories with care: `sexual`, `sexual_minors`, `self_harm`, `private_info` and
authored `hate` have fewer than ten validation positives, so one post moves their figures a lot.
ETHOS's `violence` labels mark hateful comments with violent wording and are noisier than the
authored ones; the `violence` figures over all sources mix both.

## Operating points

Calibration uses a *balanced* prior (each class weighs half in the Platt fit), so a score of 0.5
means "as likely a violation as not, before considering how rare violations are". Live
violations are rare: set policy thresholds from this table, which gives, per category, the
highest score threshold that still catches 80 % / 90 % of the validation violations, and the
share of flagged validation posts that were violations at that threshold (also in
`stage1.json`, key `operating_points`).

{_operating_table(report.extra.get("operating_points", {}))}

## Known limitations

{LIMITATIONS}"""
    path.write_text(text)
