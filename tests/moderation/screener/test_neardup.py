"""Near-duplicate detection for spam waves: MinHash + LSH, bounded and time-windowed."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from rostra.moderation.screener import NearDuplicateIndex, normalise

WAVE = "🔥 Earn $500 a day from home with this one weird trick, click the link in my bio now!! 🔥"


def test_a_wave_is_counted_with_its_distinct_authors() -> None:
    index = NearDuplicateIndex()
    results = [index.check(normalise(f"@victim{i} {WAVE}"), author_key=f"acct:{i % 3}", now=1000.0 + i) for i in range(6)]
    assert [r.count for r in results] == [0, 1, 2, 3, 4, 5]
    assert results[-1].authors == 3


def test_small_edits_still_match_and_unrelated_posts_do_not() -> None:
    index = NearDuplicateIndex()
    index.check(normalise(WAVE), author_key="a", now=0.0)
    edited = WAVE.replace("weird", "strange").replace("now!!", "today!!")
    assert index.check(normalise(edited), author_key="b", now=1.0).count == 1
    other = "Had a lovely walk along the river this morning, the herons were out in force."
    assert index.check(normalise(other), author_key="c", now=2.0).count == 0


def test_the_window_forgets_old_posts() -> None:
    index = NearDuplicateIndex(window_seconds=60.0)
    index.check(normalise(WAVE), author_key="a", now=0.0)
    assert index.check(normalise(WAVE), author_key="b", now=30.0).count == 1
    assert index.check(normalise(WAVE), author_key="c", now=85.0).count == 1  # only the post at 30 s is left
    assert len(index) == 2


def test_the_index_is_bounded() -> None:
    index = NearDuplicateIndex(max_entries=100)
    for i in range(1000):
        index.check(normalise(f"post number {i} about something entirely different {i * 7919}"), now=float(i))
    assert len(index) == 100


def test_short_posts_and_remember_false_are_not_indexed() -> None:
    index = NearDuplicateIndex()
    for _ in range(3):
        assert index.check("good morning", now=0.0).count == 0
    index.check(normalise(WAVE), now=0.0, remember=False)
    assert len(index) == 0


# --- The compact buckets against a brute-force reading of the same rule ---------------------------

_TEXTS = [
    WAVE,
    WAVE.replace("weird", "strange"),
    WAVE.replace("$500", "$900").replace("bio", "profile"),
    "Had a lovely walk along the river this morning, the herons were out in force.",
    "Had a lovely walk along the canal this evening, the herons were out in force.",
    "Book club picked The Salt Road for next month. Anyone read it? #BookClub",
    "Planted out the potatoes today. Fingers crossed for the weather",
]


@settings(max_examples=60, deadline=None)
@given(
    steps=st.lists(st.tuples(st.sampled_from(range(len(_TEXTS))), st.floats(0, 40), st.sampled_from("abc"), st.booleans()), max_size=40),
    capacity=st.integers(1, 6),
)
def test_counts_are_those_of_every_live_entry_sharing_a_band_and_the_threshold(steps, capacity) -> None:
    """Whatever the arrivals, evictions by time and by capacity: a check counts exactly the live
    entries (within the window, among the last ``capacity`` remembered) that share a band with the
    post and match it at the threshold, and their distinct authors."""
    index = NearDuplicateIndex(window_seconds=60.0, max_entries=capacity)
    live: list[tuple[float, str, object]] = []  # (time, author, signature) remembered, oldest first
    now = 0.0
    for text_index, gap, author, remember in steps:
        now += gap
        sig = index.signature(normalise(_TEXTS[text_index]))
        live = [e for e in live if e[0] >= now - 60.0]
        near = [
            e for e in live
            if any((e[2][b * index.rows:(b + 1) * index.rows] == sig[b * index.rows:(b + 1) * index.rows]).all() for b in range(index.bands))
            and (e[2] == sig).sum() >= index.threshold * index.num_perm
        ]
        got = index.check(normalise(_TEXTS[text_index]), author_key=author, now=now, remember=remember)
        assert (got.count, got.authors) == (len(near), len({e[1] for e in near}))
        if remember:
            live = [*live, (now, author, sig)][-capacity:]
        assert len(index) == len(live)
    # Every bucket still names only live entries, singly or in order.
    for buckets in index._buckets:
        for bucket in buckets.values():
            ids = [bucket] if isinstance(bucket, int) else list(bucket)
            assert ids and ids == sorted(ids) and all(i in index._entries for i in ids)
