"""Rate limits (SECURITY-TESTS E1-E4): headers, 429s, keys, proxies, and the Redis/database backends."""

from __future__ import annotations

import dataclasses
import socket
from datetime import datetime

import pytest
from django.test import Client

from rostra.api.throttle import RateLimitMiddleware
from rostra.core import ratelimit
from rostra.core.models import RateLimitCounter
from rostra.testing.world import PASSWORD
from tests.api.conftest import bearer

REDIS_URL = "redis://127.0.0.1:6379/14"  # a database of its own: tests clear its rl:* keys


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.3):
            return True
    except OSError:
        return False


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # nothing listens once the socket is closed


@pytest.fixture
def limits(settings):
    """Set ROSTRA_RATE_LIMITS (and other RostraSettings fields) for this test."""

    def apply(raw: str = "", **fields: object) -> None:
        # The database backend unless a test names a Redis: with `make test`'s shared Redis,
        # another worker's reset between two requests would make counting tests flaky.
        fields.setdefault("redis_url", None)
        settings.ROSTRA = dataclasses.replace(settings.ROSTRA, rate_limits=raw, **fields)

    return apply


def anon(ip: str = "127.0.0.1", **headers: str) -> Client:
    return Client(REMOTE_ADDR=ip, headers=headers)


# --- E1: the API limits -------------------------------------------------------------------------


def test_e1_api_throttle_headers_on_every_api_response(db, limits):
    limits("")
    r = anon().get("/api/v1/instance")
    assert r.status_code == 200
    assert r["X-RateLimit-Limit"] == "300"
    assert r["X-RateLimit-Remaining"] == "299"
    reset = datetime.fromisoformat(r["X-RateLimit-Reset"].replace("Z", "+00:00"))
    assert reset.tzinfo is not None and 0 < (reset - datetime.now(reset.tzinfo)).total_seconds() <= 300
    r = anon().get("/api/v1/instance")
    assert r["X-RateLimit-Remaining"] == "298"
    # Errors carry them too; web pages do not count at all.
    assert "X-RateLimit-Limit" in anon().get("/api/v1/statuses/1").headers
    assert "X-RateLimit-Limit" not in anon().get("/about").headers


def test_e1_anonymous_limit_answers_429_with_retry_after_and_loopback_is_not_exempt(db, limits):
    limits("api_ip=3/5m")
    for remaining in ("2", "1", "0"):
        r = anon().get("/api/v1/instance")
        assert r.status_code == 200 and r["X-RateLimit-Remaining"] == remaining
    r = anon().get("/api/v1/instance")
    assert r.status_code == 429
    assert r.json() == {"error": "Too many requests"}
    assert 1 <= int(r["Retry-After"]) <= 300
    assert r["X-RateLimit-Limit"] == "3" and r["X-RateLimit-Remaining"] == "0"
    # Another address is counted apart.
    assert anon("192.0.2.7").get("/api/v1/instance").status_code == 200


def test_e1_per_token_and_per_user_limits_are_apart_from_the_ip(world, password_token, limits):
    limits("api_ip=4/5m,api_token=3/5m,api_user=5/5m")  # registering each app counts as anonymous
    first, second = password_token(world.alice, "read"), password_token(world.alice, "read")
    for _ in range(3):
        r = bearer(first).get("/api/v1/accounts/verify_credentials")
        assert r.status_code == 200 and r["X-RateLimit-Limit"] == "3"
    assert bearer(first).get("/api/v1/accounts/verify_credentials").status_code == 429
    # The same person's other token has a token budget of its own, but shares the person's 5
    # (refused requests count too, as in Mastodon: 4 used so far).
    r = bearer(second).get("/api/v1/accounts/verify_credentials")
    assert r.status_code == 200 and r["X-RateLimit-Remaining"] == "0"  # 5 of the user's 5 used
    assert bearer(second).get("/api/v1/accounts/verify_credentials").status_code == 429
    # Someone else, and anonymous readers from the same address, are unaffected.
    assert bearer(password_token(world.bob, "read")).get("/api/v1/accounts/verify_credentials").status_code == 200
    assert anon().get("/api/v1/instance").status_code == 200


def test_e1_an_unknown_token_counts_against_the_address(db, limits):
    limits("api_ip=2/5m")
    bad = bearer("not-a-token")
    assert bad.get("/api/v1/accounts/verify_credentials").status_code == 401
    assert bad.get("/api/v1/accounts/verify_credentials").status_code == 401
    assert bad.get("/api/v1/accounts/verify_credentials").status_code == 429


