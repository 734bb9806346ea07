from __future__ import annotations

from collections.abc import Iterator

import pytest

from rostra.accounts import surge


@pytest.fixture(autouse=True)
def _fresh_surge_state() -> Iterator[None]:
    """The state is memoised in the process and the cache: each test starts and ends with neither."""
    surge.forget_cached()
    yield
    surge.forget_cached()


@pytest.fixture
def surging(db: None) -> None:
    surge.set_mode(None, "on", reason="test")
