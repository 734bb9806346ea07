"""Moving an account: aliases ("the account I am moving from") and the move itself, both ways.

What Mastodon does (docs/federation.md, "Moving an account"):

* **Aliases.** On the *new* account, its owner names the old one; its actor URI is kept in
  ``Account.also_known_as`` (at most ``MAX_ALIASES``) and served as the actor's ``alsoKnownAs``.
  An alias alone moves nothing: it is the new account's consent to receive the old one's followers.
* **Moving out.** On the *old* account, with the password (and a two-factor code when it is on),
  its owner names the new account, which must already list this one among its aliases (a remote
  account's document is fetched fresh to check). Then ``moved_to``/``moved_at`` are set, the
  local followers follow the new account at once (their follow of the old one ends), blocks and
  mutes of the old account by people here are carried over, and the ``account.moved`` event
  sends a ``Move`` to the remote followers. A moved account cannot post; it can still export its
  data, and it may cancel the redirect (its followers stay where they are now). One move every
  ``MOVE_COOLDOWN``.
* **Moving in** (a remote account's ``Move``, ``rostra.federation.receive``) ends in
  ``record_move`` and ``move_followers`` below, the same steps as a local move.

Resolving a handle or URL and reading a remote account's aliases is federation's job, which
domain apps never import: federation registers an ``AccountDirectory`` when it starts
(``register_directory``), as the client API does for ``rostra.accounts.sessions``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from django.db import transaction

from rostra.accounts import actions as accounts
from rostra.accounts import twofactor
from rostra.accounts.models import Account, Block, Follow, Mute, User
from rostra.core import clock, events
from rostra.core.errors import Conflict, DomainError, NotFound, ValidationError

MAX_ALIASES = 10  # Mastodon's limit
MOVE_COOLDOWN = timedelta(days=30)  # Mastodon's AccountMigration::COOLDOWN_PERIOD


class AccountDirectory(Protocol):
    """What federation offers: accounts by handle or URL, and who an account says it is."""

    def find(self, handle: str) -> Account:
        """The account a handle (``user``, ``user@domain``, ``@user@domain``) or an actor or
        profile URL names: a local one, or a remote one fetched (WebFinger, actor document).
        ``ValidationError`` with a message a person can act on when it cannot be found."""
        ...

    def actor_uri(self, account: Account) -> str:
        """The account's ActivityPub id."""
        ...

    def fresh_aliases(self, account: Account) -> list[str]:
        """The account's ``alsoKnownAs`` as it is now: a remote account's document is fetched
        again (``ValidationError`` when it cannot be)."""
        ...


_directory: AccountDirectory | None = None


def register_directory(directory: AccountDirectory) -> None:
    global _directory
    _directory = directory


def directory() -> AccountDirectory:
    if _directory is None:  # federation registers it in its AppConfig.ready
        raise RuntimeError("no account directory is registered (is rostra.federation installed?)")
    return _directory


# --- Aliases -------------------------------------------------------------------------------------


def add_alias(account: Account, handle: str) -> str:
    """Name an account this one may be moved from; returns the actor URI stored."""
    handle = (handle or "").strip()
    if not handle:
        raise ValidationError("Enter the handle of your old account, such as @you@old.example.", field="handle")
    if len(account.also_known_as or []) >= MAX_ALIASES:
        raise ValidationError(f"An account can have at most {MAX_ALIASES} aliases; remove one first.", field="handle")
    other = directory().find(handle)
    if other.pk == account.pk:
        raise ValidationError("That is this account itself.", field="handle")
    uri = directory().actor_uri(other)
    with transaction.atomic():
        row = Account.objects.select_for_update().get(pk=account.pk)
        aliases = list(row.also_known_as or [])
        if uri in aliases:
            raise Conflict(f"@{other.acct} is already an alias of this account.")
        if len(aliases) >= MAX_ALIASES:
            raise ValidationError(f"An account can have at most {MAX_ALIASES} aliases; remove one first.", field="handle")
        row.also_known_as = [*aliases, uri]
        row.save(update_fields=["also_known_as", "updated_at"])
        events.emit("account.updated", account_id=account.pk)  # the actor's alsoKnownAs changed
    account.also_known_as = row.also_known_as
    return uri


def remove_alias(account: Account, uri: str) -> None:
    with transaction.atomic():
        row = Account.objects.select_for_update().get(pk=account.pk)
        aliases = list(row.also_known_as or [])
        if uri not in aliases:
            raise NotFound("That alias is not on this account.")
        row.also_known_as = [a for a in aliases if a != uri]
        row.save(update_fields=["also_known_as", "updated_at"])
        events.emit("account.updated", account_id=account.pk)
    account.also_known_as = row.also_known_as


# --- Moving out ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class MoveResult:
    target: Account
    followers_moved: int


def next_move_allowed_at(account: Account) -> datetime | None:
    """When this account may move again (None: now)."""
    if account.moved_at is None:
        return None
    allowed = account.moved_at + MOVE_COOLDOWN
    return allowed if allowed > clock.now() else None


