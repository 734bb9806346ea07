"""Fixtures for the web UI's tests."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest


@pytest.fixture
def media_dir(settings, tmp_path) -> Path:
    """A media directory of this test's own, so files can be counted."""
    data = tmp_path / "data"
    (data / "media").mkdir(parents=True)
    settings.ROSTRA = dataclasses.replace(settings.ROSTRA, data_dir=data)
    return data / "media"


@pytest.fixture
def registrations_closed(settings) -> None:
    settings.ROSTRA = dataclasses.replace(settings.ROSTRA, registrations="closed")
