"""The demo community: right counts, consistent counters, a skewed graph, and the door still rules."""

from __future__ import annotations

import statistics
from datetime import timedelta

import pytest
from django.db import transaction
from django.db.models import Count, F, Q
from django.test import Client

from rostra.accounts.models import Account, Follow, User
from rostra.config.cli import main
from rostra.core.clock import now
from rostra.core.ids import id_time_ms
from rostra.core.pagination import PageRequest
from rostra.notifications.models import Notification
from rostra.posts.models import Hashtag, Like, Post, QuoteState
from rostra.posts.queries import visible_posts
from rostra.search.queries import search_posts
from rostra.testing.demo import DEMO_EMAIL_DOMAIN, build_demo
from rostra.timelines import queries as timelines
from rostra.timelines.store import get_store

pytestmark = pytest.mark.screening  # the demo's queue comes from the shipped policy
PASSWORD = "demo-password-for-tests"
ACCOUNTS, POSTS = 60, 300


@pytest.fixture
def demo(db):
    result = build_demo(accounts=ACCOUNTS, posts=POSTS, seed=7, password=PASSWORD, moderation=False)
    assert result is not None
    return result


def test_counts(demo):
    assert User.objects.filter(email__endswith=f"@{DEMO_EMAIL_DOMAIN}").count() == ACCOUNTS
    assert Account.objects.count() == ACCOUNTS
    assert Post.objects.count() == POSTS
    assert demo.accounts == ACCOUNTS and demo.posts == POSTS
    assert demo.follows == Follow.objects.count()
    assert demo.likes == Like.objects.count()
    assert demo.notifications == Notification.objects.count()
    kinds = {
        "replies": Post.objects.filter(in_reply_to__isnull=False).count(),
        "reposts": Post.objects.filter(repost_of__isnull=False).count(),
        "quotes": Post.objects.filter(quote_of__isnull=False).count(),
        "warnings": Post.objects.exclude(spoiler_text="").count(),
        "private": Post.objects.filter(visibility="private").count(),
    }
    assert all(kinds.values()), kinds
    assert Post.objects.filter(visibility="public").count() > POSTS / 2  # mostly public


def test_account_counters_match_the_rows(demo):
    accounts = Account.objects.annotate(
        n_followers=Count("follower_rel", distinct=True),
        n_following=Count("following_rel", distinct=True),
        n_posts=Count("posts", distinct=True),
    )
    for a in accounts:
        assert (a.followers_count, a.following_count, a.posts_count) == (a.n_followers, a.n_following, a.n_posts), a.username
        last = Post.objects.filter(author=a).order_by("-created_at").values_list("created_at", flat=True).first()
        assert a.last_status_at == last


def test_post_counters_match_the_rows(demo):
    posts = Post.objects.annotate(
        n_likes=Count("likes", distinct=True),
        n_reposts=Count("reposts", distinct=True),
        n_replies=Count("replies", distinct=True),
        n_quotes=Count("quotes", filter=Q(quotes__quote_state=QuoteState.ACCEPTED), distinct=True),
    )
    for p in posts:
        assert (p.likes_count, p.reposts_count, p.replies_count, p.quotes_count) == (p.n_likes, p.n_reposts, p.n_replies, p.n_quotes)


def test_the_follow_graph_is_skewed_and_everyone_follows_three(demo):
    followers = sorted(Account.objects.values_list("followers_count", flat=True))
    assert followers[-1] >= 3 * statistics.median(followers)
    assert min(Account.objects.values_list("following_count", flat=True)) >= 3
    assert not Follow.objects.filter(follower_id=F("target_id")).exists()


def test_profiles_look_lived_in(demo):
    accounts = list(Account.objects.all())
    assert len({a.display_name for a in accounts}) > ACCOUNTS * 0.8
    assert all(a.note and a.note_html for a in accounts)
    assert sum(1 for a in accounts if a.fields) > ACCOUNTS / 4
    assert all("value_html" in f for a in accounts for f in a.fields)


def test_posts_spread_over_the_last_month_with_ids_in_time_order(demo):
    t = now()
    posts = list(Post.objects.order_by("id"))
    assert min(p.created_at for p in posts) >= t - timedelta(days=31)
    assert max(p.created_at for p in posts) <= t
    assert max(p.created_at for p in posts) - min(p.created_at for p in posts) > timedelta(days=20)
    assert [p.created_at for p in posts] == sorted(p.created_at for p in posts)
    assert all(abs(id_time_ms(p.pk) - p.created_at.timestamp() * 1000) < 1000 for p in posts)
    assert all(p.thread_id is not None for p in posts if p.repost_of_id is None)
    for reply in Post.objects.filter(in_reply_to__isnull=False).select_related("in_reply_to"):
        assert reply.thread_id == (reply.in_reply_to.thread_id or reply.in_reply_to.pk)
        assert reply.pk > reply.in_reply_to_id


def test_home_timelines_are_filled(demo):
    accounts = list(Account.objects.all())
    store = get_store()
    assert all(store.count([a.pk]) for a in accounts)
    assert sum(1 for a in accounts if timelines.home(a, PageRequest()).items) > ACCOUNTS * 0.9


