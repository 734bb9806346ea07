"""Prepared queries (rostra.core.prepared): the same rows and objects as the queryset they were
built from, whatever the values, on SQLite and on PostgreSQL; a builder that hides a value is refused."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models import Count, Prefetch
from django.test.utils import CaptureQueriesContext

from rostra.accounts.models import Account
from rostra.api import entities
from rostra.core.prepared import Prepared, PrepareError, _keeps_none, fill_related
from rostra.posts import actions as posts
from rostra.posts.models import Media, Post
from rostra.posts.polls import PollDraft
from rostra.posts.queries import cards_by_id, visible_posts, with_viewer_state
from rostra.testing.images import png_bytes
from rostra.testing.world import make_post


def _by_author(author_id, ids):
    return Post.objects.filter(author_id=author_id, pk__in=ids).order_by("id").values_list("id", "author_id")


def test_rows_are_the_querysets_rows_for_every_list_length(world):
    made = [make_post(world.alice, f"post {i}") for i in range(40)] + [make_post(world.bob, "other")]
    prepared = Prepared("test rows", _by_author, lists=("ids",))
    for n in (1, 2, 15, 16, 17, 33, 41):
        ids = [p.pk for p in made[:n]]
        assert prepared.rows(author_id=world.alice.pk, ids=ids) == list(_by_author(world.alice.pk, ids))
    assert prepared.rows(author_id=world.alice.pk, ids=[made[3].pk, made[3].pk]) == [(made[3].pk, world.alice.pk)]
    assert prepared.rows(author_id=world.carol.pk, ids=[p.pk for p in made]) == []


def test_an_empty_list_matches_nothing_without_a_query(world):
    prepared = Prepared("test rows", _by_author, lists=("ids",))
    with CaptureQueriesContext(connection) as queries:
        assert prepared.rows(author_id=world.alice.pk, ids=[]) == []
        assert prepared.models(author_id=world.alice.pk, ids=[]) == []
    assert len(queries) == 0


def test_models_carry_their_joins_and_annotations(world):
    first = make_post(world.alice, "first")
    posts.repost(world.bob, first.pk)
    posts.like(world.carol, first.pk)

    def build(author_id):
        return Post.objects.filter(author_id=author_id).select_related("author", "repost_of", "repost_of__author").annotate(n=Count("likes")).order_by("id")

    prepared = Prepared("test models", build)
    for who in (world.alice, world.bob):
        expected = list(build(who.pk))
        got = prepared.models(author_id=who.pk)
        assert [(p.pk, p.author.username, p.n, p.created_at) for p in got] == [(p.pk, p.author.username, p.n, p.created_at) for p in expected]
        for p, q in zip(got, expected, strict=True):
            assert (p.repost_of and p.repost_of.author.username) == (q.repost_of and q.repost_of.author.username)
            assert p._state.adding is False and p._state.db == "default"


def test_strings_and_none_are_values_too(world):
    make_post(world.alice, "hello there")
    prepared = Prepared("test strings", lambda text, viewer: visible_posts(None if viewer is None else Account(pk=viewer)).filter(text=text).values_list("text"))
    assert prepared.rows(text="hello there", viewer=None) == [("hello there",)]
    assert prepared.rows(text="hello there", viewer=world.bob.pk) == [("hello there",)]
    assert prepared.rows(text="nothing", viewer=None) == []
    with pytest.raises(TypeError, match="must be an int, a string, an aware datetime or None"):
        prepared.rows(text=1.5, viewer=None)


def test_aware_datetimes_are_values_adapted_as_the_backend_adapts_them(world):
    from datetime import UTC, datetime, timedelta

    posts_made = [make_post(world.alice, f"at {i}") for i in range(3)]
    times = [p.created_at for p in Post.objects.filter(pk__in=[p.pk for p in posts_made]).order_by("id")]

    def since(author_id, after, before):
        return Post.objects.filter(author_id=author_id, created_at__gt=after, created_at__lte=before).order_by("id").values_list("id", "created_at")

    prepared = Prepared("test datetimes", since)
    for after, before in [
        (times[0] - timedelta(days=1), times[-1]),
        (times[0], times[-1] + timedelta(microseconds=1)),
        (times[1], times[1]),
        (datetime(2001, 1, 1, tzinfo=UTC), datetime(2002, 1, 1, tzinfo=UTC)),
    ]:
        assert prepared.rows(author_id=world.alice.pk, after=after, before=before) == list(since(world.alice.pk, after, before))
    # Another time zone is the same instant.
    from zoneinfo import ZoneInfo

    local = times[0].astimezone(ZoneInfo("America/New_York"))
    assert prepared.rows(author_id=world.alice.pk, after=local, before=times[-1]) == list(since(world.alice.pk, local, times[-1]))
    with pytest.raises(TypeError, match="aware datetime"):
        prepared.rows(author_id=world.alice.pk, after=datetime(2001, 1, 1), before=times[-1])  # noqa: DTZ001 - the naive one refused
    with pytest.raises(PrepareError, match="derived form"):
        Prepared("rewrites a datetime", lambda when: Post.objects.filter(created_at__date=when).values_list("id")).rows(when=times[0])
    with pytest.raises(PrepareError, match="derived form"):  # used as itself too: the date alone would be frozen
        Prepared("uses a datetime twice", lambda when: Post.objects.filter(created_at__date=when, created_at__gt=when).values_list("id")).rows(when=times[0])


def test_a_builder_that_drops_or_rewrites_a_value_is_refused(world):
    with pytest.raises(PrepareError, match="missing"):
        Prepared("ignores its value", lambda author_id: Post.objects.values_list("id")).rows(author_id=1)
    with pytest.raises(PrepareError, match="missing"):
        Prepared("rewrites its value", lambda text: Post.objects.filter(text__contains=text).values_list("id")).rows(text="x")
    with pytest.raises(PrepareError, match="written into the SQL"):
        Prepared("slices by a value", lambda n: Post.objects.values_list("id")[: -n]).rows(n=-5)
    with pytest.raises(PrepareError, match="not whole"):
        Prepared("uses part of a list", lambda ids: Post.objects.filter(pk__in=ids[:3]).values_list("id"), lists=("ids",)).rows(ids=[1, 2, 3, 4])


def test_cards_by_id_render_as_the_querysets_posts(world):
    w = world
    poll = make_post(w.alice, "Tea or coffee?", poll=PollDraft(options=["Tea", "Coffee"], expires_in=3600))
    quote = make_post(w.bob, "look", quote_of_id=poll.pk)
    repost = posts.repost(w.carol, quote.pk)
    posts.like(w.bob, quote.pk)
    posts.bookmark(w.bob, poll.pk)
    posts.repost(w.bob, poll.pk)
    ids = [poll.pk, quote.pk, repost.pk]
    for viewer in (None, w.bob, w.alice):
        cards = cards_by_id(viewer, ids)
        expected = {p.pk: p for p in with_viewer_state(Post.objects.filter(pk__in=ids), viewer)}
        assert entities.statuses([cards[i] for i in ids], viewer) == entities.statuses([expected[i] for i in ids], viewer)


def test_fill_related_makes_what_prefetch_related_makes(world, media_dir):
    """Rows put in place by ``fill_related`` read like Django's prefetch: no query to list them,
    each row knows its post, and a query chained on them is still scoped to that post."""
    w = world
    pictures = [posts.upload_media(w.alice, png_bytes((4, 4)), description=f"picture {i}") for i in range(3)]
    two = make_post(w.alice, "two pictures", media_ids=[pictures[1].pk, pictures[0].pk])
    one = make_post(w.alice, "one picture", media_ids=[pictures[2].pk])
    none = make_post(w.alice, "no picture")
    ids = [two.pk, one.pk, none.pk]
    order = Media.objects.order_by("position", "id")
    expected = {p.pk: p for p in Post.objects.filter(pk__in=ids).prefetch_related(Prefetch("media", queryset=order))}
    filled = list(Post.objects.filter(pk__in=ids).order_by("id"))
    fill_related(filled, "media", list(Media.objects.filter(post_id__in=ids).order_by("post_id", "position", "id")), order)
    with CaptureQueriesContext(connection) as queries:
        for p in filled:
            assert [m.pk for m in p.media.all()] == [m.pk for m in expected[p.pk].media.all()]
            assert p.media.count() == len(expected[p.pk].media.all())
            assert all(m.post is p for m in p.media.all())
    assert len(queries) == 0
    by_id = {p.pk: p for p in filled}
    # Anything chained is a query of that post's rows only, as with Django's own prefetch.
    assert [m.pk for m in by_id[two.pk].media.filter(description="picture 2")] == []
    assert [m.pk for m in by_id[one.pk].media.filter(description="picture 2")] == [pictures[2].pk]
    assert by_id[none.pk].media.update(description="changed") == 0
    assert set(Media.objects.values_list("description", flat=True)) == {"picture 0", "picture 1", "picture 2"}


def test_only_converters_that_keep_none_are_skipped_for_null(world):
    """A NULL column skips its converters only when they would give None anyway; a converter
    that turns None into something else (or fails on it) is always called."""
    make_post(world.alice, "never edited")  # edited_at is NULL

    def build(author_id):
        return Post.objects.filter(author_id=author_id).annotate(n=Count("likes")).values_list("id", "n", "edited_at", "created_at")

    prepared = Prepared("test nulls", build)
    assert prepared.rows(author_id=world.alice.pk) == list(build(world.alice.pk))
    (shape,) = prepared._shapes.values()
    keeps = {position: keeps_none for position, _, _, keeps_none in shape.plan}
    assert all(keeps.get(position, True) for position in (1, 2, 3))  # counts and datetimes: None stays None
    assert not _keeps_none([lambda value, expression, connection: 0 if value is None else value], None, connection)
    assert not _keeps_none([lambda value, expression, connection: value.upper()], None, connection)
    assert _keeps_none([lambda value, expression, connection: value], None, connection)
