"""Keyset pagination by opaque id: max_id, min_id, since_id and limit bounds."""

from __future__ import annotations

import json

import pytest

from rostra.core.pagination import DEFAULT_LIMIT, MAX_LIMIT, PageRequest, paginate
from rostra.posts.models import Post
from rostra.testing.world import make_account, make_post


@pytest.mark.parametrize(
    ("params", "limit"),
    [
        ({}, DEFAULT_LIMIT),
        ({"limit": "5"}, 5),
        ({"limit": 0}, 1),
        ({"limit": "-3"}, 1),
        ({"limit": "1000"}, MAX_LIMIT),
        ({"limit": "abc"}, DEFAULT_LIMIT),
        ({"limit": ""}, DEFAULT_LIMIT),
        ({"limit": None}, DEFAULT_LIMIT),
        ({"limit": "9" * 400}, MAX_LIMIT),
        ({"limit": 2.9}, 2),
        ({"limit": float("nan")}, DEFAULT_LIMIT),
        ({"limit": float("inf")}, DEFAULT_LIMIT),  # json.loads accepts Infinity from a request body
        (json.loads('{"limit": -Infinity}'), DEFAULT_LIMIT),
        ({"limit": [3]}, DEFAULT_LIMIT),
    ],
)
def test_limit_is_bounded(params, limit):
    assert PageRequest.from_params(params).limit == limit


def test_junk_ids_are_ignored():
    req = PageRequest.from_params({"max_id": "abc", "min_id": "-1", "since_id": "1" * 40})
    assert (req.max_id, req.min_id, req.since_id) == (None, None, None)
    assert PageRequest.from_params({"max_id": "123"}).max_id == 123
    assert PageRequest.from_params({}, default_limit=7).limit == 7


@pytest.fixture
def thirty(db):
    author = make_account("pager")
    posts = [make_post(author, f"post {i}") for i in range(30)]
    ids = sorted(p.pk for p in posts)
    return Post.objects.filter(author=author), ids


def test_newest_first_with_a_default_limit(thirty):
    qs, ids = thirty
    page = paginate(qs, PageRequest())
    assert [p.pk for p in page.items] == ids[::-1][:DEFAULT_LIMIT]
    assert page.next_max_id == page.items[-1].pk
    assert page.prev_min_id == page.items[0].pk


def test_walking_back_with_max_id_visits_every_post_once(thirty):
    qs, ids = thirty
    seen: list[int] = []
    req = PageRequest(limit=7)
    pages = 0
    while True:
        page = paginate(qs, req)
        pages += 1
        seen += [p.pk for p in page.items]
        if page.next_max_id is None:
            break
        req = PageRequest(max_id=page.next_max_id, limit=7)
    assert seen == ids[::-1]
    assert pages == 5  # 7+7+7+7+2: the short last page says there is no more


def test_walking_forward_with_min_id_visits_every_post_once(thirty):
    qs, ids = thirty
    seen: list[int] = []
    req = PageRequest(min_id=ids[0] - 1, limit=8)
    while True:
        page = paginate(qs, req)
        if not page.items:
            break
        # Each page is the items just above min_id, shown newest first.
        assert [p.pk for p in page.items] == sorted((p.pk for p in page.items), reverse=True)
        seen += sorted(p.pk for p in page.items)
        req = PageRequest(min_id=page.prev_min_id, limit=8)
    assert seen == ids


def test_since_id_gives_the_newest_above_a_point(thirty):
    qs, ids = thirty
    page = paginate(qs, PageRequest(since_id=ids[10], limit=5))
    assert [p.pk for p in page.items] == ids[::-1][:5]
    page = paginate(qs, PageRequest(min_id=ids[10], limit=5))
    assert [p.pk for p in page.items] == ids[11:16][::-1]


def test_max_id_and_since_id_together_bound_a_window(thirty):
    qs, ids = thirty
    page = paginate(qs, PageRequest(max_id=ids[20], since_id=ids[15], limit=40))
    assert [p.pk for p in page.items] == ids[16:20][::-1]
    assert page.next_max_id is None


def test_an_empty_page(thirty):
    qs, ids = thirty
    page = paginate(qs, PageRequest(max_id=ids[0]))
    assert (page.items, page.next_max_id, page.prev_min_id) == ([], None, None)
    # An id that never existed still works as a position.
    page = paginate(qs, PageRequest(max_id=ids[5] + 1, limit=40))
    assert [p.pk for p in page.items] == ids[:6][::-1]


def test_paginate_kept_walks_past_dropped_items_and_stops_reading_at_max_scan(world):
    """Pages of the kept items are those of a query that dropped them in SQL; a request that reads
    ``max_scan`` rows without filling its page says where to go on, and walking on finds the rest."""
    from rostra.core.pagination import Page, paginate_kept
    from rostra.posts.models import Post
    from rostra.testing.world import make_post

    made = [make_post(world.alice, f"n{i}") for i in range(30)]
    wanted = {p.pk for i, p in enumerate(made) if i % 7 in (0, 3)}  # runs of five dropped between
    newest_first = sorted(wanted, reverse=True)
    qs = Post.objects.filter(author=world.alice)

    def keep(rows: list[Post]) -> list[Post]:
        return [p for p in rows if p.pk in wanted]

    for limit in (1, 2, 3, 40):
        got = [p.pk for p in paginate_kept(qs, PageRequest(limit=limit), keep).items]
        assert got == newest_first[:limit]

    def walk(req: PageRequest, down: bool) -> list[int]:
        seen: list[int] = []
        for _ in range(100):
            page: Page[Post] = paginate_kept(qs, req, keep, max_scan=4)
            seen.extend(p.pk for p in page.items)
            nxt = page.next_max_id if down else page.prev_min_id
            if nxt is None or (not down and not page.items and nxt == req.min_id):
                return seen
            req = PageRequest(limit=req.limit, max_id=nxt) if down else PageRequest(limit=req.limit, min_id=nxt)
        raise AssertionError("the walk did not end")

    for limit in (1, 2, 5):
        assert walk(PageRequest(limit=limit), down=True) == newest_first
        up = walk(PageRequest(limit=limit, min_id=min(p.pk for p in made) - 1), down=False)
        assert sorted(up) == sorted(wanted) and len(up) == len(wanted)
