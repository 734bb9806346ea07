"""Every federation write: keys, the inbox's stored activities, tombstones.

The inbox path is "store first": ``store_activity`` writes the activity as received and emits
``inbox.received`` with its id; ``rostra.federation.receive`` turns it into follows, posts and the
rest afterwards, from the pipeline (see docs/federation.md). Sending is ``rostra.federation.delivery``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q

from rostra.accounts.models import Account
from rostra.core import clock, events, sealing
from rostra.federation import uris
from rostra.federation.models import ActorKey, InboxItem, RemoteKey, Tombstone
from rostra.federation.signatures import generate_key_pair

_KEY_PURPOSE = b"rostra actor signing key"


def ensure_key(account: Account) -> ActorKey:
    """The local account's key pair, made (and its private half sealed) on first need."""
    row = ActorKey.objects.filter(account_id=account.pk).first()
    if row is not None:
        return row
    private_pem, public_pem = generate_key_pair()
    try:
        with transaction.atomic():
            return ActorKey.objects.create(
                account=account, public_key_pem=public_pem, private_key_pem=sealing.seal(private_pem, purpose=_KEY_PURPOSE)
            )
    except IntegrityError:  # another request made it first: theirs is the key
        return ActorKey.objects.get(account_id=account.pk)


def unseal_private_key(sealed: str) -> str:
    """A private key sealed as ``ActorKey.private_key_pem`` is (a deleted account's farewell keeps a copy)."""
    pem = sealing.unseal(sealed, purpose=_KEY_PURPOSE)
    if pem is None:
        raise RuntimeError("the actor key was sealed under another ROSTRA_SECRET_KEY; it cannot sign")
    return pem


def private_key_pem(account: Account) -> str:
    """The account's private key in the clear, for signing its outgoing requests."""
    pem = sealing.unseal(ensure_key(account).private_key_pem, purpose=_KEY_PURPOSE)
    if pem is None:
        raise RuntimeError("the actor key was sealed under another ROSTRA_SECRET_KEY; it cannot sign")
    return pem


def remember_remote_key(key_id: str, owner: str, public_key_pem: str) -> RemoteKey:
    """Store (or refresh) a remote actor's public key, as fetched from its actor document."""
    row, _ = RemoteKey.objects.update_or_create(
        key_id=key_id, defaults={"owner": owner, "public_key_pem": public_key_pem, "fetched_at": clock.now()}
    )
    return row


def claim_key_refetch(key_id: str, *, every: timedelta) -> bool:
    """Record that a kept remote key is being fetched again (key rotation); False when it was
    already fetched again less than ``every`` ago (or is not kept). One conditional UPDATE, so
    concurrent requests cannot both claim it."""
    now = clock.now()
    due = Q(refetched_at__isnull=True) | Q(refetched_at__lte=now - every)
    return RemoteKey.objects.filter(due, key_id=key_id).update(refetched_at=now) == 1


def store_activity(activity: dict[str, Any], *, key_id: str, recipient: Account | None) -> tuple[InboxItem, bool]:
    """Store an inbound activity once; ``(item, False)`` for a replay of one already stored."""
    existing = InboxItem.objects.filter(activity_id=activity["id"]).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            item = InboxItem.objects.create(
                activity_id=activity["id"],
                activity_type=activity["type"],
                actor=_actor_id(activity),
                key_id=key_id,
                recipient=recipient,
                body=activity,
                received_at=clock.now(),
            )
            events.emit("inbox.received", item_id=item.pk)
    except IntegrityError:  # the same activity arrived twice at once: the other copy is stored
        return InboxItem.objects.get(activity_id=activity["id"]), False
    return item, True


def _actor_id(activity: dict[str, Any]) -> str:
    actor = activity["actor"]
    return str(actor["id"] if isinstance(actor, dict) else actor)


def record_tombstone(post_id: int, author_id: int) -> None:
    """Remember that a public post was deleted, so its URL answers 410 Gone (idempotent)."""
    author = Account.objects.filter(pk=author_id, domain="").first()
    if author is None:
        return  # the whole account went: its URLs answer 404 with it
    Tombstone.objects.get_or_create(
        post_id=post_id,
        defaults={"account": author, "uri": uris.note_url(author.username, post_id), "deleted_at": clock.now()},
    )
