"""Permission-checked reads about accounts and the social graph (the web and the API ask here).

Suspended accounts answer like accounts that do not exist (``NotFound``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any, TypeVar

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery, Sum
from django.utils import timezone

from rostra.accounts.models import Account, AccountNote, Block, Endorsement, Follow, FollowRequest, Role, User
from rostra.accounts.policies import active_mutes
from rostra.core.errors import NotFound
from rostra.core.pagination import Page, PageRequest, paginate

_Row = TypeVar("_Row", bound=Follow | Endorsement)


def get_local_account(username: str) -> Account:
    """A local, unsuspended account by its username (any case); NotFound otherwise."""
    account = (
        Account.objects.filter(username__iexact=(username or "").lstrip("@"), domain="", suspended_at__isnull=True)
        .select_related("user")
        .first()
    )
    if account is None:
        raise NotFound("No such account.")
    return account


def get_account_by_acct(acct: str) -> Account:
    """An unsuspended account by its handle as the web shows it: ``name`` (local, any case) or
    ``name@domain`` (a remote account already known here: nothing is fetched); NotFound otherwise."""
    name, _at, domain = (acct or "").lstrip("@").partition("@")
    if not domain:
        return get_local_account(name)
    account = (
        Account.objects.filter(username__iexact=name, domain__iexact=domain, suspended_at__isnull=True)
        .exclude(domain="")
        .select_related("user")
        .first()
    )
    if account is None:
        raise NotFound("No such account.")
    return account


def get_account(account_id: int) -> Account:
    account = Account.objects.filter(pk=account_id, suspended_at__isnull=True).first()
    if account is None:
        raise NotFound("No such account.")
    return account


@dataclass(frozen=True)
class Relationship:
    """How ``viewer`` and ``target`` stand towards each other, as the viewer may know it."""

    is_self: bool = False
    following: bool = False
    requested: bool = False  # a follow request from viewer to target is waiting
    followed_by: bool = False
    blocking: bool = False
    blocked_by: bool = False
    muting: bool = False
    endorsed: bool = False  # the viewer features the target on their profile
    note: str = ""  # the viewer's private note on the target ("" for none)


def relationship(viewer: Account | None, target: Account) -> Relationship:
    if viewer is None:
        return Relationship()
    v, t = viewer.pk, target.pk
    if v == t:
        own_note = AccountNote.objects.filter(account_id=v, target_id=t).values_list("comment", flat=True).first()
        return Relationship(is_self=True, note=own_note or "")
    # One query: each fact is an EXISTS on the target row.
    row = (
        Account.objects.filter(pk=t)
        .annotate(
            r_following=Exists(Follow.objects.filter(follower_id=v, target_id=t)),
            r_requested=Exists(FollowRequest.objects.filter(requester_id=v, target_id=t)),
            r_followed_by=Exists(Follow.objects.filter(follower_id=t, target_id=v)),
            r_blocking=Exists(Block.objects.filter(account_id=v, target_id=t)),
            r_blocked_by=Exists(Block.objects.filter(account_id=t, target_id=v)),
            r_muting=Exists(active_mutes().filter(account_id=v, target_id=t)),
            r_endorsed=Exists(Endorsement.objects.filter(account_id=v, target_id=t)),
            r_note=Subquery(AccountNote.objects.filter(account_id=v, target_id=t).values("comment")[:1]),
        )
        .values("r_following", "r_requested", "r_followed_by", "r_blocking", "r_blocked_by", "r_muting", "r_endorsed", "r_note")
        .first()
    )
    if row is None:
        return Relationship()
    facts = {k[2:]: bool(val) for k, val in row.items() if k != "r_note"}
    return Relationship(note=row["r_note"] or "", **facts)


def _graph_page(rows: QuerySet[Follow], req: PageRequest, side: str) -> Page[Account]:
    page = paginate(rows, req)
    return Page(items=[getattr(r, side) for r in page.items], next_max_id=page.next_max_id, prev_min_id=page.prev_min_id)


def _without_blocked(rows: QuerySet[_Row], viewer: Account | None, field: str) -> QuerySet[_Row]:
    """Leave out the people the viewer blocks or is blocked by."""
    if viewer is None:
        return rows
    other = OuterRef(field)
    return rows.exclude(Exists(Block.objects.filter(account_id=viewer.pk, target_id=other))).exclude(
        Exists(Block.objects.filter(account_id=other, target_id=viewer.pk))
    )


def followers(viewer: Account | None, account: Account, req: PageRequest) -> Page[Account]:
    """Who follows ``account``, newest follow first; pages are keyed by the follow's id."""
    rows = Follow.objects.filter(target=account, follower__suspended_at__isnull=True).select_related("follower")
    return _graph_page(_without_blocked(rows, viewer, "follower_id"), req, "follower")


