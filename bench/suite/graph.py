"""The synthetic community the benchmarks run against: built deterministically, loaded in bulk.

    build_graph(PROFILES["XS"])      -> Graph (numpy arrays; no database)
    load_community(graph)            -> Community (rows in the configured database, tokens)

The graph is a directed Chung-Lu graph: every account draws how many accounts it follows from a
power law truncated to [10, 2,000] (mean about 35), and picks whom to follow with probability
proportional to a follower weight drawn from a power law of exponent 2.28. One celebrity is
followed by most of the community (100,000 of 120,000 accounts in profile M, the same share in
the smaller ones). Posts are written by authors drawn from a Zipf law over a fixed random order
of the accounts. Everything comes from one seed, so a profile is the same graph on every machine.

Loading does not go through the API or the ORM's per-object paths: accounts, follows and posts
are written with COPY (PostgreSQL) or executemany (SQLite) in one transaction, every account shares
one password hash, home timelines are filled with one INSERT ... SELECT (the state fan-out on
write would have left), and the OAuth app and bearer tokens are written directly (hashed, as the
API stores them).
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from bench.suite.context import Community

FOLLOWER_EXPONENT = 2.28  # P(followers = k) ~ k^-2.28
FOLLOWING_EXPONENT = 2.32  # truncated to [10, 2000] this gives a mean of about 35
FOLLOWING_MIN = 10
FOLLOWING_MAX = 2_000
CELEBRITY_SHARE = 100_000 / 120_000  # profile M: 100,000 followers among 120,000 accounts
POST_ZIPF = 1.1  # authorship: the k-th most active account writes ~ k^-1.1 of the posts
PASSWORD = "bench-password-2026"  # noqa: S105 - every account's password (one shared Argon2id hash)
READER_SCOPES = "read write follow push"
EPOCH_MS = 1_704_067_200_000  # rostra.core.ids.EPOCH_MS (ids are 42 bits of ms + 21 bits)
RANDOM_BITS = 21


@dataclass(frozen=True)
class Profile:
    name: str
    users: int
    posts: int
    readers: int  # accounts that get a bearer token for the load generator
    seed: int = 2026


PROFILES: dict[str, Profile] = {
    "tiny": Profile("tiny", users=60, posts=300, readers=8),
    "XS": Profile("XS", users=1_000, posts=10_000, readers=64),
    "S": Profile("S", users=10_000, posts=50_000, readers=256),
    "M": Profile("M", users=120_000, posts=120_000, readers=512),
}


@dataclass
class Graph:
    profile: Profile
    celebrity: int  # index of the celebrity account
    follower: np.ndarray  # edge k: account follower[k] follows account target[k] (int32)
    target: np.ndarray
    post_authors: np.ndarray  # author index of each post, oldest first

    @property
    def users(self) -> int:
        return self.profile.users

    def followers_count(self) -> np.ndarray:
        return np.bincount(self.target, minlength=self.users)

    def following_count(self) -> np.ndarray:
        return np.bincount(self.follower, minlength=self.users)

    def posts_count(self) -> np.ndarray:
        return np.bincount(self.post_authors, minlength=self.users)

    def readers(self) -> list[int]:
        """A deterministic sample of ordinary accounts (not the celebrity) with a full home timeline."""
        rng = np.random.default_rng(self.profile.seed + 7)
        reach = np.zeros(self.users, dtype=np.int64)  # posts that reach each home timeline
        np.add.at(reach, self.follower, self.posts_count()[self.target])
        candidates = [int(i) for i in rng.permutation(self.users) if i != self.celebrity and reach[i] >= 20]
        return candidates[: self.profile.readers]


def build_graph(profile: Profile) -> Graph:
    """The profile's community, the same on every run (numpy's PCG64 from the profile's seed)."""
    n = profile.users
    if n < FOLLOWING_MIN + 2:
        raise ValueError(f"a community needs at least {FOLLOWING_MIN + 2} accounts, not {n}")
    rng = np.random.default_rng(profile.seed)
    celebrity = 0
    cap = min(FOLLOWING_MAX, n - 1)
    # How many accounts each one follows: a power law truncated to [10, 2000].
    want = np.floor(FOLLOWING_MIN * (1 - rng.random(n)) ** (-1 / (FOLLOWING_EXPONENT - 1))).astype(np.int64)
    want = np.clip(want, FOLLOWING_MIN, cap)
    # Follower weights (Chung-Lu): a power law of exponent 2.28; the celebrity is placed by hand.
    weight = (1 - rng.random(n)) ** (-1 / (FOLLOWER_EXPONENT - 1))
    weight = np.minimum(weight, n / 10)  # no second celebrity
    weight[celebrity] = 0.0

    fans = rng.permutation(np.arange(1, n))[: round((n - 1) * CELEBRITY_SHARE)]
    chosen: list[set[int]] = [set() for _ in range(n)]
    for u in fans.tolist():
        chosen[u].add(celebrity)

    cumulative = np.cumsum(weight)
    total = cumulative[-1]
    for _round in range(60):
        have = np.fromiter((len(s) for s in chosen), dtype=np.int64, count=n)
        deficit = want - have
        needy = np.nonzero(deficit > 0)[0]
        if not len(needy):
            break
        sources = np.repeat(needy, deficit[needy])
        picks = np.searchsorted(cumulative, rng.random(len(sources)) * total, side="right")
        picks = np.minimum(picks, n - 1)
        for u, v in zip(sources.tolist(), picks.tolist(), strict=True):
            s = chosen[u]
            if v != u and len(s) < want[u]:
                s.add(v)
    for u in range(n):  # the rare account still short (tiny graphs): fill uniformly, deterministically
        s = chosen[u]
        if len(s) < want[u]:
            rest = np.array([v for v in range(n) if v != u and v not in s])
            s.update(rng.choice(rest, size=int(want[u]) - len(s), replace=False).tolist())

    ordered = [sorted(s) for s in chosen]
    follower = np.fromiter((u for u in range(n) for _ in ordered[u]), dtype=np.int32)
    target = np.fromiter((v for u in range(n) for v in ordered[u]), dtype=np.int32)

    # Zipf authorship over a fixed random order of the accounts; the celebrity posts a little.
    order = rng.permutation(n)
    zipf = 1.0 / np.arange(1, n + 1) ** POST_ZIPF
    authors = order[np.searchsorted(np.cumsum(zipf), rng.random(profile.posts) * zipf.sum(), side="right").clip(0, n - 1)]
    celebrity_posts = 3  # each reaches most home timelines: a few are enough
    authors[rng.choice(profile.posts, size=celebrity_posts, replace=False)] = celebrity
    return Graph(profile=profile, celebrity=celebrity, follower=follower, target=target, post_authors=authors.astype(np.int32))


