from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.test import Client
from huey.contrib.djhuey import HUEY

from rostra.accounts.models import Account
from rostra.testing.tasks import run_tasks as _run_tasks
from rostra.testing.world import World, build_world


@pytest.fixture(autouse=True)
def _empty_queue() -> Iterator[None]:
    HUEY.flush()
    yield
    HUEY.flush()


@pytest.fixture
def run_tasks() -> Callable[[], int]:
    """Run queued background work in explicit steps."""
    return _run_tasks


@pytest.fixture
def world(db: None) -> World:
    w = build_world()
    _run_tasks()
    return w


@pytest.fixture
def client_for(db: None) -> Callable[[Account | None], Client]:
    """A browser-like client logged in as the account (None: anonymous)."""

    def make(account: Account | None) -> Client:
        c = Client()
        if account is not None:
            assert account.user is not None
            c.force_login(account.user)
        return c

    return make


@pytest.fixture
def media_dir(settings, tmp_path) -> Path:
    """A media store of this test's own, so counting files is not disturbed by parallel workers."""
    settings.ROSTRA = dataclasses.replace(settings.ROSTRA, data_dir=tmp_path)
    path = tmp_path / "media"
    path.mkdir()
    return path


@pytest.fixture(autouse=True)
def _restore_pillow_pixel_limit() -> Iterator[None]:
    # Image intake sets Pillow's global bomb limit from the settings; a test that lowers the
    # setting must not leave the lower limit behind for the next test's own Pillow reads.
    from PIL import Image

    limit = Image.MAX_IMAGE_PIXELS
    yield
    Image.MAX_IMAGE_PIXELS = limit
