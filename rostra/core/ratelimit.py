"""Rate limits: fixed-window counters in Redis, or in the database when there is no Redis.

One limiter for the whole instance (see docs/api-compatibility.md, "Rate limits"). A check is
``hit(rule, identity)``: it counts one request in the rule's current window and says whether the
request is within the limit, how many remain and when the window ends.

Backends: Redis (``INCR`` + ``EXPIRE`` in one round trip) when ``REDIS_URL`` is set, else
upserts on database rows, batched in each process for the per-request API rules
(``DatabaseBackend``). When Redis cannot be reached the limiter falls back to the database for
``REDIS_RETRY_S`` seconds, then tries Redis again: the limits still hold while Redis is down
(counts restart in the other store, which is at worst a window's grace).

The limits are settings (``ROSTRA_RATE_LIMITS``, parsed by ``parse_limits``), the client address
comes from ``client_ip`` (``ROSTRA_TRUSTED_PROXIES``); IPv6 clients are grouped by /64, because
one subscriber gets a whole /64.

Pure functions at the top (``parse_limits``, ``parse_networks``) are also used by the settings
loader, so this module imports Django only inside functions.
"""

from __future__ import annotations

import ipaddress
import logging
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Rule:
    name: str
    limit: int
    period_s: int


# Mastodon's and GoToSocial's numbers (../shared/SECURITY-TESTS.md E1-E3).
DEFAULT_RULES: dict[str, tuple[int, int]] = {
    "api_token": (300, 300),  # every API request, per access token
    "api_user": (1500, 300),  # every API request, per person (all their tokens)
    "api_ip": (300, 300),  # anonymous API requests, per IP (IPv6 per /64)
    "login_ip": (25, 300),  # sign-in attempts (web form and OAuth password grant), per IP
    "login_account": (25, 3600),  # failed sign-ins, per account name
    "signup_ip": (5, 1800),  # sign-ups (web and API), per IP; raise it for a surge
    "password_reset_email": (5, 1800),  # password-reset requests, per email address as typed (lower-cased)
    "media": (30, 1800),  # media uploads, per account
    "delete": (30, 1800),  # post deletions and un-reposts, per account
    "inbox_domain": (3000, 300),  # activities POSTed to the inboxes, per sending domain (E5; rostra.federation.inbox)
    "resolve": (30, 300),
    "restore": (3, 86400),  # account archives restored from the web, per account (rostra.portability.restore)  # fetching accounts and posts from other servers (search, /authorize_interaction), per account
    # Surge mode (rostra.accounts.surge.check_new_account): accounts younger than 7 days, per account,
    # only while a surge is on, on top of the limits above.
    "surge_post": (20, 1800),  # posts and replies
    "surge_follow": (40, 1800),  # follows and follow requests
    "surge_media": (10, 1800),  # media uploads
}

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
REDIS_RETRY_S = 30
KEY_PREFIX = "rl:"


def parse_limits(raw: str) -> dict[str, Rule]:
    """``"signup_ip=20/30m, api_ip=600/5m"`` (and ``scale=N`` to multiply every limit) -> rules.

    Raises ValueError with a message naming the bad part."""
    counts = dict(DEFAULT_RULES)
    scale = 1
    for part in (p.strip() for p in raw.split(",")):
        if not part:
            continue
        name, sep, value = (s.strip() for s in part.partition("="))
        if not sep:
            raise ValueError(f"{part!r} is not name=count/period")
        if name == "scale":
            if not value.isdigit() or not 1 <= int(value) <= 1_000_000:
                raise ValueError(f"scale={value!r} must be a whole number from 1 to 1000000")
            scale = int(value)
            continue
        if name not in DEFAULT_RULES:
            raise ValueError(f"{name!r} is not a rate limit; known: {', '.join(DEFAULT_RULES)}, scale")
        count, slash, period = value.partition("/")
        if not slash or not count.strip().isdigit() or int(count) < 1:
            raise ValueError(f"{part!r} needs a count of at least 1 and a period, e.g. {name}=300/5m")
        period = period.strip()
        unit = _UNITS.get(period[-1:]) if period else None
        if unit is None or not period[:-1].isdigit() or not 1 <= int(period[:-1]) * unit <= 7 * 86400:
            raise ValueError(f"{part!r}: the period must be like 30s, 5m, 1h or 1d (at most 7 days)")
        counts[name] = (int(count), int(period[:-1]) * unit)
    return {name: Rule(name, limit * scale, period) for name, (limit, period) in counts.items()}


