from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest


@pytest.fixture
def media_dir(settings, tmp_path) -> Path:
    """A media store of this test's own, so counting files is not disturbed by parallel workers."""
    settings.ROSTRA = dataclasses.replace(settings.ROSTRA, data_dir=tmp_path)
    path = tmp_path / "media"
    path.mkdir()
    return path
