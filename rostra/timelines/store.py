"""Where home timelines live: one interface, two backends chosen by the settings.

* ``DatabaseStore`` (SQLite, and PostgreSQL without Redis): ``HomeEntry`` rows, one per post per
  owner, written with plain bulk inserts (no model objects) and read by joining them to the door.
* ``RedisStore`` (``REDIS_URL`` set): Mastodon's design, one sorted set per owner capped at
  ``ROSTRA_HOME_MAX_ITEMS``, written with ZADD + ZREMRANGEBYRANK in pipelines. Members are post
  ids as zero-padded 19-digit strings, all with score 0, and pages are read with
  ZREVRANGEBYLEX/ZRANGEBYLEX: a Redis score is a double, exact only up to 2^53, and Rostra's ids
  have 63 bits, so ordering by score would misorder posts written in the same few milliseconds.
  Lexical order of fixed-width digits is exactly id order. A sentinel member ``~`` (sorting after
  every digit) marks a set as complete; a set without it (never built, evicted, or only written
  by fan-out since) is rebuilt from the database on the next read, under a short lock so
  concurrent reads rebuild once.

A store entry is an index, never a permission: every read still goes through the visibility
door (``rostra.timelines.queries.home``).
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q

from rostra.accounts.models import Block, Follow
from rostra.accounts.policies import active_mutes
from rostra.core.prepared import Prepared
from rostra.posts.models import VISIBLE_STATES, Mention, ModerationState, Post, Visibility
from rostra.timelines.models import FollowedTag, HomeEntry

assert HomeEntry._meta.db_table == "timelines_homeentry"  # named in the raw inserts below
SENTINEL = "~"  # sorts after every digit: the set is complete (built from the database)
WIDTH = 19  # digits of the largest 63-bit id
INSERT_BATCH = 5000  # rows per INSERT statement / keys per Redis round trip
LOCK_MS = 10_000
SCRIPT_KEYS = 1000  # keys per call of ADD_SCRIPT
ADD_SCRIPT = """
for i = 1, #KEYS do
  redis.call('ZADD', KEYS[i], 0, ARGV[1])
  redis.call('ZREMRANGEBYRANK', KEYS[i], 0, tonumber(ARGV[2]))
