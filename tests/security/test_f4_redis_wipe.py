"""F4 redis-wipe: FLUSHALL under a live `rostra serve` and `rostra worker` (docs/security.md, "Crash safety").

The test brings its own redis-server (`make crash-deps` installs it), so it runs the same in both
test runs; in the PostgreSQL run the server gets a database of its own on that PostgreSQL.
"""

from __future__ import annotations

import urllib.request
from contextlib import ExitStack
from http.cookiejar import CookieJar
from pathlib import Path

import pytest

from tests.live import LiveServer, serve
from tests.security.test_f_crash import (
    PASSWORD,
    PG_URL,
    SWEEP,
    Answer,
    app_token,
    django,
    eventually,
    fresh_test_database,
    http,
    kill9,
    private_redis,
    start_worker,
)

pytestmark = pytest.mark.live


def home_ids(base: str, token: str) -> list[str]:
    got = http("GET", base + "/api/v1/timelines/home", token=token)
    assert got.status == 200, got.body
    return [s["id"] for s in got.body]


def rate_used(answer: Answer) -> tuple[int, str]:
    """How much of the rate limit this answer's window has used, and which window it is."""
    used = int(answer.headers["X-RateLimit-Limit"]) - int(answer.headers["X-RateLimit-Remaining"])
    return used, answer.headers["X-RateLimit-Reset"]


def web_login(base: str, username: str) -> urllib.request.OpenerDirector:
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = http("GET", base + "/login", opener=opener).body
    csrf = page.split('name="csrfmiddlewaretoken" value="')[1].split('"')[0]
    signed_in = http(
        "POST", base + "/login", opener=opener, data={"csrfmiddlewaretoken": csrf, "username": username, "password": PASSWORD}
    )
    assert signed_in.status == 200, signed_in.status
    return opener


def signed_in_as(opener: urllib.request.OpenerDirector, base: str, username: str) -> bool:
    got = http("GET", base + "/home", opener=opener)
    return got.status == 200 and f"@{username}" in str(got.body)


def test_f4_redis_wipe_rebuilds_from_the_database(tmp_path: Path) -> None:
    import redis

    data = tmp_path / "data"
    data.mkdir()
    with ExitStack() as stack:
        redis_url = stack.enter_context(private_redis(tmp_path))
        env = {"REDIS_URL": redis_url}
        if PG_URL:
            env["DATABASE_URL"] = stack.enter_context(fresh_test_database())
        live: LiveServer = stack.enter_context(serve(data, ready_path="/api/v1/instance", extra_env=env, args=("--no-worker",)))
        worker = start_worker(live.env, data / "worker.log")
        stack.callback(lambda: kill9(worker))
        for name in ("rita", "sol"):
            live.rostra("users", "create", name, "--email", f"{name}@example.org", "--password", PASSWORD)
        rita, sol = app_token(live, "rita"), app_token(live, "sol")
        rita_id = http("GET", live + "/api/v1/accounts/verify_credentials", token=rita).body["id"]
        assert http("POST", f"{live}/api/v1/accounts/{rita_id}/follow", token=sol, data={}).status == 200
        browser = web_login(live, "sol")
        assert signed_in_as(browser, live, "sol")
        first = http("POST", live + "/api/v1/statuses", token=rita, data={"status": "Morning swim, 14 degrees."}).body["id"]
        eventually(lambda: first in home_ids(live, sol), "the first post in sol's home")

        # The worker stops; the next post's event waits in the Redis queue, and the wipe loses it.
        kill9(worker)
        second = http("POST", live + "/api/v1/statuses", token=rita, data={"status": "Afternoon swim, warmer now."}).body["id"]
        wipe = redis.Redis.from_url(redis_url)
        assert wipe.dbsize() > 0  # the queued task, rate-limit counters, the cache
        for _ in range(2):  # again if a fixed rate-limit window happens to roll over in between
            http("GET", live + "/api/v1/timelines/home", token=sol)
            used_before, window_before = rate_used(http("GET", live + "/api/v1/timelines/home", token=sol))
            wipe.flushall()
            after = http("GET", live + "/api/v1/timelines/home", token=sol)
            used_after, window_after = rate_used(after)
            if window_after == window_before:
                break
        # Users stay signed in (sessions and tokens live in the database); rate limits start again at zero.
        assert after.status == 200 and used_before >= 2 and used_after == 1, (used_before, used_after)
        assert signed_in_as(browser, live, "sol")
        # The wipe took the queued fan-out and sol's home timeline (a Redis set) with it: the first
        # read rebuilds the timeline from the database, the post whose fan-out was lost included...
        assert home_ids(live, sol)[:2] == [second, first]
        worker = start_worker(live.env, data / "worker.log")
        assert django(live.env, SWEEP) >= 1  # ...and the sweeper runs the lost event again from its database row
        assert home_ids(live, sol)[:2] == [second, first]
        third = http("POST", live + "/api/v1/statuses", token=rita, data={"status": "Evening swim, last one."}).body["id"]
        eventually(lambda: home_ids(live, sol)[:3] == [third, second, first], "the queue working again after the wipe")
        notes = http("GET", live + "/api/v1/notifications", token=rita).body
        assert [n["type"] for n in notes] == ["follow"]
