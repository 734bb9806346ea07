"""The streaming process's state: who is subscribed to what, and rendering a bus message per subscriber.

Rendering goes through the visibility door. A post (``update``, ``status.update``) is read once
per event; which of its subscribed viewers may see it is asked of the door for all of them at once
(``rostra.posts.queries.visible_to``, the same rules as ``visible_posts``); muted authors and the
viewer's filters are applied; the Status is built by ``rostra.api.entities`` once per distinct set
of per-viewer marks (favourited, reblogged, bookmarked, muted, pinned, poll votes, visible quotes;
asked in batches), which for most followers is one shared build. Anonymous public readers share
one rendering. Notifications and conversations are rendered per recipient (``get_post`` for each).
Database work runs in a small thread pool (Django's ORM is synchronous); sockets are served by the
event loop.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import OrderedDict
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from django.db import close_old_connections, connection
from django.db.models import F, prefetch_related_objects

from rostra.accounts.models import Account, Block
from rostra.api import entities
from rostra.api import scopes as scope_rules
from rostra.api.models import AccessToken
from rostra.api.oauth import find_token
from rostra.core import metrics
from rostra.core.errors import NotFound
from rostra.notifications.models import SYSTEM_KINDS, Notification
from rostra.posts.models import ModerationState, Post, QuoteState, Visibility
from rostra.posts.queries import (
    get_post,
    muting_author,
    poll_of,
    tags_and_mentions,
    viewer_marks,
    visible_to,
    with_viewer_state,
    without_muted,
)
from rostra.timelines import conversations, lists
from rostra.timelines.filters import apply_filters
from rostra.timelines.models import Filter
from rostra.timelines.queries import silenced_from

log = logging.getLogger("rostra.streaming")

QUEUE_LIMIT = 500  # a subscriber this far behind is disconnected rather than buffered without end
SEEN_LIMIT = 2000
TOKEN_CHECK_S = 3.0
CHUNK = 8  # viewers rendered per pool job (notifications and conversations: rendered per viewer)
POST_CHUNK = 2000  # viewers per pool job for a post: rendered together, one read of the post per job

# Stream name -> (scope it needs, needs a signed-in user, parameter it takes)
STREAMS: dict[str, tuple[str, bool, str | None]] = {
    "user": ("read:statuses", True, None),
    "user:notification": ("read:notifications", True, None),
    "public": ("read:statuses", False, None),
    "public:media": ("read:statuses", False, None),
    "public:local": ("read:statuses", False, None),
    "public:local:media": ("read:statuses", False, None),
    "public:remote": ("read:statuses", False, None),
    "public:remote:media": ("read:statuses", False, None),
    "hashtag": ("read:statuses", False, "tag"),
    "hashtag:local": ("read:statuses", False, "tag"),
    "list": ("read:lists", True, "list"),
    "direct": ("read:statuses", True, None),
}


class StreamError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Auth:
    token_id: int | None
    account_id: int | None
    scopes: frozenset[str]


@dataclass(frozen=True)
class Stream:
    name: str
    arg: str = ""

    @property
    def label(self) -> list[str]:
        return [self.name, self.arg] if self.arg else [self.name]


@dataclass(eq=False)
class Subscriber:
    auth: Auth
    streams: set[Stream] = field(default_factory=set)
    queue: asyncio.Queue[tuple[list[str], str, str] | None] = field(default_factory=lambda: asyncio.Queue(QUEUE_LIMIT + 1))
    seen: OrderedDict[tuple[str, int], None] = field(default_factory=OrderedDict)
    sent_posts: OrderedDict[int, None] = field(default_factory=OrderedDict)
    closed: bool = False

    def remember(self, key: tuple[str, int]) -> bool:
        """False if this event was already sent to this socket (a message published twice)."""
        if key in self.seen:
            return False
        self.seen[key] = None
        if len(self.seen) > SEEN_LIMIT:
            self.seen.popitem(last=False)
        return True

    def push(self, stream: list[str], event: str, payload: str) -> None:
        if self.closed:
            return
        if self.queue.qsize() >= QUEUE_LIMIT:
            self.close()
            return
        self.queue.put_nowait((stream, event, payload))

    def close(self) -> None:
        """Stop at once: what is still queued is dropped (a revoked token reads nothing more)."""
        if not self.closed:
            self.closed = True
            while not self.queue.empty():
                self.queue.get_nowait()
            self.queue.put_nowait(None)


# --- Authentication and subscription checks (run in the pool) -----------------------------------


def _fresh() -> None:
    """Drop this thread's database connection if it broke or aged (as Django does per request).
    Inside a transaction (in-process tests) the connection is left alone."""
    if not connection.in_atomic_block:
        close_old_connections()


def authenticate(token: str | None, anonymous_public: bool) -> Auth:
    """The token's owner and scopes; no token: an anonymous reader (public streams only)."""
    _fresh()
    if not token:
        return Auth(None, None, frozenset({"read"}) if anonymous_public else frozenset())
    row = find_token(token)
    if row is None:
        raise StreamError(401, "Invalid access token")
    account = getattr(row.user, "account", None) if row.user is not None else None
    if account is not None and account.suspended_at is not None:
        raise StreamError(403, "Your login is currently disabled")
    return Auth(row.pk, account.pk if account is not None else None, row.scope_set)


