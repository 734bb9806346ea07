"""Opaque ids: 63-bit, time-ordered, unique, with random low bits; parse_id never raises."""

from __future__ import annotations

import statistics
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rostra.core import ids
from rostra.core.ids import EPOCH_MS, RANDOM_BITS, id_at, id_time_ms, lowest_id_at, new_id, parse_id

MAX = 1 << 63


def test_ids_fit_a_signed_bigint_and_are_positive():
    for _ in range(1000):
        value = new_id()
        assert 0 < value < MAX
    # The layout has room until 2163: the last millisecond of 42 bits still fits 63 bits.
    assert new_id(EPOCH_MS + (1 << 42) - 1) < MAX


def test_one_hundred_thousand_ids_are_unique():
    made = [new_id() for _ in range(100_000)]
    assert len(set(made)) == len(made)


def test_ids_carry_their_time_and_sort_by_it():
    before = ids._now_ms()
    value = new_id()
    after = ids._now_ms()
    assert before <= id_time_ms(value) <= after
    # Any id of a later millisecond is larger than every id of an earlier one.
    for t in (EPOCH_MS + 1, EPOCH_MS + 10_000, 1_800_000_000_000):
        earlier = [new_id(t) for _ in range(200)]
        later = [new_id(t + 1) for _ in range(200)]
        assert max(earlier) < min(later)


def test_ids_made_over_time_are_ordered_by_millisecond():
    made = [new_id() for _ in range(20_000)]
    stamps = [id_time_ms(v) for v in made]
    assert stamps == sorted(stamps)


def test_consecutive_ids_are_far_apart():
    # Ids made in the same millisecond differ only in 21 random bits: a neighbour is on average
    # ~700,000 away, so walking ids one by one (the 2021 scrape) finds nothing.
    made = [new_id() for _ in range(50_000)]
    gaps = [abs(b - a) for a, b in pairwise(made)]
    close = sum(1 for g in gaps if g < 1000)
    assert close / len(gaps) < 0.01
    assert statistics.median(gaps) > 100_000
    # The low bits really are random, not a counter: both halves of the range are used.
    low = [v & ((1 << RANDOM_BITS) - 1) for v in made]
    assert min(low) < (1 << RANDOM_BITS) // 4 and max(low) > 3 * (1 << RANDOM_BITS) // 4


def test_id_at_and_lowest_id_at_bracket_a_moment():
    when = datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC)
    low = lowest_id_at(when)
    value = id_at(when)
    assert low <= value < lowest_id_at(when + timedelta(milliseconds=1))
    assert lowest_id_at(datetime(2000, 1, 1, tzinfo=UTC)) == 0


def test_ids_before_the_epoch_are_refused():
    with pytest.raises(ValueError, match="before 2024"):
        new_id(EPOCH_MS - 1)


@pytest.mark.parametrize(
    "raw",
    [
        None, "", " ", "abc", "12a", "-5", "+5", "0", 0, -1, "1.5", 1.5, "1e9", "0x1f", " 123", "123 ",
        str(MAX), MAX, str(MAX * 10), "9" * 20, "1" * 400, b"123", [123], {"id": 1}, True, False,
        "\u00b2", "\uff11\uff12\uff13", "\u0663",  # superscript two, fullwidth and Arabic-Indic digits
        "1\n", "1\x00", "\u0661\u0662",
    ],
)
def test_parse_id_rejects_junk(raw):
    assert parse_id(raw) is None


def test_parse_id_accepts_ids():
    value = new_id()
    assert parse_id(value) == value
    assert parse_id(str(value)) == value
    assert parse_id(str(MAX - 1)) == MAX - 1
    assert parse_id("0000000000000000042") == 42  # 19 characters, leading zeros harmless


@given(
    st.one_of(
        st.text(),
        st.integers(),
        st.floats(allow_nan=True),
        st.binary(),
        st.none(),
        st.booleans(),
        st.lists(st.integers(), max_size=3),
        st.text(alphabet=st.characters(categories=["Nd", "No"]), max_size=25),
    )
)
def test_parse_id_never_raises(raw):
    result = parse_id(raw)
    assert result is None or (type(result) is int and 0 < result < MAX)
    if isinstance(raw, str) and result is not None:
        assert raw.isascii() and raw.isdigit()