def test_e1_ipv6_clients_are_grouped_by_64(db, limits):
    limits("api_ip=2/5m")
    assert anon("2001:db8:1:2::1").get("/api/v1/instance").status_code == 200
    assert anon("2001:db8:1:2:ffff::9").get("/api/v1/instance").status_code == 200
    assert anon("2001:db8:1:2::abcd").get("/api/v1/instance").status_code == 429  # same /64
    assert anon("2001:db8:1:3::1").get("/api/v1/instance").status_code == 200  # the next /64
    assert ratelimit.ip_group("::ffff:192.0.2.1") == "192.0.2.1"
    assert ratelimit.ip_group("2001:db8::1") == "2001:db8::/64"


def test_e1_forwarded_for_is_believed_only_from_a_trusted_proxy(db, limits):
    limits("api_ip=1/5m", trusted_proxies=("10.0.0.0/8",))
    proxy = "10.1.2.3"
    assert anon(proxy, **{"X-Forwarded-For": "198.51.100.1"}).get("/api/v1/instance").status_code == 200
    assert anon(proxy, **{"X-Forwarded-For": "198.51.100.2"}).get("/api/v1/instance").status_code == 200
    # A client cannot choose its address by prepending to the header: the right-most untrusted hop counts.
    assert anon(proxy, **{"X-Forwarded-For": "203.0.113.9, 198.51.100.1"}).get("/api/v1/instance").status_code == 429
    # From an untrusted address the header is ignored: rotating it does not help.
    assert anon("192.0.2.50", **{"X-Forwarded-For": "198.51.100.3"}).get("/api/v1/instance").status_code == 200
    assert anon("192.0.2.50", **{"X-Forwarded-For": "198.51.100.4"}).get("/api/v1/instance").status_code == 429
    meta = {"REMOTE_ADDR": "10.0.0.1", "HTTP_X_FORWARDED_FOR": "198.51.100.7, 10.0.0.2"}
    assert ratelimit.client_ip(meta, ("10.0.0.0/8",)) == "198.51.100.7"
    assert ratelimit.client_ip(meta, ()) == "10.0.0.1"


# --- E2: sign-in ----------------------------------------------------------------------------------


def _web_login(username: str, password: str, ip: str = "127.0.0.1") -> int:
    return anon(ip).post("/login", {"username": username, "password": password}).status_code


def _grant(app, username: str, password: str, ip: str = "127.0.0.1") -> int:
    return anon(ip).post(
        "/oauth/token",
        {"grant_type": "password", "username": username, "password": password, "scope": "read",
         "client_id": app.client_id, "client_secret": app.client_secret},
    ).status_code


def test_e2_login_bruteforce_per_ip_counts_web_and_oauth_together(world, register, limits):
    app = register()
    limits("login_ip=4/5m")
    assert _web_login("nobody", "wrong") == 400
    assert _grant(app, "nobody2", "wrong") in (400, 401)
    assert _web_login("nobody3", "wrong") == 400
    assert _grant(app, "alice", PASSWORD) == 200
    r = anon().post("/login", {"username": "alice", "password": PASSWORD})
    assert r.status_code == 429 and "text/html" in r["Content-Type"] and "Slow down" in r.content.decode()
    assert int(r["Retry-After"]) > 0
    r = anon().post("/oauth/token", {"grant_type": "password", "username": "alice", "password": PASSWORD,
                                     "client_id": app.client_id, "client_secret": app.client_secret})
    assert r.status_code == 429 and "error" in r.json()
    # Another network is not locked out; other grants are not sign-ins.
    assert _web_login("alice", PASSWORD, ip="192.0.2.8") == 302
    r = anon().post("/oauth/token", {"grant_type": "client_credentials", "client_id": app.client_id, "client_secret": app.client_secret})
    assert r.status_code == 200


def test_e2_failed_sign_ins_per_account_lock_that_account_from_everywhere(world, register, limits):
    app = register()
    limits("login_account=3/1h")
    assert _web_login("bob", PASSWORD) == 302  # a success does not count
    assert _web_login("alice", "wrong-1", ip="192.0.2.1") == 400
    assert _grant(app, "ALICE", "wrong-2", ip="192.0.2.2") in (400, 401)
    assert _web_login("alice", "wrong-3", ip="192.0.2.3") == 400
    # Now even the right password from a fresh address waits, on both doors.
    assert _web_login("alice", PASSWORD, ip="192.0.2.4") == 429
    assert _grant(app, "alice", PASSWORD, ip="192.0.2.5") == 429
    assert _web_login("bob", PASSWORD, ip="192.0.2.4") == 302  # other accounts are not affected


# --- E3: sign-up, uploads, deletions --------------------------------------------------------------


