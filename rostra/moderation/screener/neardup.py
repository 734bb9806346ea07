"""Stage 0, part 3: near-duplicate detection for spam waves.

Each post long enough to judge is reduced to a MinHash signature (64 values) of its character
5-gram shingles, after @mentions are dropped (a wave usually mentions different victims) and
spaces collapsed. An LSH index of 16 bands x 4 rows finds candidates whose estimated Jaccard
similarity is then checked against ``threshold`` (0.6 by default: two posts that differ by a link
or a few words still match).

The index is in memory, bounded and time-windowed: entries older than ``window_seconds`` or beyond
``max_entries`` are evicted oldest first (a band bucket holds one entry id, or a deque of them in
insertion order once a second arrives, so eviction is O(bands)). An entry costs ~2 KB: an hour's
soak found the first layout (a deque per bucket, ~9.4 KB an entry) growing each web worker by
~100 MB an hour at 3 posts/s, and up to ~470 MB at the 50,000-entry bound. ``check(...)`` answers how many near-duplicates were seen in the window and
from how many distinct authors, then remembers the post. It is thread-safe. That index is for one
process (the embedded default); with ``REDIS_URL`` every web process shares one
``RedisNearDuplicateIndex`` instead (the same bands as Redis keys living as long as the window).
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
from collections import deque
from dataclasses import dataclass
from itertools import islice
from typing import Any

import numpy as np
from redis.exceptions import RedisError

from .features import substring_hashes, text_codes

log = logging.getLogger(__name__)
_MENTION = re.compile(r"(?<![\w@])@\w+(?:@[\w-]+(?:\.[\w-]+)+)?")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class NearDuplicates:
    count: int  # near-duplicates seen within the window (the post itself not included)
    authors: int  # distinct author keys among them


NONE = NearDuplicates(0, 0)


class NearDuplicateIndex:
    def __init__(
        self,
        *,
        num_perm: int = 64,
        bands: int = 16,
        threshold: float = 0.6,
        window_seconds: float = 3600.0,
        max_entries: int = 50_000,
        shingle: int = 5,
        min_chars: int = 20,
        max_candidates: int = 2000,
        seed: int = 1,
    ) -> None:
        if num_perm % bands:
            raise ValueError("num_perm must be a multiple of bands")
        self.num_perm, self.bands, self.rows = num_perm, bands, num_perm // bands
        self.threshold = threshold
        self.window_seconds = window_seconds
        self.max_entries = max_entries
        self.shingle = shingle
        self.min_chars = min_chars
        self.max_candidates = max_candidates
        rng = np.random.default_rng(seed)
        self._a = rng.integers(1, 2**63, size=num_perm, dtype=np.uint64) | np.uint64(1)
        self._b = rng.integers(0, 2**63, size=num_perm, dtype=np.uint64)
        self._lock = threading.Lock()
        self._next_id = 0
        self._order: deque[int] = deque()
        # entry id -> (time, author key); its signature is row ``id % max_entries`` of the ring below
        self._entries: dict[int, tuple[float, str | None]] = {}
        # Signatures live in a ring buffer indexed by entry id modulo capacity, so a wave's
        # candidates are compared in one vectorised step.
        self._signatures = np.zeros((max_entries, num_perm), dtype=np.uint32)
        # band key -> the one entry id in that bucket, or a deque of ids (oldest first)
        self._buckets: list[dict[bytes, int | deque[int]]] = [{} for _ in range(bands)]

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        """Forget every post seen (a policy reload, or isolation between tests)."""
        with self._lock:
            self._order.clear()
            self._entries.clear()
            self._buckets = [{} for _ in range(self.bands)]

    def signature(self, normalised: str) -> np.ndarray | None:
        text = _SPACES.sub(" ", _MENTION.sub(" ", normalised)).strip()
        if len(text) < self.min_chars:
            return None
        codes = text_codes(text[:4000])
        starts = np.arange(len(codes) - self.shingle + 1)
        shingles = substring_hashes(codes, starts, starts + self.shingle)
        # Universal hashing a·x + b (mod 2**64), top 32 bits, minimum per permutation.
        mixed = (shingles[:, None] * self._a[None, :] + self._b[None, :]) >> np.uint64(32)
        return mixed.min(axis=0).astype(np.uint32)

    def check(
        self, normalised: str, *, author_key: str | None = None, now: float | None = None, remember: bool = True
    ) -> NearDuplicates:
        sig = self.signature(normalised)
        if sig is None:
            return NONE
        now = time.time() if now is None else now
        raw = sig.tobytes()
        width = 4 * self.rows  # bytes per band (uint32 values)
        keys = tuple(raw[b * width : (b + 1) * width] for b in range(self.bands))
        with self._lock:
            self._evict(now)
            candidates: set[int] = set()
            for band, key in enumerate(keys):
                bucket = self._buckets[band].get(key)
                if isinstance(bucket, int):
                    candidates.add(bucket)
                elif bucket:
                    candidates.update(islice(reversed(bucket), self.max_candidates))  # the newest
            result = NONE
            if candidates:
                ids = np.array(sorted(candidates)[-self.max_candidates :], dtype=np.int64)
                sigs = self._signatures[ids % self.max_entries]
                near = ids[np.count_nonzero(sigs == sig[None, :], axis=1) >= self.threshold * self.num_perm]
                authors = {a for i in near.tolist() if (a := self._entries[i][1]) is not None}
                result = NearDuplicates(len(near), len(authors))
            if remember:
                self._add(now, author_key, sig, keys)
        return result

    def _add(self, now: float, author_key: str | None, sig: np.ndarray, keys: tuple[bytes, ...]) -> None:
        # Make room first: the oldest entry's signature is still in the ring slot the new one takes.
        while len(self._order) >= self.max_entries:
            self._drop_oldest()
        entry_id = self._next_id
        self._next_id += 1
        self._entries[entry_id] = (now, author_key)
        self._signatures[entry_id % self.max_entries] = sig
        self._order.append(entry_id)
        for band, key in enumerate(keys):
            buckets = self._buckets[band]
            bucket = buckets.get(key)
            if bucket is None:
                buckets[key] = entry_id
            elif isinstance(bucket, int):
                buckets[key] = deque((bucket, entry_id))
            else:
                bucket.append(entry_id)

    def _band_keys(self, entry_id: int) -> list[bytes]:
        raw = self._signatures[entry_id % self.max_entries].tobytes()
        width = 4 * self.rows
        return [raw[b * width : (b + 1) * width] for b in range(self.bands)]

    def _evict(self, now: float) -> None:
        horizon = now - self.window_seconds
        while self._order and self._entries[self._order[0]][0] < horizon:
            self._drop_oldest()

    def _drop_oldest(self) -> None:
        entry_id = self._order.popleft()
        del self._entries[entry_id]
        for band, key in enumerate(self._band_keys(entry_id)):
            buckets = self._buckets[band]
            bucket = buckets[key]
            if isinstance(bucket, int):
                del buckets[key]
                continue
            # Buckets are in insertion order, so the oldest entry is at the left.
            if bucket[0] == entry_id:
                bucket.popleft()
            else:
                bucket.remove(entry_id)
            if len(bucket) == 1:
                buckets[key] = bucket[0]
            elif not bucket:
                del buckets[key]


class RedisNearDuplicateIndex(NearDuplicateIndex):
    """The same index kept in Redis, so every web process sees the same wave (``REDIS_URL``).

    Signatures are computed as in memory; each LSH band bucket is a sorted set of entry ids scored
    by arrival time, each entry (signature and author key) a string, all with the window as their
    TTL, so Redis forgets old posts by itself. ``max_entries`` bounds the live entries (oldest
    dropped first). ``clear()`` starts a new generation of keys (the old ones expire). When Redis
    cannot be reached the check answers "no near-duplicates" and logs it: the other stages of
    screening still apply, and posting does not stop.
    """

    def __init__(self, client: Any, *, prefix: str = "rostra:nd", **options: Any) -> None:
        super().__init__(**{**options, "max_entries": 1})  # the in-memory ring buffer is unused
        self.max_entries = int(options.get("max_entries", 50_000))
        self.client = client
        self.prefix = prefix
        self._script = client.register_script(_CHECK_SCRIPT)

    def _ns(self) -> str:
        generation = self.client.get(f"{self.prefix}:gen")
        return f"{self.prefix}:{int(generation or 0)}"

    def _ttl(self) -> int:
        return max(1, math.ceil(self.window_seconds))

    def __len__(self) -> int:
        try:
            ns = self._ns()
            self.client.zremrangebyscore(f"{ns}:entries", "-inf", f"({time.time() - self.window_seconds}")
            return int(self.client.zcard(f"{ns}:entries"))
        except RedisError:
            return 0

    def clear(self) -> None:
        try:
            self.client.incr(f"{self.prefix}:gen")
            self.client.expire(f"{self.prefix}:gen", 30 * 24 * 3600)
        except RedisError as exc:
            log.warning("near-duplicate index unavailable (%s): not cleared", exc)

    def check(
        self, normalised: str, *, author_key: str | None = None, now: float | None = None, remember: bool = True
    ) -> NearDuplicates:
        sig = self.signature(normalised)
        if sig is None:
            return NONE
        now = time.time() if now is None else now
        try:
            return self._check(sig, author_key, now, remember)
        except RedisError as exc:
            log.warning("near-duplicate index unavailable (%s): spam-wave detection skipped for this post", exc)
            return NONE

    def _check(self, sig: np.ndarray, author_key: str | None, now: float, remember: bool) -> NearDuplicates:
        raw = sig.tobytes()
        width = 4 * self.rows
        bands = [raw[band * width : (band + 1) * width].hex() for band in range(self.bands)]
        # One round trip: the script finds the candidates' stored signatures and remembers this post.
        values = self._script(
            args=[
                self.prefix,
                repr(float(now)),
                repr(float(now - self.window_seconds)),
                self.max_candidates,
                self._ttl(),
                "1" if remember else "0",
                raw + (author_key or "").encode(),
                self.max_entries,
                self.bands,
                *bands,
            ]
        )
        stored = [v for v in values or () if v and len(v) >= 4 * self.num_perm]
        if not stored:
            return NONE
        size = 4 * self.num_perm
        sigs = np.frombuffer(b"".join(v[:size] for v in stored), dtype=np.uint32).reshape(len(stored), self.num_perm)
        close = np.count_nonzero(sigs == sig[None, :], axis=1) >= self.threshold * self.num_perm
        near = [v for v, ok in zip(stored, close.tolist(), strict=True) if ok]
        authors = {a for v in near if (a := v[size:].decode())}
        return NearDuplicates(len(near), len(authors))


# The Redis side of RedisNearDuplicateIndex.check, atomic and in one round trip. Keys live under
# <prefix>:<generation>: b:<band>:<hex> (sorted sets of entry ids by time), e:<id> (signature +
# author key), seq (entry ids), entries (live ids by time, for the bound). One Redis, not a cluster.
_CHECK_SCRIPT = """
local prefix, now, horizon = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local maxc, ttl, remember = tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6] == "1"
local value, maxe, nbands = ARGV[7], tonumber(ARGV[8]), tonumber(ARGV[9])
local ns = prefix .. ":" .. (redis.call("GET", prefix .. ":gen") or "0")
local seen, ids = {}, {}
for i = 1, nbands do
  local key = ns .. ":b:" .. (i - 1) .. ":" .. ARGV[9 + i]
  redis.call("ZREMRANGEBYSCORE", key, "-inf", "(" .. horizon)
  for _, id in ipairs(redis.call("ZREVRANGEBYSCORE", key, "+inf", horizon, "LIMIT", 0, maxc)) do
    if not seen[id] then
      seen[id] = true
      ids[#ids + 1] = tonumber(id)
    end
  end
end
table.sort(ids)
local keys = {}
for j = math.max(1, #ids - maxc + 1), #ids do
  keys[#keys + 1] = ns .. ":e:" .. ids[j]
end
local values = {}
if #keys > 0 then
  values = redis.call("MGET", unpack(keys))
end
if remember then
  local id = redis.call("INCR", ns .. ":seq")
  redis.call("EXPIRE", ns .. ":seq", ttl)
  redis.call("SET", ns .. ":e:" .. id, value, "EX", ttl)
  for i = 1, nbands do
    local key = ns .. ":b:" .. (i - 1) .. ":" .. ARGV[9 + i]
    redis.call("ZADD", key, now, id)
    redis.call("ZREMRANGEBYRANK", key, 0, -(maxc + 1))
    redis.call("EXPIRE", key, ttl)
  end
  local live_key = ns .. ":entries"
  redis.call("ZADD", live_key, now, id)
  redis.call("ZREMRANGEBYSCORE", live_key, "-inf", "(" .. horizon)
  redis.call("EXPIRE", live_key, ttl)
  local live = redis.call("ZCARD", live_key)
  if live > maxe then
    local dropped = redis.call("ZPOPMIN", live_key, live - maxe)
    for k = 1, #dropped, 2 do
      redis.call("DEL", ns .. ":e:" .. dropped[k])
    end
  end
end
return values
"""