def following(viewer: Account | None, account: Account, req: PageRequest) -> Page[Account]:
    """Whom ``account`` follows, newest follow first; pages are keyed by the follow's id."""
    rows = Follow.objects.filter(follower=account, target__suspended_at__isnull=True).select_related("target")
    return _graph_page(_without_blocked(rows, viewer, "target_id"), req, "target")


def follow_requesters(account: Account, limit: int = 80) -> list[Account]:
    """People waiting for ``account`` to accept their follow request, oldest first."""
    rows = FollowRequest.objects.filter(target=account, requester__suspended_at__isnull=True).select_related("requester")
    return [r.requester for r in rows.order_by("id")[:limit]]


def follow_request_count(account: Account) -> int:
    """How many follow requests wait for ``account`` (from unsuspended people)."""
    return FollowRequest.objects.filter(target=account, requester__suspended_at__isnull=True).count()


def public_profile_image(file_name: str) -> str:
    """Avatar and header files of unsuspended accounts are public. Returns the file name or NotFound."""
    if not file_name:
        raise NotFound("No such file.")
    found = Account.objects.filter(suspended_at__isnull=True).filter(avatar=file_name).exists() or Account.objects.filter(
        suspended_at__isnull=True, header=file_name
    ).exists()
    if not found:
        raise NotFound("No such file.")
    return file_name


def login_name(identifier: str) -> str:
    """The username to authenticate with, given a username or an email address."""
    identifier = (identifier or "").strip().lstrip("@")
    if "@" in identifier:
        user = User.objects.filter(email__iexact=identifier).values_list("username", flat=True).first()
        return user or identifier
    return identifier


def staff() -> list[Account]:
    """The instance's admins and moderators, admins first."""
    accounts = list(
        Account.objects.filter(user__role__in=(Role.ADMIN, Role.MODERATOR), suspended_at__isnull=True).select_related("user")
    )
    return sorted(accounts, key=lambda a: (a.user.role != Role.ADMIN, a.username.lower()))  # type: ignore[union-attr]


@dataclass(frozen=True)
class InstanceStats:
    people: int
    posts: int
    active_month: int = 0  # people who posted in the last 30 days
    active_halfyear: int = 0  # ... in the last 180 days


def instance_stats() -> InstanceStats:
    local = Account.objects.filter(domain="", suspended_at__isnull=True, user__isnull=False)
    now = timezone.now()
    totals = local.aggregate(
        n_posts=Sum("posts_count"),
        n_month=Count("pk", filter=Q(last_status_at__gte=now - timedelta(days=30))),
        n_halfyear=Count("pk", filter=Q(last_status_at__gte=now - timedelta(days=180))),
    )
    return InstanceStats(
        people=local.count(),
        posts=int(totals["n_posts"] or 0),
        active_month=int(totals["n_month"] or 0),
        active_halfyear=int(totals["n_halfyear"] or 0),
    )


# --- What the client API asks about accounts (Mastodon's accounts, relationships, suggestions)


def lookup(acct: str, local_domain: str) -> Account:
    """A local account by ``name``, ``@name`` or ``name@<this instance>``, or a remote account
    known here by ``name@domain``; NotFound otherwise (nothing is fetched here)."""
    name, _at, domain = (acct or "").strip().lstrip("@").partition("@")
    if domain and domain.lower() not in (local_domain.lower(), local_domain.lower().split(":", 1)[0]):
        remote = Account.objects.filter(username__iexact=name, domain__iexact=domain, suspended_at__isnull=True).first()
        if remote is None:
            raise NotFound("No such account.")
        return remote
    return get_local_account(name)


