"""Stage 1 model: one calibrated logistic head per category over shared hashed features.

On disk, in a models directory:

- ``stage1.npz`` — ``rows`` (uint32, the hash buckets that carry any weight), ``q`` (int8,
  rows x categories, µ-law-quantised weights, with ``scale`` the largest |weight| per category), ``bias``, and the Platt
  parameters ``platt_a``/``platt_b`` that turn a raw margin into a calibrated probability;
- ``stage1.json`` — the format version, the categories in column order, the hashing bits, the
  model version, and training facts (seed, data digest, validation figures).

In memory the weights are a dense float32 (2**bits x categories) matrix — 32 MiB at 20 bits — so
scoring a post is one gather and one small matrix product.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .categories import CATEGORIES
from .features import feature_config, hashed_features

FORMAT_VERSION = 2
WEIGHTS_FILE = "stage1.npz"
META_FILE = "stage1.json"


@dataclass
class LinearModel:
    categories: tuple[str, ...]
    bits: int
    weights: np.ndarray  # float32, (2**bits, len(categories))
    bias: np.ndarray  # float32, (len(categories),)
    platt_a: np.ndarray  # float32: calibrated p = sigmoid(a * margin + b)
    platt_b: np.ndarray
    version: str = "untrained"
    meta: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def zeros(cls, bits: int = 20, categories: tuple[str, ...] = CATEGORIES) -> LinearModel:
        c = len(categories)
        return cls(
            categories,
            bits,
            np.zeros((1 << bits, c), np.float32),
            np.zeros(c, np.float32),
            np.ones(c, np.float32),
            np.zeros(c, np.float32),
        )

    # --- scoring ----------------------------------------------------------------------------------

    def margins(self, normalised: str) -> np.ndarray:
        idx, val = hashed_features(normalised, self.bits)
        return val @ self.weights[idx] + self.bias

    def probabilities(self, normalised: str) -> np.ndarray:
        return _sigmoid(self.platt_a * self.margins(normalised) + self.platt_b)

    def scores(self, normalised: str) -> dict[str, float]:
        p = self.probabilities(normalised)
        return {c: round(float(v), 6) for c, v in zip(self.categories, p, strict=True)}

    # --- files -----------------------------------------------------------------------------------

    def save(self, directory: str | Path, *, extra_meta: dict[str, Any] | None = None) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        rows, q, scale = quantise(self.weights)
        weights_path = directory / WEIGHTS_FILE
        with weights_path.open("wb") as fh:
            np.savez_compressed(
                fh,
                rows=rows,
                q=q,
                scale=scale,
                bias=self.bias.astype(np.float32),
                platt_a=self.platt_a.astype(np.float32),
                platt_b=self.platt_b.astype(np.float32),
            )
        digest = _digest(rows, q, scale, self.bias, self.platt_a, self.platt_b)
        self.version = f"stage1-{digest[:12]}"
        meta = {
            **(self.meta or {}),
            **(extra_meta or {}),
            "format": FORMAT_VERSION,
            "model_version": self.version,
            "categories": list(self.categories),
            "bits": self.bits,
            "features": feature_config(),
        }
        self.meta = meta
        (directory / META_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
        # Reload the quantised weights so the object in memory scores exactly like the files.
        self.weights = dequantise(rows, q, scale, self.bits)

    @classmethod
    def load(cls, directory: str | Path) -> LinearModel:
        directory = Path(directory)
        meta = json.loads((directory / META_FILE).read_text())
        if meta.get("format") != FORMAT_VERSION:
            raise ValueError(f"{directory / META_FILE}: model format {meta.get('format')!r}, this code reads {FORMAT_VERSION}")
        with np.load(directory / WEIGHTS_FILE) as z:
            rows, q, scale = z["rows"], z["q"], z["scale"]
            bias, platt_a, platt_b = z["bias"], z["platt_a"], z["platt_b"]
        if meta.get("features") != feature_config():
            raise ValueError(
                f"{directory / META_FILE}: trained with features {meta.get('features')}, this code computes {feature_config()}: retrain"
            )
        bits = int(meta["bits"])
        categories = tuple(meta["categories"])
        return cls(
            categories,
            bits,
            dequantise(rows, q, scale, bits),
            bias.astype(np.float32),
            platt_a.astype(np.float32),
            platt_b.astype(np.float32),
            str(meta["model_version"]),
            meta,
        )


MU = 255.0  # µ-law companding: int8 keeps ~3 % relative precision over 2.5 decades of weight


def quantise(weights: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows with any weight, as µ-law int8 per column; ``scale`` is each column's largest |weight|."""
    rows = np.flatnonzero(np.any(weights != 0, axis=1)).astype(np.uint32)
    kept = weights[rows].astype(np.float64)
    scale = np.maximum(np.abs(kept).max(axis=0) if len(kept) else np.zeros(weights.shape[1]), 1e-12)
    q = np.rint(127.0 * np.sign(kept) * np.log1p(MU * np.abs(kept) / scale) / np.log1p(MU)).astype(np.int8)
    # Rows whose weights all round to zero carry nothing.
    keep = np.any(q != 0, axis=1)
    return rows[keep], q[keep], scale.astype(np.float32)


def dequantise(rows: np.ndarray, q: np.ndarray, scale: np.ndarray, bits: int) -> np.ndarray:
    qf = q.astype(np.float64)
    values = np.sign(qf) * scale.astype(np.float64) * np.expm1(np.abs(qf) / 127.0 * np.log1p(MU)) / MU
    weights = np.zeros((1 << bits, q.shape[1]), dtype=np.float32)
    weights[rows.astype(np.int64)] = values.astype(np.float32)
    return weights


def _digest(*arrays: np.ndarray) -> str:
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -30.0, 30.0)))
