"""Filters v2: validation, ownership, matching (whole words, Unicode, expiry, contexts), hiding."""

from __future__ import annotations

from datetime import timedelta

import pytest

from rostra.core.errors import NotFound, ValidationError
from rostra.posts import actions as posts
from rostra.testing.world import make_post
from rostra.timelines import filters
from rostra.timelines.filters import FilterDraft, KeywordDraft, apply_filters, match_filters
from rostra.timelines.models import Filter, FilterKeyword


def _filter(account, *keywords, context=("home",), action="warn", title="F", **kw):
    return filters.create_filter(
        account, FilterDraft(title=title, context=context, action=action, keywords=[KeywordDraft(k) if isinstance(k, str) else k for k in keywords], **kw)
    )


def test_create_and_list(world):
    f = _filter(world.bob, "spoilers", KeywordDraft("cat", whole_word=False), context=["thread", "home"], expires_in=3600)
    assert f.context == ["home", "thread"]
    assert f.expires_at is not None
    [listed] = filters.filters_of(world.bob)
    assert sorted((k.keyword, k.whole_word) for k in listed.keywords.all()) == [("cat", False), ("spoilers", True)]
    assert filters.filters_of(world.alice) == []


@pytest.mark.parametrize(
    "draft",
    [
        FilterDraft(title="", context=["home"]),
        FilterDraft(title="t" * 101, context=["home"]),
        FilterDraft(title="x", context=[]),
        FilterDraft(title="x", context=["home", "everywhere"]),
        FilterDraft(title="x", context=["home"], action="delete"),
        FilterDraft(title="x", context=["home"], expires_in=-5),
        FilterDraft(title="x", context=["home"], keywords=[KeywordDraft("  ")]),
        FilterDraft(title="x", context=["home"], keywords=[KeywordDraft(f"k{i}") for i in range(51)]),
        FilterDraft(title="x", context=["home"], keywords=[KeywordDraft("k", id=1)]),
    ],
)
def test_validation(world, draft):
    with pytest.raises(ValidationError):
        filters.create_filter(world.bob, draft)
    assert not Filter.objects.exists()


def test_update_keywords_like_keywords_attributes(world):
    f = _filter(world.bob, "one", "two")
    one, two = f.keywords.order_by("id")
    filters.update_filter(
        world.bob, f.pk, title="New", action="hide", expires_in=None,
        keywords=[KeywordDraft("uno", whole_word=False, id=one.pk), KeywordDraft(id=str(two.pk), destroy=True), KeywordDraft("three")],
    )
    f.refresh_from_db()
    assert (f.title, f.action, f.expires_at) == ("New", "hide", None)
    assert sorted((k.keyword, k.whole_word) for k in f.keywords.all()) == [("three", True), ("uno", False)]
    with pytest.raises(NotFound):
        filters.update_filter(world.bob, f.pk, keywords=[KeywordDraft("x", id=12345)])
    with pytest.raises(ValidationError):  # nothing partial
        filters.update_filter(world.bob, f.pk, title="Newer", keywords=[KeywordDraft("")])
    f.refresh_from_db()
    assert f.title == "New"


def test_keyword_and_status_endpoints(world):
    f = _filter(world.bob)
    k = filters.add_filter_keyword(world.bob, f.pk, "word", whole_word=False)
    filters.update_filter_keyword(world.bob, k.pk, keyword="other")
    assert FilterKeyword.objects.get(pk=k.pk).keyword == "other"
    with pytest.raises(ValidationError):
        filters.add_filter_keyword(world.bob, f.pk, "")
    post = make_post(world.alice, "a post")
    s = filters.add_filter_status(world.bob, f.pk, post.pk)
    assert filters.get_filter_status(world.bob, s.pk).post_id == post.pk
    filters.delete_filter_keyword(world.bob, k.pk)
    filters.delete_filter_status(world.bob, s.pk)
    assert not f.keywords.exists() and not f.statuses.exists()


def test_too_many_keywords_one_at_a_time(world):
    f = _filter(world.bob, *[f"k{i}" for i in range(50)])
    with pytest.raises(ValidationError):
        filters.add_filter_keyword(world.bob, f.pk, "one too many")