def test_e3_sign_up_per_ip(db, limits):
    limits("signup_ip=2/30m")
    for n in range(2):
        r = anon().post("/signup", {"username": f"newbie{n}", "email": f"newbie{n}@example.org", "password": "a long password 123"})
        assert r.status_code != 429
    r = anon().post("/signup", {"username": "newbie9", "email": "newbie9@example.org", "password": "a long password 123"})
    assert r.status_code == 429 and "Slow down" in r.content.decode()
    # The API's registration shares the budget.
    assert anon().post("/api/v1/accounts", {"username": "apinewbie"}).status_code == 429
    assert anon("192.0.2.9").post("/signup", {"username": "other", "email": "o@example.org", "password": "x"}).status_code != 429


def test_e3_sign_up_limit_is_a_setting_for_surge_mode(db, limits):
    limits("signup_ip=50/30m")
    assert ratelimit.rules()["signup_ip"].limit == 50
    limits("scale=10")
    assert ratelimit.rules()["signup_ip"].limit == 50 and ratelimit.rules()["api_ip"].limit == 3000


def test_e3_media_uploads_and_deletes_per_account(world, password_token, limits):
    limits("media=2/30m,delete=2/30m")
    client = bearer(password_token(world.alice, "read write"))
    for _ in range(2):
        assert client.post("/api/v2/media", {}).status_code != 429  # refused for lack of a file, still counted
    r = client.post("/api/v1/media", {})
    assert r.status_code == 429 and r.json() == {"error": "Too many requests"} and r["Retry-After"]
    for _ in range(2):
        assert client.delete("/api/v1/statuses/123").status_code != 429
    assert client.delete("/api/v1/statuses/123").status_code == 429
    # Bob's budget is his own.
    assert bearer(password_token(world.bob, "read write")).delete("/api/v1/statuses/123").status_code != 429


def test_e3_web_deletes_count_too(world, client_for, limits):
    limits("delete=1/30m")
    c = client_for(world.alice)
    assert c.post("/posts/1/delete").status_code != 429
    assert c.post("/posts/2/delete").status_code == 429


# --- E4: the backends -----------------------------------------------------------------------------


def test_database_backend_counts_in_rows(db, limits):
    limits("api_ip=2/5m", redis_url=None)
    anon("198.51.100.20").get("/api/v1/instance")
    assert ratelimit.limiter().backend_name == "database"
    row = RateLimitCounter.objects.get(key__startswith="api_ip:198.51.100.20:")
    assert row.count == 1
    anon("198.51.100.20").get("/api/v1/instance")
    row.refresh_from_db()
    assert row.count == 2


def test_expired_windows_are_pruned_by_the_periodic_task_not_by_requests(db, limits):
    from rostra.pipeline.tasks import prune_rate_limits_task

    limits("api_ip=6/5m", redis_url=None)
    RateLimitCounter.objects.create(key="api_ip:198.51.100.21:1", count=7, expires_at=1)
    for _ in range(3):
        anon("198.51.100.21").get("/api/v1/instance")
    assert RateLimitCounter.objects.filter(expires_at=1).exists()  # requests never delete
    prune_rate_limits_task.call_local()
    assert not RateLimitCounter.objects.filter(expires_at=1).exists()
    assert RateLimitCounter.objects.get(key__startswith="api_ip:198.51.100.21:").count == 3


def test_database_counts_of_api_requests_are_batched_below_half_the_limit(db, limits):
    limits("api_ip=40/5m", redis_url=None)
    ip = "198.51.100.22"
    lim = ratelimit.limiter()
    lim.database.flush_s = 3600.0  # only the half-limit rule writes in this test
    for n in range(1, 20):
        r = anon(ip).get("/api/v1/instance")
        assert r.status_code == 200 and r["X-RateLimit-Remaining"] == str(40 - n)
    assert not RateLimitCounter.objects.filter(key__startswith=f"api_ip:{ip}:").exists()  # no write per request
    anon(ip).get("/api/v1/instance")  # the 20th reaches half the limit: written, with the rest
    assert RateLimitCounter.objects.get(key__startswith=f"api_ip:{ip}:").count == 20
    for _ in range(20):
        assert anon(ip).get("/api/v1/instance").status_code == 200
    assert anon(ip).get("/api/v1/instance").status_code == 429  # the limit itself is exact
    # Sign-in rules are never batched: every attempt is a row at once.
    _web_login("nobody", "x", ip=ip)
    assert RateLimitCounter.objects.get(key__startswith=f"login_ip:{ip}:").count == 1


