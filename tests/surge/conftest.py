from __future__ import annotations

import pytest

from rostra.accounts import surge


@pytest.fixture
def surging(db: None) -> None:
    surge.set_mode(None, "on", reason="test")
