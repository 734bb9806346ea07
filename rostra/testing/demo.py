"""``rostra demo``: fill an instance with a believable community, fast.

The town is Millbrook (fictional). Hundreds of neighbours with names, bios and profile fields
follow each other along a power-law graph (a few popular accounts, most with a handful of
followers, everyone following at least three), and write thousands of posts over the last 30
days about what towns talk about: local news, allotments, cycling, code, music, food, the
election, football, books, pets. Replies form threads, posts are reposted, quoted, liked and
bookmarked; a few carry content warnings; most are public, some followers-only or direct.

How it stays fast: everything is planned in memory from one seeded ``random.Random`` (so a seed
always gives the same community), then written with ``bulk_create`` inside one transaction,
with every counter computed from the rows it writes. The shared password is hashed once.
Home timelines are rebuilt by the timelines app's own ``rebuild_home``; notifications are
written in bulk by the same rules ``notifications.actions.notify`` applies (no self-notices,
none across a block or a mute, none about a post the recipient may not see).

Demo accounts are recognised by their email domain, so running it twice adds nothing.
"""

from __future__ import annotations

import random
import re
import sys
import time
import unicodedata
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.hashers import make_password
from django.db import connection, models, transaction
from tqdm import tqdm

from rostra.accounts.actions import RESERVED_USERNAMES
from rostra.accounts.models import Account, Block, Follow, FollowRequest, Mute, User
from rostra.core.clock import now
from rostra.core.errors import NotFound
from rostra.core.ids import id_at
from rostra.core.text import parse, render
from rostra.notifications.models import Kind, Notification
from rostra.posts.models import Bookmark, Hashtag, Like, Mention, Post, QuoteState, Visibility
from rostra.testing.demo_words import (
    DIRECT_MESSAGES,
    DISTRICTS,
    FIRST,
    HOURS,
    LAST,
    ORGS,
    PERSONAL,
    PRONOUNS,
    QUOTE_INTROS,
    REPLIES,
    ROLES,
    TOPICS,
    WORDS,
    Slots,
    fill,
)
from rostra.timelines.actions import rebuild_home
from rostra.timelines.store import get_store

DEMO_EMAIL_DOMAIN = "demo.rostra.invalid"  # .invalid never resolves: no demo mail can go anywhere
DAYS = 30
BATCH = 1000
PUBLIC, UNLISTED, PRIVATE, DIRECT = (Visibility.PUBLIC.value, Visibility.UNLISTED.value, Visibility.PRIVATE.value, Visibility.DIRECT.value)

# --- The plan -----------------------------------------------------------------------------------


@dataclass
class Person:
    username: str
    display_name: str
    note: str
    fields: list[dict[str, str]]
    topics: list[str]
    created_at: datetime
    popularity: float
    activity: float
    locked: bool = False
    bot: bool = False
    discoverable: bool = True


@dataclass
class PlannedPost:
    author: int
    created_at: datetime
    text: str = ""
    visibility: str = PUBLIC
    spoiler_text: str = ""
    reply_to: int | None = None
    repost_of: int | None = None
    quote_of: int | None = None
    thread_root: int | None = None
    mentions: list[int] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    replies: int = 0
    reposts: int = 0
    quotes: int = 0
    likes: int = 0


@dataclass
class DemoResult:
    accounts: int
    follows: int
    posts: int
    likes: int
    notifications: int
    home_entries: int
    seconds: float
    password: str
    logins: list[str]


def _ascii(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower())


