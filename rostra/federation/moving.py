"""Federation's side of moving an account (docs/federation.md, "Moving an account").

* ``Directory`` is what ``rostra.accounts.moving`` asks: an account by handle or URL (local, or
  remote through WebFinger and the actor document), an account's actor URI, and its aliases as
  they are now (a remote actor's document fetched again). Registered when the app starts.
* ``target_of_move`` checks the target of an inbound ``Move`` (``receive.on_move``): fetched
  fresh from its origin, and listing the moving actor in its ``alsoKnownAs``.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from rostra.accounts.models import Account
from rostra.core.errors import ValidationError
from rostra.federation import activities, actors, resolve, uris
from rostra.federation.actors import ActorError, host_of
from rostra.federation.models import MAX_ID_LENGTH, RemoteActor

MAX_REMOTE_ALIASES = 20  # what is kept of a remote actor's alsoKnownAs
_NAME = re.compile(r"[A-Za-z0-9_.\-]{1,30}")
_HOST = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.\-]{0,252})(?::\d{1,5})?")
_LOCAL_PATH = re.compile(r"/(?:users/|@)([A-Za-z0-9_]{1,30})/?")


class MoveRefused(Exception):
    """An inbound Move's target cannot be accepted; the message says why."""


def aliases_of(doc: dict[str, Any]) -> list[str]:
    """The actor URIs of an actor document's ``alsoKnownAs`` (an id or a list of ids/objects)."""
    value = doc.get("alsoKnownAs")
    items = value if isinstance(value, list) else [value]
    out: list[str] = []
    for item in items:
        uri = item.get("id") if isinstance(item, dict) else item
        if isinstance(uri, str) and uri.startswith(("https://", "http://")) and len(uri) <= MAX_ID_LENGTH and uri not in out:
            out.append(uri)
    return out[:MAX_REMOTE_ALIASES]


def _local_by_url(url: str) -> Account | None:
    match = _LOCAL_PATH.fullmatch(urlsplit(url).path)
    if match is None:
        return None
    return Account.objects.filter(username__iexact=match.group(1), domain="", suspended_at__isnull=True).first()


def _fresh_remote(uri: str) -> tuple[Account, list[str]]:
    """A remote actor fetched now from its origin, stored, and its aliases (kept on the account)."""
    doc = actors.fetch_document(uri)
    if doc["id"] != uri:
        raise ActorError("The actor document's id is not the URL it was fetched from.")
    account = actors.store(doc)
    aliases = aliases_of(doc)
    if account.also_known_as != aliases:
        Account.objects.filter(pk=account.pk).update(also_known_as=aliases)
        account.also_known_as = aliases
    return account, aliases


class Directory:
    """``rostra.accounts.moving.AccountDirectory`` for this instance."""

    def find(self, handle: str) -> Account:
        text = handle.strip()
        if text.startswith(("https://", "http://")):
            return self._by_url(text)
        name, _, domain = text.lstrip("@").partition("@")
        if not _NAME.fullmatch(name) or (domain and not _HOST.fullmatch(domain)):
            raise ValidationError(
                f"{text[:100]!r} is not a handle: write it as @name@server.example, or paste the profile's address.",
                field="handle",
            )
        if not domain or uris.is_local_host(domain):
            local = Account.objects.filter(username__iexact=name, domain="", suspended_at__isnull=True).first()
            if local is None:
                raise ValidationError(f"There is no account @{name} on this server.", field="handle")
            return local
        try:
            return resolve.resolve_account(f"{name}@{domain}")
        except resolve.ResolveError as exc:
            raise ValidationError(f"@{name}@{domain} could not be found: {exc}", field="handle") from None

    def _by_url(self, url: str) -> Account:
        try:
            found = resolve.resolve_url(url)  # an actor URL, or a profile page served as ActivityStreams
        except resolve.ResolveError as exc:
            raise ValidationError(f"{url[:200]} could not be fetched: {exc}", field="handle") from None
        if not isinstance(found, Account):
            raise ValidationError("That address names a post, not an account.", field="handle")
        return found

    def actor_uri(self, account: Account) -> str:
        try:
            return activities.actor_uri(account)
        except activities.UnknownRemote as exc:
            raise ValidationError(f"@{account.acct} cannot be named over ActivityPub: {exc}.", field="handle") from None

    def fresh_aliases(self, account: Account) -> list[str]:
        if account.is_local:
            return list(Account.objects.filter(pk=account.pk).values_list("also_known_as", flat=True).get() or [])
        uri = RemoteActor.objects.filter(account_id=account.pk).values_list("uri", flat=True).first()
        if uri is None:
            raise ValidationError(f"@{account.acct} cannot be named over ActivityPub.", field="handle")
        try:
            return _fresh_remote(uri)[1]
        except ActorError as exc:
            raise ValidationError(
                f"@{account.acct} could not be fetched again to check its aliases: {exc}", field="handle"
            ) from None


def target_of_move(target_uri: str, origin_uri: str) -> Account:
    """The account an inbound Move names as its target, checked: fetched fresh from its origin
    (or ours), not the mover itself, not suspended, and listing ``origin_uri`` in ``alsoKnownAs``."""
    if not target_uri:
        raise MoveRefused("A Move needs a target.")
    if target_uri == origin_uri:
        raise MoveRefused("A Move's target cannot be the moving account itself.")
    if uris.is_local_host(host_of(target_uri)):
        target = _local_by_url(target_uri)
        if target is None:
            raise MoveRefused("The Move's target names no account here.")
        aliases = list(target.also_known_as or [])
    else:
        try:
            target, aliases = _fresh_remote(target_uri)
        except ActorError as exc:
            raise MoveRefused(f"The Move's target could not be fetched from its origin: {exc}") from None
    if target.suspended_at is not None:
        raise MoveRefused("The Move's target is suspended here.")
    if origin_uri not in aliases:
        raise MoveRefused("The Move's target does not list the moving account in its alsoKnownAs.")
    return target
