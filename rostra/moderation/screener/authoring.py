"""The project's own labelled examples: hand-written posts plus deterministic template expansions.

``rostra/moderation/data/`` holds (see its README for the labelling guidelines):

- ``*.jsonl`` — hand-written posts, one JSON object a line: ``text``, one key per category it is
  labelled for (0/1; a category not named is 0, ``null`` means "unsure, do not train on it"),
  and ``kind`` (which sub-type it illustrates: ``direct_threat``, ``sports``, ...);
- ``templates/*.json`` — ``slots`` (named lists of fillers) and ``templates`` (each with an
  ``id``, ``labels``, ``kind``, ``count`` and ``patterns`` using ``{slot}`` placeholders).

``authored_examples(data_dir)`` returns both as ``AuthoredExample`` rows. Expansion is seeded by
the template id, not by the training seed, so the data set is the same for every training run;
each row carries a ``group`` (the template id, or the file and line) so that training can keep
every expansion of one template on the same side of the validation split.

    python -m rostra.moderation.screener.authoring [DATA_DIR]   # print counts and a sample
"""

from __future__ import annotations

import json
import random
import re
import sys
import zlib
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .categories import CATEGORIES

DEFAULT_DATA_DIR = Path(__file__).resolve().parents[1] / "data"
_SLOT = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True, slots=True)
class AuthoredExample:
    text: str
    labels: Mapping[str, int]  # every category this row is labelled for
    kind: str
    group: str
    templated: bool = False


def _labels(record: Mapping[str, Any], where: str) -> dict[str, int]:
    unknown = set(record) - set(CATEGORIES) - {"text", "kind", "note", "labels"}
    if unknown:
        raise ValueError(f"{where}: unknown keys {sorted(unknown)}")
    given = dict(record.get("labels") or {})
    given.update({c: record[c] for c in CATEGORIES if c in record})
    out: dict[str, int] = {}
    for c in CATEGORIES:
        v = given.get(c, 0)
        if v is None:
            continue  # unsure: not trained on for this category
        if v not in (0, 1):
            raise ValueError(f"{where}: {c} must be 0, 1 or null, not {v!r}")
        out[c] = int(v)
    return out


def _hand_written(data_dir: Path) -> list[AuthoredExample]:
    rows = []
    for path in sorted(data_dir.glob("*.jsonl")):
        with path.open(encoding="utf-8") as fh:
            for n, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                rec = json.loads(line)
                where = f"{path.name}:{n}"
                rows.append(AuthoredExample(str(rec["text"]), _labels(rec, where), str(rec.get("kind", "")), where))
    return rows


def _fill(pattern: str, slots: Mapping[str, list[str]], rng: random.Random, where: str) -> str:
    def pick(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in slots:
            raise ValueError(f"{where}: no slot named {name!r}")
        value = rng.choice(slots[name])
        # Slots may nest one level: a filler can itself name slots.
        return _SLOT.sub(lambda mm: rng.choice(slots[mm.group(1)]), value) if "{" in value else value

    return re.sub(r"\s+", " ", _SLOT.sub(pick, pattern)).strip()


def _casual(text: str, rng: random.Random) -> str:
    """Microblog texture: sometimes all lower case, dropped apostrophes or final full stop."""
    r = rng.random()
    if r < 0.35:
        text = text.lower()
    elif r < 0.4:
        text = text.upper()
    if rng.random() < 0.3:
        text = text.replace("'", "")
    if text.endswith(".") and rng.random() < 0.5:
        text = text[:-1]
    return text


def _expanded(data_dir: Path) -> list[AuthoredExample]:
    rows = []
    for path in sorted((data_dir / "templates").glob("*.json")):
        spec = json.loads(path.read_text(encoding="utf-8"))
        slots: dict[str, list[str]] = spec.get("slots", {})
        for t in spec["templates"]:
            where = f"{path.name}:{t['id']}"
            labels = _labels(t.get("labels", {}), where)
            rng = random.Random(zlib.crc32(t["id"].encode()))  # noqa: S311 - reproducible data, not secrets
            seen: set[str] = set()
            wanted = int(t.get("count", 10))
            for _ in range(wanted * 20):
                if len(seen) >= wanted:
                    break
                text = _casual(_fill(rng.choice(t["patterns"]), slots, rng, where), rng)
                key = text.lower()
                if key in seen:
                    continue
                seen.add(key)
                rows.append(AuthoredExample(text, labels, str(t.get("kind", "")), where, templated=True))
    return rows


def authored_examples(data_dir: str | Path | None = None) -> list[AuthoredExample]:
    data_dir = Path(data_dir) if data_dir is not None else DEFAULT_DATA_DIR
    if not data_dir.is_dir():
        raise FileNotFoundError(f"no authored data at {data_dir}")
    return _hand_written(data_dir) + _expanded(data_dir)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    rows = authored_examples(args[0] if args else None)
    counts: Counter[str] = Counter()
    for r in rows:
        for c, v in r.labels.items():
            counts[f"{c}={v}"] += 1
    for key in sorted(counts):
        print(f"{key:<20}{counts[key]:>6}")
    rng = random.Random(0)  # noqa: S311 - a reproducible sample to print
    for r in rng.sample(rows, min(15, len(rows))):
        print(json.dumps({"text": r.text, "positive": [c for c, v in r.labels.items() if v], "kind": r.kind}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