def check_stream(auth: Auth, name: str, params: dict[str, str]) -> Stream:
    """The stream ``name`` with its parameter, if ``auth`` may read it; else StreamError."""
    spec = STREAMS.get(name)
    if spec is None:
        raise StreamError(404, "Unknown stream type")
    scope, needs_user, param = spec
    if needs_user and auth.account_id is None:
        raise StreamError(401, "Missing access token" if auth.token_id is None else "This stream requires a user token")
    if not scope_rules.covers(auth.scopes, scope):
        if auth.token_id is None and auth.account_id is None:
            raise StreamError(401, "Missing access token")
        raise StreamError(403, "Access token does not have the required scopes")
    if param is None:
        return Stream(name)
    value = (params.get(param) or "").strip()
    if not value:
        raise StreamError(400, f"No {param} for stream provided")
    if param == "tag":
        return Stream(name, value.lstrip("#").lower())
    _fresh()
    owner = Account.objects.filter(pk=auth.account_id or 0).first()
    if owner is None:
        raise StreamError(401, "Invalid access token")
    try:
        lst = lists.get_list(owner, value)
    except NotFound:
        raise StreamError(404, "Not found") from None
    return Stream(name, str(lst.pk))


def live_tokens(token_ids: Iterable[int]) -> set[int]:
    """Which of these tokens are still good: not revoked, not older than the last password change,
    their person active and not suspended (the batch form of ``find_token``'s checks)."""
    ids = set(token_ids)
    if not ids:
        return set()
    _fresh()
    return set(
        AccessToken.objects.filter(pk__in=ids, revoked_at__isnull=True)
        .exclude(user__is_active=False)
        .exclude(user__account__suspended_at__isnull=False)
        .exclude(user__credentials_changed_at__gt=F("created_at"))  # issued before a password change
        .values_list("pk", flat=True)
    )


# --- Matching and rendering -----------------------------------------------------------------------


def matches(sub: Subscriber, msg: dict[str, Any]) -> list[Stream]:
    """Which of the subscriber's streams a message is for."""
    event = msg.get("event")
    account_id = sub.auth.account_id
    out: list[Stream] = []
    for s in sub.streams:
        if event == "notification":
            wanted = s.name == "user:notification" or (s.name == "user" and scope_rules.covers(sub.auth.scopes, "read:notifications"))
            if wanted and account_id in msg.get("users", ()):
                out.append(s)
        elif event == "conversation":
            if s.name == "direct" and account_id in msg.get("users", ()):
                out.append(s)
        elif event == "delete":
            if s.name == "user:notification":
                continue
            if (s.name == "user" and account_id in msg.get("users", ())) or msg.get("post_id") in sub.sent_posts:
                out.append(s)
        elif event in ("update", "status.update") and _wants_post(s, account_id, msg):
            out.append(s)
    return out


def _wants_post(s: Stream, account_id: int | None, msg: dict[str, Any]) -> bool:
    channels = msg.get("channels", ())
    if s.name == "user":
        return account_id in msg.get("users", ())
    if s.name.startswith("public"):
        return s.name in channels
    if s.name in ("hashtag", "hashtag:local"):
        return f"{s.name}:{s.arg}" in channels
    if s.name == "list":
        return s.arg.isdigit() and int(s.arg) in msg.get("lists", ())
    return False


def _status_for(viewer: Account | None, post_id: int, public_only: bool) -> str | None:
    """The Status JSON for ``viewer``, or None if the door (or a mute) says they must not see it."""
    try:
        post = get_post(viewer, post_id)
    except NotFound:
        return None
    if not without_muted(Post.objects.filter(pk=post.pk), viewer).exists():
        return None
    if public_only and (post.visibility != Visibility.PUBLIC or post.moderation_state != ModerationState.PUBLISHED):
        return None
    # The viewer's filters, as the REST timelines apply them: "hide" drops it, "warn" fills `filtered`.
    kept, warnings = apply_filters(viewer, [post], "public" if public_only else "home")
    if not kept:
        return None
    return json.dumps(entities.statuses(kept, viewer, filtered=warnings)[0], separators=(",", ":"))


