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


@pytest.fixture(autouse=True)
def _restore_pillow_pixel_limit():
    # Image intake sets Pillow's global bomb limit from the settings; a test that lowers the
    # setting must not leave the lower limit behind for the next test's own Pillow reads.
    from PIL import Image

    limit = Image.MAX_IMAGE_PIXELS
    yield
    Image.MAX_IMAGE_PIXELS = limit
