"""The spam-wave near-duplicate index: in process memory (embedded) or shared through Redis by
every web process (REDIS_URL). The same behaviour is checked on both."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator

import pytest
import redis
from django.conf import settings

from rostra.moderation.gate import get_screener
from rostra.moderation.screener import NearDuplicateIndex, RedisNearDuplicateIndex, normalise

REDIS = os.environ.get("ROSTRA_TEST_REDIS_URL")
WAVE = "🔥 Earn $500 a day from home with this one weird trick, click the link in my bio now!! 🔥"
Make = Callable[..., NearDuplicateIndex]


@pytest.fixture
def redis_client() -> Iterator[redis.Redis]:
    if not REDIS:
        pytest.skip("needs Redis (ROSTRA_TEST_REDIS_URL)")
    client = redis.Redis.from_url(REDIS)
    prefix = f"test-nd:{uuid.uuid4().hex}"
    client.prefix_for_test = prefix  # type: ignore[attr-defined]
    yield client
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)
    client.close()


@pytest.fixture(params=["memory", "redis"])
def make(request: pytest.FixtureRequest) -> Make:
    if request.param == "memory":
        return NearDuplicateIndex
    client = request.getfixturevalue("redis_client")
    return lambda **options: RedisNearDuplicateIndex(client, prefix=client.prefix_for_test, **options)


def test_a_wave_is_counted_with_its_distinct_authors(make: Make) -> None:
    index = make()
    results = [index.check(normalise(f"@victim{i} {WAVE}"), author_key=f"acct:{i % 3}", now=1000.0 + i) for i in range(6)]
    assert [r.count for r in results] == [0, 1, 2, 3, 4, 5]
    assert results[-1].authors == 3


def test_small_edits_match_and_unrelated_posts_do_not(make: Make) -> None:
    index = make()
    index.check(normalise(WAVE), author_key="a", now=0.0)
    edited = WAVE.replace("weird", "strange").replace("now!!", "today!!")
    assert index.check(normalise(edited), author_key="b", now=1.0).count == 1
    other = "Had a lovely walk along the river this morning, the herons were out in force."
    assert index.check(normalise(other), author_key="c", now=2.0).count == 0


def test_the_window_forgets_old_posts(make: Make) -> None:
    index = make(window_seconds=60.0)
    index.check(normalise(WAVE), author_key="a", now=0.0)
    assert index.check(normalise(WAVE), author_key="b", now=30.0).count == 1
    assert index.check(normalise(WAVE), author_key="c", now=85.0).count == 1  # only the post at 30 s is left


def test_clear_forgets_everything(make: Make) -> None:
    index = make()
    index.check(normalise(WAVE), author_key="a", now=0.0)
    index.clear()
    assert index.check(normalise(WAVE), author_key="b", now=1.0).count == 0


def test_remember_false_and_short_posts_leave_no_trace(make: Make) -> None:
    index = make()
    index.check(normalise(WAVE), now=0.0, remember=False)
    assert index.check("good morning", now=0.0).count == 0
    assert index.check(normalise(WAVE), now=1.0).count == 0


def test_two_web_processes_see_one_wave(redis_client: redis.Redis) -> None:
    """Each process has its own index object and connection; the wave is counted across them."""
    prefix = redis_client.prefix_for_test  # type: ignore[attr-defined]
    first = RedisNearDuplicateIndex(redis.Redis.from_url(str(REDIS)), prefix=prefix)
    second = RedisNearDuplicateIndex(redis.Redis.from_url(str(REDIS)), prefix=prefix)
    first.check(normalise(f"@a {WAVE}"), author_key="acct:1", now=10.0)
    first.check(normalise(f"@b {WAVE}"), author_key="acct:2", now=11.0)
    seen = second.check(normalise(f"@c {WAVE}"), author_key="acct:3", now=12.0)
    assert (seen.count, seen.authors) == (2, 2)
    assert first.check(normalise(WAVE), author_key="acct:4", now=13.0).count == 3
    # Every key the index wrote expires with the window: Redis forgets the wave by itself.
    ttls = [redis_client.ttl(k) for k in redis_client.scan_iter(f"{prefix}:*") if not k.endswith(b":gen")]
    assert ttls and all(0 < t <= 3600 for t in ttls)


def test_the_redis_index_is_bounded(redis_client: redis.Redis) -> None:
    index = RedisNearDuplicateIndex(redis_client, prefix=redis_client.prefix_for_test, max_entries=20)  # type: ignore[attr-defined]
    for i in range(60):
        index.check(normalise(f"post number {i} about something entirely different {i * 7919}"))
    assert len(index) == 20


def test_an_unreachable_redis_lets_posting_go_on() -> None:
    index = RedisNearDuplicateIndex(redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2), prefix="nowhere")
    assert index.check(normalise(WAVE), author_key="a").count == 0


def test_the_instance_shares_its_index_exactly_when_redis_is_configured() -> None:
    index = get_screener().near_duplicate_index
    assert isinstance(index, RedisNearDuplicateIndex) == bool(settings.ROSTRA.redis_url)
