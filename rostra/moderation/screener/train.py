"""Training the stage-1 heads: ``train(shared_data_dir, out_dir, seed) -> TrainReport``.

1. **Examples** from three places, each row labelled only for the categories its source knows
   (every other category is masked, not guessed):
   - the shared public sets (see ``sources.py``): Davidson class 0 → hate, class 1 "offensive" is a
     *negative* for hate (offensive is not hate) and so serves as hard negatives; ETHOS isHate ≥ 0.5
     → hate, ETHOS multi-label violence ≥ 0.5 → violence; YouTube spam ``CLASS`` → spam;
   - the project's authored examples (``authoring.py``);
   - moderator decisions, an iterable of ``(text, category, label)``, weighted x2.
2. **Features**: normalise, then hashed n-grams (``features.py``), into one sparse matrix.
3. **Split**: a stratified 80/20 split by *group* with the seed — every expansion of a template,
   or every copy of a duplicated text, stays on one side, so validation is not flattered by
   near-copies of training rows.
4. **Heads**: per category, L2-regularised logistic regression with balanced class weights,
   fitted by L-BFGS (numpy only) on the training rows labelled for that category.
5. **Calibration**: Platt scaling of each head on the validation split.
6. **Quantise, save, measure**: the weights are quantised to int8 and saved; the validation
   figures are measured with the saved model through ``Screener`` — the production path — and
   written to ``MODEL_CARD.md`` next to the model.

    python -m rostra.moderation.screener.train --shared ../shared/data/moderation --out rostra/moderation/screener/models

The command then trains stage 2 on the same data and split (``train_stage2.py``; ``--no-stage2``
skips it).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .authoring import DEFAULT_DATA_DIR, authored_examples
from .categories import CATEGORIES
from .evaluate import CategoryMetrics, LabelledRow, evaluate, format_metrics, threshold_at_recall
from .features import hashed_features
from .model import META_FILE, LinearModel
from .model_card import write_model_card
from .normalise import normalise
from .screener import Screener
from .sources import Example, shared_examples

DEFAULT_BITS = 19
DEFAULT_L2 = 5e-6
DEFAULT_MAX_ITER = 150
VALIDATION_SHARE = 0.2
DECISION_WEIGHT = 2.0
AUTHORED_WEIGHT = 1.0
# Template expansions are near-copies of each other: they only ever train, so validation on
# authored data measures hand-written posts the model has not seen.
TRAIN_ONLY_SOURCES = ("authored-template",)


@dataclass
class TrainReport:
    model_version: str
    seed: int
    out_dir: Path
    examples: int
    train_rows: int
    validation_rows: int
    counts: dict[str, dict[str, int]]  # category → {"positive": n, "negative": n} over all rows
    validation: dict[str, CategoryMetrics]
    validation_authored: dict[str, CategoryMetrics]
    data_digest: str
    seconds: float
    extra: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> str:
        return (
            f"model {self.model_version}: {self.examples} examples ({self.train_rows} train, {self.validation_rows} validation), "
            f"seed {self.seed}, {self.seconds:.0f} s\n"
            "validation, all sources:\n"
            + format_metrics(self.validation)
            + "\nvalidation, authored examples only:\n"
            + format_metrics(self.validation_authored)
        )


def _progress(iterable: Iterable[Any], *, enabled: bool, **kwargs: Any) -> Any:
    if not enabled:
        return iterable
    from tqdm import tqdm

    return tqdm(iterable, **kwargs)


def collect_examples(
    shared_dir: str | Path | None,
    *,
    authored_dir: str | Path | None = DEFAULT_DATA_DIR,
    decisions: Iterable[tuple[str, str, int]] = (),
    limit_per_source: int | None = None,
) -> list[Example]:
    examples: list[Example] = []
    if shared_dir is not None:
        examples.extend(shared_examples(Path(shared_dir), limit_per_source=limit_per_source))
    if authored_dir is not None:
        authored = authored_examples(authored_dir)
        if limit_per_source is not None:
            authored = authored[:: max(1, len(authored) // limit_per_source)]
        examples.extend(
            Example(
                a.text, dict(a.labels), "authored-template" if a.templated else "authored", f"authored:{a.group}", AUTHORED_WEIGHT
            )
            for a in authored
        )
    for n, (text, category, label) in enumerate(decisions):
        if category not in CATEGORIES:
            raise ValueError(f"decision {n}: unknown category {category!r}")
        examples.append(
            Example(
                text,
                {category: int(bool(label))},
                "decisions",
                f"decision:{hashlib.sha256(text.encode()).hexdigest()}",
                DECISION_WEIGHT,
            )
        )
    return _merge_duplicates(examples)


def _merge_duplicates(examples: list[Example]) -> list[Example]:
    """One row per text (case and spacing aside): labels are merged, later sources winning a
    conflict (decisions over authored over shared), and the row keeps its first group."""
    merged: dict[str, Example] = {}
    for e in examples:
        key = " ".join(e.text.lower().split())
        first = merged.get(key)
        if first is None:
            merged[key] = e
        else:
            merged[key] = Example(
                first.text, {**first.labels, **e.labels}, first.source, first.group, max(first.weight, e.weight)
            )
    return list(merged.values())


def split_groups(examples: list[Example], seed: int, share: float = VALIDATION_SHARE) -> np.ndarray:
    """Boolean mask of validation rows: groups shuffled with ``seed`` inside each stratum."""
    groups = [e.group for e in examples]  # texts are unique after collect_examples
    strata: dict[str, set[str]] = defaultdict(set)
    group_stratum: dict[str, str] = {}
    for e, g in zip(examples, groups, strict=True):
        if g not in group_stratum:
            positive = ",".join(sorted(c for c, v in e.labels.items() if v)) or "none"
            group_stratum[g] = f"{e.source}|{positive}"
            strata[group_stratum[g]].add(g)
    rng = np.random.default_rng(seed)
    held: set[str] = set()
    for key in sorted(strata):
        if key.startswith(TRAIN_ONLY_SOURCES):
            continue
        members = sorted(strata[key])
        rng.shuffle(members)
        k = round(len(members) * share)
        if len(members) >= 2:
            k = min(max(k, 1), len(members) - 1)
        held.update(members[:k])
    return np.array([g in held for g in groups], dtype=bool)


@dataclass
class _Matrix:
    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray

    @property
    def rows(self) -> int:
        return len(self.indptr) - 1

    def subset(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(row id per non-zero, indices, data) for the given rows, renumbered 0..len(rows)-1."""
        lengths = self.indptr[rows + 1] - self.indptr[rows]
        take = (
            np.concatenate([np.arange(self.indptr[r], self.indptr[r + 1]) for r in rows]) if len(rows) else np.zeros(0, np.int64)
        )
        row_ids = np.repeat(np.arange(len(rows)), lengths)
        return row_ids, self.indices[take], self.data[take]


