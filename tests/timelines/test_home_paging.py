"""Keyset paging of the home timeline while the pipeline is behind.

The masto.js scenario once in a dozen runs saw the second page of ``limit=1`` come back empty
right after the photo was seen: sam posts a photo and a poll, pia follows sam, and the worker
runs the photo's ``post.created`` *after* the follow committed, so fan-out delivered the photo
to pia (now a follower) while the poll's event and the follow's backfill were still queued.
Pia's home then held the older post without the newer one. These tests run the events one at
a time, in exactly that order.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from rostra.accounts import actions as accounts
from rostra.accounts.models import Account
from rostra.core.models import Event
from rostra.core.pagination import PageRequest
from rostra.pipeline import runner
from rostra.posts.models import Post
from rostra.testing.world import make_account, make_post
from rostra.timelines import queries

pytestmark = pytest.mark.django_db


def _event(kind: str, **payload: int) -> int:
    events = [e for e in Event.objects.filter(kind=kind, done_at__isnull=True).order_by("id") if all(e.payload.get(k) == v for k, v in payload.items())]
    assert len(events) == 1, (kind, payload, events)
    return events[0].pk


def _ids(viewer: Account, req: PageRequest) -> tuple[list[int], int | None]:
    page = queries.home(viewer, req)
    return [p.pk for p in page.items], page.next_max_id


def _walk(viewer: Account) -> list[list[int]]:
    """Pages of one, oldest-ward, through the cursors as a client follows the Link header."""
    pages: list[list[int]] = []
    ids, cursor = _ids(viewer, PageRequest(limit=1))
    pages.append(ids)
    while cursor is not None:
        ids, cursor = _ids(viewer, PageRequest(limit=1, max_id=cursor))
        pages.append(ids)
    return pages


@pytest.fixture
def sam_pia(run_tasks: Callable[[], int]) -> tuple[Account, Account]:
    sam, pia = make_account("sam"), make_account("pia")
    run_tasks()
    return sam, pia


def test_late_fan_out_of_an_older_post_brings_the_newer_ones_with_it(sam_pia: tuple[Account, Account]) -> None:
    sam, pia = sam_pia
    photo = make_post(sam, "A photo")
    poll = make_post(sam, "Tea or coffee?")
    assert photo.pk < poll.pk
    accounts.follow(pia, sam)
    # The worker is behind: the photo's event runs first, after pia's follow committed.
    assert runner.run_event(_event("post.created", post_id=photo.pk))
    # Whatever pia sees of sam, she sees it newest first with nothing skipped: never the photo alone.
    assert _walk(pia) == [[poll.pk], [photo.pk], []]
    assert runner.run_event(_event("post.created", post_id=poll.pk))
    assert runner.run_event(_event("follow.created", follower_id=pia.pk, target_id=sam.pk))
    assert _walk(pia) == [[poll.pk], [photo.pk], []]


def test_fan_out_to_earlier_followers_is_unchanged(sam_pia: tuple[Account, Account], run_tasks: Callable[[], int]) -> None:
    sam, pia = sam_pia
    accounts.follow(pia, sam)
    run_tasks()
    first = make_post(sam, "first")
    second = make_post(sam, "second")
    assert runner.run_event(_event("post.created", post_id=first.pk))
    # A follower from before: the older post arrives on its own (its newer sibling's event is
    # still queued); the newer one arrives later above it, where a since_id poll finds it.
    assert _walk(pia) == [[first.pk], []]
    assert _ids(pia, PageRequest(since_id=first.pk))[0] == []
    run_tasks()
    assert _ids(pia, PageRequest(since_id=first.pk))[0] == [second.pk]
    assert _walk(pia) == [[second.pk], [first.pk], []]


def test_own_posts_page_in_order(sam_pia: tuple[Account, Account], run_tasks: Callable[[], int]) -> None:
    sam, _ = sam_pia
    posts = [make_post(sam, f"post {n}") for n in range(5)]
    run_tasks()
    assert _walk(sam) == [[p.pk] for p in reversed(posts)] + [[]]
    assert list(Post.objects.filter(author=sam).order_by("-id").values_list("pk", flat=True)) == [p.pk for p in reversed(posts)]