def _public_only_ok(post: Post) -> bool:
    return post.visibility == Visibility.PUBLIC and post.moderation_state == ModerationState.PUBLISHED


QUOTE_DEPTH = 8  # quotes of quotes deeper than this are rendered per viewer (still correct, slower)


def _statuses_for_many(post_id: int, viewers: dict[int, Account], public_only: bool) -> dict[int, str]:
    """The Status JSON for each of ``viewers`` (by account id) who may see the post: what
    ``_status_for`` answers for each of them, with the database asked a fixed number of times.

    The post is read once; the door (``visible_to``), mutes and the per-viewer marks (likes,
    bookmarks, reposts, pins, muted threads, poll votes, quotes the viewer may see) are asked for
    all viewers at once; filters only for viewers who have any. The Status is then built once per
    distinct set of marks (for most followers: one build, shared) by the same ``entities.status``
    the REST API uses, so the streamed JSON is byte for byte what ``_status_for`` would send."""
    post = with_viewer_state(Post.objects.filter(pk=post_id), None).first()
    if post is None or not viewers or (public_only and not _public_only_ok(post)):
        return {}
    ids = visible_to(post, viewers.keys())
    ids -= muting_author(post, ids)
    if not ids:
        return {}
    inner = post.repost_of if post.repost_of_id else None
    # Every post the Status shows: the post, what it reposts, and the chain of quotes below them.
    shown: list[Post] = [post] + ([inner] if inner is not None else [])
    holders: list[Post] = []  # posts whose quote is shown (when the viewer may see the quoted post)
    shareable = True
    holder = inner if inner is not None else post
    while holder.quote_of_id is not None and holder.quote_state != QuoteState.DETACHED:
        if len(holders) >= QUOTE_DEPTH or holder.repost_of_id is not None:
            shareable = False
            break
        holders.append(holder)
        quoted = holder.quote_of
        if quoted is None:
            break
        if quoted.repost_of_id is not None or quoted in shown:
            shareable = False
            break
        shown.append(quoted)
        holder = quoted
    deeper = shown[2 if inner is not None else 1 :]
    if deeper:
        # What with_viewer_state leaves unloaded on quoted posts (the first quote's poll options, and
        # everything of deeper quotes), loaded once; images it already loaded are skipped by Django.
        prefetch_related_objects(deeper, "media", "poll__options")
    quote_seen = [visible_to(h.quote_of_id, ids) for h in holders]
    polls = [p for p in (poll_of(s) for s in shown if not s.repost_of_id) if p is not None]
    # The ids a status page asks about (entities.status_page), for the pins and muted threads.
    page_ids = {post.pk} | ({post.repost_of_id} if post.repost_of_id else set())
    page_ids |= {p.quote_of_id for p in (post, inner) if p is not None and p.quote_of_id}
    threads = {post.thread_id or post.pk} | ({inner.thread_id or inner.pk} if inner is not None else set())
    marks = viewer_marks(ids, flag_ids={post.pk, post.repost_of_id} - {None}, page_ids=page_ids, thread_ids=threads, poll_ids=[p.pk for p in polls])
    tags, mentions = tags_and_mentions(page_ids)
    authors = {s.author_id for s in shown}
    context = "public" if public_only else "home"
    with_filters: set[int] = set()  # who has any filter at all (``apply_filters`` then decides exactly)
    ordered = sorted(ids)
    for i in range(0, len(ordered), 900):
        with_filters |= set(Filter.objects.filter(account_id__in=ordered[i : i + 900]).values_list("account_id", flat=True))

    built: dict[tuple[Any, ...], str] = {}
    out: dict[int, str] = {}
    for vid in sorted(ids):
        viewer = viewers[vid]
        warnings: dict[int, Any] = {}
        if vid in with_filters:
            kept, warnings = apply_filters(viewer, [post], context)
            if not kept:
                continue
        quote_vis = tuple(vid in seen for seen in quote_seen)
        votes = marks.votes.get(vid, {})
        choices = tuple(tuple(sorted(votes.get(p.pk, []))) for p in polls)
        key = (
            vid in marks.liked, vid in marks.bookmarked, vid in marks.reposted, quote_vis, choices,
            frozenset(marks.pinned.get(vid, ())), frozenset(marks.muted_threads.get(vid, ())),
            vid if (vid in authors or warnings or not shareable) else None,
        )
        if key not in built:
            post.viewer_liked, post.viewer_bookmarked, post.viewer_reposted = key[0], key[1], key[2]  # type: ignore[attr-defined]
            for h, visible in zip(holders, quote_vis, strict=True):
                if h is inner:
                    post.repost_quote_visible = visible  # type: ignore[attr-defined]  # status() hands it to the inner post
                else:
                    h.quote_visible = visible  # type: ignore[attr-defined]
            for p, chosen in zip(polls, choices, strict=True):
                p.viewer_choices = list(chosen)  # type: ignore[attr-defined]
            page = entities.StatusPage(
                viewer=viewer, tags=tags, mentions=mentions, pinned=set(key[5]), muted_threads=set(key[6]), filtered=warnings,
            )
            built[key] = json.dumps(entities.status(post, page), separators=(",", ":"))
        out[vid] = built[key]
    return out


