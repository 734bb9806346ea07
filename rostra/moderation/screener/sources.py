"""The shared public data sets, read as training examples labelled only where the source knows.

A row's ``labels`` names the categories its source tells us about; the others are masked (the
head for that category does not train on the row). What each source tells:

- **Davidson et al. 2017** (``davidson/labeled_data.csv``, MIT): class 0 "hate speech" → hate 1;
  class 1 "offensive" → hate 0 (offensive language is not hate by itself: these are the hard
  negatives); class 2 "neither" → hate 0. Tweets are not spam, doxxing, self-harm or child
  sexualisation, so those are 0; class 2 is also 0 for violence, harassment and sexual, while for
  classes 0 and 1 those stay masked (an offensive tweet may well be a threat or harassment).
- **ETHOS** (``ethos/``, GPL-3.0): isHate ≥ 0.5 → hate 1, else 0; for the hateful comments of
  the multi-label file, violence ≥ 0.5 → violence 1, else 0; non-hateful comments are violence 0.
  Spam, doxxing and sexual_minors are 0.
- **YouTube Spam Collection** (``youtube_spam/``, CC BY 4.0): ``CLASS`` → spam; the comments are
  otherwise ordinary, so every other category is 0.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from .categories import CATEGORIES

ALWAYS_ZERO_FOR_SOCIAL = ("spam", "private_info", "self_harm", "sexual_minors")


@dataclass(frozen=True, slots=True)
class Example:
    text: str
    labels: dict[str, int]
    source: str
    group: str
    weight: float = 1.0


def davidson(path: Path) -> list[Example]:
    out = []
    with path.open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            cls = int(row["class"])
            labels = {"hate": 1 if cls == 0 else 0}
            labels.update(dict.fromkeys(ALWAYS_ZERO_FOR_SOCIAL, 0))
            if cls == 2:
                labels.update({"violence": 0, "harassment": 0, "sexual": 0})
            out.append(Example(row["tweet"], labels, "davidson", f"davidson:{row['']}"))
    return out


def ethos(folder: Path) -> list[Example]:
    violence: dict[str, int] = {}
    with (folder / "Ethos_Dataset_Multi_Label.csv").open(encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh, delimiter=";"):
            violence[row["comment"].strip()] = 1 if float(row["violence"]) >= 0.5 else 0
    out = []
    with (folder / "Ethos_Dataset_Binary.csv").open(encoding="utf-8", newline="") as fh:
        for n, row in enumerate(csv.DictReader(fh, delimiter=";")):
            text = row["comment"].strip()
            hate = 1 if float(row["isHate"]) >= 0.5 else 0
            labels = {"hate": hate, "spam": 0, "private_info": 0, "sexual_minors": 0}
            if text in violence:
                labels["violence"] = violence.pop(text)
            elif not hate:
                labels["violence"] = 0
            out.append(Example(text, labels, "ethos", f"ethos:{n}"))
    # Multi-label comments missing from the binary file are hateful by construction.
    for n, (text, v) in enumerate(sorted(violence.items())):
        out.append(
            Example(
                text, {"hate": 1, "violence": v, "spam": 0, "private_info": 0, "sexual_minors": 0}, "ethos", f"ethos-multi:{n}"
            )
        )
    return out


def youtube_spam(folder: Path) -> list[Example]:
    out = []
    for path in sorted(folder.glob("*.csv")):
        with path.open(encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                labels = dict.fromkeys(CATEGORIES, 0)
                labels["spam"] = int(row["CLASS"])
                out.append(Example(row["CONTENT"], labels, "youtube_spam", f"youtube:{row['COMMENT_ID']}"))
    return out


def shared_examples(shared_dir: Path, *, limit_per_source: int | None = None) -> list[Example]:
    """Every shared source that is present under ``shared_dir``; a missing folder is skipped."""
    out: list[Example] = []
    loaders = (
        (shared_dir / "davidson" / "labeled_data.csv", davidson),
        (shared_dir / "ethos", ethos),
        (shared_dir / "youtube_spam", youtube_spam),
    )
    for path, loader in loaders:
        if path.exists():
            rows = loader(path)
            if limit_per_source is not None:
                rows = rows[:: max(1, len(rows) // limit_per_source)][:limit_per_source]
            out.extend(rows)
    if not out:
        raise FileNotFoundError(f"no shared training data under {shared_dir}")
    return out