def featurise(texts: list[str], bits: int, *, progress: bool = False) -> _Matrix:
    idx_parts, val_parts, lengths = [], [], []
    for t in _progress(texts, enabled=progress, desc="features", unit="post"):
        idx, val = hashed_features(normalise(t), bits)
        idx_parts.append(idx.astype(np.int32))
        val_parts.append(val)
        lengths.append(len(idx))
    indptr = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum(lengths, out=indptr[1:])
    indices = np.concatenate(idx_parts) if idx_parts else np.zeros(0, np.int32)
    data = np.concatenate(val_parts) if val_parts else np.zeros(0, np.float32)
    return _Matrix(indptr, indices, data)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -35.0, 35.0)))


def _dot(a: np.ndarray, b: np.ndarray) -> float:
    # einsum runs in one thread; a multi-threaded BLAS dot spins badly when the cores are busy.
    return float(np.einsum("i,i->", a, b))


def lbfgs(
    fg: Callable[[np.ndarray], tuple[float, np.ndarray]], x0: np.ndarray, *, max_iter: int, memory: int = 10, tol: float = 1e-7
) -> tuple[np.ndarray, int]:
    """Minimise a smooth convex function; deterministic. Returns the minimiser and the iterations used."""
    x = x0.copy()
    f, g = fg(x)
    history: list[tuple[np.ndarray, np.ndarray, float]] = []
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007 - the count is returned
        q = g.copy()
        alphas = []
        for s, y, rho in reversed(history):
            a = rho * _dot(s, q)
            q -= a * y
            alphas.append(a)
        if history:
            s, y, _ = history[-1]
            q *= _dot(s, y) / _dot(y, y)
        else:
            q /= max(1.0, float(np.linalg.norm(g)))
        for (s, y, rho), a in zip(history, reversed(alphas), strict=True):
            b = rho * _dot(y, q)
            q += s * (a - b)
        d = -q
        slope = _dot(g, d)
        if slope >= 0:  # not a descent direction: restart from the gradient
            history.clear()
            d = -g
            slope = _dot(g, d)
        step = 1.0
        while True:
            x_new = x + step * d
            f_new, g_new = fg(x_new)
            if f_new <= f + 1e-4 * step * slope or step < 1e-10:
                break
            step *= 0.5
        s, y = x_new - x, g_new - g
        sy = _dot(s, y)
        if sy > 1e-12:
            history.append((s, y, 1.0 / sy))
            if len(history) > memory:
                history.pop(0)
        converged = abs(f - f_new) <= tol * max(1.0, abs(f))
        x, f, g = x_new, f_new, g_new
        if converged:
            break
    return x, it