def _conversation_for(viewer: Account, post_id: int, thread_id: int) -> str | None:
    """Mastodon's Conversation for the direct stream, if the door lets the viewer see the post."""
    try:
        get_post(viewer, post_id)
        c = conversations.get_conversation(viewer, thread_id)
    except NotFound:
        return None
    body = {
        "id": str(c.id), "unread": c.unread, "accounts": [entities.account(a) for a in c.participants],
        "last_status": entities.one_status(c.last_post, viewer),
    }
    return json.dumps(body, separators=(",", ":"))


def _notification_for(viewer: Account, notification_id: int) -> str | None:
    n = Notification.objects.select_related("actor", "notice", "post").filter(pk=notification_id, recipient_id=viewer.pk).first()
    if n is None:
        return None
    if n.kind not in SYSTEM_KINDS and n.actor.suspended_at is not None:
        return None
    if Block.objects.filter(account_id=viewer.pk, target_id=n.actor_id).exists():
        return None
    if n.post_id is not None:
        try:
            get_post(viewer, n.post_id)
        except NotFound:
            return None
    return json.dumps(entities.notifications([n], viewer)[0], separators=(",", ":"))


Delivery = tuple[Subscriber, list[Stream], str]


def render(msg: dict[str, Any], targets: list[tuple[Subscriber, list[Stream]]]) -> tuple[list[Delivery], set[int]]:
    """Payloads per target (run in the pool). Returns the deliveries and the tokens found dead."""
    _fresh()
    tokens = {sub.auth.token_id for sub, _ in targets if sub.auth.token_id is not None}
    live = live_tokens(tokens)
    dead = tokens - live
    event = str(msg.get("event"))
    targets = [(sub, streams) for sub, streams in targets if sub.auth.token_id is None or sub.auth.token_id not in dead]
    account_ids = {sub.auth.account_id for sub, _ in targets if sub.auth.account_id is not None}
    viewers: dict[int, Account] = Account.objects.in_bulk(account_ids) if account_ids else {}
    # A subscriber whose account is gone gets nothing.
    targets = [(sub, streams) for sub, streams in targets if sub.auth.account_id is None or sub.auth.account_id in viewers]
    if event in ("update", "status.update"):
        return _render_post(int(msg["post_id"]), targets, viewers), dead
    out: list[Delivery] = []
    cache: dict[int | None, str | None] = {}
    for sub, streams in targets:
        account_id = sub.auth.account_id
        viewer = viewers.get(account_id) if account_id is not None else None
        if event == "delete":
            out.append((sub, streams, str(msg["post_id"])))
            continue
        if viewer is None:
            continue
        if account_id not in cache:
            if event == "conversation":
                cache[account_id] = _conversation_for(viewer, int(msg["post_id"]), int(msg["thread_id"]))
            elif event == "notification":
                cache[account_id] = _notification_for(viewer, int(msg["notification_id"]))
            else:
                cache[account_id] = None
        payload = cache[account_id]
        if payload is not None:
            out.append((sub, streams, payload))
    return out, dead