def move_to(user: User, handle: str, password: str, code: str = "") -> MoveResult:
    """Move ``user``'s account to the account ``handle`` names (see the module's docstring)."""
    account = Account.objects.get(user=user)
    # Who is asking: the password, before anything is looked up
    if not user.check_password(password or ""):
        raise ValidationError("Your current password is not right.", field="password")
    if account.suspended_at is not None:
        raise ValidationError("A suspended account cannot be moved.")
    # The cooldown (moved_at stays when a redirect is cancelled, so cancelling does not reset it)
    allowed = next_move_allowed_at(account)
    if allowed is not None:
        raise ValidationError(
            f"You moved this account on {account.moved_at:%d %B %Y}; you can move it again from {allowed:%d %B %Y} "
            f"(one move every {MOVE_COOLDOWN.days} days).",
            field="handle",
        )
    handle = (handle or "").strip()
    if not handle:
        raise ValidationError("Enter the handle of the account you are moving to.", field="handle")
    target = directory().find(handle)
    if target.pk == account.pk:
        raise ValidationError("You cannot move an account to itself.", field="handle")
    if target.suspended_at is not None:
        raise ValidationError(f"@{target.acct} is suspended here; you cannot move to it.", field="handle")
    if target.moved_to_id is not None:
        raise ValidationError(f"@{target.acct} has itself moved away; move to the account it moved to.", field="handle")
    # The target's consent: it lists this account among its aliases, as it says now
    ours = directory().actor_uri(account)
    if ours not in directory().fresh_aliases(target):
        raise ValidationError(
            f"@{target.acct} does not list this account as an alias yet. On the new account, add "
            f"{ours} under \u201cMoving from a different account\u201d first, then try again.",
            field="handle",
        )
    with transaction.atomic():
        if twofactor.is_enabled(user):
            twofactor.verify(user, code or "")  # last, so a refused move does not use the code up
        record_move(account, target)
        events.emit("account.moved", account_id=account.pk, target_id=target.pk)
        events.emit("account.updated", account_id=account.pk)  # the actor now says movedTo
    moved = move_followers(account, target)
    return MoveResult(target=target, followers_moved=moved)


def cancel_redirect(account: Account) -> None:
    """Stop pointing at the new account. Followers already moved stay where they are; the
    cooldown still counts from the move."""
    with transaction.atomic():
        updated = Account.objects.filter(pk=account.pk, moved_to__isnull=False).update(moved_to=None, updated_at=clock.now())
        if not updated:
            raise Conflict("This account is not redirected anywhere.")
        events.emit("account.updated", account_id=account.pk)
    account.moved_to = None


# --- Shared by moving out and moving in --------------------------------------------------------


def record_move(old: Account, new: Account) -> None:
    """Mark ``old`` as moved to ``new`` (now)."""
    at = clock.now()
    Account.objects.filter(pk=old.pk).update(moved_to=new, moved_at=at, updated_at=at)
    old.moved_to, old.moved_at = new, at


def move_followers(old: Account, new: Account) -> int:
    """Every local follower of ``old`` follows ``new`` (a follow request if ``new`` is locked; a
    Follow is delivered if it is remote) and stops following ``old``; ``new`` replaces ``old`` in
    their lists; local blocks and mutes of ``old`` are carried over to ``new``. One follower at a
    time, each in its own transaction; a follower who cannot follow ``new`` (a block between them)
    keeps following ``old``. Returns how many followers moved."""
    from rostra.timelines.models import ListMember

    moved = 0
    moved_ids: list[int] = []
    followers = list(Follow.objects.filter(target=old, follower__domain="").select_related("follower").order_by("id"))
    for row in followers:
        follower = row.follower
        if follower.pk == new.pk or follower.suspended_at is not None:
            continue
        try:
            with transaction.atomic():
                status = accounts.follow(follower, new)
                if status == "following":
                    accounts.set_follow_options(follower, new, show_reposts=row.show_reposts, notify=row.notify)
                    for member in ListMember.objects.filter(list__owner=follower, account=old):
                        ListMember.objects.get_or_create(list_id=member.list_id, account=new)
                accounts.unfollow(follower, old)
        except DomainError:
            continue  # blocked either way: this follower stays where they were
        moved += 1
        moved_ids.append(follower.pk)
    if moved_ids:
        events.emit("account.followers_moved", old_id=old.pk, follower_ids=moved_ids)  # a `move` notification each
    for block in Block.objects.filter(target=old, account__domain="").select_related("account"):
        if block.account_id != new.pk:
            try:
                accounts.block(block.account, new)
            except DomainError:
                continue  # cannot be carried (a suspended or moved account): the rest still are
    for mute in Mute.objects.filter(target=old, account__domain=""):
        if mute.account_id != new.pk:
            Mute.objects.get_or_create(
                account_id=mute.account_id,
                target=new,
                defaults={"hide_notifications": mute.hide_notifications, "expires_at": mute.expires_at},
            )
    return moved
