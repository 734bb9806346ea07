"""Delivery: sending this instance's activities to other servers, retried for days, all in the
database so nothing is lost with Redis or a worker.

Two halves:

* **Enqueue** (``on_*``, run by the pipeline after the local action's event): the activity is
  built once (``OutboxActivity``, unique by id) and one ``Delivery`` row is written per target
  inbox, in one transaction; a remote actor's shared inbox stands for all the followers behind it.
  Handlers are idempotent (unique activity id, unique (activity, inbox)), so the pipeline's
  at-least-once becomes exactly-once rows.
* **Send** (``deliver_due``, queued after the rows commit and run every minute): due rows are
  claimed under a short lease, POSTed signed with the sender's key through the one outbound client, and moved along the state
  machine: 2xx → done; 4xx (but 408/429) → failed for good; 429 → again after Retry-After;
  5xx, time-outs, unreachable → again on ``RETRY_SCHEDULE`` until it is spent (≈2 days), then failed.

A circuit breaker per domain (``DomainHealth``) stops hammering a dead server: after
``BREAKER_FAILURES`` failures in a row spanning at least ``BREAKER_MIN_SPAN``, the domain is
paused; its deliveries wait (neither attempted nor counted) until the pause ends, when one
delivery probes it. A success closes the breaker; a failure pauses again, each time longer.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, ParamSpec
from urllib.parse import urlsplit

from django.db import connection, transaction
from django.db.models import F

from rostra.accounts.models import Account, Block, Follow, FollowRequest
from rostra.core import clock, outbound
from rostra.core.prepared import Prepared
from rostra.federation import actions, activities, double_knock, instance_actor, policy, uris
from rostra.federation.models import (
    ActorKey,
    Delivery,
    DeliveryState,
    DomainHealth,
    InboundFollow,
    InboxItem,
    OutboxActivity,
    RemoteActor,
    RemotePost,
)
from rostra.federation.signatures import SignatureError
from rostra.posts.models import Like, Mention, ModerationState, Post, Visibility

log = logging.getLogger("rostra.federation.delivery")
P = ParamSpec("P")

# Sidekiq's (and so Mastodon's) back-off: attempt n (0-based) failed → wait n⁴ + 15 s, plus a
# jitter of up to 9·(n+1) s. 16 retries after the first try span about 2.07 days.
MAX_RETRIES = 16
RETRY_AFTER_CAP = timedelta(days=1)  # a 429's Retry-After is honoured up to this
# A claimed row is invisible to other workers this long: longer than a batch can take (10 rows times
# the outbound client's 30 s budget), so two workers never send the same row at once.
LEASE = timedelta(minutes=10)
BATCH = 10
KEEP_FINISHED = timedelta(days=30)
BREAKER_FAILURES = 8
BREAKER_MIN_SPAN = timedelta(minutes=10)
BREAKER_PAUSE = timedelta(hours=1)  # doubled on each failed probe...
BREAKER_MAX_PAUSE = timedelta(hours=12)  # ...up to this
DELIVERABLE = (ModerationState.PUBLISHED, ModerationState.LIMITED)


def _unless_unknown(handler: Callable[P, None]) -> Callable[P, None]:
    """A remote account or post whose ActivityPub id was never learnt (made before federation,
    or by an import) cannot be named on the wire: there is nothing to send, which is no error."""

    @functools.wraps(handler)
    def run(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            handler(*args, **kwargs)
        except activities.UnknownRemote as exc:
            log.info("nothing delivered for %s: %s", handler.__name__, exc)

    return run


def retry_delay(attempt: int, row_id: int) -> timedelta:
    """How long after failed attempt ``attempt`` (0-based) to try again. The jitter is taken from
    the row's id, so rows spread out but a row's own schedule is reproducible."""
    return timedelta(seconds=attempt**4 + 15 + (row_id % 10) * (attempt + 1))


# ---------------------------------------------------------------------------------------------
# Enqueue


def _domain(inbox: str) -> str:
    return urlsplit(inbox).netloc.lower()


def _inbox_of(actor: RemoteActor) -> str:
    return actor.shared_inbox or actor.inbox


def _inboxes(account_ids: Iterable[int]) -> set[str]:
    return {_inbox_of(a) for a in RemoteActor.objects.filter(account_id__in=list(account_ids), account__domain__gt="")}


def _remote_followers_inboxes(author_id: int) -> set[str]:
    ids = Follow.objects.filter(target_id=author_id).exclude(follower__domain="").values_list("follower_id", flat=True)
    return _inboxes(ids)


# How new deliveries are sent at once rather than at the next minute's run: set by the pipeline
# (a queued task running ``deliver_due``); unset, they wait for the periodic task.
_send_soon: Callable[[], object] | None = None


def set_sender(fn: Callable[[], object] | None) -> None:
    global _send_soon
    _send_soon = fn


def enqueue(sender: Account, body: dict[str, Any], inboxes: Iterable[str], *, subject: str = "") -> OutboxActivity | None:
    """Store ``body`` once and a pending delivery per inbox, in one transaction (idempotent);
    after commit, ask for a ``deliver_due`` run straight away (the rows are leased, so a run
    that finds them already taken, or already sent, does nothing)."""
    remote = {i for i in inboxes if i and not uris.is_local_host(_domain(i))}
    # Instance policy: nothing is sent to a suspended (or, in allow-list mode, not allowed) domain.
    refused = {d for d in {_domain(i) for i in remote} if policy.is_suspended(d)}
    targets = sorted(i for i in remote if _domain(i) not in refused)
    if not targets or not sender.is_local:
        return None
    now = clock.now()
    with transaction.atomic():
        activity, _ = OutboxActivity.objects.get_or_create(
            activity_id=body["id"],
            defaults={"activity_type": body["type"], "sender": sender, "subject": subject, "body": body, "created_at": now},
        )
        Delivery.objects.bulk_create(
            [Delivery(activity=activity, inbox=i, domain=_domain(i), next_attempt_at=now, created_at=now) for i in targets],
            ignore_conflicts=True,
        )
        if _send_soon is not None:
            # robust: a queue that cannot take the task loses nothing (the periodic run sends the rows).
            transaction.on_commit(_send_soon, robust=True)
    return activity


def _post(post_id: int) -> Post | None:
    return (
        Post.objects.filter(pk=post_id, author__domain="", author__suspended_at__isnull=True)
        .select_related("author", "in_reply_to__author", "repost_of__author")
        .prefetch_related("media", "hashtags", "mention_rows__account")
        .first()
    )


def _post_audience(post: Post) -> set[str]:
    """Who receives a post: remote followers and the remote author it replies to or quotes (not
    for direct posts), and remote mentioned people — never a remote account that blocks the author
    (its follows ended with the Block; a shared inbox serving other followers still receives it)."""
    blockers = _blockers(post.author_id)
    mentioned = _inboxes(m.account_id for m in post.mention_rows.all() if m.account_id not in blockers)
    if post.visibility == Visibility.DIRECT:
        return mentioned
    if post.visibility == Visibility.PRIVATE:
        return _remote_followers_inboxes(post.author_id) | mentioned  # followers only: nobody else, as Mastodon
    if post.in_reply_to is not None and not post.in_reply_to.author.is_local and post.in_reply_to.author_id not in blockers:
        mentioned |= _inboxes([post.in_reply_to.author_id])  # the person answered hears of it
    quoted_author = Post.objects.filter(pk=post.quote_of_id or 0).values_list("author_id", flat=True).first()
    if quoted_author is not None and quoted_author not in blockers:
        mentioned |= _inboxes([quoted_author])  # the person quoted hears of it
    return _remote_followers_inboxes(post.author_id) | mentioned


def _blockers(author_id: int) -> set[int]:
    """The remote accounts that block a local one (their Block arrived in the inbox)."""
    return set(Block.objects.filter(target_id=author_id).exclude(account__domain="").values_list("account_id", flat=True))


def _blockers_own_inboxes(author_id: int) -> set[str]:
    """The personal inboxes of remote accounts that block a local one: an edit of a post they
    received before the Block no longer goes there (a shared inbox may serve others: kept)."""
    actors = RemoteActor.objects.filter(account_id__in=_blockers(author_id))
    return {a.inbox for a in actors if a.inbox and a.inbox != a.shared_inbox}


# The two questions ``_may_reach_remote`` asks of every new post, prepared once each.
_MENTIONS_REMOTE = Prepared(
    "whether a post mentions a remote account", lambda post_id: Mention.objects.filter(post_id=post_id).exclude(account__domain="").values_list("pk")[:1]
)
_FOLLOWED_REMOTELY = Prepared(
    "whether an account has a remote follower", lambda author_id: Follow.objects.filter(target_id=author_id).exclude(follower__domain="").values_list("pk")[:1]
)


def _may_reach_remote(post_id: int, post: Post | None = None) -> bool:
    """Whether a new post could have anyone on another server in its audience (``_post_audience``,
    or a repost's): a remote follower of its author, or a remote account it mentions, answers,
    quotes or reposts. A cheap first question (a few small queries on the post as the caller
    read it) that spares a post nobody elsewhere receives the full read, with its media, hashtags
    and mentions, and the activity built for nobody; "yes" only means the full computation runs."""
    if post is None or post.pk != post_id:
        post = next(iter(Post.objects.select_related("author").filter(pk=post_id)[:1]), None)
    if post is None or not post.author.is_local or post.author.suspended_at is not None or post.moderation_state not in DELIVERABLE:
        return False
    others = {i for i in (post.in_reply_to_account_id,) if i is not None}
    shared = [i for i in (post.repost_of_id, post.quote_of_id) if i is not None]
    if shared:
        others |= set(Post.objects.filter(pk__in=shared).values_list("author_id", flat=True))
    if others and Account.objects.filter(pk__in=others).exclude(domain="").exists():
        return True
    if _MENTIONS_REMOTE.rows(post_id=post.pk):
        return True
    if post.visibility == Visibility.DIRECT and post.repost_of_id is None:
        return False  # a direct post goes to the people it mentions only
    return bool(_FOLLOWED_REMOTELY.rows(author_id=post.author_id))


@_unless_unknown
def on_post_created(post_id: int, *, post: Post | None = None) -> None:
    """A new post (or repost) that stage 2 left published or limited: Create, or Announce.
    ``post``: the row (with its author), if the caller has just read it."""
    if not _may_reach_remote(post_id, post):
        return
    post = _post(post_id)
    if post is None or post.moderation_state not in DELIVERABLE:
        return
    subject = uris.note_url(post.author.username, post.pk)
    if post.repost_of is not None:
        original_author = [] if post.repost_of.author_id in _blockers(post.author_id) else [post.repost_of.author_id]
        audience = _remote_followers_inboxes(post.author_id) | _inboxes(original_author)
        enqueue(post.author, activities.announce(post), audience, subject=subject)
        return
    enqueue(post.author, activities.create_note(post), _post_audience(post), subject=subject)


@_unless_unknown
def on_post_updated(post_id: int) -> None:
    post = _post(post_id)
    if post is None or post.repost_of is not None or post.moderation_state not in DELIVERABLE:
        return
    subject = uris.note_url(post.author.username, post.pk)
    if not OutboxActivity.objects.filter(subject=subject, activity_type="Create").exists():
        return  # never federated (held until now, or older than federation): nothing to update
    audience = _post_audience(post) | (_sent_to(subject) - _blockers_own_inboxes(post.author_id))
    enqueue(post.author, activities.update_note(post), audience, subject=subject)


def _sent_to(subject: str) -> set[str]:
    return set(Delivery.objects.filter(activity__subject=subject).values_list("inbox", flat=True))


def _retract(author: Account, post_id: int) -> None:
    """Delete (a note) or Undo (an Announce) whatever was sent about a local post, to the inboxes
    it went to — and, if it was public, to today's followers too."""
    subject = uris.note_url(author.username, post_id)
    sent = OutboxActivity.objects.filter(subject=subject, activity_type__in=("Create", "Announce")).order_by("created_at").first()
    if sent is None:
        return  # never federated: nothing to take back
    audience = _sent_to(subject)
    addressed = [*sent.body.get("to", []), *sent.body.get("cc", [])]
    if uris.PUBLIC in addressed:
        audience |= _remote_followers_inboxes(author.pk)
    if sent.activity_type == "Announce":
        body = activities.undo(author, sent.body)
    else:
        body = activities.delete_note(author, subject, to=[uris.PUBLIC], cc=[], deleted_at=clock.now())
        if uris.PUBLIC not in addressed:
            body["to"], body["cc"] = sent.body.get("to", []), sent.body.get("cc", [])
    enqueue(author, body, audience, subject=subject)


@_unless_unknown
def on_post_deleted(post_id: int, author_id: int) -> None:
    author = Account.objects.filter(pk=author_id, domain="").first()
    if author is not None:
        _retract(author, post_id)


@_unless_unknown
def on_post_moderated(post_id: int, after: str) -> None:
    """Held or removed after it went out: take it back. Released: send it, if it never went."""
    post = Post.objects.filter(pk=post_id, author__domain="").select_related("author").first()
    if post is None:
        return
    if after in DELIVERABLE:
        on_post_created(post_id)
    else:
        _retract(post.author, post_id)


def _follow_activity(follower: Account, target: Account) -> OutboxActivity | None:
    return (
        OutboxActivity.objects.filter(sender=follower, activity_type="Follow", subject=activities.actor_uri(target))
        .order_by("-created_at")
        .first()
    )


def _remote_follow_id(follower: Account, target: Account) -> str | None:
    """The id of the remote Follow activity received, to name it in Accept or Reject: the
    inbox handlers keep it (``InboundFollow``); the stored inbox item is the fallback."""
    kept = InboundFollow.objects.filter(follower=follower, target=target).values_list("activity_id", flat=True).first()
    if kept:
        return kept
    actor = RemoteActor.objects.filter(account_id=follower.pk).values_list("uri", flat=True).first()
    if actor is None:
        return None
    return (
        InboxItem.objects.filter(actor=actor, activity_type="Follow", body__object=uris.actor_url(target.username))
        .order_by("-received_at")
        .values_list("activity_id", flat=True)
        .first()
    )


def _pair(follower_id: int, target_id: int) -> tuple[Account, Account] | None:
    accounts = {a.pk: a for a in Account.objects.filter(pk__in=[follower_id, target_id])}
    if follower_id not in accounts or target_id not in accounts:
        return None
    return accounts[follower_id], accounts[target_id]


@_unless_unknown
def on_follow(follower_id: int, target_id: int) -> None:
    """follow.created / follow.requested: a local account follows a remote one → Follow; a remote
    account's follow of a local one took effect → Accept."""
    pair = _pair(follower_id, target_id)
    if pair is None:
        return
    follower, target = pair
    if follower.is_local and not target.is_local:
        row = Follow.objects.filter(follower=follower, target=target).values_list("pk", flat=True).first()
        if row is None:
            row = FollowRequest.objects.filter(requester=follower, target=target).values_list("pk", flat=True).first()
        if row is not None and _follow_activity(follower, target) is None:
            body = activities.follow(follower, target, row)
            enqueue(follower, body, [_personal_inbox(target)], subject=body["object"])
    elif target.is_local and not follower.is_local:
        follow = Follow.objects.filter(follower=follower, target=target).first()
        if follow is not None:
            send_accept(follow)


def _personal_inbox(account: Account) -> str:
    actor = RemoteActor.objects.filter(account_id=account.pk).first()
    return actor.inbox if actor is not None else ""


@_unless_unknown
def send_accept(follow: InboundFollow | Follow, follow_activity_id: str | None = None) -> None:
    """Tell a remote follower that their follow of a local account took effect. Public: the inbox
    handlers call it with the ``InboundFollow`` they kept (or a ``Follow`` and the activity id);
    the Accept's id derives from the Follow's, so calling it twice sends one Accept."""
    follower, target = follow.follower, follow.target
    if follower.is_local or not target.is_local:
        return
    if isinstance(follow, InboundFollow):
        follow_activity_id = follow_activity_id or follow.activity_id
    activity_id = follow_activity_id or _remote_follow_id(follower, target)
    body = activities.accept(target, activities.actor_uri(follower), activity_id)
    enqueue(target, body, [_personal_inbox(follower)])


def send_accept_for(inbound_follow_id: int) -> None:
    """The ``federation.accept_follow`` event's handler (the inbox's fallback path)."""
    row = InboundFollow.objects.filter(pk=inbound_follow_id).select_related("follower", "target").first()
    if row is not None:
        send_accept(row)


@_unless_unknown
def send_reject(target: Account, follower: Account, follow_activity_id: str | None = None) -> None:
    """Tell a remote account that its follow (or request) of a local one is refused or ended."""
    if follower.is_local or not target.is_local:
        return
    activity_id = follow_activity_id or _remote_follow_id(follower, target)
    body = activities.reject(target, activities.actor_uri(follower), activity_id)
    enqueue(target, body, [_personal_inbox(follower)])


@_unless_unknown
def on_follow_removed(follower_id: int, target_id: int) -> None:
    """A local account unfollowed a remote one → Undo Follow; removed a remote follower → Reject."""
    pair = _pair(follower_id, target_id)
    if pair is None:
        return
    follower, target = pair
    if follower.is_local and not target.is_local:
        sent = _follow_activity(follower, target)
        if sent is not None:
            enqueue(follower, activities.undo(follower, sent.body), [_personal_inbox(target)], subject=sent.body["object"])
    elif target.is_local and not follower.is_local:
        send_reject(target, follower)


@_unless_unknown
def on_block(account_id: int, target_id: int) -> None:
    pair = _pair(account_id, target_id)
    if pair is None:
        return
    account, target = pair
    row = Block.objects.filter(account=account, target=target).values_list("pk", flat=True).first()
    if account.is_local and not target.is_local and row is not None:
        enqueue(account, activities.block(account, target, row), [_personal_inbox(target)], subject=activities.actor_uri(target))


def _undo_last(sender: Account, activity_type: str, subject: str, inboxes: Iterable[str]) -> None:
    """Undo the latest ``activity_type`` the sender sent about ``subject`` (nothing if none went out)."""
    sent = OutboxActivity.objects.filter(sender=sender, activity_type=activity_type, subject=subject).order_by("-created_at").first()
    if sent is not None:
        enqueue(sender, activities.undo(sender, sent.body), inboxes, subject=subject)


@_unless_unknown
def on_unblock(account_id: int, target_id: int) -> None:
    pair = _pair(account_id, target_id)
    if pair is None:
        return
    account, target = pair
    if account.is_local and not target.is_local:
        _undo_last(account, "Block", activities.actor_uri(target), [_personal_inbox(target)])


@_unless_unknown
def on_unlike(account_id: int, post_id: int) -> None:
    account = Account.objects.filter(pk=account_id, domain="").first()
    post = Post.objects.filter(pk=post_id).select_related("author").first()
    if account is None or post is None or post.author.is_local:
        return
    _undo_last(account, "Like", activities.note_uri(post), _inboxes([post.author_id]))


@_unless_unknown
def on_follow_request_rejected(target_id: int, requester_id: int) -> None:
    """A local account refused a remote account's follow request → Reject."""
    pair = _pair(requester_id, target_id)
    if pair is not None:
        requester, target = pair
        send_reject(target, requester)


@_unless_unknown
def on_like(account_id: int, post_id: int) -> None:
    like = Like.objects.filter(account_id=account_id, post_id=post_id).select_related("account", "post__author").first()
    if like is None or not like.account.is_local or like.post.author.is_local:
        return
    enqueue(like.account, activities.like(like.account, like.pk, like.post), _inboxes([like.post.author_id]), subject=activities.note_uri(like.post))


@_unless_unknown
def on_account_updated(account_id: int) -> None:
    account = Account.objects.filter(pk=account_id, domain="", suspended_at__isnull=True).first()
    if account is None:
        return
    body = activities.update_person(account, actions.ensure_key(account).public_key_pem)
    enqueue(account, body, _remote_followers_inboxes(account.pk))


def _known_servers(account: Account) -> set[str]:
    """Every inbox that may know a local account: its remote followers' and every inbox it ever
    delivered to (the people it followed, replied to, liked...). Not where its forwarded reports
    went: those were sent in the instance's name, and must not be tied to it afterwards."""
    sent = Delivery.objects.filter(activity__sender=account).exclude(activity__activity_type="Flag").values_list("inbox", flat=True).distinct()
    return _remote_followers_inboxes(account.pk) | set(sent)


@_unless_unknown
def on_account_moderated(account_id: int, action: str) -> None:
    """``account.moderated``: a suspended local account is deleted from every server that knows
    it (``Delete`` of the actor); when the suspension is lifted, an ``Update`` of the actor lets
    them fetch it again. Each is sent once per suspension (ids derive from it)."""
    account = Account.objects.filter(pk=account_id, domain="").first()
    if account is None:
        return
    actor = uris.actor_url(account.username)
    if action in ("suspend", "ban"):
        if account.suspended_at is None:
            return  # lifted before this ran: nothing to announce
        body = activities.delete_actor(account, stamp=account.suspended_at.isoformat())
        enqueue(account, body, _known_servers(account), subject=actor)
    elif action == "lift" and account.suspended_at is None:
        deleted = OutboxActivity.objects.filter(sender=account, activity_type="Delete", subject=actor).order_by("-created_at").first()
        if deleted is None:
            return  # no server was told of the suspension
        body = activities.update_person(account, actions.ensure_key(account).public_key_pem, after=deleted.activity_id)
        enqueue(account, body, _known_servers(account), subject=actor)


def on_account_purged(account: Account) -> None:
    """Just before a local account is purged (``accounts.farewell``, inside its transaction): a
    Delete of its actor to every server that knows it, kept with a sealed copy of its key (the
    account and its key are gone when it is sent). Its other activities go with it, but the
    reports it forwarded: the instance sends those in its own name, and they still go."""
    known = _known_servers(account)
    key = ActorKey.objects.filter(account=account).values_list("private_key_pem", flat=True).first()
    farewell = None
    if known and key:
        body = activities.delete_actor(account, stamp=f"deleted {clock.now().isoformat()}")
        farewell = enqueue(account, body, known, subject=body["object"])
    others = OutboxActivity.objects.filter(sender=account).exclude(activity_type="Flag")
    if farewell is not None:
        OutboxActivity.objects.filter(pk=farewell.pk).update(sealed_key=key)
        others = others.exclude(pk=farewell.pk)
    others.delete()


@_unless_unknown
def on_report_forwarded(report_id: int) -> None:
    """``report.forwarded``: a local report about a remote account goes to its server's
    moderators as a ``Flag`` from the instance actor (the reporter is never named)."""
    from rostra.moderation.models import Report

    report = Report.objects.select_related("account", "reporter").filter(pk=report_id).first()
    if report is None or report.account.is_local or not report.reporter.is_local:
        return
    remote = RemoteActor.objects.filter(account_id=report.account_id).first()
    if remote is None:
        return
    post_ids = [*([report.post_id] if report.post_id else []), *report.evidence_post_ids]
    by_post = dict(
        RemotePost.objects.filter(post_id__in=post_ids, post__author_id=report.account_id).values_list("post_id", "uri")
    )
    objects = [remote.uri, *(by_post[i] for i in dict.fromkeys(post_ids) if i in by_post)]
    body = activities.flag(report.pk, objects, report.comment)
    enqueue(report.reporter, body, [_inbox_of(remote)], subject=f"report:{report.pk}")


@_unless_unknown
def on_account_moved(account_id: int) -> None:
    """A local account moved (``account.moved``): Move to its remote followers' (shared) inboxes."""
    account = Account.objects.filter(pk=account_id, domain="", moved_to__isnull=False).select_related("moved_to").first()
    if account is None or account.moved_to is None or account.moved_at is None:
        return  # the redirect was cancelled before this ran: nothing to announce
    body = activities.move(account, activities.actor_uri(account.moved_to), account.moved_at)
    enqueue(account, body, _remote_followers_inboxes(account.pk), subject=body["target"])


# ---------------------------------------------------------------------------------------------
# Send


def deliver_due(*, now: datetime | None = None, batch: int = BATCH) -> int:
    """Send one batch of due deliveries; returns how many were attempted."""
    at = now or clock.now()
    rows = _claim(at, batch)
    paused: set[str] = set()
    for row in rows:
        if row.domain in paused:
            continue  # the breaker opened during this batch: the row waits (its lease runs out)
        if _attempt(row, at):
            paused.add(row.domain)
    return len(rows)


def _claim(at: datetime, batch: int) -> list[Delivery]:
    """Take due rows of unpaused domains under a lease, in one short transaction. PostgreSQL:
    ``FOR UPDATE SKIP LOCKED``, so workers share the work; SQLite: writers queue (IMMEDIATE).
    A domain whose pause is over (half-open breaker) gets one probe; its other rows wait."""
    paused = DomainHealth.objects.filter(paused_until__gt=at).values_list("domain", flat=True)
    probing = list(
        DomainHealth.objects.filter(paused_until__lte=at, consecutive_failures__gte=BREAKER_FAILURES).values_list(
            "domain", flat=True
        )
    )
    with transaction.atomic():
        due = Delivery.objects.filter(state=DeliveryState.PENDING, next_attempt_at__lte=at)
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True)
        picked = [
            row for domain in probing[:batch] if (row := due.filter(domain=domain).order_by("next_attempt_at", "id").first())
        ]
        rest = due.exclude(domain__in=paused).exclude(domain__in=probing).order_by("next_attempt_at", "id")
        picked += list(rest[: max(0, batch - len(picked))])
        Delivery.objects.filter(pk__in=[r.pk for r in picked]).update(next_attempt_at=at + LEASE)
    return list(Delivery.objects.filter(pk__in=[r.pk for r in picked]).select_related("activity__sender").order_by("id"))


