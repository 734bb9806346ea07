"""Timeline reads make a fixed number of queries, however many posts a page holds (no N+1)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from rostra.core.pagination import PageRequest
from rostra.posts import actions as posts
from rostra.posts.queries import quote_is_visible
from rostra.testing.images import png_bytes
from rostra.testing.world import make_post
from rostra.timelines.queries import hashtag, home, local_public, profile


def _add_posts(w, n: int, start: int) -> None:
    """n posts by alice, cycling through every kind a card renders differently."""
    for i in range(start, start + n):
        kind = i % 5
        if kind == 0:
            media = posts.upload_media(w.alice, png_bytes((4, 4)))
            make_post(w.alice, f"#counted with a picture {i}", media_ids=[media.pk])
        elif kind == 1:
            media = posts.upload_media(w.carol, png_bytes((4, 4)))
            shared = make_post(w.carol, f"carol's picture {i}", media_ids=[media.pk])
            posts.repost(w.alice, shared.pk)
        elif kind == 2:
            make_post(w.alice, f"#counted quoting {i}", quote_of_id=make_post(w.dave, f"quoted {i}").pk)
        elif kind == 3:
            parent = make_post(w.alice, f"#counted thread {i}")
            make_post(w.alice, f"#counted more {i}", in_reply_to_id=parent.pk)
        else:
            post = make_post(w.alice, f"#counted liked {i}")
            posts.like(w.bob, post.pk)


def _touch(viewer, items) -> None:
    for post in items:
        _ = post.author.username
        _ = [m.file for m in post.media.all()]
        _ = post.in_reply_to_account and post.in_reply_to_account.username
        if post.repost_of is not None:
            _ = post.repost_of.author.username
            _ = [m.file for m in post.repost_of.media.all()]
        if post.quote_of is not None:
            _ = post.quote_of.author.username
        _ = quote_is_visible(viewer, post)
        if viewer is not None:
            _ = (post.viewer_liked, post.viewer_bookmarked, post.viewer_reposted)


READS = {
    "home": lambda w, viewer: home(viewer, PageRequest(limit=40)),
    "local": lambda w, viewer: local_public(viewer, PageRequest(limit=40)),
    "hashtag": lambda w, viewer: hashtag(viewer, "counted", PageRequest(limit=40)),
    "profile": lambda w, viewer: profile(viewer, w.alice, PageRequest(limit=40), with_replies=True),
}


def _count(w, read, viewer) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as ctx:
        page = read(w, viewer)
        _touch(viewer, page.items)
    return len(ctx.captured_queries), len(page.items)


@pytest.mark.parametrize("anonymous", [False, True])
def test_query_counts_do_not_grow_with_the_page(world, run_tasks, media_dir, django_assert_max_num_queries, anonymous):
    w = world
    viewer = None if anonymous else w.bob
    reads = {name: read for name, read in READS.items() if viewer is not None or name != "home"}
    _add_posts(w, 5, 0)
    run_tasks()
    for read in reads.values():  # with Redis, a home timeline never read is built on its first read
        read(w, viewer)
    few = {name: _count(w, read, viewer) for name, read in reads.items()}
    _add_posts(w, 15, 5)
    run_tasks()
    many = {name: _count(w, read, viewer) for name, read in reads.items()}
    for name, read in reads.items():
        (q_few, n_few), (q_many, n_many) = few[name], many[name]
        assert n_many > 3 * n_few >= 3, name
        assert q_many == q_few, f"{name}: {q_few} queries for {n_few} posts, {q_many} for {n_many}"
        print(f"{name} ({'anonymous' if anonymous else 'bob'}): {q_few} queries for {n_few} and for {n_many} posts")
        with django_assert_max_num_queries(q_few):
            _touch(viewer, read(w, viewer).items)
