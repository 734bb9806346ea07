"""Lists: writes (create, update, delete, members) and permission-checked reads (the list timeline).

A list belongs to one person and is never shown to anyone else: another person's list answers
exactly like a missing one (``NotFound``). Members must be accounts the owner follows, as in
Mastodon; unfollowing or blocking removes them (the pipeline cleans the rows, and the timeline
also checks the follow at read time, so a late clean-up never shows anything extra).

The list timeline is read-time: posts by members, through the visibility door, minus muted
accounts, with the replies policy applied, in a fixed number of queries per page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet

from rostra.accounts.models import Account, Follow
from rostra.core.errors import NotFound, ValidationError
from rostra.core.ids import parse_id
from rostra.core.pagination import Page, PageRequest, paginate
from rostra.posts.models import Post, Visibility
from rostra.posts.queries import visible_posts, with_viewer_state, without_muted
from rostra.timelines.models import List, ListMember, RepliesPolicy

MAX_TITLE = 100
MAX_LISTS = 100  # per person
MAX_MEMBERS = 1000  # per list

_UNSET: Any = object()


# -- reads ---------------------------------------------------------------------------------------


def lists_of(owner: Account) -> list[List]:
    """The owner's lists, by title."""
    return list(List.objects.filter(owner_id=owner.pk).order_by("title", "id"))


def get_list(owner: Account, list_id: Any) -> List:
    """The list, if ``owner`` owns it; otherwise NotFound, exactly as for a missing id."""
    lid = parse_id(list_id)
    found = List.objects.filter(pk=lid, owner_id=owner.pk).first() if lid is not None else None
    if found is None:
        raise NotFound("No such list.")
    return found


def lists_with_member(owner: Account, account: Account) -> list[List]:
    """The owner's lists that ``account`` is in (Mastodon's ``GET /accounts/:id/lists``)."""
    return list(List.objects.filter(owner_id=owner.pk, members__account_id=account.pk).order_by("title", "id"))


def _current_members(lst: List) -> QuerySet[ListMember]:
    # A member the owner no longer follows is gone, even before the pipeline deletes the row.
    followed = Follow.objects.filter(follower_id=lst.owner_id, target_id=OuterRef("account_id"))
    return ListMember.objects.filter(list_id=lst.pk).filter(Exists(followed))


def members(owner: Account, list_id: Any, *, limit: int = 40, max_id: int | None = None) -> list[Account]:
    """The list's members, newest-added last by account id (for the API's paginated ``accounts``)."""
    lst = get_list(owner, list_id)
    qs = Account.objects.filter(pk__in=_current_members(lst).values("account_id"), suspended_at__isnull=True)
    if max_id is not None:
        qs = qs.filter(pk__lt=max_id)
    return list(qs.order_by("-id")[:limit])


def members_page(owner: Account, list_id: Any, req: PageRequest) -> Page[Account]:
    """The list's members as a page keyed by account id (newest account first), for the API."""
    lst = get_list(owner, list_id)
    qs = Account.objects.filter(pk__in=_current_members(lst).values("account_id"), suspended_at__isnull=True)
    return paginate(qs, req)


def list_timeline(owner: Account, list_id: Any, req: PageRequest) -> Page[Post]:
    """Posts and reposts by the list's members that the owner may see, newest first."""
    lst = get_list(owner, list_id)
    member_ids = _current_members(lst).values("account_id")
    qs = without_muted(visible_posts(owner), owner).filter(author_id__in=member_ids).exclude(visibility=Visibility.DIRECT)
    # Reposts only from members whose reposts the owner wants in their home, as Mastodon does.
    wants_reposts = Follow.objects.filter(follower_id=owner.pk, target_id=OuterRef("author_id"), show_reposts=True)
    qs = qs.filter(Q(repost_of__isnull=True) | Exists(wants_reposts))
    qs = qs.filter(_replies_condition(lst, member_ids))
    return paginate(with_viewer_state(qs, owner), req)


def _replies_condition(lst: List, member_ids: QuerySet[Any]) -> Q:
    # Not a reply, a reply to oneself or to the list's owner: always shown.
    shown: Q = Q(in_reply_to_account__isnull=True) | Q(in_reply_to_account_id=F("author_id")) | Q(in_reply_to_account_id=lst.owner_id)
    if lst.replies_policy == RepliesPolicy.FOLLOWED:
        shown |= Q(Exists(Follow.objects.filter(follower_id=lst.owner_id, target_id=OuterRef("in_reply_to_account_id"))))
    elif lst.replies_policy == RepliesPolicy.LIST:
        shown |= Q(in_reply_to_account_id__in=member_ids)
    return shown