def _attempt(row: Delivery, at: datetime) -> bool:
    """Send one row and record the outcome; True when the domain's breaker opened."""
    if policy.is_suspended(row.domain):  # blocked since the row was made
        _finish(row, at, DeliveryState.FAILED, None, "The domain is suspended by this instance's policy.")
        return False
    body = json.dumps(row.activity.body, ensure_ascii=False).encode("utf-8")
    try:
        # RFC 9421 first where the domain is not known to refuse it, draft-cavage after a 400/401.
        response = double_knock.post(row.domain, row.inbox, body, **_signer(row.activity), at=at)
    except (outbound.ForbiddenDestination, SignatureError, RuntimeError) as exc:
        _finish(row, at, DeliveryState.FAILED, None, str(exc))
        return False
    except outbound.OutboundError as exc:
        _retry(row, at, None, str(exc))
        return _breaker_failure(row.domain, at)
    return _outcome(row, at, response)


def _signer(activity: OutboxActivity) -> dict[str, str]:
    """Who signs: the sending account, or the instance actor for what the instance says in its
    own name (a forwarded report's Flag, which must not name the person who reported)."""
    if activity.body.get("actor") == instance_actor.actor_uri():
        return instance_actor.signer().as_kwargs()
    if activity.sender is None:  # a deleted account's farewell: its key was kept for this only
        if not activity.sealed_key:
            raise RuntimeError("the sending account is deleted; nothing can sign for it")
        return {"key_id": f"{activity.body['actor']}#main-key", "private_key_pem": actions.unseal_private_key(activity.sealed_key)}
    return {"key_id": uris.key_id(activity.sender.username), "private_key_pem": actions.private_key_pem(activity.sender)}