def accounts_by_ids(ids: list[int]) -> list[Account]:
    """The unsuspended accounts among ``ids``, in the order asked, each once."""
    found = {a.pk: a for a in Account.objects.filter(pk__in=ids, suspended_at__isnull=True)}
    seen: set[int] = set()
    out: list[Account] = []
    for i in ids:
        if i in found and i not in seen:
            seen.add(i)
            out.append(found[i])
    return out


@dataclass(frozen=True)
class RelationshipDetail:
    """A relationship with what the API shows besides: the follow's options and the mute's."""

    account: Account
    relationship: Relationship
    requested_by: bool = False  # the target asked to follow the viewer
    muting_notifications: bool = False
    showing_reblogs: bool = False
    notifying: bool = False


def relationships(viewer: Account, targets: list[Account]) -> list[RelationshipDetail]:
    """How ``viewer`` stands towards each of ``targets`` (a fixed number of queries)."""
    ids = [t.pk for t in targets]
    if not ids:
        return []
    v = viewer.pk
    t = OuterRef("pk")
    follow = Follow.objects.filter(follower_id=v, target_id=t)
    mute = active_mutes().filter(account_id=v, target_id=t)
    # One query: each fact is an EXISTS (or a one-value subquery) on the target's row.
    rows = {
        row["pk"]: row
        for row in Account.objects.filter(pk__in=ids)
        .annotate(
            r_following=Exists(follow),
            r_showing_reblogs=Subquery(follow.values("show_reposts")[:1]),
            r_notifying=Subquery(follow.values("notify")[:1]),
            r_requested=Exists(FollowRequest.objects.filter(requester_id=v, target_id=t)),
            r_requested_by=Exists(FollowRequest.objects.filter(target_id=v, requester_id=t)),
            r_followed_by=Exists(Follow.objects.filter(follower_id=t, target_id=v)),
            r_blocking=Exists(Block.objects.filter(account_id=v, target_id=t)),
            r_blocked_by=Exists(Block.objects.filter(account_id=t, target_id=v)),
            r_muting=Exists(mute),
            r_muting_notifications=Subquery(mute.values("hide_notifications")[:1]),
            r_endorsed=Exists(Endorsement.objects.filter(account_id=v, target_id=t)),
            r_note=Subquery(AccountNote.objects.filter(account_id=v, target_id=t).values("comment")[:1]),
        )
        .values(
            "pk", "r_following", "r_showing_reblogs", "r_notifying", "r_requested", "r_requested_by", "r_followed_by",
            "r_blocking", "r_blocked_by", "r_muting", "r_muting_notifications", "r_endorsed", "r_note",
        )
    }
    out = []
    for target in targets:
        row = rows.get(target.pk)
        if row is None:  # deleted since the caller read it: no relationship left
            out.append(RelationshipDetail(account=target, relationship=Relationship()))
            continue
        note = row["r_note"] or ""
        if target.pk == v:
            out.append(RelationshipDetail(account=target, relationship=Relationship(is_self=True, note=note)))
            continue
        r = Relationship(
            following=bool(row["r_following"]), requested=bool(row["r_requested"]), followed_by=bool(row["r_followed_by"]),
            blocking=bool(row["r_blocking"]), blocked_by=bool(row["r_blocked_by"]), muting=bool(row["r_muting"]),
            endorsed=bool(row["r_endorsed"]), note=note,
        )
        out.append(
            RelationshipDetail(
                account=target, relationship=r, requested_by=bool(row["r_requested_by"]),
                muting_notifications=bool(row["r_muting_notifications"]),
                showing_reblogs=bool(row["r_showing_reblogs"]), notifying=bool(row["r_notifying"]),
            )
        )
    return out


def relationship_detail(viewer: Account, target: Account) -> RelationshipDetail:
    return relationships(viewer, [target])[0]