def fit_head(
    row_ids: np.ndarray,
    indices: np.ndarray,
    data: np.ndarray,
    y: np.ndarray,
    weights: np.ndarray,
    dim: int,
    *,
    l2: float,
    max_iter: int,
) -> tuple[np.ndarray, float, int]:
    """Weighted L2 logistic regression on sparse rows; returns (weights, bias, iterations)."""
    # Only buckets that occur in these rows can move away from zero: optimise over those alone.
    active, local = np.unique(indices, return_inverse=True)
    coef_active, bias, iterations = _fit_compact(
        row_ids, local.astype(np.int64), data, y, weights, len(active), l2=l2, max_iter=max_iter
    )
    coef = np.zeros(dim, dtype=np.float64)
    coef[active] = coef_active
    return coef, bias, iterations


def _fit_compact(
    row_ids: np.ndarray,
    indices: np.ndarray,
    data: np.ndarray,
    y: np.ndarray,
    weights: np.ndarray,
    dim: int,
    *,
    l2: float,
    max_iter: int,
) -> tuple[np.ndarray, float, int]:
    n = len(y)
    pos = y == 1
    # Balanced classes: each class carries half of the total example weight.
    w = weights.astype(np.float64).copy()
    w[pos] *= 0.5 * w.sum() / max(w[pos].sum(), 1e-12)
    w[~pos] *= 0.5 * weights.sum() / max(w[~pos].sum(), 1e-12)
    w /= w.sum()
    yf = y.astype(np.float64)
    data64 = data.astype(np.float64)

    def fg(theta: np.ndarray) -> tuple[float, np.ndarray]:
        coef, b = theta[:dim], theta[dim]
        z = np.bincount(row_ids, weights=data64 * coef[indices], minlength=n) + b
        # log(1 + exp(-z)) for y=1, log(1 + exp(z)) for y=0, computed stably.
        margin = np.where(pos, z, -z)
        loss = _dot(w, np.logaddexp(0.0, -margin)) + 0.5 * l2 * _dot(coef, coef)
        r = w * (_sigmoid(z) - yf)
        grad = np.empty_like(theta)
        grad[:dim] = np.bincount(indices, weights=data64 * r[row_ids], minlength=dim) + l2 * coef
        grad[dim] = r.sum()
        return loss, grad

    theta, iterations = lbfgs(fg, np.zeros(dim + 1), max_iter=max_iter)
    return theta[:dim], float(theta[dim]), iterations


def fit_platt(margins: np.ndarray, y: np.ndarray, iterations: int = 100) -> tuple[float, float]:
    """Platt scaling with his smoothed targets: damped Newton on (a, b), with a weak pull to (1, 0).

    The pull keeps the fit finite when the validation split is perfectly separated.
    """
    n_pos, n_neg = int(y.sum()), int(len(y) - y.sum())
    if n_pos == 0 or n_neg == 0:
        return 1.0, 0.0
    t = np.where(y == 1, (n_pos + 1.0) / (n_pos + 2.0), 1.0 / (n_neg + 2.0))
    # Balanced prior: each class weighs half, so a score is a likelihood ratio in disguise
    # (p / (1 - p)) and does not depend on how many violations the validation mix happened to hold.
    w = np.where(y == 1, 0.5 * len(y) / n_pos, 0.5 * len(y) / n_neg)
    prior = 1e-2

    def loss(a: float, b: float) -> float:
        z = a * margins + b
        return float(np.sum(w * (np.logaddexp(0.0, z) - t * z))) + 0.5 * prior * ((a - 1.0) ** 2 + b * b)

    a, b = 1.0, 0.0
    current = loss(a, b)
    for _ in range(iterations):
        p = _sigmoid(a * margins + b)
        ga = float((w * (p - t) * margins).sum()) + prior * (a - 1.0)
        gb = float((w * (p - t)).sum()) + prior * b
        h = w * p * (1 - p)
        haa = float((h * margins * margins).sum()) + prior
        hab = float((h * margins).sum())
        hbb = float(h.sum()) + prior
        det = haa * hbb - hab * hab
        da, db = (hbb * ga - hab * gb) / det, (haa * gb - hab * ga) / det
        step = 1.0
        while step > 1e-6:
            candidate = loss(a - step * da, b - step * db)
            if candidate <= current:
                break
            step *= 0.5
        a, b, previous, current = a - step * da, b - step * db, current, candidate
        if abs(previous - current) < 1e-10 * max(1.0, abs(current)):
            break
    return a, b


