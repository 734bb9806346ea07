"""Permission-checked reads about accounts and the social graph (the web and the API ask here).

Suspended accounts answer like accounts that do not exist (``NotFound``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Sum
from django.utils import timezone

from rostra.accounts.models import Account, Block, Follow, FollowRequest, Role, User
from rostra.accounts.policies import active_mutes
from rostra.core.errors import NotFound
from rostra.core.pagination import Page, PageRequest, paginate


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


def relationship(viewer: Account | None, target: Account) -> Relationship:
    if viewer is None:
        return Relationship()
    if viewer.pk == target.pk:
        return Relationship(is_self=True)
    v, t = viewer.pk, target.pk
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
        )
        .values("r_following", "r_requested", "r_followed_by", "r_blocking", "r_blocked_by", "r_muting")
        .first()
    )
    if row is None:
        return Relationship()
    return Relationship(**{k[2:]: bool(val) for k, val in row.items()})


def _graph_page(rows: QuerySet[Follow], req: PageRequest, side: str) -> Page[Account]:
    page = paginate(rows, req)
    return Page(items=[getattr(r, side) for r in page.items], next_max_id=page.next_max_id, prev_min_id=page.prev_min_id)


def _without_blocked(rows: QuerySet[Follow], viewer: Account | None, field: str) -> QuerySet[Follow]:
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