end
return #KEYS
"""
# Which of these keys hold a member (1-based positions in KEYS): ``owners_of`` asks it of a batch
# of keys per call, as ADD_SCRIPT writes them, rather than one ZSCORE command per owner.
HOLDERS_SCRIPT = """
local found = {}
for i = 1, #KEYS do
  if redis.call('ZSCORE', KEYS[i], ARGV[1]) then
    found[#found + 1] = i
  end
end
return found
"""
WAIT_S = 5.0


def member(post_id: int) -> str:
    return f"{post_id:0{WIDTH}d}"


class HomeStore(Protocol):
    name: str

    def add(self, post_id: int, owner_ids: Sequence[int]) -> None: ...
    def add_many(self, owner_id: int, post_ids: Sequence[int]) -> None: ...
    def remove_posts(self, post_ids: Sequence[int], owner_ids: Iterable[int] | None = None) -> None: ...
    def remove_author(self, owner_id: int, author_id: int) -> None: ...
    def has(self, owner_id: int, post_id: int) -> bool: ...
    def owners_of(self, post_id: int, candidates: Iterable[int]) -> set[int]: ...
    def page_ids(
        self, owner_id: int, *, max_id: int | None, min_id: int | None, since_id: int | None, count: int
    ) -> list[int]: ...
    def clear(self, owner_id: int) -> None: ...
    def count(self, owner_ids: Sequence[int]) -> int: ...
    def mark_complete(self, owner_id: int) -> None: ...
    def prepare(self, owner_id: int) -> None: ...


def max_items() -> int:
    return int(getattr(settings.ROSTRA, "home_max_items", 800))


def rebuild_ids(owner_id: int, limit: int, upto: int | None = None) -> list[int]:
    """The newest posts an owner's home would hold, as fan-out on write puts them there
    (``rostra.timelines.actions._recipients``): their own; those of the accounts they follow, not
    direct (reposts only from those whose reposts they show, replies only to themselves or to
    someone they follow); private and direct posts that mention them; public posts with a hashtag
    they follow (published, not reposts, not mentioning someone they block or mute)."""
    follows = Follow.objects.filter(follower_id=owner_id)
    following = follows.values("target_id")
    from_followed = (
        Q(author_id__in=following)
        & ~Q(visibility=Visibility.DIRECT)
        & ~(Q(repost_of__isnull=False) & Q(author_id__in=follows.filter(show_reposts=False).values("target_id")))
        & (Q(in_reply_to_account__isnull=True) | Q(in_reply_to_account_id=owner_id) | Q(in_reply_to_account_id__in=following))
    )
    mentioning = Q(pk__in=Mention.objects.filter(account_id=owner_id).values("post_id"), visibility__in=(Visibility.PRIVATE, Visibility.DIRECT))
    # As fan-out: nothing across a block either way, nothing from muted accounts.
    blocked = set(Block.objects.filter(account_id=owner_id).values_list("target_id", flat=True))
    muted = set(active_mutes().filter(account_id=owner_id).values_list("target_id", flat=True))
    blocking = set(Block.objects.filter(target_id=owner_id).values_list("account_id", flat=True))
    tagged = Q(
        pk__in=Post.hashtags.through.objects.filter(hashtag_id__in=FollowedTag.objects.filter(account_id=owner_id).values("hashtag_id")).values("post_id"),
        visibility=Visibility.PUBLIC,
        repost_of__isnull=True,
        moderation_state=ModerationState.PUBLISHED,
    )
    if blocked | muted:
        tagged &= ~Q(pk__in=Mention.objects.filter(account_id__in=blocked | muted).values("post_id"))
    posts = Post.objects.filter(Q(author_id=owner_id) | from_followed | mentioning | tagged, moderation_state__in=VISIBLE_STATES).filter(
        Q(repost_of__isnull=True) | Q(repost_of__moderation_state__in=VISIBLE_STATES)  # fan-out skips reposts of held posts
    )
    excluded = blocked | muted | blocking
    if excluded:
        # The owner's own posts always reach them (their reposts of someone they mute too).
        posts = posts.exclude(author_id__in=excluded).exclude(Q(repost_of__author_id__in=excluded) & ~Q(author_id=owner_id))
    if upto is not None:
        posts = posts.filter(id__lte=upto)
    return list(posts.order_by("-id").values_list("id", flat=True)[:limit])


# --- The database -------------------------------------------------------------------------------


class DatabaseStore:
    name = "database"

    @transaction.atomic  # one transaction: SQLite in autocommit would commit every row
    def _insert(self, rows: Sequence[tuple[int, int]]) -> None:
        if connection.vendor == "postgresql":
            sql = "INSERT INTO timelines_homeentry (owner_id, post_id) SELECT * FROM unnest(%s::bigint[], %s::bigint[]) ON CONFLICT DO NOTHING"
            with connection.cursor() as cur:
                for start in range(0, len(rows), INSERT_BATCH):
                    chunk = rows[start : start + INSERT_BATCH]
                    cur.execute(sql, [[r[0] for r in chunk], [r[1] for r in chunk]])
            return
        with connection.cursor() as cur:
            cur.executemany("INSERT OR IGNORE INTO timelines_homeentry (owner_id, post_id) VALUES (%s, %s)", list(rows))

    def add(self, post_id: int, owner_ids: Sequence[int]) -> None:
        self._insert([(o, post_id) for o in owner_ids])

    def add_many(self, owner_id: int, post_ids: Sequence[int]) -> None:
        self._insert([(owner_id, p) for p in post_ids])

    def remove_posts(self, post_ids: Sequence[int], owner_ids: Iterable[int] | None = None) -> None:
        HomeEntry.objects.filter(post_id__in=list(post_ids)).delete()

    def remove_author(self, owner_id: int, author_id: int) -> None:
        HomeEntry.objects.filter(owner_id=owner_id).filter(
            Q(post__author_id=author_id) | Q(post__repost_of__author_id=author_id)
        ).exclude(post__mention_rows__account_id=owner_id).delete()

    def has(self, owner_id: int, post_id: int) -> bool:
        return HomeEntry.objects.filter(owner_id=owner_id, post_id=post_id).exists()

    def owners_of(self, post_id: int, candidates: Iterable[int]) -> set[int]:
        return {owner_id for (owner_id,) in _OWNERS.rows(post_id=post_id)}

    def page_ids(self, owner_id: int, *, max_id: int | None, min_id: int | None, since_id: int | None, count: int) -> list[int]:
        rows = _page_query(count).rows(owner_id=owner_id, max_id=max_id, min_id=min_id, since_id=since_id)
        return [post_id for (post_id,) in rows]

    def clear(self, owner_id: int) -> None:
        HomeEntry.objects.filter(owner_id=owner_id).delete()

    def count(self, owner_ids: Sequence[int]) -> int:
        return HomeEntry.objects.filter(owner_id__in=list(owner_ids)).count()

    def mark_complete(self, owner_id: int) -> None:
        return None

    def prepare(self, owner_id: int) -> None:
        return None


# Streaming asks it of every new post (whom the fan-out reached): prepared.
_OWNERS = Prepared("the homes holding a post", lambda post_id: HomeEntry.objects.filter(post_id=post_id).values_list("owner_id"))


@functools.lru_cache(maxsize=64)
def _page_query(count: int) -> Prepared[Any]:
    """Every home page asks this: compiled once per page size (a limit is part of the SQL text,
    and pages ask a few sizes: twice the page, doubled while the door drops posts)."""

    def build(owner_id: int, max_id: int | None, min_id: int | None, since_id: int | None) -> Any:
        qs = HomeEntry.objects.filter(owner_id=owner_id)
        if max_id is not None:
            qs = qs.filter(post_id__lt=max_id)
        if since_id is not None:
            qs = qs.filter(post_id__gt=since_id)
        if min_id is not None:  # the posts just above min_id, ascending
            return qs.filter(post_id__gt=min_id).order_by("post_id").values_list("post_id")[:count]
        return qs.order_by("-post_id").values_list("post_id")[:count]

    return Prepared(f"a home page's ids ({count})", build)


# --- Redis --------------------------------------------------------------------------------------

_clients: dict[str, Any] = {}
_clients_lock = threading.Lock()


def _client(url: str) -> Any:
    with _clients_lock:
        if url not in _clients:
            import redis

            _clients[url] = redis.Redis.from_url(url, decode_responses=True)
        return _clients[url]


def prefix() -> str:
    return str(getattr(settings, "TIMELINE_REDIS_PREFIX", "rostra:"))


class RedisStore:
    name = "redis"

    def __init__(self, url: str) -> None:
        self.r = _client(url)
        self.prefix = prefix()
        self._add_script = self.r.register_script(ADD_SCRIPT)
        self._holders_script = self.r.register_script(HOLDERS_SCRIPT)

    def key(self, owner_id: int) -> str:
        return f"{self.prefix}home:{owner_id}"

    def _trim_stop(self) -> int:
        return -(max_items() + 2)  # keeps the newest max_items posts, plus the sentinel

    def add(self, post_id: int, owner_ids: Sequence[int]) -> None:
        # ZADD + ZREMRANGEBYRANK for each owner, run inside Redis by a small script over a batch
        # of keys at a time (pipelined): far fewer round trips and far less client-side packing
        # than two commands per owner, which matters at 100,000 followers.
        m, stop = member(post_id), self._trim_stop()
        keys = [self.key(o) for o in owner_ids]
        pipe = self.r.pipeline(transaction=False)
        for start in range(0, len(keys), SCRIPT_KEYS):
            self._add_script(keys=keys[start : start + SCRIPT_KEYS], args=[m, stop], client=pipe)
        pipe.execute()

    def add_many(self, owner_id: int, post_ids: Sequence[int]) -> None:
        if not post_ids:
            return
        k = self.key(owner_id)
        pipe = self.r.pipeline(transaction=False)
        pipe.zadd(k, {member(p): 0 for p in post_ids})
        pipe.zremrangebyrank(k, 0, self._trim_stop())
        pipe.execute()

    def remove_posts(self, post_ids: Sequence[int], owner_ids: Iterable[int] | None = None) -> None:
        members = [member(p) for p in post_ids]
        owners = list(owner_ids or ())
        if not members or not owners:
            return
        for start in range(0, len(owners), INSERT_BATCH):
            pipe = self.r.pipeline(transaction=False)
            for owner in owners[start : start + INSERT_BATCH]:
                pipe.zrem(self.key(owner), *members)
            pipe.execute()

    def remove_author(self, owner_id: int, author_id: int) -> None:
        k = self.key(owner_id)
        ids = [int(m) for m in self.r.zrange(k, 0, -1) if m != SENTINEL]
        if not ids:
            return
        gone = (
            Post.objects.filter(pk__in=ids)
            .filter(Q(author_id=author_id) | Q(repost_of__author_id=author_id))
            .exclude(mention_rows__account_id=owner_id)
            .values_list("id", flat=True)
        )
        members = [member(p) for p in gone]
        if members:
            self.r.zrem(k, *members)

    def has(self, owner_id: int, post_id: int) -> bool:
        return self.r.zscore(self.key(owner_id), member(post_id)) is not None

    def owners_of(self, post_id: int, candidates: Iterable[int]) -> set[int]:
        # The streaming audience of a post (up to every follower of a large account): a script
        # call per SCRIPT_KEYS keys, pipelined, instead of a ZSCORE command per owner, whose
        # client-side packing and parsing cost seconds at 100,000 owners.
        owners = list(candidates)
        m = member(post_id)
        found: set[int] = set()
        for start in range(0, len(owners), INSERT_BATCH):
            chunk = owners[start : start + INSERT_BATCH]
            pipe = self.r.pipeline(transaction=False)
            for at in range(0, len(chunk), SCRIPT_KEYS):
                self._holders_script(keys=[self.key(o) for o in chunk[at : at + SCRIPT_KEYS]], args=[m], client=pipe)
            for at, positions in zip(range(0, len(chunk), SCRIPT_KEYS), pipe.execute(), strict=True):
                found |= {chunk[at + i - 1] for i in positions}
        return found

    def _range(self, pipe: Any, k: str, *, max_id: int | None, min_id: int | None, since_id: int | None, count: int) -> None:
        # Exclusive bounds ("(") as in the database's lt/gt; "(~" keeps the sentinel out.
        upper = f"({member(max_id)}" if max_id is not None else f"({SENTINEL}"
        lower = "-"
        for bound in (since_id, min_id):
            if bound is not None and (lower == "-" or member(bound) > lower[1:]):
                lower = f"({member(bound)}"
        if min_id is not None:
            pipe.zrangebylex(k, lower, upper, 0, count)
        else:
            pipe.zrevrangebylex(k, upper, lower, 0, count)

    def page_ids(self, owner_id: int, *, max_id: int | None, min_id: int | None, since_id: int | None, count: int) -> list[int]:
        k = self.key(owner_id)
        pipe = self.r.pipeline(transaction=False)
        pipe.zscore(k, SENTINEL)
        self._range(pipe, k, max_id=max_id, min_id=min_id, since_id=since_id, count=count)
        complete, found = pipe.execute()
        if complete is None:
            self.ensure(owner_id)
            pipe = self.r.pipeline(transaction=False)
            self._range(pipe, k, max_id=max_id, min_id=min_id, since_id=since_id, count=count)
            (found,) = pipe.execute()
        return [int(m) for m in found]

    def ensure(self, owner_id: int) -> None:
        """Rebuild a set that is not complete, once however many readers ask at the same time:
        the first takes a short lock and rebuilds; the others wait for the sentinel (and rebuild
        themselves if the lock's holder died)."""
        k, lock = self.key(owner_id), f"{self.key(owner_id)}:lock"
        deadline = time.monotonic() + WAIT_S
        while True:
            if self.r.set(lock, "1", nx=True, px=LOCK_MS):
                try:
                    if self.r.zscore(k, SENTINEL) is None:
                        # A set fan-out started again (after a loss) is filled in below its newest
                        # post only: newer posts still on their way arrive by fan-out, in order,
                        # never ahead of their turn.
                        newest = self.r.zrevrangebylex(k, f"({SENTINEL}", "-", 0, 1)
                        self.add_many(owner_id, rebuild_ids(owner_id, max_items(), int(newest[0]) if newest else None))
                        self.mark_complete(owner_id)
                finally:
                    self.r.delete(lock)
                return
            time.sleep(0.02)
            if self.r.zscore(k, SENTINEL) is not None or time.monotonic() > deadline:
                return

    def prepare(self, owner_id: int) -> None:
        """Build the set now if it is not complete (a first follow), so reads find it ready."""
        if self.r.zscore(self.key(owner_id), SENTINEL) is None:
            self.ensure(owner_id)

    def clear(self, owner_id: int) -> None:
        self.r.delete(self.key(owner_id))

    def count(self, owner_ids: Sequence[int]) -> int:
        """Posts held for these owners (the sentinel not counted)."""
        total = 0
        for start in range(0, len(owner_ids), INSERT_BATCH):
            pipe = self.r.pipeline(transaction=False)
            for owner in owner_ids[start : start + INSERT_BATCH]:
                pipe.zlexcount(self.key(owner), "-", f"({SENTINEL}")
            total += sum(pipe.execute())
        return total

    def mark_complete(self, owner_id: int) -> None:
        self.r.zadd(self.key(owner_id), {SENTINEL: 0})

    def flush_prefix(self) -> int:
        """Delete every key under this process's prefix (tests; a store reset)."""
        keys = list(self.r.scan_iter(match=f"{self.prefix}home:*", count=1000))
        for start in range(0, len(keys), 1000):
            self.r.delete(*keys[start : start + 1000])
        return len(keys)


def get_store() -> DatabaseStore | RedisStore:
    url = settings.ROSTRA.redis_url
    return RedisStore(str(url)) if url else DatabaseStore()