# -- writes --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ListDraft:
    title: str
    replies_policy: str = RepliesPolicy.LIST
    exclusive: bool = False


def _clean_title(title: Any) -> str:
    cleaned = str(title or "").strip()
    if not cleaned:
        raise ValidationError("A list needs a title.", field="title")
    if len(cleaned) > MAX_TITLE:
        raise ValidationError(f"A list's title can be at most {MAX_TITLE} characters.", field="title")
    return cleaned


def _clean_policy(policy: Any) -> str:
    if policy not in RepliesPolicy.values:
        raise ValidationError("The replies policy must be followed, list or none.", field="replies_policy")
    return str(policy)


def create_list(owner: Account, draft: ListDraft) -> List:
    title = _clean_title(draft.title)
    policy = _clean_policy(draft.replies_policy)
    if List.objects.filter(owner_id=owner.pk).count() >= MAX_LISTS:
        raise ValidationError(f"You can have at most {MAX_LISTS} lists.")
    return List.objects.create(owner=owner, title=title, replies_policy=policy, exclusive=bool(draft.exclusive))


def update_list(
    owner: Account, list_id: Any, *, title: Any = _UNSET, replies_policy: Any = _UNSET, exclusive: Any = _UNSET
) -> List:
    """Change what is given; leave the rest."""
    lst = get_list(owner, list_id)
    if title is not _UNSET:
        lst.title = _clean_title(title)
    if replies_policy is not _UNSET:
        lst.replies_policy = _clean_policy(replies_policy)
    if exclusive is not _UNSET:
        lst.exclusive = bool(exclusive)
    lst.save(update_fields=["title", "replies_policy", "exclusive"])
    return lst


def delete_list(owner: Account, list_id: Any) -> None:
    get_list(owner, list_id).delete()


def add_members(owner: Account, list_id: Any, account_ids: list[Any]) -> None:
    """Add accounts the owner follows; all or nothing. Adding a member twice is harmless."""
    lst = get_list(owner, list_id)
    parsed = [parse_id(a) for a in account_ids]
    ids = {i for i in parsed if i is not None}
    if not ids or len(ids) != len(set(parsed)):
        raise ValidationError("Name at least one account to add.", field="account_ids")
    followed = set(Follow.objects.filter(follower_id=owner.pk, target_id__in=ids).values_list("target_id", flat=True))
    if followed != ids:
        # As in Mastodon: an unknown account is missing (NotFound), a known one you do not
        # follow is invalid input (a 422 in the API).
        if Account.objects.filter(pk__in=ids - followed).count() != len(ids - followed):
            raise NotFound("No such account.")
        raise ValidationError("You can only add accounts you follow to a list.", field="account_ids")
    with transaction.atomic():
        if ListMember.objects.filter(list=lst).exclude(account_id__in=ids).count() + len(ids) > MAX_MEMBERS:
            raise ValidationError(f"A list can have at most {MAX_MEMBERS} members.")
        try:
            ListMember.objects.bulk_create([ListMember(list=lst, account_id=i) for i in sorted(ids)], ignore_conflicts=True)
        except IntegrityError:  # an account deleted meanwhile
            raise NotFound("You can only add accounts you follow to a list.") from None


def remove_members(owner: Account, list_id: Any, account_ids: list[Any]) -> None:
    lst = get_list(owner, list_id)
    ids = {i for i in (parse_id(a) for a in account_ids) if i is not None}
    ListMember.objects.filter(list=lst, account_id__in=ids).delete()


def remove_from_lists(owner_id: int, account_id: int) -> None:
    """After an unfollow or a block (pipeline): the account leaves every list of the owner."""
    ListMember.objects.filter(list__owner_id=owner_id, account_id=account_id).delete()


def member_candidates(owner: Account, list_id: Any, *, limit: int = 200) -> list[tuple[Account, bool]]:
    """The people the owner follows (newest follows first), each with whether it is in the list:
    what a page managing the list's members offers. Two queries."""
    lst = get_list(owner, list_id)
    followed = list(
        Account.objects.filter(follower_rel__follower_id=owner.pk, suspended_at__isnull=True).order_by("-follower_rel__id")[:limit]
    )
    inside = set(ListMember.objects.filter(list_id=lst.pk, account_id__in=[a.pk for a in followed]).values_list("account_id", flat=True))
    return [(a, a.pk in inside) for a in followed]