def _digest(examples: list[Example]) -> str:
    h = hashlib.sha256()
    for e in examples:
        h.update(e.text.encode())
        h.update(repr(sorted(e.labels.items())).encode())
    return h.hexdigest()


def train(
    data_dir_shared: str | Path | None,
    out_dir: str | Path,
    seed: int = 1,
    *,
    authored_dir: str | Path | None = DEFAULT_DATA_DIR,
    decisions: Iterable[tuple[str, str, int]] = (),
    bits: int = DEFAULT_BITS,
    l2: float = DEFAULT_L2,
    max_iter: int = DEFAULT_MAX_ITER,
    limit_per_source: int | None = None,
    progress: bool = True,
    command: str = "rostra moderation train",
) -> TrainReport:
    """Build every stage-1 head, calibrate, save to ``out_dir`` with ``MODEL_CARD.md``; see the module docstring."""
    started = time.perf_counter()
    examples = collect_examples(
        data_dir_shared, authored_dir=authored_dir, decisions=decisions, limit_per_source=limit_per_source
    )
    if not examples:
        raise ValueError("no training examples")
    held = split_groups(examples, seed)
    matrix = featurise([e.text for e in examples], bits, progress=progress)
    dim = 1 << bits
    model = LinearModel.zeros(bits)
    weights = np.zeros((dim, len(CATEGORIES)), dtype=np.float32)
    sample_weight = np.array([e.weight for e in examples], dtype=np.float64)
    head_facts: dict[str, Any] = {}
    heads = _progress(list(enumerate(CATEGORIES)), enabled=progress, desc="heads", unit="head")
    for col, category in heads:
        labelled = np.array([category in e.labels for e in examples], dtype=bool)
        y_all = np.array([e.labels.get(category, 0) for e in examples], dtype=np.int8)
        tr = np.flatnonzero(labelled & ~held)
        va = np.flatnonzero(labelled & held)
        if len(tr) == 0 or y_all[tr].min() == y_all[tr].max():
            head_facts[category] = {"trained": False}
            continue
        row_ids, indices, data = matrix.subset(tr)
        coef, bias, iterations = fit_head(row_ids, indices, data, y_all[tr], sample_weight[tr], dim, l2=l2, max_iter=max_iter)
        weights[:, col] = coef
        model.bias[col] = bias
        # Calibrate on the validation rows (µ-law quantisation moves margins by well under 1 %).
        if len(va) and 0 < y_all[va].sum() < len(va):
            v_rows, v_idx, v_data = matrix.subset(va)
            margins = np.bincount(v_rows, weights=v_data * coef[v_idx], minlength=len(va)) + bias
            a, b = fit_platt(margins, y_all[va].astype(np.float64))
        else:
            a, b = 1.0, 0.0
        model.platt_a[col], model.platt_b[col] = a, b
        head_facts[category] = {"trained": True, "iterations": iterations, "train_rows": len(tr), "validation_rows": len(va)}
        if progress and hasattr(heads, "set_postfix"):
            heads.set_postfix(head=category, iterations=iterations)
    model.weights = weights
    counts = {
        c: {
            "positive": sum(1 for e in examples if e.labels.get(c) == 1),
            "negative": sum(1 for e in examples if e.labels.get(c) == 0),
        }
        for c in CATEGORIES
    }
    digest = _digest(examples)
    out_dir = Path(out_dir)
    model.save(
        out_dir,
        extra_meta={
            "seed": seed,
            "data_digest": digest,
            "l2": l2,
            "max_iter": max_iter,
            "heads": head_facts,
            "examples": len(examples),
        },
    )
    # Measure the saved model through the production path.
    screener = Screener(LinearModel.load(out_dir))
    val_rows = [LabelledRow(e.text, e.labels) for e, h in zip(examples, held, strict=True) if h]
    val_authored = [LabelledRow(e.text, e.labels) for e, h in zip(examples, held, strict=True) if h and e.source == "authored"]
    validation = evaluate(screener, val_rows)
    validation_authored = evaluate(screener, val_authored)
    by_source: dict[str, dict[str, CategoryMetrics]] = {}
    for source in sorted({e.source for e, h in zip(examples, held, strict=True) if h}):
        rows = [LabelledRow(e.text, e.labels) for e, h in zip(examples, held, strict=True) if h and e.source == source]
        by_source[source] = evaluate(screener, rows)
    operating_points = _operating_points(screener, val_rows)
    meta_path = out_dir / META_FILE
    meta = json.loads(meta_path.read_text())
    meta["operating_points"] = operating_points
    meta_path.write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
    report = TrainReport(
        model_version=screener.model_version,
        seed=seed,
        out_dir=out_dir,
        examples=len(examples),
        train_rows=int((~held).sum()),
        validation_rows=int(held.sum()),
        counts=counts,
        validation=validation,
        validation_authored=validation_authored,
        data_digest=digest,
        seconds=time.perf_counter() - started,
        extra={
            "sources": _source_counts(examples),
            "bits": bits,
            "l2": l2,
            "command": command,
            "heads": head_facts,
            "operating_points": operating_points,
            "by_source": by_source,
        },
    )
    write_model_card(out_dir / "MODEL_CARD.md", report)
    return report