def _render_post(post_id: int, targets: list[tuple[Subscriber, list[Stream]]], viewers: dict[int, Account]) -> list[Delivery]:
    """An ``update`` or ``status.update``: the user and list streams (home filters) and the public
    and hashtag streams (public posts only, public filters) of every target, rendered together."""
    wanted: dict[bool, set[int | None]] = {False: set(), True: set()}
    for sub, streams in targets:
        for public_only in (False, True):
            if any((s.name not in ("user", "list")) == public_only for s in streams):
                wanted[public_only].add(sub.auth.account_id)
    payloads: dict[tuple[int | None, bool], str] = {}
    post = Post.objects.filter(pk=post_id).only("pk", "author_id").first()
    if post is not None:
        # A silenced domain's posts reach the public streams of its authors' followers only.
        wanted[True] -= silenced_from(post, wanted[True])
    for public_only, account_ids in wanted.items():
        signed_in = {a: viewers[a] for a in account_ids if a is not None}
        if signed_in:
            for account_id, body in _statuses_for_many(post_id, signed_in, public_only).items():
                payloads[(account_id, public_only)] = body
        if None in account_ids:  # anonymous readers of public streams share one rendering
            body_or_none = _status_for(None, post_id, public_only)
            if body_or_none is not None:
                payloads[(None, public_only)] = body_or_none
    out: list[Delivery] = []
    for sub, streams in targets:
        for public_only in (False, True):
            chosen = [s for s in streams if (s.name not in ("user", "list")) == public_only]
            payload = payloads.get((sub.auth.account_id, public_only))
            if chosen and payload is not None:
                out.append((sub, chosen, payload))
    return out


class Hub:
    """Every subscriber of this process, fed from the bus."""

    def __init__(self, *, threads: int = 4) -> None:
        self.subscribers: set[Subscriber] = set()
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="rostra-streaming")
        self.delivered = 0

    async def run_db(self, fn: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.pool, fn, *args)

    def add(self, sub: Subscriber) -> None:
        self.subscribers.add(sub)
        metrics.streaming_connections(len(self.subscribers))

    def remove(self, sub: Subscriber) -> None:
        self.subscribers.discard(sub)
        sub.close()
        metrics.streaming_connections(len(self.subscribers))

    async def handle(self, msg: dict[str, Any]) -> None:
        event = msg.get("event")
        ident = msg.get("notification_id") if event == "notification" else msg.get("post_id")
        if not isinstance(ident, int):
            return
        # A large fan-out names thousands of users: asked once per subscriber, so a set.
        msg = {**msg, "users": frozenset(msg.get("users", ())), "lists": frozenset(msg.get("lists", ()))}
        targets = [(sub, streams) for sub in list(self.subscribers) if not sub.closed and (streams := matches(sub, msg))]
        if not targets:
            return
        # Each viewer is rendered once, in chunks spread over the pool; a chunk's sockets are written
        # as soon as it is ready, so the first subscribers need not wait for the last.
        by_viewer: dict[int | None, list[tuple[Subscriber, list[Stream]]]] = {}
        for target in targets:
            by_viewer.setdefault(target[0].auth.account_id, []).append(target)
        groups = list(by_viewer.values())
        size = POST_CHUNK if event in ("update", "status.update") else CHUNK
        chunks = [[t for g in groups[i : i + size] for t in g] for i in range(0, len(groups), size)]
        loop = asyncio.get_running_loop()
        for done in asyncio.as_completed([loop.run_in_executor(self.pool, render, msg, chunk) for chunk in chunks]):
            deliveries, dead = await done
            for sub in list(self.subscribers):
                if sub.auth.token_id in dead:
                    self.remove(sub)
            self._deliver(str(event), ident, deliveries)

    def _deliver(self, event: str, ident: int, deliveries: list[Delivery]) -> None:
        for sub, streams, payload in deliveries:
            if not sub.remember((event, ident)):
                continue
            if event in ("update", "status.update"):
                sub.sent_posts[ident] = None
                if len(sub.sent_posts) > SEEN_LIMIT:
                    sub.sent_posts.popitem(last=False)
            for s in streams:
                sub.push(s.label, event, payload)
                self.delivered += 1

    async def check_tokens(self) -> None:
        """Close the streams of revoked tokens and suspended or deactivated people."""
        tokens = {s.auth.token_id for s in self.subscribers if s.auth.token_id is not None}
        if not tokens:
            return
        live = await self.run_db(live_tokens, tokens)
        for sub in list(self.subscribers):
            # Only the tokens asked about: someone who connected while the check ran is not dead.
            if sub.auth.token_id in tokens and sub.auth.token_id not in live:
                self.remove(sub)

    async def run(self) -> None:
        """Feed the subscribers from the bus, and re-check their tokens every few seconds."""
        from rostra.streaming import bus

        async def checker() -> None:
            while True:
                await asyncio.sleep(TOKEN_CHECK_S)
                try:
                    await self.check_tokens()
                except Exception:
                    log.exception("streaming: token check failed")

        task = asyncio.create_task(checker())
        try:
            async for msg in bus.listen():
                try:
                    await self.handle(msg)
                except Exception:
                    log.exception("streaming: could not deliver %s", msg.get("event"))
        finally:
            task.cancel()
