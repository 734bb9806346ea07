"""Full-text search of posts: matching, hostile input, the visibility door, and the index itself."""

from __future__ import annotations

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rostra.accounts import actions as accounts
from rostra.accounts.models import Account
from rostra.core.clock import now
from rostra.core.pagination import PageRequest
from rostra.posts import actions as posts
from rostra.posts.models import ModerationState, Post
from rostra.search import queries
from rostra.search.actions import optimize_index, rebuild_index
from rostra.search.queries import search_posts
from rostra.search.schema import FTS_TABLE
from rostra.testing.world import make_account, make_post

sqlite_only = pytest.mark.skipif("connection.vendor != 'sqlite'", reason="checks the SQLite FTS5 table itself")
postgres_only = pytest.mark.skipif("connection.vendor != 'postgresql'", reason="checks the PostgreSQL GIN index")


def found(viewer: Account | None, q: str, limit: int = 40) -> list[int]:
    return [p.pk for p in search_posts(viewer, q, PageRequest(limit=limit)).items]


def fts_rows(post_id: int) -> list[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT text, spoiler_text FROM {FTS_TABLE} WHERE rowid = %s", [post_id])  # noqa: S608
        return [tuple(r) for r in cursor.fetchall()]


# --- Matching ---------------------------------------------------------------------------------


def test_every_word_must_match_in_any_order_and_case(world):
    hit = make_post(world.alice, "The tomatoes are finally ripening on the allotment")
    make_post(world.alice, "Tomatoes in the shop are terrible this year")
    assert found(None, "allotment tomatoes") == [hit.pk]
    assert found(None, "ALLOTMENT Tomatoes") == [hit.pk]
    assert found(None, "tomatoes bicycle") == []


def test_the_last_word_matches_as_a_prefix(world):
    hit = make_post(world.alice, "Repainted the bicycle shed with the neighbours")
    assert found(None, "bicy") == [hit.pk]
    assert found(None, "shed neighb") == [hit.pk]
    assert found(None, "bicy shed") == []  # only the word being typed is a prefix


def test_diacritics(world):
    hit = make_post(world.alice, "Café crème at the new brûlerie in Zürich")
    assert found(None, "café crème") == [hit.pk]
    assert found(None, "CAFÉ") == [hit.pk]
    if connection.vendor == "sqlite":
        # FTS5's remove_diacritics folds accents; PostgreSQL's 'simple' configuration does not.
        assert found(None, "cafe creme zurich") == [hit.pk]
        assert found(None, "brul") == [hit.pk]


def test_the_content_warning_is_searched_too(world):
    hit = make_post(world.alice, "Results are in and the count was close.", spoiler_text="Council election")
    assert found(None, "election count") == [hit.pk]


def test_punctuation_separates_words(world):
    hit = make_post(world.alice, "Pair-programming with @bob on the co-op's new site: rostra.example/ideas")
    assert found(None, "programming co op") == [hit.pk]
    assert found(None, "pair-programming") == [hit.pk]


@pytest.mark.parametrize(
    ("text", "q"),
    [
        # PostgreSQL's parser keeps these whole (url, host, file path, signed number, version,
        # email): the index cuts them into words as a search does, on both databases.
        ("Headwind both ways. https://example.org/cycling/956", "example org cycling 956"),
        ("Headwind both ways. https://example.org/cycling/956", "Headwind both ways. https://example.org/cycling/956"),
        ("Sunday league: we lost 4-3, but the oranges were excellent.", "lost 4 3"),
        ("We're learning something in 7/8, wish us luck.", "learning something in 7/8"),
        ("Upgraded to v2.4.1 over lunch", "upgraded v2 4 1"),
        ("Mail me at garden@example.net about seeds", "garden example net"),
        ("The deep_sea_diver returns", "deep sea diver"),
    ],
)
def test_urls_numbers_and_paths_are_found_by_their_words(world, text, q):
    hit = make_post(world.alice, text)
    assert found(None, q) == [hit.pk]


def test_hashtags_and_mentions_are_found_by_their_words(world):
    hit = make_post(world.alice, "Sunday ride along the canal #CyclingLife with @bob")
    assert found(None, "#cyclinglife") == [hit.pk]
    assert found(world.bob, "@bob canal") == [hit.pk]


# --- Hostile and odd input ----------------------------------------------------------------------

HOSTILE = [
    '"', '""', '"""', "'", "AND OR NOT", "AND", "OR", "NOT", "NEAR", "NEAR(a b, 3)", "*", "**", "(", ")", "()",
    "tomato AND", "OR tomato", "-tomato", "+tomato", "^tomato", "text:tomato", "spoiler_text:tomato", "{text}: tomato",
    "tomato*", "*tomato", "tomato\"", "(tomato", "' OR 1=1 --", "\"; DROP TABLE posts_post; --", "\\", "%", "_", ":", "!",
    "&", "|", "<->", "tomato:*", "tomato & !", "\x00", "\x00tomato", "\u200b", "💥", "🍅 tomato", "\ufeff", "\U0010ffff",
    "tomato\nallotment", "\t", "a" * 10_000, "tomato " * 2_000, "\"tomato\" " * 1_500, "(" * 10_000, " " * 10_000,
]


@pytest.mark.parametrize("q", HOSTILE)
def test_no_input_can_break_a_search(world, q):
    make_post(world.alice, "The tomato allotment")
    page = search_posts(world.bob, q, PageRequest())
    assert isinstance(page.items, list)


@pytest.mark.parametrize("q", ["tomato*", "(tomato", 'tomato"', "tomato AND", "-tomato", "text:tomato", "tomato:*", "🍅 tomato"])
def test_operators_are_dropped_and_the_words_still_count(world, q):
    hit = make_post(world.alice, "The tomato allotment, text and all 🍅")
    assert found(None, q) == [hit.pk]


@pytest.mark.parametrize("q", ["", "   ", "\n\t", '"', "*", "()", "!!!", "\x00", "#", "@"])
def test_an_empty_query_finds_nothing(world, q):
    make_post(world.alice, "Anything at all")
    page = search_posts(None, q, PageRequest())
    assert page.items == [] and page.next_max_id is None


def test_operator_words_are_plain_words(world):
    hit = make_post(world.alice, "Rock and roll is not dead, or is it")
    assert found(None, "rock AND roll") == [hit.pk]
    assert found(None, "NOT dead OR") == [hit.pk]


def test_a_huge_query_is_cut_not_refused(world):
    hit = make_post(world.alice, "allotment")
    assert found(None, "allotment " + "x" * 10_000) == [hit.pk]
    assert len(queries.query_terms("word" + " w" * 5_000)) <= queries.MAX_TERMS


def test_fts5_syntax_is_quoted_terms_and_a_prefix():
    assert queries.fts5_query(queries.query_terms('tea "AND" (biscuits) NEAR cake*')) == '"tea" "AND" "biscuits" "NEAR" "cake"*'


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(q=st.text(max_size=60))
def test_any_text_is_a_safe_query(world, q):
    search_posts(world.bob, q, PageRequest(limit=5))


# --- The visibility door ------------------------------------------------------------------------


def test_followers_only_posts_are_found_by_followers_only(world):
    stranger = make_account("stranger")
    post = make_post(world.alice, "Secret allotment plans", visibility="private")
    assert found(world.bob, "secret allotment") == [post.pk]  # bob follows alice
    assert found(world.alice, "secret allotment") == [post.pk]
    assert found(stranger, "secret allotment") == []
    assert found(None, "secret allotment") == []


def test_direct_posts_are_found_by_the_mentioned_only(world):
    post = make_post(world.alice, "@bob the spare key is under the flowerpot", visibility="direct")
    assert found(world.bob, "flowerpot") == [post.pk]
    assert found(world.alice, "flowerpot") == [post.pk]
    assert found(world.dave, "flowerpot") == []  # a follower, but not mentioned
    assert found(world.carol, "flowerpot") == []
    assert found(None, "flowerpot") == []


def test_a_block_hides_both_ways(world):
    by_alice = make_post(world.alice, "Marmalade recipe from grandma")
    by_eve = make_post(world.eve, "Marmalade is overrated")
    assert found(world.eve, "marmalade") == [by_eve.pk]  # alice blocked eve: eve sees nothing of alice
    assert found(world.alice, "marmalade") == [by_alice.pk]
    assert set(found(world.bob, "marmalade")) == {by_alice.pk, by_eve.pk}


def test_muted_accounts_stay_out_of_results(world):
    post = make_post(world.dave, "Sourdough starter update")
    assert found(world.bob, "sourdough") == []  # bob mutes dave
    assert found(world.alice, "sourdough") == [post.pk]


def test_held_and_removed_posts_are_found_by_their_author_only(world):
    post = make_post(world.alice, "Borderline opinions about pineapple")
    Post.objects.filter(pk=post.pk).update(moderation_state=ModerationState.HELD)
    assert found(world.bob, "pineapple") == []
    assert found(None, "pineapple") == []
    assert found(world.alice, "pineapple") == [post.pk]


def test_limited_reach_and_unlisted_posts_stay_off_search_for_strangers(world):
    stranger = make_account("stranger")
    unlisted = make_post(world.alice, "Quiet thoughts on parsnips", visibility="unlisted")
    limited = make_post(world.alice, "Loud thoughts on parsnips")
    Post.objects.filter(pk=limited.pk).update(moderation_state=ModerationState.LIMITED)
    assert found(stranger, "parsnips") == []
    assert found(None, "parsnips") == []
    assert set(found(world.bob, "parsnips")) == {unlisted.pk, limited.pk}  # a follower
    assert set(found(world.alice, "parsnips")) == {unlisted.pk, limited.pk}


def test_suspended_authors_disappear(world):
    make_post(world.dave, "Kombucha brewing notes")
    Account.objects.filter(pk=world.dave.pk).update(suspended_at=now())
    assert found(world.alice, "kombucha") == []


def test_reposts_are_not_results_and_not_indexed(world):
    original = make_post(world.alice, "Volunteers needed for the river clean-up")
    rp = posts.repost(world.bob, original.pk)
    assert found(world.dave, "volunteers river") == [original.pk]
    if connection.vendor == "sqlite":
        assert fts_rows(rp.pk) == []


# --- Keeping the index in step --------------------------------------------------------------------


def test_edits_are_reindexed(world):
    post = make_post(world.alice, "Meeting about the library hours")
    posts.edit_post(world.alice, post.pk, text="Meeting about the swimming pool", spoiler_text="Council")
    assert found(None, "library") == []
    assert found(None, "swimming pool council") == [post.pk]
    if connection.vendor == "sqlite":
        assert fts_rows(post.pk) == [("Meeting about the swimming pool", "Council")]


def test_deleting_a_post_deletes_it_from_the_index(world):
    post = make_post(world.alice, "zanzibarquokka mentioned once and never again")
    keep = make_post(world.alice, "Something else entirely")
    assert found(None, "zanzibarquokka") == [post.pk]
    posts.delete_post(world.alice, post.pk)
    assert found(None, "zanzibarquokka") == []
    assert found(world.alice, "zanzibarquokka") == []
    assert found(None, "entirely") == [keep.pk]


@sqlite_only
def test_deleted_text_is_gone_from_the_fts_table_itself(world):
    post = make_post(world.alice, "zanzibarquokka mentioned once and never again")
    for i in range(30):
        make_post(world.bob, f"filler post number {i}")
    posts.delete_post(world.alice, post.pk)
    assert fts_rows(post.pk) == []
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s", ['"zanzibarquokka"'])  # noqa: S608
        assert cursor.fetchone()[0] == 0
        cursor.execute(f"SELECT count(*) FROM {FTS_TABLE}_content WHERE c0 LIKE %s", ["%zanzibarquokka%"])  # noqa: S608
        assert cursor.fetchone()[0] == 0
        # The segments may hold the bare word until they are merged; optimize leaves none.
        optimize_index()
        cursor.execute(f"SELECT block FROM {FTS_TABLE}_data")  # noqa: S608
        assert not any(b"zanzibarquokka" in bytes(block or b"") for (block,) in cursor.fetchall())


@sqlite_only
def test_deleting_an_account_empties_its_posts_from_the_index(world):
    post = make_post(world.dave, "wombatcrossing at the end of my road")
    accounts.purge_account(world.dave)
    assert fts_rows(post.pk) == []
    assert found(world.alice, "wombatcrossing") == []


@sqlite_only
def test_the_index_holds_text_and_warning_keyed_by_post_id(world):
    post = make_post(world.alice, "Plot 7 has the best leeks", spoiler_text="Vegetable rivalry")
    assert fts_rows(post.pk) == [("Plot 7 has the best leeks", "Vegetable rivalry")]


@sqlite_only
def test_rebuild_gives_the_same_index(world):
    post = make_post(world.alice, "Plot 7 has the best leeks")
    rebuild_index()
    assert fts_rows(post.pk) == [("Plot 7 has the best leeks", "")]
    assert found(None, "leeks") == [post.pk]


@sqlite_only
def test_a_table_rebuild_that_drops_the_triggers_is_repaired(world):
    from rostra.search import schema

    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER search_post_fts_ai")
    post = make_post(world.alice, "written while the trigger was missing")
    assert schema.ensure(connection) is True
    assert fts_rows(post.pk) == [("written while the trigger was missing", "")]
    assert schema.ensure(connection) is False
    later = make_post(world.alice, "written after the repair")
    assert found(None, "repair") == [later.pk]


@postgres_only
def test_postgresql_uses_the_gin_index(world):
    make_post(world.alice, "The tomato allotment")
    base = queries._matching(Post.objects.all(), queries.query_terms("tomato allot"))
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
    plan = base.explain()
    assert "search_post_tsv_idx" in plan, plan
    assert [p.text for p in base] == ["The tomato allotment"]


# --- Paging ---------------------------------------------------------------------------------------


def test_results_are_newest_first_with_keyset_pages(world):
    ids = [make_post(world.alice, f"Allotment diary, day {i}").pk for i in range(25)]
    make_post(world.alice, "Unrelated")
    seen: list[int] = []
    req = PageRequest(limit=10)
    while True:
        page = search_posts(world.bob, "allotment diary", req)
        seen += [p.pk for p in page.items]
        if page.next_max_id is None:
            break
        req = PageRequest(max_id=page.next_max_id, limit=10)
    assert seen == sorted(ids, reverse=True)
    newer = search_posts(world.bob, "allotment", PageRequest(min_id=ids[4], limit=3))
    assert [p.pk for p in newer.items] == [ids[7], ids[6], ids[5]]


def test_results_carry_the_viewer_state(world):
    post = make_post(world.alice, "Lovely sunset over the estuary")
    posts.like(world.bob, post.pk)
    [result] = search_posts(world.bob, "sunset", PageRequest()).items
    assert result.viewer_liked is True
    assert result.author.username == "alice"


def test_query_count_does_not_grow_with_results(world, django_assert_max_num_queries):
    for i in range(15):
        make_post(world.alice, f"Harvest festival stall {i}")
    with django_assert_max_num_queries(4):
        page = search_posts(world.bob, "harvest", PageRequest(limit=15))
        assert len(page.items) == 15
        for p in page.items:
            _ = (p.author.username, list(p.media.all()))


def test_a_hashtag_query_finds_the_posts_carrying_that_tag_not_longer_ones(world):
    from rostra.core.pagination import PageRequest
    from rostra.posts.actions import Draft, create_post
    from rostra.search.queries import search_hashtags, search_posts

    exact = create_post(world.alice, Draft(text="brewing #Tea today"))
    create_post(world.alice, Draft(text="a new #teapot"))
    create_post(world.alice, Draft(text="tea without a tag"))
    found = search_posts(world.bob, "#tea", PageRequest(limit=20)).items
    assert [p.pk for p in found] == [exact.pk]
    # Hashtags: the exact name first, then shorter names first, alphabetically (Mastodon's order).
    create_post(world.alice, Draft(text="#teatime #teak"))
    assert [h.name for h in search_hashtags("#tea")] == ["tea", "teak", "teapot", "teatime"]