def _operating_points(screener: Screener, rows: list[LabelledRow]) -> dict[str, dict[str, float]]:
    """Per category, the score threshold that keeps 80 % / 90 % recall on validation and its precision."""
    results = screener.screen_many([r.text for r in rows])
    out: dict[str, dict[str, float]] = {}
    for c in CATEGORIES:
        pairs = [(r.labels[c], res.scores[c]) for r, res in zip(rows, results, strict=True) if c in r.labels]
        if not pairs or not 0 < sum(y for y, _ in pairs) < len(pairs):
            continue
        ys, ss = [y for y, _ in pairs], [x for _, x in pairs]
        point: dict[str, float] = {}
        for recall in (0.8, 0.9):
            threshold, precision = threshold_at_recall(ys, ss, recall)
            point[f"threshold_at_{int(recall * 100)}_recall"] = round(threshold, 4)
            point[f"precision_at_{int(recall * 100)}_recall"] = round(precision, 4)
        out[c] = point
    return out


def _source_counts(examples: list[Example]) -> dict[str, int]:
    out: dict[str, int] = defaultdict(int)
    for e in examples:
        out[e.source] += 1
    return dict(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Train the stage-1 screener heads.")
    parser.add_argument(
        "--shared",
        default=str(Path.cwd().parent / "shared" / "data" / "moderation"),
        help="the shared labelled data (davidson/, ethos/, youtube_spam/)",
    )
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent / "models"))
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--bits", type=int, default=DEFAULT_BITS)
    parser.add_argument("--l2", type=float, default=DEFAULT_L2)
    parser.add_argument("--max-iter", type=int, default=DEFAULT_MAX_ITER)
    parser.add_argument("--no-stage2", action="store_true", help="train stage 1 only (stage 2 then needs retraining)")
    args = parser.parse_args(argv)
    command = "python -m rostra.moderation.screener.train " + " ".join(argv if argv is not None else sys.argv[1:])
    report = train(
        args.shared,
        args.out,
        args.seed,
        bits=args.bits,
        l2=args.l2,
        max_iter=args.max_iter,
        command=command,
    )
    print(report.summary())
    if not args.no_stage2:
        # Stage 2 is fitted with this stage-1 model, on the same data and split (train_stage2.py).
        from .encoder import EncoderUnavailable
        from .train_stage2 import train_stage2

        try:
            stage2 = train_stage2(args.shared, args.out, args.seed, command=command)
        except EncoderUnavailable as exc:
            print(f"stage 2 not trained: {exc}", file=sys.stderr)
            return 1
        print(stage2.summary())
    return 0


def decisions_from_rows(rows: Iterable[Mapping[str, Any]]) -> list[tuple[str, str, int]]:
    """Adapt mappings with ``text``, ``category``, ``label`` (e.g. exported decisions) to training input."""
    return [(str(r["text"]), str(r["category"]), int(r["label"])) for r in rows]


if __name__ == "__main__":
    raise SystemExit(main())