def test_only_the_owner_can_touch_a_filter(world):
    f = _filter(world.bob, "word")
    k = f.keywords.get()
    for call in (
        lambda: filters.get_filter(world.alice, f.pk),
        lambda: filters.update_filter(world.alice, f.pk, title="x"),
        lambda: filters.delete_filter(world.alice, f.pk),
        lambda: filters.add_filter_keyword(world.alice, f.pk, "x"),
        lambda: filters.update_filter_keyword(world.alice, k.pk, keyword="x"),
        lambda: filters.delete_filter_keyword(world.alice, k.pk),
    ):
        with pytest.raises(NotFound):
            call()


def test_filtering_an_invisible_post_is_not_found(world):
    f = _filter(world.bob)
    secret = make_post(world.alice, "@dave only", visibility="direct")
    with pytest.raises(NotFound):
        filters.add_filter_status(world.bob, f.pk, secret.pk)


@pytest.mark.parametrize(
    ("keyword", "whole_word", "text", "hit"),
    [
        ("cat", True, "I love my cat.", True),
        ("cat", True, "Concatenate these", False),
        ("cat", False, "Concatenate these", True),
        ("CAT", True, "cat!", True),
        ("straße", True, "Die STRASSE und die Straße", True),
        ("café", True, "un cafés", False),
        ("café", True, "au Café, ok", True),
        ("#rust", True, "learning #rust today", True),
        ("#rust", True, "learning #rustacean", False),
        ("c++", True, "I write c++ daily", True),
        ("日本", False, "今日は日本語", True),
        ("a.b", True, "axb", False),
    ],
)
def test_keyword_matching(world, keyword, whole_word, text, hit):
    _filter(world.bob, KeywordDraft(keyword, whole_word=whole_word))
    post = make_post(world.alice, text)
    got = match_filters(world.bob, [post], "home")
    assert (post.pk in got) is hit
    if hit:
        assert got[post.pk][0].keyword_matches == [keyword]


def test_spoiler_contexts_expiry_and_status_matches(world):
    w = world
    warn = _filter(w.bob, "spoiler", context=["home", "public"])
    expired = _filter(w.bob, "plain")
    Filter.objects.filter(pk=expired.pk).update(expires_at=warn.created_at - timedelta(days=1))
    cw = make_post(w.alice, "the butler did it", spoiler_text="Spoiler ahead")
    plain = make_post(w.alice, "plain text")
    chosen = make_post(w.alice, "nothing special")
    filters.add_filter_status(w.bob, warn.pk, chosen.pk)
    got = match_filters(w.bob, [cw, plain, chosen], "home")
    assert set(got) == {cw.pk, chosen.pk}
    assert got[chosen.pk][0].status_matches == [chosen.pk] and got[chosen.pk][0].keyword_matches == []
    assert match_filters(w.bob, [cw], "notifications") == {}
    assert match_filters(w.bob, [cw], "nonsense") == {}
    assert match_filters(None, [cw], "home") == {}
    assert match_filters(w.alice, [cw], "home") == {}  # filters are per person


def test_reposts_match_by_what_they_repost(world):
    _filter(world.bob, "secret")
    original = make_post(world.carol, "a secret")
    repost = posts.repost(world.alice, original.pk)
    assert set(match_filters(world.bob, [repost], "home")) == {repost.pk}


def test_apply_filters_drops_hide_and_keeps_warn(world):
    _filter(world.bob, "hideme", action="hide", title="Hidden")
    _filter(world.bob, "warnme", title="Careful")
    hidden = make_post(world.alice, "hideme please")
    warned = make_post(world.alice, "warnme please")
    clean = make_post(world.alice, "nothing")
    kept, warnings = apply_filters(world.bob, [hidden, warned, clean], "home")
    assert [p.pk for p in kept] == [warned.pk, clean.pk]
    assert [r.filter.title for r in warnings[warned.pk]] == ["Careful"]


def test_matching_is_two_queries(world, django_assert_num_queries):
    _filter(world.bob, "a", "b", "c")
    _filter(world.bob, "d")
    made = [make_post(world.alice, f"post {i} a") for i in range(10)]
    with django_assert_num_queries(3):  # filters, keywords, statuses
        got = match_filters(world.bob, made, "home")
    assert len(got) == 10