def familiar_followers(viewer: Account, account: Account, limit: int = 40) -> list[Account]:
    """People the viewer follows who follow ``account`` (Mastodon's familiar followers)."""
    if viewer.pk == account.pk:
        return []
    viewer_follows = Follow.objects.filter(follower_id=viewer.pk).values("target_id")
    rows = (
        Follow.objects.filter(target_id=account.pk, follower_id__in=viewer_follows, follower__suspended_at__isnull=True)
        .select_related("follower")
        .order_by("-id")
    )
    return [f.follower for f in _without_blocked(rows, viewer, "follower_id")[:limit]]


def _account_page(rows: QuerySet[Any], req: PageRequest, side: str) -> Page[Account]:
    page = paginate(rows.select_related(side), req)
    return Page(items=[getattr(r, side) for r in page.items], next_max_id=page.next_max_id, prev_min_id=page.prev_min_id)


def blocked_accounts(viewer: Account, req: PageRequest) -> Page[Account]:
    """Whom the viewer blocks, newest block first; pages keyed by the block's id."""
    return _account_page(Block.objects.filter(account_id=viewer.pk, target__suspended_at__isnull=True), req, "target")


def muted_accounts(viewer: Account, req: PageRequest) -> Page[Account]:
    """Whom the viewer mutes (mutes in force), newest first; pages keyed by the mute's id.
    Each account carries ``mute_expires_at`` (None for a mute without an end)."""
    page = paginate(active_mutes().filter(account_id=viewer.pk, target__suspended_at__isnull=True).select_related("target"), req)
    items = []
    for row in page.items:
        setattr(row.target, "mute_expires_at", row.expires_at)  # noqa: B010 - a computed attribute, as annotations are
        items.append(row.target)
    return Page(items=items, next_max_id=page.next_max_id, prev_min_id=page.prev_min_id)


def endorsements(viewer: Account | None, account: Account, req: PageRequest) -> Page[Account]:
    """Whom ``account`` features on its profile, newest endorsement first; pages keyed by the
    endorsement's id. Suspended accounts, and people the viewer blocks or is blocked by, are left
    out (as in the followers list)."""
    rows = Endorsement.objects.filter(account=account, target__suspended_at__isnull=True)
    return _account_page(_without_blocked(rows, viewer, "target_id"), req, "target")


def follow_requests(viewer: Account, req: PageRequest) -> Page[Account]:
    """Who asks to follow the viewer, newest request first; pages keyed by the request's id."""
    rows = FollowRequest.objects.filter(target_id=viewer.pk, requester__suspended_at__isnull=True)
    return _account_page(rows, req, "requester")


def followed_ids(viewer: Account, ids: list[int]) -> set[int]:
    """Which of ``ids`` the viewer follows (one query)."""
    return set(Follow.objects.filter(follower_id=viewer.pk, target_id__in=ids).values_list("target_id", flat=True)) if ids else set()


@dataclass(frozen=True)
class Suggestion:
    """An account to suggest and why: ``friends_of_friends`` (followed by people the viewer
    follows) or ``most_followed`` (popular, recently active local people)."""

    account: Account
    source: str


SUGGESTION_ACTIVE_DAYS = 90