def _outcome(row: Delivery, at: datetime, response: outbound.Response) -> bool:
    status = response.status
    if 200 <= status < 300:
        _finish(row, at, DeliveryState.DONE, status, "")
        DomainHealth.objects.filter(domain=row.domain).update(
            consecutive_failures=0, failing_since=None, paused_until=None, pauses=0
        )
    elif status == 429:
        wait = _retry_after(response.header("retry-after"), at)
        _retry(row, at, status, "429 Too Many Requests", wait=wait)
    elif 400 <= status < 500 and status != 408:
        _finish(row, at, DeliveryState.FAILED, status, f"refused with HTTP {status}")
    elif status >= 500 or status == 408:
        _retry(row, at, status, f"HTTP {status}")
        return _breaker_failure(row.domain, at)
    else:  # 1xx/3xx: an inbox that redirects a POST is not an inbox
        _finish(row, at, DeliveryState.FAILED, status, f"unexpected HTTP {status}")
    return False


def _retry_after(value: str, at: datetime) -> timedelta | None:
    value = value.strip()
    if not value:
        return None
    if value.isdigit():
        wait = timedelta(seconds=int(value))
    else:
        try:
            wait = parsedate_to_datetime(value) - at
        except (TypeError, ValueError):
            return None
    return max(timedelta(0), min(wait, RETRY_AFTER_CAP))


