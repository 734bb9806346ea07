"""Stage 2: sentence-encoder heads for what stage 1 finds borderline, run by a worker.

``MiniLMStage2`` implements the ``Stage2`` protocol. For each text it

1. embeds the (already normalised) text with all-MiniLM-L6-v2 as int8 ONNX (``encoder.py``):
   384 numbers, mean-pooled and unit length;
2. scores every category with a logistic head over the embedding, Platt-calibrated on the
   validation split (``p2``);
3. mixes that with stage 1's calibrated score of the same text (``p1``) in logit space,
   ``z = (1 - mix) · logit(p1) + mix · logit(p2)`` with ``mix`` = 0.5, and calibrates ``z`` once
   more (Platt, validation split). The two models err differently — n-grams on idioms and quoted
   threats, the encoder on topic — so the mixture beats either alone on every category of the
   validation split (see ``MODEL_CARD.md``);

and returns the mixed score for the categories asked for. ``Screener.deepen`` puts those scores
in place of stage 1's for the borderline categories only.

On disk, next to the stage-1 files: ``stage2.npz`` (float32 head weights, biases, Platt and mix
parameters: about 13 KB) and ``stage2.json`` (format, categories, the stage-1 model the mixture
was fitted with, the encoder, the borderline bands, training facts and figures). The bands —
``{category: [low, high]}``, where ``low <= stage-1 score < high`` sends a category to stage 2 —
are chosen by the training command on the validation split; read them with ``stage2_bands()``
(numpy and json only) and give them to ``Screener.load(borderline=...)``.

The interface for the worker::

    from rostra.moderation.screener.stage2 import load_stage2, stage2_bands, stage2_unavailable_reason

    screener = Screener.load(borderline=stage2_bands())   # the bands stage 2 was trained for
    stage2 = load_stage2(stage1=screener.model)            # None if it cannot run here
    if stage2 is None:
        log.warning("stage 2 off: %s", stage2_unavailable_reason())
    else:
        results = screener.deepen(results, stage2)

``load_stage2`` never raises for a missing encoder package, a missing onnxruntime or tokenizers,
a cache it cannot write, missing or stale stage-2 files: it returns None and
``stage2_unavailable_reason()`` says why. Importing this module imports neither onnxruntime nor
tokenizers; ``load_stage2`` does (and builds the int8 graph into the cache at first use).
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from .categories import CATEGORIES
from .model import LinearModel

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
WEIGHTS_FILE = "stage2.npz"
META_FILE = "stage2.json"
DEFAULT_MIX = 0.5
_EPS = 1e-6

Band = tuple[float, float]


class _Embeds(Protocol):
    version: str

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -30.0, 30.0)))


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=np.float64), _EPS, 1.0 - _EPS)
    return np.log(p / (1.0 - p))


@dataclass
class Stage2Heads:
    categories: tuple[str, ...]
    weights: np.ndarray  # float32 (dim, categories)
    bias: np.ndarray  # float32 (categories,)
    platt_a: np.ndarray  # p2 = sigmoid(platt_a * margin + platt_b)
    platt_b: np.ndarray
    mix: np.ndarray  # weight of stage 2 in the logit mixture, per category
    final_a: np.ndarray  # score = sigmoid(final_a * z + final_b)
    final_b: np.ndarray
    bands: dict[str, Band] = field(default_factory=dict)
    version: str = "stage2-untrained"
    meta: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def zeros(cls, dim: int, categories: tuple[str, ...] = CATEGORIES) -> Stage2Heads:
        c = len(categories)
        return cls(
            categories,
            np.zeros((dim, c), np.float32),
            np.zeros(c, np.float32),
            np.ones(c, np.float32),
            np.zeros(c, np.float32),
            np.full(c, DEFAULT_MIX, np.float32),
            np.ones(c, np.float32),
            np.zeros(c, np.float32),
        )

    # --- scoring ------------------------------------------------------------------------------------

    def margins(self, embeddings: np.ndarray) -> np.ndarray:
        return np.asarray(embeddings, dtype=np.float32) @ self.weights + self.bias

    def head_probabilities(self, embeddings: np.ndarray) -> np.ndarray:
        """Stage 2 alone: (texts, categories) calibrated probabilities."""
        return _sigmoid(self.platt_a * self.margins(embeddings) + self.platt_b)

    def mixed_logits(self, p1: np.ndarray, p2: np.ndarray) -> np.ndarray:
        return (1.0 - self.mix) * logit(p1) + self.mix * logit(p2)

    def combine(self, p1: np.ndarray, p2: np.ndarray) -> np.ndarray:
        """Stage 1 and stage 2 together: (texts, categories) calibrated probabilities."""
        return _sigmoid(self.final_a * self.mixed_logits(p1, p2) + self.final_b)

    # --- files --------------------------------------------------------------------------------------

    def save(self, directory: str | Path, *, extra_meta: Mapping[str, Any] | None = None) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        arrays = {
            "weights": self.weights.astype(np.float32),
            "bias": self.bias.astype(np.float32),
            "platt_a": self.platt_a.astype(np.float32),
            "platt_b": self.platt_b.astype(np.float32),
            "mix": self.mix.astype(np.float32),
            "final_a": self.final_a.astype(np.float32),
            "final_b": self.final_b.astype(np.float32),
        }
        with (directory / WEIGHTS_FILE).open("wb") as fh:
            np.savez_compressed(fh, **arrays)  # type: ignore[arg-type]
        meta = {**self.meta, **(extra_meta or {})}
        h = hashlib.sha256()
        for name in sorted(arrays):
            h.update(np.ascontiguousarray(arrays[name]).tobytes())
        h.update(json.dumps({c: list(b) for c, b in sorted(self.bands.items())}).encode())
        h.update(str(meta.get("encoder", {}).get("weights_sha256", "")).encode())
        self.version = f"stage2-{h.hexdigest()[:12]}"
        meta.update(
            {
                "format": FORMAT_VERSION,
                "model_version": self.version,
                "categories": list(self.categories),
                "dim": int(self.weights.shape[0]),
                "bands": {c: [float(lo), float(hi)] for c, (lo, hi) in self.bands.items()},
            }
        )
        self.meta = meta
        (directory / META_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")

    @classmethod
    def load(cls, directory: str | Path) -> Stage2Heads:
        directory = Path(directory)
        meta = json.loads((directory / META_FILE).read_text())
        if meta.get("format") != FORMAT_VERSION:
            raise ValueError(f"{directory / META_FILE}: stage-2 format {meta.get('format')!r}, this code reads {FORMAT_VERSION}")
        with np.load(directory / WEIGHTS_FILE) as z:
            arrays = {k: z[k].astype(np.float32) for k in ("weights", "bias", "platt_a", "platt_b", "mix", "final_a", "final_b")}
        return cls(
            tuple(meta["categories"]),
            bands=_read_bands(meta),
            version=str(meta["model_version"]),
            meta=meta,
            **arrays,
        )


def _read_bands(meta: Mapping[str, Any]) -> dict[str, Band]:
    bands = meta.get("bands") or {}
    return {c: (float(bands[c][0]), float(bands[c][1])) for c in CATEGORIES if c in bands}


class MiniLMStage2:
    """The ``Stage2`` a worker runs: encoder + heads + stage 1's scores of the same text, mixed."""

    def __init__(self, heads: Stage2Heads, encoder: _Embeds, stage1: LinearModel) -> None:
        if tuple(heads.categories) != tuple(stage1.categories):
            raise ValueError(f"stage-2 categories {heads.categories} differ from stage 1's {stage1.categories}")
        self.heads = heads
        self.encoder = encoder
        self.stage1 = stage1
        self.version = heads.version
        self._lock = threading.Lock()  # one onnxruntime session: run batches one at a time

    @property
    def bands(self) -> dict[str, Band]:
        return dict(self.heads.bands)

    def probabilities(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(stage 1, stage 2 alone, mixed) probabilities, each (texts, categories), for normalised texts."""
        if not texts:
            empty = np.zeros((0, len(self.heads.categories)))
            return empty, empty, empty
        with self._lock:
            embeddings = self.encoder.embed(list(texts))
        p1 = np.stack([self.stage1.probabilities(t) for t in texts]).astype(np.float64)
        p2 = self.heads.head_probabilities(embeddings).astype(np.float64)
        return p1, p2, self.heads.combine(p1, p2)

    def score(self, texts: Sequence[str], categories: Sequence[frozenset[str]]) -> list[Mapping[str, float]]:
        if len(texts) != len(categories):
            raise ValueError("score needs one set of categories per text")
        _, _, mixed = self.probabilities(texts)
        cols = {c: j for j, c in enumerate(self.heads.categories)}
        return [{c: round(float(mixed[i, cols[c]]), 6) for c in wanted if c in cols} for i, wanted in enumerate(categories)]


# --- loading -----------------------------------------------------------------------------------------

_REASON: str | None = None


def stage2_unavailable_reason() -> str | None:
    """Why the last ``load_stage2`` call returned None (None if it succeeded or was never called)."""
    return _REASON


def stage2_bands(models_dir: str | Path | None = None) -> dict[str, Band] | None:
    """The borderline bands stage 2 was trained for (from ``stage2.json``), or None if there is none."""
    from .screener import DEFAULT_MODELS_DIR

    path = Path(models_dir or DEFAULT_MODELS_DIR) / META_FILE
    try:
        return _read_bands(json.loads(path.read_text())) or None
    except (OSError, ValueError, KeyError, TypeError, IndexError):
        return None


def load_stage2(
    models_dir: str | Path | None = None,
    *,
    stage1: LinearModel | None = None,
    precision: str = "int8",
    threads: int | None = None,
) -> MiniLMStage2 | None:
    """Stage 2 ready to score, or None (see ``stage2_unavailable_reason()``) if it cannot run here.

    ``stage1`` is the stage-1 model the screener uses (loaded from ``models_dir`` if not given);
    it must be the one stage 2 was trained with, since the mixture and the bands depend on it.
    """
    global _REASON
    from .encoder import Encoder, EncoderUnavailable, package_dir, runtime_missing
    from .screener import DEFAULT_MODELS_DIR

    directory = Path(models_dir or DEFAULT_MODELS_DIR)
    try:
        missing = runtime_missing()
        if missing:
            raise EncoderUnavailable(f"{', '.join(missing)} not installed (make install adds them)")
        package_dir()
        if not (directory / META_FILE).is_file() or not (directory / WEIGHTS_FILE).is_file():
            raise EncoderUnavailable(
                f"no stage-2 heads in {directory} (train them: python -m rostra.moderation.screener.train_stage2)"
            )
        heads = Stage2Heads.load(directory)
        model = stage1 if stage1 is not None else LinearModel.load(directory)
        trained_with = heads.meta.get("stage1_version")
        if trained_with != model.version:
            raise EncoderUnavailable(
                f"stage 2 was trained with {trained_with}, the stage-1 model is {model.version}: retrain stage 2"
            )
        encoder = Encoder(precision, threads=threads)
        expected = heads.meta.get("encoder", {}).get("weights_sha256")
        if expected and not encoder.version.startswith(f"minilm-l6-{str(expected)[:8]}"):
            raise EncoderUnavailable(f"stage 2 was trained on encoder weights {expected[:8]}, installed: {encoder.version}")
        if encoder.embed([""]).shape[1] != heads.weights.shape[0]:
            raise EncoderUnavailable("the encoder's embedding width does not match the stage-2 heads")
    except (EncoderUnavailable, OSError, ValueError, KeyError, ImportError) as exc:
        _REASON = str(exc) or type(exc).__name__
        log.warning("stage 2 unavailable: %s", _REASON)
        return None
    except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own types: stage 2 must never take Rostra down
        _REASON = f"{type(exc).__name__}: {exc}"
        log.warning("stage 2 unavailable: %s", _REASON)
        return None
    _REASON = None
    return MiniLMStage2(heads, encoder, model)