def suggestions(viewer: Account, limit: int = 40) -> list[Suggestion]:
    """Whom the viewer might follow, from local activity: first the accounts most followed by
    the people the viewer follows, then popular accounts that posted lately.

    Never the viewer, people they follow or asked to follow, block, mute or are blocked by,
    suspended or undiscoverable accounts, nor anyone the viewer dismissed."""
    from rostra.accounts.models import SuggestionDismissal

    v = viewer.pk
    excluded = (
        Q(pk=v)
        | Q(pk__in=Follow.objects.filter(follower_id=v).values("target_id"))
        | Q(pk__in=FollowRequest.objects.filter(requester_id=v).values("target_id"))
        | Q(pk__in=Block.objects.filter(account_id=v).values("target_id"))
        | Q(pk__in=Block.objects.filter(target_id=v).values("account_id"))
        | Q(pk__in=active_mutes().filter(account_id=v).values("target_id"))
        | Q(pk__in=SuggestionDismissal.objects.filter(account_id=v).values("target_id"))
    )
    candidates = Account.objects.filter(suspended_at__isnull=True, discoverable=True).exclude(excluded)
    friends = Follow.objects.filter(follower_id=v).values("target_id")
    by_friends = list(
        candidates.annotate(n_friends=Count("follower_rel", filter=Q(follower_rel__follower_id__in=friends)))
        .filter(n_friends__gt=0)
        .order_by("-n_friends", "-followers_count", "id")[:limit]
    )
    out = [Suggestion(account=a, source="friends_of_friends") for a in by_friends]
    if len(out) < limit:
        recent = timezone.now() - timedelta(days=SUGGESTION_ACTIVE_DAYS)
        popular = (
            candidates.exclude(pk__in=[a.pk for a in by_friends])
            .filter(domain="", last_status_at__gte=recent)
            .order_by("-followers_count", "-last_status_at", "id")[: limit - len(out)]
        )
        out += [Suggestion(account=a, source="most_followed") for a in popular]
    return out


# --- The profile directory and the instance's weekly activity (Mastodon's /directory, /instance/activity)

DIRECTORY_ORDERS = ("active", "new")


def directory(viewer: Account | None, *, order: str = "active", offset: int = 0, limit: int = 40) -> list[Account]:
    """The profile directory: local people who chose to be discoverable, not suspended nor
    deactivated. ``active``: latest post first (people who never posted last); ``new``: newest
    account first. A signed-in viewer does not see the people they block, mute or are blocked by.
    (Every account is local until federation exists, so there is no ``local`` filter to apply.)"""
    if order not in DIRECTORY_ORDERS:
        raise ValueError(f"unknown directory order {order!r}")
    rows = Account.objects.filter(domain="", user__is_active=True, suspended_at__isnull=True, discoverable=True)
    if viewer is not None:
        v = viewer.pk
        rows = rows.exclude(
            Q(pk__in=Block.objects.filter(account_id=v).values("target_id"))
            | Q(pk__in=Block.objects.filter(target_id=v).values("account_id"))
            | Q(pk__in=active_mutes().filter(account_id=v).values("target_id"))
        )
    ordered = rows.order_by(F("last_status_at").desc(nulls_last=True), "-id") if order == "active" else rows.order_by("-id")
    start = max(0, offset)
    return list(ordered[start : start + max(0, limit)])


ACTIVITY_WEEKS = 12


@dataclass(frozen=True)
class WeekActivity:
    """One week (Monday 00:00 UTC onwards) of local activity."""

    week: datetime
    statuses: int  # local posts and reposts created that week
    logins: int  # people whose latest sign-in falls in that week
    registrations: int  # accounts created that week


def weekly_activity(weeks: int = ACTIVITY_WEEKS) -> list[WeekActivity]:
    """The last ``weeks`` calendar weeks, this week first: three queries, whatever ``weeks``."""
    from rostra.posts.models import Post

    today = timezone.now().astimezone(UTC).date()
    monday = today - timedelta(days=today.weekday())
    starts = [datetime.combine(monday - timedelta(weeks=i), time(), tzinfo=UTC) for i in range(weeks)]

    def per_week(rows: QuerySet[Any], field: str) -> list[int]:
        buckets = {
            f"w{i}": Count("pk", filter=Q(**{f"{field}__gte": s, f"{field}__lt": s + timedelta(weeks=1)}))
            for i, s in enumerate(starts)
        }
        got = rows.filter(**{f"{field}__gte": starts[-1]}).aggregate(**buckets)
        return [int(got[f"w{i}"] or 0) for i in range(weeks)]

    statuses = per_week(Post.objects.filter(author__domain=""), "created_at")
    logins = per_week(User.objects.all(), "last_login")
    registrations = per_week(User.objects.all(), "created_at")
    return [WeekActivity(s, statuses[i], logins[i], registrations[i]) for i, s in enumerate(starts)]
