"""@mentions of people on other servers: the plug federation fills.

Posts is a domain app and never imports federation; at start-up federation registers how a
remote handle becomes an account (known here, or found by WebFinger within a short budget, as
Mastodon does while the author waits) and where that account's profile is read. Nothing
registered, or a handle nobody answers for: the mention stays plain text.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rostra.accounts.models import Account

MAX_REMOTE_LOOKUPS = 5  # handles not known here, looked up per post; the rest stay text


@dataclass(frozen=True)
class RemoteAccounts:
    find: Callable[[str, str], Account | None]  # (username, domain) -> the account, or None
    profile_url: Callable[[Account], str]  # where the account's profile is read


_directory: RemoteAccounts | None = None


def register(directory: RemoteAccounts | None) -> None:
    global _directory
    _directory = directory


def known(usernames: list[tuple[str, str]]) -> dict[tuple[str, str], Account]:
    """The remote accounts stored here for these (username, domain) pairs, by lower-cased pair."""
    out: dict[tuple[str, str], Account] = {}
    for username, domain in usernames:
        account = Account.objects.filter(username__iexact=username, domain__iexact=domain, suspended_at__isnull=True).first()
        if account is not None:
            out[(username.lower(), domain.lower())] = account
    return out


def find(usernames: list[tuple[str, str]]) -> dict[tuple[str, str], Account]:
    """The remote accounts these handles name: those known here, then up to MAX_REMOTE_LOOKUPS
    others looked up now (when federation is running)."""
    if _directory is None:
        return {}  # without federation a remote account has no profile to link to
    found = known(usernames)
    lookups = 0
    for username, domain in usernames:
        key = (username.lower(), domain.lower())
        if key in found or lookups >= MAX_REMOTE_LOOKUPS:
            continue
        lookups += 1
        account = _directory.find(username, domain)
        if account is not None and not account.is_local and account.suspended_at is None:
            found[key] = account
    return found


def profile_url(account: Account) -> str | None:
    return _directory.profile_url(account) if _directory is not None else None