def _finish(row: Delivery, at: datetime, state: str, status: int | None, error: str) -> None:
    Delivery.objects.filter(pk=row.pk, state=DeliveryState.PENDING).update(
        state=state, attempts=F("attempts") + 1, last_status=status, last_error=error[:500], finished_at=at
    )


def _retry(row: Delivery, at: datetime, status: int | None, error: str, *, wait: timedelta | None = None) -> None:
    if row.attempts >= MAX_RETRIES:
        _finish(row, at, DeliveryState.FAILED, status, f"gave up after {row.attempts + 1} attempts: {error}")
        return
    delay = wait if wait is not None else retry_delay(row.attempts, row.pk)
    Delivery.objects.filter(pk=row.pk, state=DeliveryState.PENDING).update(
        attempts=F("attempts") + 1, next_attempt_at=at + delay, last_status=status, last_error=error[:500]
    )


def _breaker_failure(domain: str, at: datetime) -> bool:
    """Count a failure; open (or re-open, longer) the breaker when the domain has been failing
    long enough. True when it opened now. A success resets everything (``_outcome``)."""
    with transaction.atomic():
        health, _ = DomainHealth.objects.select_for_update().get_or_create(domain=domain)
        health.consecutive_failures += 1
        health.failing_since = health.failing_since or at
        opened = (
            health.consecutive_failures >= BREAKER_FAILURES
            and at - health.failing_since >= BREAKER_MIN_SPAN
            and (health.paused_until is None or health.paused_until <= at)
        )
        if opened:
            health.paused_until = at + min(BREAKER_PAUSE * (2**health.pauses), BREAKER_MAX_PAUSE)
            health.pauses += 1
            log.warning(
                "delivery to %s paused until %s after %d failures", domain, health.paused_until, health.consecutive_failures
            )
        health.save()
    return opened


def prune(*, now: datetime | None = None) -> int:
    """Forget finished deliveries after ``KEEP_FINISHED``, and activities with none left — but
    the Create, Announce and Follow activities, which a later Delete or Undo is built from."""
    cutoff = (now or clock.now()) - KEEP_FINISHED
    deleted, _ = Delivery.objects.exclude(state=DeliveryState.PENDING).filter(finished_at__lt=cutoff).delete()
    OutboxActivity.objects.filter(created_at__lt=cutoff, deliveries__isnull=True).exclude(
        activity_type__in=("Create", "Announce", "Follow")
    ).delete()
    return deleted


def domain_paused(domain: str, *, now: datetime | None = None) -> bool:
    at = now or clock.now()
    return DomainHealth.objects.filter(domain=domain, paused_until__gt=at).exists()


__all__ = ["deliver_due", "domain_paused", "enqueue", "retry_delay", "send_accept", "send_reject"]