# -- loading ---------------------------------------------------------------------------------


def _ids(ms: np.ndarray, rng: np.random.Generator) -> list[int]:
    """Rostra-shaped ids (42 bits of ms, 21 bits) for rows at those times, all distinct."""
    ms = ms.astype(np.int64) - EPOCH_MS
    bits = (np.arange(len(ms), dtype=np.int64) * 2083 + int(rng.integers(1 << RANDOM_BITS))) % (1 << RANDOM_BITS)
    values = (ms << RANDOM_BITS) | bits
    if len(np.unique(values)) != len(values):  # cannot happen for fewer than 2**21 rows per ms
        raise RuntimeError("bench loader: id collision")
    return [int(v) for v in values]


def _spread_ms(count: int, start: datetime, end: datetime) -> np.ndarray:
    a, b = int(start.timestamp() * 1000), int(end.timestamp() * 1000)
    return np.linspace(a, b, num=count, dtype=np.int64) if count else np.zeros(0, dtype=np.int64)


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(value: Any) -> str:
    """One value in PostgreSQL's COPY text format."""
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value).translate(_COPY_ESCAPES)


class _Inserter:
    """Bulk INSERT of one model's rows: the given columns, every other column at its default."""

    def __init__(self, model: Any, columns: Sequence[str], now: datetime) -> None:
        from django.db import connection, models

        self.connection = connection
        self.postgres = connection.vendor == "postgresql"
        self.table = model._meta.db_table
        fields = {f.attname: f for f in model._meta.concrete_fields}
        unknown = [c for c in columns if c not in fields]
        if unknown:
            raise ValueError(f"bench loader: {model.__name__} has no column {unknown[0]!r}")
        self.columns = list(columns)
        self.constants: list[Any] = []
        for name, field in fields.items():
            if name in columns:
                continue
            if isinstance(field, models.DateTimeField) and (
                field.auto_now or field.auto_now_add or (field.null and "active" in name)
            ):
                value: Any = now  # auto dates, and any "last active" mark: everyone is active
            elif field.has_default():
                value = field.get_default()
            elif field.null:
                value = None
            else:
                raise ValueError(f"bench loader: no value for the required column {model.__name__}.{name}; add it to the loader")
            self.columns.append(name)
            self.constants.append(self._prep(field, value))
        self.converters = [self._converter(fields[c]) for c in columns]

    def _prep(self, field: Any, value: Any) -> Any:
        from django.db import models

        if isinstance(field, models.JSONField):
            return json.dumps(value) if self.postgres else field.get_db_prep_save(value, self.connection)
        if value is None or self.postgres:
            return value
        return field.get_db_prep_save(value, self.connection)

    def _converter(self, field: Any) -> Callable[[Any], Any] | None:
        from django.db import models

        if not self.postgres and isinstance(field, models.DateTimeField):
            return self.connection.ops.adapt_datetimefield_value
        return None

    def insert(self, rows: Iterable[Sequence[Any]]) -> int:
        constants = tuple(self.constants)
        converters = self.converters
        needs_conversion = any(c is not None for c in converters)
        count = 0
        with self.connection.cursor() as cursor:
            if self.postgres:
                cols = ", ".join(f'"{c}"' for c in self.columns)
                # COPY's text format, written in large blocks (write_row per row costs several times more).
                tail = "".join("\t" + _copy_text(v) for v in constants) + "\n"
                lines: list[str] = []
                with cursor.cursor.copy(f'COPY "{self.table}" ({cols}) FROM STDIN') as copy:
                    for row in rows:
                        lines.append("\t".join(map(_copy_text, row)) + tail)
                        if len(lines) >= 50_000:
                            copy.write("".join(lines).encode())
                            count += len(lines)
                            lines = []
                    if lines:
                        copy.write("".join(lines).encode())
                        count += len(lines)
                return count
            cols = ", ".join(f'"{c}"' for c in self.columns)
            marks = ", ".join("?" for _ in self.columns)
            sql = f'INSERT INTO "{self.table}" ({cols}) VALUES ({marks})'  # noqa: S608 - names from the model's metadata
            batch: list[tuple[Any, ...]] = []
            raw = cursor.cursor  # the sqlite3 cursor: executemany without Django's per-row formatting
            for row in rows:
                if needs_conversion:
                    row = tuple(v if conv is None else conv(v) for conv, v in zip(converters, row, strict=True))
                batch.append((*row, *constants))
                if len(batch) >= 20_000:
                    raw.executemany(sql, batch)
                    count += len(batch)
                    batch = []
            if batch:
                raw.executemany(sql, batch)
                count += len(batch)
        return count