class _Planner:
    def __init__(self, rng: random.Random, n_accounts: int, n_posts: int, at: datetime, taken: set[str]) -> None:
        self.rng, self.n_accounts, self.n_posts, self.now = rng, n_accounts, n_posts, at
        self.taken = taken
        self.people: list[Person] = []
        self.following: list[set[int]] = []
        self.followers: list[set[int]] = []
        self.follow_at: dict[tuple[int, int], datetime] = {}
        self.requests: list[tuple[int, int, datetime]] = []
        self.blocks: set[tuple[int, int]] = set()
        self.mutes: set[tuple[int, int]] = set()
        self.posts: list[PlannedPost] = []
        self.likes: dict[tuple[int, int], datetime] = {}
        self.bookmarks: dict[tuple[int, int], datetime] = {}
        self.by_name: dict[str, int] = {}

    # People ---------------------------------------------------------------------------------------

    def _username(self, first: str, last: str, topic: str) -> str:
        r = self.rng
        f, la = _ascii(first), _ascii(last)
        handles = {"gardening": "grows", "cycling": "rides", "coding": "codes", "music": "plays", "cooking": "cooks",
                   "books": "reads", "sport": "runs", "pets": "and_pets", "local": "mb", "elections": "votes"}
        for attempt in range(50):
            style = r.randrange(6) if attempt < 10 else 6
            name = [f, f"{f}_{la}", f"{f[0]}{la}", f"{f}{la[:1]}", f"{f}{r.randint(1, 99)}", f"{f}_{handles[topic]}",
                    f"{f}{la}{r.randint(1, 999)}"][style][:30]
            if name and name not in self.taken and name not in RESERVED_USERNAMES:
                self.taken.add(name)
                return name
        raise RuntimeError("could not find a free username")  # only with tens of thousands of accounts

    def plan_people(self) -> None:
        r, topic_names = self.rng, list(TOPICS)
        orgs = [o for o in ORGS if o[0] not in self.taken][: max(0, self.n_accounts // 25)]
        for username, display, bio, topic in orgs:
            self.taken.add(username)
            fields = [{"name": "Website", "value": f"https://example.org/{username}"}]
            self.people.append(Person(username, display, bio, fields, [topic], self._joined(), popularity=r.uniform(8, 20),
                                      activity=r.uniform(1.5, 3), bot=username == "millbrookgazette"))
        while len(self.people) < self.n_accounts:
            first, last = r.choice(FIRST), r.choice(LAST)
            topics = r.sample(topic_names, k=r.choice((1, 2, 2, 3)))
            style = r.random()
            display = (f"{first} {last}" if style < 0.45 else first if style < 0.6 else f"{first} {last} {TOPICS[topics[0]]['emoji']}"
                       if style < 0.72 else f"{first} {last[0]}." if style < 0.82 else first.lower() if style < 0.9
                       else f"{first} ({r.choice(PRONOUNS)})")
            slots = Slots(r)
            bits = [fill(r.choice(TOPICS[t]["bio"]), slots) for t in topics]
            about = ", ".join(bits)
            note = f"{r.choice(ROLES)} in {r.choice(DISTRICTS)}. {about[:1].upper()}{about[1:]}."
            if r.random() < 0.25:
                note += r.choice([" Opinions my own.", " Mostly harmless.", " Here for the neighbourhood gossip.", " Be kind."])
            fields = []
            if r.random() < 0.5:
                fields.append({"name": "Pronouns", "value": r.choice(PRONOUNS)})
            if r.random() < 0.3:
                fields.append({"name": "Website", "value": f"https://example.org/~{_ascii(first)}"})
            if r.random() < 0.4:
                fields.append({"name": "Neighbourhood", "value": r.choice(DISTRICTS)})
            if "books" in topics and r.random() < 0.5:
                fields.append({"name": "Now reading", "value": r.choice(WORDS["book"])})
            self.people.append(Person(
                self._username(first, last, topics[0]), display, note, fields, topics, self._joined(),
                popularity=min(r.paretovariate(1.3), 25.0), activity=min(r.paretovariate(1.6), 15.0),
                locked=r.random() < 0.06, discoverable=r.random() > 0.05,
            ))

    def _joined(self) -> datetime:
        return self.now - timedelta(days=self.rng.uniform(DAYS + 1, 400), seconds=self.rng.randrange(86400))

    # The follow graph -------------------------------------------------------------------------------

    def plan_graph(self) -> None:
        """Chung-Lu style: targets drawn in proportion to popularity, half of them among people
        who share an interest; some follow back. Everyone follows at least three."""
        r, n = self.rng, len(self.people)
        self.following = [set() for _ in range(n)]
        self.followers = [set() for _ in range(n)]
        weights = [p.popularity for p in self.people]
        everyone = list(range(n))
        by_topic = {t: [i for i, p in enumerate(self.people) if t in p.topics] for t in TOPICS}
        cum = {t: _cumulative([weights[i] for i in members]) for t, members in by_topic.items()}
        cum_all = _cumulative(weights)
        for i, person in enumerate(self.people):
            want = min(n - 1, max(3, int(r.lognormvariate(2.3, 0.8) * min(1.0, n / 150))))
            for _ in range(want * 6):
                if len(self.following[i]) >= want:
                    break
                topic = r.choice(person.topics)
                if r.random() < 0.5 and len(by_topic[topic]) > 1:
                    j = r.choices(by_topic[topic], cum_weights=cum[topic])[0]
                else:
                    j = r.choices(everyone, cum_weights=cum_all)[0]
                if j != i:
                    self._follow(i, j)
                    if r.random() < 0.25:
                        self._follow(j, i)
            while len(self.following[i]) < 3:  # a tiny instance: top up at random
                j = r.randrange(n)
                if j != i:
                    self._follow(i, j)
        # A few blocks between strangers, a few mutes of people one follows, a few pending requests.
        for _ in range(max(1, n // 60)):
            a, b = r.sample(everyone, 2)
            if b not in self.following[a] and a not in self.following[b]:
                self.blocks.add((a, b))
        for _ in range(max(1, n // 40)):
            a = r.randrange(n)
            if self.following[a]:
                self.mutes.add((a, r.choice(sorted(self.following[a]))))
        for j, person in enumerate(self.people):
            if person.locked:
                for _ in range(r.randrange(3)):
                    i = r.randrange(n)
                    if i != j and i not in self.followers[j] and not self.blocked(i, j):
                        self.requests.append((i, j, self.now - timedelta(hours=r.uniform(1, 24 * 10))))

    def _follow(self, i: int, j: int) -> None:
        if j in self.following[i]:
            return
        self.following[i].add(j)
        self.followers[j].add(i)
        start = max(self.people[i].created_at, self.people[j].created_at)
        recent = self.rng.random() < 0.12  # most of the graph is older than the demo's month
        lo = max(start, self.now - timedelta(days=DAYS)) if recent else start
        hi = self.now - timedelta(hours=1) if recent else max(start, self.now - timedelta(days=DAYS))
        self.follow_at[(i, j)] = lo + (hi - lo) * self.rng.random()

    def blocked(self, a: int, b: int) -> bool:
        return (a, b) in self.blocks or (b, a) in self.blocks

    def can_see(self, viewer: int, post: PlannedPost) -> bool:
        """The door (rostra.posts.queries), in memory, for the planned community."""
        if viewer == post.author:
            return True
        if self.blocked(viewer, post.author):
            return False
        if post.visibility in (PUBLIC, UNLISTED):
            return True
        if post.visibility == PRIVATE and viewer in self.followers[post.author]:
            return True
        return viewer in post.mentions

    # Posts ------------------------------------------------------------------------------------------

    def _times(self) -> list[datetime]:
        """Post times over the last DAYS days, busier in the day and evening than at night."""
        r, start, end = self.rng, self.now - timedelta(days=DAYS), self.now - timedelta(minutes=5)
        midnight = start.replace(hour=0, minute=0, second=0, microsecond=0)
        times: list[datetime] = []
        while len(times) < self.n_posts:
            t = midnight + timedelta(days=r.randrange(DAYS + 1), hours=r.choices(range(24), weights=HOURS)[0], seconds=r.randrange(3600))
            if start <= t <= end:
                times.append(t)
        times.sort()
        for k in range(1, len(times)):  # strictly increasing, so ids sort the way the story goes
            if times[k] <= times[k - 1]:
                times[k] = times[k - 1] + timedelta(seconds=1)
        return times

    def _text(self, topic: str, author: int) -> str:
        r, spec = self.rng, TOPICS[topic]
        slots = Slots(r)
        text = fill(r.choice(spec["posts"]), slots)
        if "#" not in text and r.random() < 0.3:
            text += " " + " ".join(f"#{t}" for t in r.sample(spec["tags"], k=r.choice((1, 1, 2))))
        if r.random() < 0.05:
            text += f" https://example.org/{topic}/{r.randint(100, 999)}"
        if r.random() < 0.1 and self.following[author]:
            friend = self.people[r.choice(sorted(self.following[author]))].username
            text += r.choice([f" cc @{friend}", f" (thanks @{friend}!)", f" @{friend} you'll like this"])
        return text

    def _pick_recent(self, pool: list[int]) -> int:
        window = pool[-300:]
        return self.rng.choices(window, weights=[len(self.followers[self.posts[k].author]) + 2 for k in window])[0]

    def plan_posts(self) -> None:
        r, people = self.rng, self.people
        self.by_name = {p.username.lower(): i for i, p in enumerate(people)}
        actors = list(range(len(people)))
        cum_activity = _cumulative([p.activity for p in people])
        repliable: list[int] = []  # any original or reply
        shareable: list[int] = []  # public and unlisted originals
        reposted: set[tuple[int, int]] = set()
        for created in self._times():
            author = r.choices(actors, cum_weights=cum_activity)[0]
            roll = r.random()
            post = None
            if roll < 0.24 and repliable:
                post = self._reply(repliable, created)
            elif roll < 0.37 and shareable:
                k = self._pick_recent(shareable)
                original = self.posts[k]
                fans = sorted(self.followers[original.author])
                who = r.choice(fans) if fans and r.random() < 0.6 else r.choices(actors, cum_weights=cum_activity)[0]
                if who != original.author and (who, k) not in reposted and self.can_see(who, original):
                    reposted.add((who, k))
                    original.reposts += 1
                    post = PlannedPost(who, created, visibility=original.visibility, repost_of=k)
            elif roll < 0.43 and shareable:
                k = self._pick_recent(shareable)
                if author != self.posts[k].author and self.can_see(author, self.posts[k]):
                    self.posts[k].quotes += 1
                    intro = r.choice(QUOTE_INTROS)
                    extra = r.choice(REPLIES) if r.random() < 0.5 else ""
                    post = PlannedPost(author, created, text=f"{intro} {extra}".strip(), quote_of=k,
                                       visibility=PUBLIC if r.random() < 0.9 else UNLISTED)
            if post is None:
                post = self._original(author, created)
            self._resolve(post)
            index = len(self.posts)
            self.posts.append(post)
            if post.repost_of is None:
                post.thread_root = self.posts[post.reply_to].thread_root if post.reply_to is not None else index
                repliable.append(index)
                if post.visibility in (PUBLIC, UNLISTED) and post.reply_to is None:
                    shareable.append(index)

    def _original(self, author: int, created: datetime) -> PlannedPost:
        r, person = self.rng, self.people[author]
        topic = r.choice(person.topics) if r.random() < 0.85 else r.choice(list(TOPICS))
        roll = r.random()
        contacts = sorted((self.following[author] | self.followers[author]) - {author})
        contacts = [c for c in contacts if not self.blocked(author, c)]
        if roll < 0.03 and contacts:
            friend = self.people[r.choice(contacts)].username
            return PlannedPost(author, created, text=f"@{friend} " + fill(r.choice(DIRECT_MESSAGES), Slots(r)), visibility=DIRECT)
        visibility = PUBLIC
        if person.locked or roll < 0.15:
            visibility = PRIVATE if person.locked or r.random() < 0.8 else UNLISTED
        elif roll < 0.24:
            visibility = UNLISTED
        text = fill(r.choice(PERSONAL), Slots(r)) if r.random() < 0.04 else self._text(topic, author)
        cws = TOPICS[topic]["cw"]
        spoiler = r.choice(cws) if cws and r.random() < 0.05 else ""
        return PlannedPost(author, created, text=text, visibility=visibility, spoiler_text=spoiler)

    def _reply(self, repliable: list[int], created: datetime) -> PlannedPost | None:
        r = self.rng
        k = self._pick_recent(repliable)
        parent = self.posts[k]
        # Conversations go back and forth; otherwise a follower, or anyone who can see it, answers.
        if parent.reply_to is not None and r.random() < 0.4:
            who = self.posts[parent.reply_to].author
        elif self.followers[parent.author] and r.random() < 0.7:
            who = r.choice(sorted(self.followers[parent.author]))
        else:
            who = r.randrange(len(self.people))
        if who == parent.author and r.random() < 0.8:
            return None
        if not self.can_see(who, parent) or (parent.visibility == DIRECT and who not in parent.mentions):
            return None
        topic = r.choice(self.people[parent.author].topics)
        pool = REPLIES + TOPICS[topic]["replies"]
        body = fill(r.choice(pool), Slots(r))
        # A reply keeps a private conversation private; public ones are now and then unlisted.
        visibility = parent.visibility if parent.visibility in (PRIVATE, DIRECT) else PUBLIC if r.random() < 0.85 else UNLISTED
        text = body if who == parent.author else f"@{self.people[parent.author].username} {body}"
        parent.replies += 1
        return PlannedPost(who, created, text=text, visibility=visibility, reply_to=k)

    def _resolve(self, post: PlannedPost) -> None:
        """Mentions and hashtags come from the text, as create_post finds them."""
        if post.repost_of is not None:
            return
        parsed = parse(post.text)
        mentioned = [self.by_name[u] for u, d in parsed.mentions if not d and u in self.by_name]
        if post.reply_to is not None:
            mentioned.append(self.posts[post.reply_to].author)  # a reply always reaches the person replied to
        post.mentions = list(dict.fromkeys(m for m in mentioned if m != post.author))
        post.tags = parsed.hashtags

    def plan_reactions(self) -> None:
        r, n = self.rng, len(self.people)
        for k, post in enumerate(self.posts):
            if post.repost_of is not None:
                continue
            audience = len(self.followers[post.author])
            mean = (0.6 + 0.2 * audience) * (0.5 if post.reply_to is not None else 1.0)
            mean *= 1.0 if post.visibility == PUBLIC else 0.5
            wanted = min(int(r.expovariate(1 / mean)), n - 1)
            fans = sorted(self.followers[post.author])
            for _ in range(wanted * 3):
                if post.likes >= wanted:
                    break
                who = r.choice(fans) if fans and r.random() < 0.75 else r.randrange(n)
                if who != post.author and (who, k) not in self.likes and self.can_see(who, post):
                    self.likes[(who, k)] = self._after(post.created_at)
                    post.likes += 1
        for _ in range(len(self.posts) // 8):
            k = r.randrange(len(self.posts))
            post = self.posts[k]
            who = r.randrange(n)
            if post.repost_of is None and who != post.author and self.can_see(who, post):
                self.bookmarks.setdefault((who, k), self._after(post.created_at))

    def _after(self, t: datetime) -> datetime:
        return min(t + timedelta(minutes=self.rng.expovariate(1 / 180)), self.now - timedelta(seconds=30))


def _cumulative(weights: Sequence[float]) -> list[float]:
    out, total = [], 0.0
    for w in weights:
        total += w
        out.append(total)
    return out


# --- Writing it -----------------------------------------------------------------------------------


@contextmanager
def _dates_as_given(*model_classes: type[models.Model]) -> Iterator[None]:
    """Let bulk_create keep the planned created_at/updated_at instead of stamping 'now'.

    auto_now(_add) fields are switched off for the duration and always restored; the demo runs
    from the command line (or a test), never beside live requests in the same process.
    """
    saved: list[tuple[models.DateField, bool, bool]] = []
    for model in model_classes:
        for f in model._meta.concrete_fields:
            if isinstance(f, models.DateField) and (f.auto_now or f.auto_now_add):
                saved.append((f, f.auto_now, f.auto_now_add))
                f.auto_now = f.auto_now_add = False
    try:
        yield
    finally:
        for f, auto_now, auto_now_add in saved:
            f.auto_now, f.auto_now_add = auto_now, auto_now_add


Step = tuple[str, type[models.Model], list[Any]]


class _Rows:
    """Turns the plan into model rows: every id, date and counter decided before the first write."""

    def __init__(self, plan: _Planner, password_hash: str) -> None:
        self.plan, self.password_hash = plan, password_hash
        self.account_ids = [id_at(p.created_at) for p in plan.people]
        self.post_ids = [id_at(p.created_at) for p in plan.posts]

    def accounts(self) -> list[Step]:
        plan = self.plan
        users, accounts = [], []
        last_status: dict[int, datetime] = {}
        posts_count = [0] * len(plan.people)
        for post in plan.posts:
            posts_count[post.author] += 1
            last_status[post.author] = post.created_at
        for i, p in enumerate(plan.people):
            user = User(id=self.account_ids[i], username=p.username, email=f"{p.username}@{DEMO_EMAIL_DOMAIN}",
                        password=self.password_hash, created_at=p.created_at)
            accounts.append(Account(
                id=self.account_ids[i], user_id=user.id, username=p.username, display_name=p.display_name, note=p.note,
                note_html=render(p.note), fields=[{**f, "value_html": render(f["value"])} for f in p.fields],
                locked=p.locked, bot=p.bot, discoverable=p.discoverable, created_at=p.created_at, updated_at=p.created_at,
                last_status_at=last_status.get(i), followers_count=len(plan.followers[i]),
                following_count=len(plan.following[i]), posts_count=posts_count[i],
            ))
            users.append(user)
        return [("users", User, users), ("accounts", Account, accounts)]

    def graph(self) -> list[Step]:
        plan, ids = self.plan, self.account_ids
        return [
            ("follows", Follow, [Follow(id=id_at(t), follower_id=ids[i], target_id=ids[j], created_at=t) for (i, j), t in plan.follow_at.items()]),
            ("follow requests", FollowRequest, [FollowRequest(requester_id=ids[i], target_id=ids[j], created_at=t) for i, j, t in plan.requests]),
            ("blocks", Block, [Block(account_id=ids[a], target_id=ids[b], created_at=plan.now) for a, b in sorted(plan.blocks)]),
            ("mutes", Mute, [Mute(account_id=ids[a], target_id=ids[b], created_at=plan.now) for a, b in sorted(plan.mutes)]),
        ]

    def posts(self) -> list[Step]:
        plan, ids, pid = self.plan, self.account_ids, self.post_ids
        by_name = {p.username.lower(): p.username for p in plan.people}

        def resolve(username: str, domain: str) -> str | None:
            return None if domain or username not in by_name else f"/@{by_name[username]}"

        # Tags: new ones are created; ones this instance already has are reused and touched.
        used: dict[str, list[datetime]] = {}
        for post in plan.posts:
            for name in post.tags:
                used.setdefault(name, []).append(post.created_at)
        shown = {m.lower(): m for post in plan.posts for m in re.findall(r"#(\w+)", post.text)}
        tag_ids = dict(Hashtag.objects.filter(name__in=list(used)).values_list("name", "id"))
        for name, pk in tag_ids.items():
            Hashtag.objects.filter(pk=pk).update(last_used_at=max(used[name]))
        fresh = []
        for name, times in used.items():
            if name not in tag_ids:
                tag_ids[name] = id_at(times[0])
                fresh.append(Hashtag(id=tag_ids[name], name=name, display_name=shown.get(name, name)[:100],
                                     created_at=times[0], last_used_at=times[-1]))
        rows, mentions, tagged = [], [], []
        for k, p in enumerate(plan.posts):
            parent = plan.posts[p.reply_to] if p.reply_to is not None else None
            rows.append(Post(
                id=pid[k], author_id=ids[p.author], text=p.text, spoiler_text=p.spoiler_text, sensitive=bool(p.spoiler_text),
                content_html=render(p.text, resolve) if p.text else "", visibility=p.visibility, language="en",
                in_reply_to_id=pid[p.reply_to] if p.reply_to is not None else None,
                in_reply_to_account_id=ids[parent.author] if parent else None,
                thread_id=pid[p.thread_root] if p.thread_root is not None else None,
                repost_of_id=pid[p.repost_of] if p.repost_of is not None else None,
                quote_of_id=pid[p.quote_of] if p.quote_of is not None else None,
                quote_state=QuoteState.ACCEPTED if p.quote_of is not None else "", created_at=p.created_at,
                replies_count=p.replies, reposts_count=p.reposts, likes_count=p.likes, quotes_count=p.quotes,
            ))
            mentions += [Mention(post_id=pid[k], account_id=ids[m]) for m in p.mentions]
            tagged += [Post.hashtags.through(post_id=pid[k], hashtag_id=tag_ids[t]) for t in p.tags]
        return [("hashtags", Hashtag, fresh), ("posts", Post, rows), ("mentions", Mention, mentions),
                ("post tags", Post.hashtags.through, tagged)]

    def reactions(self) -> list[Step]:
        plan, ids, pid = self.plan, self.account_ids, self.post_ids
        return [
            ("likes", Like, [Like(id=id_at(t), account_id=ids[a], post_id=pid[k], created_at=t) for (a, k), t in plan.likes.items()]),
            ("bookmarks", Bookmark, [Bookmark(id=id_at(t), account_id=ids[a], post_id=pid[k], created_at=t)
                                     for (a, k), t in plan.bookmarks.items()]),
        ]

    def notifications(self) -> list[Step]:
        """The notices notify() would have written, by its rules, with their dates."""
        plan, ids, pid = self.plan, self.account_ids, self.post_ids
        rows: dict[str, Notification] = {}

        def tell(recipient: int, kind: str, actor: int, k: int | None, when: datetime) -> None:
            if recipient == actor or plan.blocked(recipient, actor) or (recipient, actor) in plan.mutes:
                return
            if k is not None and not plan.can_see(recipient, plan.posts[k]):
                return  # no notice of what you may not see
            key = f"{kind}:{ids[recipient]}:{ids[actor]}:{pid[k] if k is not None else ''}"
            read = when + timedelta(hours=2) if when < plan.now - timedelta(days=3) else None
            rows.setdefault(key, Notification(id=id_at(when), recipient_id=ids[recipient], kind=kind, actor_id=ids[actor],
                                              post_id=pid[k] if k is not None else None, created_at=when, read_at=read,
                                              dedupe_key=key))

        window = plan.now - timedelta(days=DAYS)
        for (i, j), t in plan.follow_at.items():
            if t >= window:
                tell(j, Kind.FOLLOW, i, None, t)
        for i, j, t in plan.requests:
            tell(j, Kind.FOLLOW_REQUEST, i, None, t)
        for k, p in enumerate(plan.posts):
            if p.repost_of is not None:
                tell(plan.posts[p.repost_of].author, Kind.REPOST, p.author, p.repost_of, p.created_at)
                continue
            told = set()
            for target, kind in ((p.reply_to, Kind.REPLY), (p.quote_of, Kind.QUOTE)):
                if target is not None and plan.posts[target].author not in told:
                    told.add(plan.posts[target].author)
                    tell(plan.posts[target].author, kind, p.author, k, p.created_at)
            for m in p.mentions:
                if m not in told:
                    tell(m, Kind.MENTION, p.author, k, p.created_at)
        for (a, k), t in plan.likes.items():
            tell(plan.posts[k].author, Kind.LIKE, a, k, t)
        return [("notifications", Notification, sorted(rows.values(), key=lambda n: n.id))]


def _write(steps: list[Step], rows: _Rows, bar: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for label, model, objs in steps:
        bar.set_description(label)
        for start in range(0, len(objs), BATCH):
            chunk = objs[start : start + BATCH]
            model._default_manager.bulk_create(chunk)
            bar.update(len(chunk))
        counts[label] = counts.get(label, 0) + len(objs)
    # Home timelines: the timelines app's own rebuild, plus what fan-out gives the mentioned.
    bar.set_description("home timelines")
    for account_id in rows.account_ids:
        rebuild_home(account_id)
        bar.update(1)
    store = get_store()  # database rows, or Redis sets with REDIS_URL
    for k, p in enumerate(rows.plan.posts):
        if p.visibility in (PRIVATE, DIRECT) and p.mentions:
            store.add(rows.post_ids[k], [rows.account_ids[m] for m in p.mentions])
    counts["home entries"] = store.count(rows.account_ids)
    return counts


def _refresh_statistics() -> None:
    """After a bulk load the planner's statistics are stale; without them PostgreSQL ignores the
    search and timeline indexes until autovacuum comes round."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ANALYZE")
        elif connection.vendor == "sqlite":
            cursor.execute("PRAGMA optimize")


DEMO_TROUBLE = (
    "Everyone grab your guns, we march on the capitol tomorrow and hang the traitors",
    "I will kill you tomorrow, I know where you live",
)
DEMO_SPAM = "Buy cheap followers now!!! click http://spam.example/deal limited offer, only today"


def _demo_moderation(plan: Any, password: str, rng: random.Random) -> str:
    """A moderator, and work in the queue made through the real write path: held threats, a
    spam wave, a labelled post, and a report. Returns the moderator's username."""
    from rostra.accounts.models import Role
    from rostra.moderation import actions as moderation
    from rostra.posts.actions import Draft, create_post

    username = "demo_moderator"
    n = 2
    while User.objects.filter(username__iexact=username).exists():
        username = f"demo_moderator{n}"
        n += 1
    user = User.objects.create(username=username, email=f"{username}@staff.{DEMO_EMAIL_DOMAIN}", password=make_password(password), role=Role.MODERATOR)
    Account.objects.create(user=user, username=username, display_name="Demo moderator")
    names = [p.username for p in plan.people if p.username not in {o[0] for o in ORGS}]
    people = list(Account.objects.filter(username__in=rng.sample(names, min(len(names), 10)), domain=""))
    if len(people) < 4:
        return username
    for author, text in zip(people, DEMO_TROUBLE, strict=False):
        create_post(author, Draft(text=text))
    for i, author in enumerate(people[2:8]):
        create_post(author, Draft(text=f"{DEMO_SPAM} #{i}"))
    ordinary = (
        Post.objects.filter(author=people[-1], repost_of__isnull=True, moderation_state="published", visibility=Visibility.PUBLIC)
        .order_by("-id")
        .first()
    )
    if ordinary is not None:
        for reporter in people[:-1]:
            try:
                moderation.report(reporter, post_id=ordinary.pk, category="harassment", comment="This keeps turning up in my mentions.")
                break
            except NotFound:  # a block between them: someone else reports it
                continue
    return username


def build_demo(accounts: int = 300, posts: int = 3000, seed: int = 2021,
               password: str = "demo-password-2021",  # noqa: S107 - public by design, printed at the end
               progress: bool = False, moderation: bool = True) -> DemoResult | None:
    """Fill the instance with a demo community; None (and a message) if one is already here."""
    if accounts < 4 or posts < 0:
        print("rostra: a demo needs at least 4 accounts and a non-negative number of posts.", file=sys.stderr)
        return None
    existing = User.objects.filter(email__endswith=f"@{DEMO_EMAIL_DOMAIN}")
    if existing.exists():
        sample = list(existing.order_by("-account__followers_count").values_list("username", flat=True)[:2])
        print(f"rostra: this instance already has a demo community ({existing.count()} accounts); nothing was added.\n"
              f"  Log in as {', '.join('@' + s for s in sample)} with the demo password.", file=sys.stderr)
        return None
    started = time.perf_counter()
    taken = {u.lower() for u in User.objects.values_list("username", flat=True)}
    taken |= {u.lower() for u in Account.objects.filter(domain="").values_list("username", flat=True)}
    plan = _Planner(random.Random(seed), accounts, posts, now().replace(microsecond=0), taken)
    plan.plan_people()
    plan.plan_graph()
    plan.plan_posts()
    plan.plan_reactions()

    with transaction.atomic(), _dates_as_given(User, Account, Follow, FollowRequest, Block, Mute, Hashtag, Like, Bookmark, Notification):
        rows = _Rows(plan, make_password(password))  # one hash, shared by every demo login
        steps = rows.accounts() + rows.graph() + rows.posts() + rows.reactions() + rows.notifications()
        total = sum(len(objs) for _, _, objs in steps) + len(rows.account_ids)
        with tqdm(total=total, unit="row", file=sys.stderr, disable=not progress, leave=False) as bar:
            counts = _write(steps, rows, bar)
    _refresh_statistics()
    moderator = _demo_moderation(plan, password, random.Random(seed + 1)) if moderation else ""

    order = sorted(range(len(plan.people)), key=lambda i: (-len(plan.followers[i]), plan.people[i].username))
    people = [i for i in order if plan.people[i].username not in {o[0] for o in ORGS}]
    picks = list(dict.fromkeys([order[0], people[len(people) // 2]] if people else order[:1]))
    result = DemoResult(
        accounts=len(plan.people), follows=len(plan.follow_at), posts=len(plan.posts), likes=len(plan.likes),
        notifications=counts["notifications"], home_entries=counts["home entries"],
        seconds=time.perf_counter() - started, password=password, logins=[plan.people[i].username for i in picks],
    )
    print(
        f"rostra: demo community ready in {result.seconds:.1f} s: {result.accounts:,} accounts, {result.follows:,} follows, "
        f"{result.posts:,} posts, {result.likes:,} likes, {result.notifications:,} notifications.\n"
        f"  Every demo account's password is: {password}\n"
        + "".join(f"  Try @{plan.people[i].username} ({len(plan.followers[i])} followers)\n" for i in picks)
        + (f"  Moderate as @{moderator} (the review queue is at /moderation; a few posts are waiting there)\n" if moderator else "")
        + "  The password is shared and printed here: never run the demo on an instance open to the public."
    )
    return result