def test_batched_counts_of_two_processes_add_up_before_the_limit(db):
    from django.db import transaction

    one, two = ratelimit.DatabaseBackend(flush_s=3600.0), ratelimit.DatabaseBackend(flush_s=3600.0)
    now, key = 1_000_000.0, "api_user:7:3333"
    assert [one.incr(key, 300, now, exact_from=10) for _ in range(4)] == [1, 2, 3, 4]
    assert [two.incr(key, 300, now, exact_from=10) for _ in range(3)] == [1, 2, 3]
    assert not RateLimitCounter.objects.exists()
    assert two.peek(key, now) == 3  # its own tally
    assert [one.incr(key, 300, now, exact_from=10) for _ in range(6)] == [5, 6, 7, 8, 9, 10]  # the 10th is written
    assert RateLimitCounter.objects.get(key=key).count == 10
    assert two.flush(now) == {key: 13}
    assert one.incr(key, 300, now, exact_from=10) == 14  # near the limit, the other process's counts are in
    # A write that fails loses nothing: the counts wait for the next one.
    three = ratelimit.DatabaseBackend(flush_s=3600.0)
    three.incr("api_user:8:3333", 300, now, exact_from=100)
    three.incr("api_user:8:3333", 300, now, exact_from=100)
    table = three._table
    three._table = lambda: "no_such_table"  # type: ignore[method-assign]
    with pytest.raises(Exception), transaction.atomic():  # noqa: B017 - whichever error the database raises
        three.flush(now)
    three._table = table  # type: ignore[method-assign]
    assert three.flush(now) == {"api_user:8:3333": 2}
    # With no wait allowed, every count is written as it comes.
    four = ratelimit.DatabaseBackend(flush_s=0.0)
    assert four.incr("api_user:9:3333", 300, now, exact_from=100) == 1
    assert RateLimitCounter.objects.get(key="api_user:9:3333").count == 1


@pytest.mark.skipif(not _redis_up(), reason="no Redis on 127.0.0.1:6379")
def test_redis_backend_holds_the_limit(db, limits):
    limits("api_ip=2/5m", redis_url=REDIS_URL)
    ip = "198.51.100.30"
    assert anon(ip).get("/api/v1/instance").status_code == 200
    lim = ratelimit.limiter()
    assert lim.backend_name == "redis" and lim.redis is not None
    assert any(lim.redis.client.scan_iter(match=f"{lim.redis.prefix}api_ip:{ip}:*"))
    assert not RateLimitCounter.objects.exists()  # nothing in the database
    assert anon(ip).get("/api/v1/instance").status_code == 200
    assert anon(ip).get("/api/v1/instance").status_code == 429


def test_e4_limiter_down_falls_back_to_the_database(db, limits):
    limits("api_ip=2/5m,login_ip=1/5m", redis_url=f"redis://127.0.0.1:{_closed_port()}/0")
    ip = "198.51.100.40"
    assert anon(ip).get("/api/v1/instance").status_code == 200
    assert ratelimit.limiter().backend_name == "database"  # Redis is remembered as down for a while
    assert anon(ip).get("/api/v1/instance").status_code == 200
    r = anon(ip).get("/api/v1/instance")
    assert r.status_code == 429 and r["X-RateLimit-Limit"] == "2"
    assert RateLimitCounter.objects.filter(key__startswith=f"api_ip:{ip}:").get().count == 3
    # Sign-in limits hold as well.
    assert _web_login("nobody", "x", ip=ip) == 400
    assert _web_login("nobody", "x", ip=ip) == 429


def test_e4_sign_in_fails_closed_when_no_store_can_count(db, limits):
    class Broken(ratelimit.Limiter):
        def _run(self, op, *args):
            raise ratelimit.LimiterUnavailable("no store")

    limits("", redis_url=None)
    ratelimit._limiters[None] = Broken(None)
    try:
        r = anon().post("/login", {"username": "alice", "password": PASSWORD})
        assert r.status_code == 503 and r["Retry-After"]
        # The general API limit fails open: reading goes on.
        assert anon().get("/api/v1/instance").status_code == 200
    finally:
        del ratelimit._limiters[None]


def test_settings_parse_and_refuse_nonsense():
    rules = ratelimit.parse_limits("api_ip=600/5m, signup_ip=20/1h")
    assert rules["api_ip"] == ratelimit.Rule("api_ip", 600, 300)
    assert rules["signup_ip"] == ratelimit.Rule("signup_ip", 20, 3600)
    assert rules["api_token"] == ratelimit.Rule("api_token", 300, 300)  # defaults kept
    for bad in ("api_ip", "api_ip=0/5m", "api_ip=5/5y", "nope=1/1m", "scale=0", "api_ip=5/30d"):
        with pytest.raises(ValueError):
            ratelimit.parse_limits(bad)
    assert ratelimit.parse_networks("10.0.0.0/8, ::1") == ("10.0.0.0/8", "::1/128")
    assert RateLimitMiddleware is not None