def parse_networks(raw: str) -> tuple[str, ...]:
    """``"10.0.0.0/8, ::1"`` -> normalised networks; raises ValueError naming a bad entry."""
    out = []
    for part in (p.strip() for p in raw.split(",")):
        if part:
            try:
                out.append(str(ipaddress.ip_network(part, strict=False)))
            except ValueError:
                raise ValueError(f"{part!r} is not an IP address or network") from None
    return tuple(out)


# --- Client addresses ----------------------------------------------------------------------


def _address(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    value = value.strip()
    if value.startswith("[") and "]" in value:
        value = value[1 : value.index("]")]
    try:
        addr = ipaddress.ip_address(value.split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    return addr


def client_ip(meta: Mapping[str, Any], trusted_proxies: Iterable[str] = ()) -> str:
    """The client's address: REMOTE_ADDR, unless that is a trusted proxy; then the right-most
    address in X-Forwarded-For that is not a trusted proxy (clients can prepend anything)."""
    networks = [ipaddress.ip_network(n) for n in trusted_proxies]
    remote = _address(str(meta.get("REMOTE_ADDR", "")))
    if remote is None:
        return "unknown"

    def trusted(addr: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
        return any(addr.version == n.version and addr in n for n in networks)

    if networks and trusted(remote):
        hops = [a for a in (_address(h) for h in str(meta.get("HTTP_X_FORWARDED_FOR", "")).split(",")) if a is not None]
        for hop in reversed(hops):
            if not trusted(hop):
                return str(hop)
        if hops:
            return str(hops[0])
    return str(remote)


def ip_group(ip: str) -> str:
    """The unit an IP limit counts: the address for IPv4, the /64 for IPv6."""
    addr = _address(ip)
    if isinstance(addr, ipaddress.IPv6Address):
        return str(ipaddress.ip_network(f"{addr}/64", strict=False))
    return str(addr) if addr is not None else ip


# --- Results ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    rule: Rule
    count: int
    reset_at: float  # epoch seconds when the window ends

    @property
    def allowed(self) -> bool:
        return self.count <= self.rule.limit

    @property
    def remaining(self) -> int:
        return max(0, self.rule.limit - self.count)

    def retry_after(self, at: float | None = None) -> int:
        return max(1, int(self.reset_at - (time.time() if at is None else at) + 0.999))


class LimiterUnavailable(Exception):
    """Neither backend could count: callers decide (sign-in fails closed)."""


# --- Backends --------------------------------------------------------------------------------


class Backend(Protocol):
    name: str

    def incr(self, key: str, period_s: int, now: float, exact_from: int = 0) -> int: ...

    def peek(self, key: str, now: float) -> int: ...

    def clear(self) -> None: ...


# The rules every API request or inbox delivery is counted against. The database backend gathers
# their counts in the process and writes them in batches (see DatabaseBackend); the sign-in,
# sign-up and other low-volume rules are written at once, every time.
BATCHED_RULES = frozenset({"api_token", "api_user", "api_ip", "inbox_domain"})
FLUSH_S = 0.25  # how long a batched count may wait in a process before it is written


class DatabaseBackend:
    """One row per (rule, identity, window), counted by upserts.

    Each count written at once would make every API request a write transaction: on SQLite
    those queue behind one lock (its busy handler sleeps up to 100 ms at a time), so concurrent
    readers waited on their own rate limits. A hit therefore only adds to the process's tally,
    and the tally is written as one statement at most every ``FLUSH_S`` seconds
    (``flush``), which also brings back the totals all processes have written. A count is
    written at once, with the other pending ones, when its estimate reaches ``exact_from``
    (the limiter passes half the limit of a batched rule, and 0 for the others, so those are
    always exact).

    What a process has not written yet is missing from the others' estimates: a limit can be
    overrun by at most what the other processes counted in their last ``FLUSH_S`` seconds,
    and only below half the limit is anything estimated at all. A process that stops loses
    at most its last ``FLUSH_S`` seconds of counts.
    """

    name = "database"
    _CHUNK = 300  # rows per upsert statement (3 parameters each)

    def __init__(self, flush_s: float | None = None) -> None:
        if flush_s is None:
            from django.conf import settings

            flush_s = float(getattr(settings, "RATE_LIMIT_FLUSH_S", FLUSH_S))
        self.flush_s = flush_s
        self._lock = threading.Lock()
        self._pending: dict[str, list[int]] = {}  # key -> [count not yet written, expires_at]
        self._written: dict[str, tuple[int, int]] = {}  # key -> (total in the database when last written, expires_at)
        self._flushed_at = time.monotonic()

    def _table(self) -> str:
        from rostra.core.models import RateLimitCounter

        return RateLimitCounter._meta.db_table

    def incr(self, key: str, period_s: int, now: float, exact_from: int = 0) -> int:
        expires = int(now // period_s * period_s + period_s)
        with self._lock:
            entry = self._pending.setdefault(key, [0, expires])
            entry[0] += 1
            estimate = self._written.get(key, (0, 0))[0] + entry[0]
            due = time.monotonic() - self._flushed_at >= self.flush_s
        if estimate < exact_from and not due:
            return estimate
        self.flush(now)
        with self._lock:  # this flush's total, or another thread's if it wrote this count first
            return self._written.get(key, (0, 0))[0] + self._pending.get(key, [0, 0])[0]

    def flush(self, now: float | None = None) -> dict[str, int]:
        """Write every pending count; the totals of the keys written (all processes' counts)."""
        from django.db import connection

        at = time.time() if now is None else now
        with self._lock:
            batch, self._pending = self._pending, {}
            self._flushed_at = time.monotonic()
        if not batch:
            return {}
        table = connection.ops.quote_name(self._table())
        rows = list(batch.items())
        totals: dict[str, int] = {}
        try:
            with connection.cursor() as cur:
                for i in range(0, len(rows), self._CHUNK):
                    chunk = rows[i : i + self._CHUNK]
                    cur.execute(
                        f'INSERT INTO {table} ("key", "count", "expires_at") VALUES '  # noqa: S608 - the table name is ours
                        + ", ".join(["(%s, %s, %s)"] * len(chunk))
                        + f' ON CONFLICT ("key") DO UPDATE SET "count" = {table}."count" + excluded."count" RETURNING "key", "count"',
                        [value for key, (count, expires) in chunk for value in (key, count, expires)],
                    )
                    totals.update((str(k), int(c)) for k, c in cur.fetchall())
        except Exception:
            with self._lock:  # nothing is lost: the counts wait for the next write (those of windows still open)
                for key, (count, expires) in batch.items():
                    if expires > at:
                        self._pending.setdefault(key, [0, expires])[0] += count
            raise
        with self._lock:
            for key, total in totals.items():
                self._written[key] = (total, batch[key][1])
            for key in [k for k, (_, expires) in self._written.items() if expires <= at]:
                del self._written[key]
        # Expired windows are deleted by the minute's periodic task (pipeline.tasks), not here.
        return totals

    def peek(self, key: str, now: float) -> int:
        from rostra.core.models import RateLimitCounter

        row = RateLimitCounter.objects.filter(key=key, expires_at__gt=int(now)).values_list("count", flat=True).first()
        with self._lock:
            pending = self._pending.get(key, [0, 0])[0]
        return int(row or 0) + pending

    def prune(self, now: float | None = None) -> int:
        from rostra.core.models import RateLimitCounter

        deleted, _ = RateLimitCounter.objects.filter(expires_at__lte=int(time.time() if now is None else now)).delete()
        return deleted

    def clear(self) -> None:
        from rostra.core.models import RateLimitCounter

        self.forget()
        RateLimitCounter.objects.all().delete()

    def forget(self) -> None:
        """Drop this process's tallies (counts not yet written, totals last read)."""
        with self._lock:
            self._pending.clear()
            self._written.clear()


class RedisBackend:
    name = "redis"

    def __init__(self, url: str) -> None:
        import redis
        from django.conf import settings

        self.url = url
        self.client = redis.Redis.from_url(url, socket_connect_timeout=0.25, socket_timeout=0.5, retry_on_timeout=False)
        # The test settings give each parallel test process its own prefix, so one process's
        # reset never wipes the counters another is in the middle of checking.
        self.prefix = str(getattr(settings, "RATE_LIMIT_REDIS_PREFIX", KEY_PREFIX))

    def incr(self, key: str, period_s: int, now: float, exact_from: int = 0) -> int:
        # Always exact: one round trip to Redis costs less than keeping tallies in the process.
        pipe = self.client.pipeline(transaction=True)
        pipe.incr(self.prefix + key)
        pipe.expire(self.prefix + key, period_s + 1, nx=True)
        count, _ = pipe.execute()
        return int(count)

    def peek(self, key: str, now: float) -> int:
        value = self.client.get(self.prefix + key)
        return int(value) if value is not None else 0

    def clear(self) -> None:
        keys = list(self.client.scan_iter(match=self.prefix + "*", count=1000))
        if keys:
            self.client.delete(*keys)


class Limiter:
    """Redis first (when configured), the database when Redis is down or absent."""

    def __init__(self, redis_url: str | None) -> None:
        self.database = DatabaseBackend()
        self.redis = RedisBackend(redis_url) if redis_url else None
        self._redis_down_until = 0.0
        self._lock = threading.Lock()

    def _backends(self) -> list[Backend]:
        if self.redis is not None and time.monotonic() >= self._redis_down_until:
            return [self.redis, self.database]
        return [self.database]

    def _run(self, op: str, *args: Any) -> int:
        error: Exception | None = None
        for backend in self._backends():
            try:
                return int(getattr(backend, op)(*args))
            except Exception as exc:  # noqa: BLE001 - any backend failure moves on to the next one
                error = exc
                if backend is self.redis:
                    with self._lock:
                        self._redis_down_until = time.monotonic() + REDIS_RETRY_S
                    log.warning("rate limiter: Redis unreachable (%s); counting in the database for %ss", exc, REDIS_RETRY_S)
                else:
                    log.error("rate limiter: the database backend failed: %s", exc)
        raise LimiterUnavailable(str(error))

    @property
    def backend_name(self) -> str:
        return self._backends()[0].name

    def hit(self, rule: Rule, identity: str, *, now: float | None = None) -> Verdict:
        """Count one request against ``rule`` for ``identity``."""
        at = time.time() if now is None else now
        window = int(at // rule.period_s)
        key = f"{rule.name}:{identity}:{window}"
        exact_from = rule.limit // 2 if rule.name in BATCHED_RULES else 0
        count = self._run("incr", key, rule.period_s, at, exact_from)
        return Verdict(rule, count, (window + 1) * rule.period_s)

    def peek(self, rule: Rule, identity: str, *, now: float | None = None) -> Verdict:
        """The current count without adding to it."""
        at = time.time() if now is None else now
        window = int(at // rule.period_s)
        count = self._run("peek", f"{rule.name}:{identity}:{window}", at)
        return Verdict(rule, count, (window + 1) * rule.period_s)

    def reset(self) -> None:
        """Forget every count (tests; `rostra` admins after a false alarm)."""
        self._redis_down_until = 0.0
        for backend in (self.redis, self.database):
            if backend is not None:
                try:
                    backend.clear()
                except Exception as exc:  # noqa: BLE001 - a store that is down has nothing to clear
                    log.info("rate limiter: could not clear %s: %s", backend.name, exc)


_limiters: dict[str | None, Limiter] = {}


def limiter() -> Limiter:
    """The limiter for the configured REDIS_URL (one per process)."""
    from django.conf import settings

    url = settings.ROSTRA.redis_url
    found = _limiters.get(url)
    if found is None:
        found = _limiters.setdefault(url, Limiter(url))
    return found


_rules_cache: dict[str, dict[str, Rule]] = {}


def rules() -> dict[str, Rule]:
    """The configured rules (``ROSTRA_RATE_LIMITS`` over the defaults)."""
    from django.conf import settings

    raw = str(getattr(settings.ROSTRA, "rate_limits", "") or "")
    found = _rules_cache.get(raw)
    if found is None:
        found = _rules_cache.setdefault(raw, parse_limits(raw))
    return found


def reset_all(*, database: bool = True) -> None:
    """Forget every counter in every limiter of this process, and every Redis outage.
    ``database=False`` leaves the database rows alone (a test's transaction rolls them back)."""
    for lim in list(_limiters.values()):
        if database:
            lim.reset()
            continue
        lim._redis_down_until = 0.0
        lim.database.forget()
        if lim.redis is not None:
            try:
                lim.redis.clear()
            except Exception as exc:  # noqa: BLE001 - a store that is down has nothing to clear
                log.info("rate limiter: could not clear redis: %s", exc)