def _skip_foreign_key_triggers(connection: Any) -> None:
    """On PostgreSQL, as a superuser: no per-row foreign-key checks for this transaction.

    The rows are consistent by construction, and Django's deferred foreign keys would otherwise
    queue one check per row until commit (millions on profile M). Elsewhere: nothing changes."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        row = cursor.fetchone()
        if row and row[0]:
            cursor.execute("SET LOCAL session_replication_role = replica")


def _usernames(graph: Graph) -> list[str]:
    return ["celebrity" if i == graph.celebrity else f"u{i}" for i in range(graph.users)]


def load_community(graph: Graph, *, log: Callable[[str], None] = print) -> Community:
    """Write the graph into the configured (migrated, empty) database and return what scenarios need.

    Refuses a database that already has accounts: a benchmark always starts from a fresh one."""
    from django.contrib.auth.hashers import make_password
    from django.db import connection, transaction

    from rostra.accounts.models import Account, Follow, User
    from rostra.api.models import AccessToken, Application
    from rostra.api.oauth import digest
    from rostra.posts.models import Post
    from rostra.timelines.models import HomeEntry

    if Account.objects.exists() or User.objects.exists():
        raise RuntimeError("bench loader: the database already has accounts; load the community into a fresh database")
    started = time.perf_counter()
    rng = np.random.default_rng(graph.profile.seed + 1)
    n = graph.users
    now = datetime.now(UTC).replace(microsecond=0)
    joined = now - timedelta(days=60)
    names = _usernames(graph)
    followers, following, posts_count = graph.followers_count(), graph.following_count(), graph.posts_count()
    post_ms = _spread_ms(len(graph.post_authors), now - timedelta(days=7), now - timedelta(minutes=1))
    post_ids = _ids(post_ms, rng)
    last_post: dict[int, datetime] = {}
    for author, ms in zip(graph.post_authors.tolist(), post_ms.tolist(), strict=True):
        last_post[author] = datetime.fromtimestamp(ms / 1000, UTC)
    user_ids = _ids(_spread_ms(n, joined, joined + timedelta(days=1)), rng)
    account_ids = _ids(_spread_ms(n, joined, joined + timedelta(days=1)), rng)
    password_hash = make_password(PASSWORD)
    timings: list[str] = []

    def step(label: str, t0: float) -> float:
        t1 = time.perf_counter()
        timings.append(f"{label} {t1 - t0:.1f} s")
        return t1

    with transaction.atomic():
        _skip_foreign_key_triggers(connection)
        t = time.perf_counter()
        _Inserter(User, ["id", "username", "email", "password", "created_at"], now).insert(
            (user_ids[i], names[i], f"{names[i]}@bench.invalid", password_hash, joined) for i in range(n)
        )
        _Inserter(
            Account,
            [
                "id",
                "user_id",
                "username",
                "display_name",
                "created_at",
                "followers_count",
                "following_count",
                "posts_count",
                "last_status_at",
            ],
            now,
        ).insert(
            (
                account_ids[i],
                user_ids[i],
                names[i],
                names[i].capitalize(),
                joined,
                int(followers[i]),
                int(following[i]),
                int(posts_count[i]),
                last_post.get(i),
            )
            for i in range(n)
        )
        t = step(f"{n:,} accounts", t)
        edges = len(graph.follower)
        follow_ids = _ids(_spread_ms(edges, joined + timedelta(days=1), now - timedelta(days=8)), rng)
        follow_at = joined + timedelta(days=2)
        _Inserter(Follow, ["id", "follower_id", "target_id", "created_at"], now).insert(
            (follow_ids[k], account_ids[u], account_ids[v], follow_at)
            for k, (u, v) in enumerate(zip(graph.follower.tolist(), graph.target.tolist(), strict=True))
        )
        t = step(f"{edges:,} follows", t)
        _Inserter(Post, ["id", "author_id", "text", "content_html", "created_at", "thread_id", "language"], now).insert(
            (
                pid,
                account_ids[a],
                f"post {k} by {names[a]}: a benchmark post about the day",
                f"<p>post {k} by {names[a]}: a benchmark post about the day</p>",
                datetime.fromtimestamp(ms / 1000, UTC),
                pid,
                "en",
            )
            for k, (pid, a, ms) in enumerate(zip(post_ids, graph.post_authors.tolist(), post_ms.tolist(), strict=True))
        )
        t = step(f"{len(post_ids):,} posts", t)
        # Home timelines as fan-out on write would have left them: followers' and the author's own.
        home, post, follow = HomeEntry._meta.db_table, Post._meta.db_table, Follow._meta.db_table
        with connection.cursor() as cursor:
            # Table names from the models' metadata, no input.
            sql = (
                f'INSERT INTO "{home}" (owner_id, post_id) '  # noqa: S608
                f'SELECT f.follower_id, p.id FROM "{post}" p JOIN "{follow}" f ON f.target_id = p.author_id '
                f'UNION ALL SELECT p.author_id, p.id FROM "{post}" p'
            )
            cursor.execute(sql)
            home_rows = cursor.rowcount
        t = step(f"{home_rows:,} home entries", t)

        app_name = f"rostra-bench-{graph.profile.name}"
        client_id, client_secret = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        app = Application.objects.create(
            name=app_name,
            redirect_uris="urn:ietf:wg:oauth:2.0:oob",
            scopes=READER_SCOPES,
            client_id=client_id,
            client_secret_hash=digest(client_secret),
        )
        reader_idx = graph.readers()
        tokens = {i: secrets.token_urlsafe(32) for i in [graph.celebrity, *reader_idx]}
        AccessToken.objects.bulk_create(
            [
                AccessToken(token_hash=digest(tok), application=app, user_id=user_ids[i], scopes=READER_SCOPES)
                for i, tok in tokens.items()
            ]
        )
        app_token = secrets.token_urlsafe(32)
        AccessToken.objects.create(token_hash=digest(app_token), application=app, user=None, scopes="read write")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    step("analyze", t)
    log(
        f"bench: loaded profile {graph.profile.name} into {connection.vendor} in {time.perf_counter() - started:.1f} s ({', '.join(timings)})"
    )
    return Community(
        profile=graph.profile.name,
        account_ids=account_ids,
        celebrity_id=account_ids[graph.celebrity],
        celebrity_followers=int(followers[graph.celebrity]),
        celebrity_token=tokens[graph.celebrity],
        reader_tokens=[tokens[i] for i in reader_idx],
        reader_ids=[account_ids[i] for i in reader_idx],
        client_id=client_id,
        client_secret=client_secret,
        app_token=app_token,
        follows=len(graph.follower),
        posts=len(post_ids),
    )
