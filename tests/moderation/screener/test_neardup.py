"""Near-duplicate detection for spam waves: MinHash + LSH, bounded and time-windowed."""

from __future__ import annotations

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
