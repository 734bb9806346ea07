"""docs/directory-map.md lists every package, one line each, and nothing that no longer exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SKIP = {"migrations", "templates", "static", "__pycache__", "management", "commands"}


def _packages() -> set[str]:
    found = set()
    for init in (ROOT / "rostra").rglob("__init__.py"):
        rel = init.parent.relative_to(ROOT)
        if not SKIP.intersection(rel.parts):
            found.add(rel.as_posix() + "/")
    for top in ("tests", "bench", "docs"):
        if (ROOT / top).is_dir():
            found.add(top + "/")
    return found


def _mapped() -> set[str]:
    text = (ROOT / "docs" / "directory-map.md").read_text()
    return set(re.findall(r"^- `([^`]+/)`", text, flags=re.M))


def test_every_package_is_on_the_map():
    missing = _packages() - _mapped()
    assert not missing, f"add these to docs/directory-map.md: {sorted(missing)}"


def test_the_map_names_nothing_that_is_gone():
    stale = _mapped() - _packages()
    assert not stale, f"remove these from docs/directory-map.md: {sorted(stale)}"
