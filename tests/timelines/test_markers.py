"""Markers: per person and timeline, overwritten on each set, with a version that counts sets."""

from __future__ import annotations

import pytest

from rostra.core.errors import ValidationError
from rostra.timelines.markers import get_markers, set_markers
from rostra.timelines.models import Marker


def test_set_and_get(world):
    assert get_markers(world.bob) == {}
    got = set_markers(world.bob, {"home": "123"})
    assert got["home"].last_read_id == 123 and got["home"].version == 1
    got = set_markers(world.bob, {"home": 100, "notifications": 7})  # Mastodon overwrites: it may go back
    assert (got["home"].last_read_id, got["home"].version) == (100, 2)
    assert (got["notifications"].last_read_id, got["notifications"].version) == (7, 1)
    assert set(get_markers(world.bob)) == {"home", "notifications"}
    assert set(get_markers(world.bob, ["notifications", "unknown"])) == {"notifications"}
    assert get_markers(world.alice) == {}  # markers are per person


def test_updated_at_moves(world):
    first = set_markers(world.bob, {"home": 1})["home"].updated_at
    second = set_markers(world.bob, {"home": 2})["home"].updated_at
    assert second >= first


@pytest.mark.parametrize("positions", [{}, {"public": 1}, {"home": "abc"}, {"home": None}, {"home": -1}, {"home": 5, "bogus": 1}])
def test_invalid_markers_write_nothing(world, positions):
    with pytest.raises(ValidationError):
        set_markers(world.bob, positions)
    assert not Marker.objects.exists()
