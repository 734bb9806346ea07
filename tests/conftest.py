from __future__ import annotations

import copy
import dataclasses
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.test import Client
from huey.contrib.djhuey import HUEY

from rostra.accounts.models import Account
from rostra.moderation.gate import get_screener, using_policy
from rostra.moderation.policy import Policy, default_document
from rostra.testing.tasks import run_tasks as _run_tasks
from rostra.testing.world import World, build_world

LENIENT_POLICY = None


@pytest.fixture(autouse=True, scope="module")
def _instance_policy(request: pytest.FixtureRequest) -> Iterator[None]:
    """Features other than trust and safety are tested under a policy that publishes everything,
    so that retraining the screener can never break a test about, say, pagination. Tests under
    tests/moderation/, and modules marked ``pytestmark = pytest.mark.screening``, run under the
    shipped default policy. (Module scope, so module-scoped fixtures building worlds see it too.)"""
    if "moderation" in request.path.parts or request.node.get_closest_marker("screening"):
        yield
        return
    global LENIENT_POLICY
    if LENIENT_POLICY is None:
        doc = copy.deepcopy(default_document())
        for cat in doc["categories"].values():
            cat["thresholds"] = []
            cat["new_account_thresholds"] = []
        doc["spam_wave"]["action"] = "label"
        doc["spam_wave"]["posts"] = 10_000
        LENIENT_POLICY = Policy.from_document(doc)
    with using_policy(LENIENT_POLICY):
        yield


@pytest.fixture(autouse=True)
def _fresh_spam_wave_memory() -> None:
    # The near-duplicate index lives in the process; one test's posts are not another's spam wave.
    get_screener().near_duplicate_index.clear()


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


@pytest.fixture(autouse=True)
def _fresh_home_timelines() -> Iterator[None]:
    # Home timelines in Redis (with ROSTRA_TEST_REDIS_URL) do not roll back with the test's
    # transaction: this process's keys are deleted before and after each test (in the suite's
    # Redis, whatever a test points the settings at meanwhile).
    from django.conf import settings

    from rostra.timelines.store import RedisStore

    url = settings.ROSTRA.redis_url
    if url:
        RedisStore(url).flush_prefix()
    yield
    if url:
        RedisStore(url).flush_prefix()


@pytest.fixture(autouse=True)
def _steady_surge_state(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # The surge state is memoised for seconds, in the process and in the cache: a test that
    # crossed an expiry would make one query more in one request than in the next, which is what
    # the query-count tests compare. Each test starts with nothing memoised and nothing expires
    # during it; a switch still clears both (surge.set_mode).
    from rostra.accounts import surge

    monkeypatch.setattr(surge, "LOCAL_TTL_S", 3600.0)
    monkeypatch.setattr(surge, "CACHE_TTL_S", 3600)
    surge.forget_cached()
    yield
    surge.forget_cached()


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> Iterator[None]:
    # One test's requests never count against the next: Redis counters (when the suite runs
    # with ROSTRA_TEST_REDIS_URL) and remembered Redis outages are forgotten; database counters
    # roll back with each test's transaction.
    from rostra.core.ratelimit import reset_all

    reset_all(database=False)
    yield
    reset_all(database=False)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The PostgreSQL pass (``ROSTRA_TEST_DATABASE_URL``) leaves out the tests marked ``own_sqlite``:
    their servers run on SQLite data dirs of their own in both passes, so the SQLite pass has
    already run exactly what they test."""
    if not os.environ.get("ROSTRA_TEST_DATABASE_URL"):
        return
    repeated = [item for item in items if item.get_closest_marker("own_sqlite")]
    if repeated:
        config.hook.pytest_deselected(items=repeated)
        items[:] = [item for item in items if not item.get_closest_marker("own_sqlite")]