def test_hashtags_and_mentions_exist_and_link(demo):
    tag = Hashtag.objects.annotate(n=Count("posts")).order_by("-n").first()
    assert tag is not None and tag.n > 1 and tag.last_used_at is not None
    assert timelines.hashtag(None, tag.name, PageRequest()).items
    mentioning = Post.objects.filter(mentions__isnull=False).first()
    assert mentioning is not None and 'class="u-url mention"' in mentioning.content_html


def test_the_door_still_applies(demo):
    private = Post.objects.filter(visibility="private").select_related("author").first()
    assert private is not None
    assert not visible_posts(None).filter(pk=private.pk).exists()
    follower = Account.objects.filter(following_rel__target=private.author).first()
    if follower is not None:
        assert visible_posts(follower).filter(pk=private.pk).exists()
    direct = Post.objects.filter(visibility="direct").prefetch_related("mentions").first()
    if direct is not None:
        outsider = Account.objects.exclude(pk__in=[direct.author_id, *[m.pk for m in direct.mentions.all()]]).first()
        assert not visible_posts(outsider).filter(pk=direct.pk).exists()
        assert visible_posts(direct.mentions.first()).filter(pk=direct.pk).exists()


def test_likes_and_notifications_only_concern_visible_posts(demo):
    for like in Like.objects.select_related("account")[:60]:
        assert visible_posts(like.account).filter(pk=like.post_id).exists()
    for n in Notification.objects.filter(post__isnull=False).select_related("recipient")[:60]:
        assert visible_posts(n.recipient).filter(pk=n.post_id).exists()
        assert n.recipient_id != n.actor_id


def test_demo_posts_are_searchable(demo):
    post = Post.objects.filter(visibility="public", repost_of__isnull=True, in_reply_to__isnull=True).exclude(text="").first()
    found: list[int] = []
    req = PageRequest(limit=40)
    for _ in range(20):
        page = search_posts(None, post.text, req)
        found += [p.pk for p in page.items]
        if page.next_max_id is None:
            break
        req = PageRequest(max_id=page.next_max_id, limit=40)
    assert post.pk in found


def test_a_demo_account_can_log_in(demo):
    assert Client().login(username=demo.logins[0], password=PASSWORD)
    assert not Client().login(username=demo.logins[0], password="wrong-password")
    assert len({u.password for u in User.objects.all()}) == 1  # hashed once, shared


def test_running_twice_adds_nothing(demo, capsys):
    assert build_demo(accounts=10, posts=20, seed=1, password=PASSWORD) is None
    assert "already has a demo community" in capsys.readouterr().err
    assert Account.objects.count() == ACCOUNTS and Post.objects.count() == POSTS


def test_it_lives_beside_existing_people(world):
    before = Account.objects.count()
    result = build_demo(accounts=20, posts=60, seed=3, password=PASSWORD, moderation=False)
    assert result is not None
    assert Account.objects.count() == before + 20
    assert Account.objects.filter(username__iexact="alice").count() == 1


def _snapshot() -> dict[str, object]:
    return {
        "accounts": sorted(Account.objects.values_list("username", "display_name", "note", "locked")),
        "follows": sorted(Follow.objects.values_list("follower__username", "target__username")),
        "posts": sorted(Post.objects.values_list("author__username", "text", "visibility", "spoiler_text", "in_reply_to__text")),
        "likes": sorted(Like.objects.values_list("account__username", "post__text")),
        "tags": sorted(Hashtag.objects.values_list("name", flat=True)),
    }


class _Undo(Exception):
    pass


def test_the_same_seed_gives_the_same_community(db):
    snapshots = []
    for seed in (11, 11, 12):
        try:
            with transaction.atomic():
                build_demo(accounts=25, posts=80, seed=seed, password=PASSWORD, moderation=False)
                snapshots.append(_snapshot())
                raise _Undo
        except _Undo:
            pass
    assert snapshots[0] == snapshots[1]
    assert snapshots[0]["accounts"] != snapshots[2]["accounts"]


def test_too_small_a_demo_is_refused(db, capsys):
    assert build_demo(accounts=2, posts=10) is None
    assert "at least 4 accounts" in capsys.readouterr().err


@pytest.mark.django_db(transaction=True)
def test_the_cli_builds_a_demo(capsys):
    # (--no-moderation: on SQLite this test's flush cannot delete audit-log rows, by design)
    assert main(["demo", "--accounts", "20", "--posts", "50", "--password", PASSWORD, "--no-moderation"]) == 0
    out = capsys.readouterr().out
    assert "demo community ready" in out and PASSWORD in out
    assert Account.objects.count() == 20 and Post.objects.count() == 50
    assert main(["demo", "--accounts", "20", "--posts", "50"]) == 0  # a second run refuses politely
    assert Account.objects.count() == 20


def test_the_demo_puts_work_in_the_review_queue_through_the_real_write_path(db, capsys):
    from rostra.moderation.models import Case, Report

    build_demo(accounts=30, posts=100, seed=5, password=PASSWORD)
    moderator = User.objects.get(username="demo_moderator")
    assert moderator.role == "moderator" and moderator.check_password(PASSWORD)
    assert Post.objects.filter(moderation_state="held").count() >= 3
    categories = set(Case.objects.filter(status="open").values_list("category", flat=True))
    assert {"violence", "spam"} <= categories
    assert Report.objects.exists()
    assert "Moderate as @demo_moderator" in capsys.readouterr().out
