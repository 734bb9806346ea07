"""One named fixture world: the same well-known people in every test.

    alice   an ordinary member; posts publicly. bob and dave follow her.
    bob     follows alice and carol (carol accepted his request).
    carol   a locked account: follow requests need her approval.
    dave    follows alice; is muted by bob.
    eve     blocked by alice (so neither sees the other).
    mod     @maya, a moderator.   admin   @ada, an admin.

Every relationship is made through the real actions, so counters and events are real too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from rostra.accounts import actions as accounts
from rostra.accounts.models import Account, Role
from rostra.core import clock
from rostra.posts.actions import Draft, create_post
from rostra.posts.models import Post

PASSWORD = "correct-horse-battery-staple"


def make_account(username: str, *, role: str = Role.MEMBER, locked: bool = False, display_name: str = "") -> Account:
    user = accounts.sign_up(username, f"{username}@example.org", PASSWORD, role=role, display_name=display_name or username.title())
    account = user.account
    if locked:
        account = accounts.update_profile(account, accounts.ProfileUpdate(locked=True))
    return account


def make_post(author: Account, text: str = "Hello, world", **draft: object) -> Post:
    return create_post(author, Draft(text=text, **draft))  # type: ignore[arg-type]


@dataclass
class World:
    alice: Account
    bob: Account
    carol: Account
    dave: Account
    eve: Account
    mod: Account
    admin: Account

    def refresh(self) -> World:
        for name in ("alice", "bob", "carol", "dave", "eve", "mod", "admin"):
            getattr(self, name).refresh_from_db()
        return self


def build_world() -> World:
    w = World(
        alice=make_account("alice", display_name="Alice Liddell"),
        bob=make_account("bob", display_name="Bob Builder"),
        carol=make_account("carol", locked=True, display_name="Carol Danvers"),
        dave=make_account("dave", display_name="Dave Bowman"),
        eve=make_account("eve", display_name="Eve Online"),
        mod=make_account("maya", role=Role.MODERATOR, display_name="Maya (moderator)"),
        admin=make_account("ada", role=Role.ADMIN, display_name="Ada (admin)"),
    )
    accounts.follow(w.bob, w.alice)
    accounts.follow(w.dave, w.alice)
    accounts.follow(w.bob, w.carol)
    accounts.accept_follow_request(w.carol, w.bob.pk)
    accounts.mute(w.bob, w.dave)
    accounts.block(w.alice, w.eve)
    # Established accounts (the policy is stricter for accounts younger than new_account_days).
    established = clock.now() - timedelta(days=90)
    Account.objects.filter(pk__in=[a.pk for a in (w.alice, w.bob, w.carol, w.dave, w.eve, w.mod, w.admin)]).update(created_at=established)
    return w.refresh()
