"""The home-timeline store (database rows, or Redis sets with ROSTRA_TEST_REDIS_URL), batched
fan-out for large audiences, and skipping inactive followers."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.test import Client

from rostra.accounts import actions as accounts
from rostra.accounts.models import Account
from rostra.core import clock, metrics
from rostra.core.models import Event
from rostra.core.pagination import PageRequest
from rostra.posts.models import ModerationState, Post
from rostra.testing.world import make_account, make_post
from rostra.timelines import activity
from rostra.timelines.actions import fan_out_post
from rostra.timelines.models import FanoutBatch
from rostra.timelines.queries import home
from rostra.timelines.store import SCRIPT_KEYS, RedisStore, get_store, member
from tests.api.conftest import password_grant, register_app
from tests.timelines import homes

needs_redis = pytest.mark.skipif(not django_settings.ROSTRA.redis_url, reason="runs with ROSTRA_TEST_REDIS_URL")


def _home(account, **kw) -> list[int]:
    return [p.pk for p in home(account, PageRequest(**kw)).items]


def _rostra(settings, **changes) -> None:
    settings.ROSTRA = dataclasses.replace(settings.ROSTRA, **changes)


@pytest.fixture
def fanouts(monkeypatch) -> list[tuple[float, int, float]]:
    """What ``observe_fanout`` was told (the metrics body is another module's business)."""
    seen: list[tuple[float, int, float]] = []
    monkeypatch.setattr(metrics, "observe_fanout", lambda age, n, s: seen.append((age, n, s)))
    return seen


def _followers(target: Account, n: int) -> list[Account]:
    made = [make_account(f"fan{i}") for i in range(n)]
    for a in made:
        assert accounts.follow(a, target) == "following"
    return made


def test_a_large_audience_is_split_into_queued_batches(world, run_tasks, settings, fanouts):
    w = world
    fans = _followers(w.alice, 5)
    run_tasks()
    fanouts.clear()
    _rostra(settings, fanout_batch=3)
    post = make_post(w.alice, "to everyone")
    run_tasks()
    everyone = {w.alice.pk, w.bob.pk, w.dave.pk, *(f.pk for f in fans)}
    assert homes.owners(post) == everyone
    assert Event.objects.filter(kind="timelines.fanout_batch", payload__post_id=post.pk).count() == 2  # 8 recipients, 3 a batch
    assert not FanoutBatch.objects.filter(post_id=post.pk).exists()
    assert [n for _, n, _ in fanouts] == [8]  # told once, when the last batch is done
    assert all(post.pk in _home(a) for a in (w.bob, *fans))
    # Idempotent: again, nothing new and nothing queued twice
    assert fan_out_post(post.pk) == 8
    run_tasks()
    assert homes.owners(post) == everyone


def test_each_batch_checks_the_post_again(world, run_tasks, settings, fanouts):
    from rostra.pipeline.runner import run_event

    w = world
    _followers(w.alice, 4)
    run_tasks()
    _rostra(settings, fanout_batch=2)
    post = make_post(w.alice, "soon held")
    event = Event.objects.get(kind="post.created", payload__post_id=post.pk)
    assert fan_out_post(post.pk) == 7
    first = homes.owners(post)
    assert len(first) == 2
    Post.objects.filter(pk=post.pk).update(moderation_state=ModerationState.HELD)
    Event.objects.filter(pk=event.pk).update(done_at=clock.now())
    for e in Event.objects.filter(kind="timelines.fanout_batch", done_at__isnull=True):
        assert run_event(e.pk)
    assert homes.owners(post) == first  # nobody else got it
    assert not FanoutBatch.objects.filter(post_id=post.pk).exists()
    assert fanouts == []  # a post that stopped being deliverable is not a completed fan-out


def test_inactive_followers_get_nothing_until_they_come_back_on_the_web(world, run_tasks):
    w = world
    long_ago = clock.now() - timedelta(days=30)
    Account.objects.filter(pk=w.dave.pk).update(last_active_at=long_ago)
    post = make_post(w.alice, "while dave was away")
    run_tasks()
    assert w.bob.pk in homes.owners(post) and w.dave.pk not in homes.owners(post)
    assert not homes.holds(w.dave, post)
    c = Client()
    assert w.dave.user is not None
    c.force_login(w.dave.user)
    r = c.get("/home")
    assert r.status_code == 200
    assert homes.holds(w.dave, post)  # rebuilt before the page was read
    assert str(post.pk) in r.content.decode()
    dave = Account.objects.get(pk=w.dave.pk)
    assert dave.last_active_at > clock.now() - timedelta(minutes=1)
    later = make_post(w.alice, "dave is back")
    run_tasks()
    assert homes.holds(w.dave, later)


def test_inactive_followers_come_back_through_the_api(world, run_tasks):
    w = world
    Account.objects.filter(pk=w.dave.pk).update(last_active_at=clock.now() - timedelta(days=15))
    post = make_post(w.alice, "while dave was away")
    run_tasks()
    assert not homes.holds(w.dave, post)
    r = password_grant(register_app(), w.dave.username, scope="read")
    token = r.json()["access_token"]
    r = Client(headers={"Authorization": f"Bearer {token}"}).get("/api/v1/timelines/home")
    assert r.status_code == 200
    assert str(post.pk) in [s["id"] for s in r.json()]


def test_new_accounts_count_as_active_and_refreshes_are_hourly(world, run_tasks):
    w = world
    newcomer = make_account("newcomer")
    accounts.follow(newcomer, w.alice)
    post = make_post(w.alice, "welcome")
    run_tasks()
    assert homes.holds(newcomer, post)
    recent = clock.now() - timedelta(minutes=10)
    Account.objects.filter(pk=newcomer.pk).update(last_active_at=recent)
    newcomer.refresh_from_db()
    assert activity.note_active(newcomer) is False
    assert Account.objects.get(pk=newcomer.pk).last_active_at == recent  # within the hour: untouched
    Account.objects.filter(pk=newcomer.pk).update(last_active_at=clock.now() - timedelta(hours=2))
    newcomer.refresh_from_db()
    assert activity.note_active(newcomer) is False  # refreshed, but not away long enough to rebuild
    assert Account.objects.get(pk=newcomer.pk).last_active_at > recent


def test_inactivity_follows_the_setting(world, run_tasks, settings):
    w = world
    Account.objects.filter(pk=w.dave.pk).update(last_active_at=clock.now() - timedelta(days=3))
    _rostra(settings, inactive_days=2)
    post = make_post(w.alice, "short memory")
    run_tasks()
    assert not homes.holds(w.dave, post)
    _rostra(settings, inactive_days=14)
    post = make_post(w.alice, "long memory")
    run_tasks()
    assert homes.holds(w.dave, post)


def test_pages_stay_full_when_the_door_drops_entries(world, run_tasks):
    w = world
    accounts.follow(w.bob, w.carol)
    run_tasks()
    kept = []
    for i in range(12):
        kept.append(make_post(w.alice, f"kept {i}"))
        for j in range(3):
            make_post(w.carol, f"muted {i}.{j}")
    run_tasks()
    accounts.mute(w.bob, w.carol)
    first = _home(w.bob, limit=5)
    assert first == [p.pk for p in reversed(kept)][:5]
    page = home(w.bob, PageRequest(limit=5))
    second = _home(w.bob, limit=5, max_id=page.next_max_id)
    assert second == [p.pk for p in reversed(kept)][5:10]
    newer = _home(w.bob, limit=5, min_id=kept[2].pk)
    assert newer == [p.pk for p in reversed(kept[3:8])]


@needs_redis
def test_redis_sets_are_capped_rebuilt_when_missing_and_ordered_exactly(world, run_tasks, settings):
    w = world
    _rostra(settings, home_max_items=100)
    store = get_store()
    assert isinstance(store, RedisStore)
    made = [make_post(w.alice, f"p{i}") for i in range(3)]
    run_tasks()
    assert _home(w.bob, limit=40)[:3] == [p.pk for p in reversed(made)]
    store.add_many(w.bob.pk, list(range(10**15, 10**15 + 150)))
    assert store.count([w.bob.pk]) == 100  # the newest 100 (ids from the future: all of those)
    store.clear(w.bob.pk)
    assert not store.r.exists(store.key(w.bob.pk))
    assert _home(w.bob, limit=40)[:3] == [p.pk for p in reversed(made)]  # rebuilt from the database
    assert store.r.zscore(store.key(w.bob.pk), "~") is not None
    # Ids above 2**53 differ in bits a double score would lose; the order is still exact.
    big = [2**62 + 1, 2**62 + 2, 2**62 + 3]
    store.add_many(w.eve.pk, big)
    store.mark_complete(w.eve.pk)
    assert store.page_ids(w.eve.pk, max_id=None, min_id=None, since_id=None, count=10) == big[::-1]
    assert store.page_ids(w.eve.pk, max_id=big[2], min_id=None, since_id=big[0], count=10) == [big[1]]
    assert store.page_ids(w.eve.pk, max_id=None, min_id=big[0], since_id=None, count=1) == [big[1]]
    assert member(5) == "0000000000000000005"


@needs_redis
def test_concurrent_readers_rebuild_once(world, run_tasks):
    import threading

    from django.db import connection

    w = world
    post = make_post(w.alice, "once")
    run_tasks()
    store = get_store()
    assert isinstance(store, RedisStore)
    store.clear(w.bob.pk)
    lock = f"{store.key(w.bob.pk)}:lock"
    store.r.set(lock, "1", px=5000)  # someone else is rebuilding
    done: list[bool] = []

    def finish() -> None:
        store.add_many(w.bob.pk, [post.pk])
        store.mark_complete(w.bob.pk)
        store.r.delete(lock)
        done.append(True)

    timer = threading.Timer(0.2, finish)
    timer.start()
    ids = store.page_ids(w.bob.pk, max_id=None, min_id=None, since_id=None, count=10)  # waits for them
    timer.join()
    connection.close_if_unusable_or_obsolete()
    assert done and ids == [post.pk]


@needs_redis
def test_redis_owners_of_answers_exactly_which_candidates_hold_a_post_in_batches(db):
    store = get_store()
    assert isinstance(store, RedisStore)
    candidates = list(range(10**12, 10**12 + 2 * SCRIPT_KEYS + 7))  # more than one script call's keys
    holders = [*candidates[::3], candidates[SCRIPT_KEYS], candidates[-1]]
    store.add(42, holders)
    store.add(43, candidates[1::3])  # another post's holders are not this one's
    assert store.owners_of(42, candidates) == set(holders)
    assert store.owners_of(42, candidates[1::3]) == set(holders) & set(candidates[1::3])
    assert store.owners_of(42, []) == set()
    assert store.owners_of(44, candidates) == set()


def test_page_ids_page_both_ways_with_every_bound(world, run_tasks):
    """The store's pages (prepared SQL per page size on the database, sorted sets on Redis): newest
    first below ``max_id`` and above ``since_id``; with ``min_id``, the posts just above it, oldest first."""
    w = world
    store = get_store()
    owner = make_account("pager")  # follows nobody: only what is added here is in the home
    ids = sorted(make_post(w.alice, f"post {i}").pk for i in range(7))
    run_tasks()
    store.add_many(owner.pk, ids)
    store.mark_complete(owner.pk)
    newest = ids[::-1]
    for count in (1, 3, 20):
        assert store.page_ids(owner.pk, max_id=None, min_id=None, since_id=None, count=count) == newest[:count]
        assert store.page_ids(owner.pk, max_id=ids[5], min_id=None, since_id=None, count=count) == [i for i in newest if i < ids[5]][:count]
        assert store.page_ids(owner.pk, max_id=ids[5], min_id=None, since_id=ids[1], count=count) == [i for i in newest if ids[1] < i < ids[5]][:count]
        assert store.page_ids(owner.pk, max_id=None, min_id=ids[2], since_id=None, count=count) == [i for i in ids if i > ids[2]][:count]
    assert store.page_ids(owner.pk, max_id=ids[0], min_id=None, since_id=None, count=5) == []
    assert store.page_ids(make_account("nobody").pk, max_id=None, min_id=None, since_id=None, count=5) == []  # an empty home
