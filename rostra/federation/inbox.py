"""The inbox's door: size, type and shape checked, the signature verified, then stored.

Nothing is stored unless every check passes (C1 to C3 of the security catalogue):

1. the body is at most 1 MB (413) and declared as ActivityStreams JSON (415);
2. it is a JSON object with string ``id``, ``type`` and an ``actor`` (400);
3. the HTTP signature verifies (``signatures.verify_request``: digest, date window, signed
   headers) against the signing actor's public key, fetched once through the guarded outbound
   client and then kept (401 otherwise);
4. the key's owner is the activity's actor (401: nobody signs for someone else);
5. the activity is stored once by its id: a replay is acknowledged (202) but not stored again.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from rostra.accounts.models import Account
from rostra.core import outbound
from rostra.federation import actions, queries, uris
from rostra.federation.models import MAX_ID_LENGTH, InboxItem
from rostra.federation.signatures import SignatureError, key_owner, verify_request

MAX_BODY_BYTES = 1_000_000
ACCEPTED_TYPES = ("application/activity+json", "application/ld+json")
FETCH_ACCEPT = f"{uris.AS_MEDIA_TYPE}, {uris.LD_PROFILE}"


class Refused(Exception):
    """The request is refused with ``status``; ``message`` says why (shown to the sender)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Received:
    item: InboxItem
    stored: bool  # False: a replay of an activity already stored


def check_size(content_length: str | None) -> None:
    """Refuse an announced body over the cap before reading it."""
    if content_length and content_length.strip().isdigit() and int(content_length) > MAX_BODY_BYTES:
        raise Refused(413, f"Inbox bodies are limited to {MAX_BODY_BYTES} bytes.")


def receive(
    *, method: str, path: str, scheme: str, headers: Mapping[str, str], body: bytes, content_type: str, recipient: Account | None
) -> Received:
    if len(body) > MAX_BODY_BYTES:
        raise Refused(413, f"Inbox bodies are limited to {MAX_BODY_BYTES} bytes.")
    if content_type.split(";", 1)[0].strip().lower() not in ACCEPTED_TYPES:
        raise Refused(415, "Send activities as application/activity+json or application/ld+json.")
    activity = parse_activity(body)
    key_id, owner = _verified_signer(method, path, scheme, headers, body)
    if owner != actor_id(activity):
        raise Refused(401, "The signing key does not belong to the activity's actor.")
    item, stored = actions.store_activity(activity, key_id=key_id, recipient=recipient)
    return Received(item, stored)


def parse_activity(body: bytes) -> dict[str, Any]:
    try:
        activity = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise Refused(400, "The body is not valid JSON.") from None
    if not isinstance(activity, dict):
        raise Refused(400, "An activity is a JSON object.")
    for name in ("id", "type"):
        value = activity.get(name)
        if not isinstance(value, str) or not value or len(value) > (MAX_ID_LENGTH if name == "id" else 64):
            raise Refused(400, f"The activity needs a string {name!r} (ids up to {MAX_ID_LENGTH} characters).")
    actor = actor_id(activity)
    if not actor or len(actor) > MAX_ID_LENGTH:
        raise Refused(400, "The activity needs an 'actor': its id, or an object with one.")
    return activity


def actor_id(activity: dict[str, Any]) -> str:
    actor = activity.get("actor")
    if isinstance(actor, dict):
        actor = actor.get("id")
    return actor if isinstance(actor, str) else ""


# --- Signatures and keys ---------------------------------------------------------------------------


def _verified_signer(method: str, path: str, scheme: str, headers: Mapping[str, str], body: bytes) -> tuple[str, str]:
    """(keyId, its owner's actor URL) of a valid signature; Refused(401) otherwise."""
    owners: dict[str, str] = {}

    def public_key_for(key_id: str) -> str | None:
        found = lookup_key(key_id)
        if found is None:
            return None
        owners[key_id], pem = found
        return pem

    try:
        key_id = verify_request(method, path, headers, body, public_key_for=public_key_for, scheme=scheme)
    except SignatureError as exc:
        raise Refused(401, f"The HTTP signature is not valid: {exc}") from None
    return key_id, owners.get(key_id) or key_owner(key_id)


def lookup_key(key_id: str) -> tuple[str, str] | None:
    """(owner, public key PEM) for a keyId: ours, one kept from before, or fetched now and kept."""
    if (local := queries.local_public_key(key_id)) is not None:
        return local
    if urlsplit(key_id).scheme not in ("http", "https") or len(key_id) > MAX_ID_LENGTH:
        return None
    if (kept := queries.remote_key(key_id)) is not None:
        return kept.owner, kept.public_key_pem
    fetched = fetch_key(key_id)
    if fetched is None:
        return None
    owner, pem = fetched
    actions.remember_remote_key(key_id, owner, pem)
    return owner, pem


def fetch_key(key_id: str) -> tuple[str, str] | None:
    """Fetch the document a keyId names (the actor, or the key itself) and find the key in it.

    C4: the document must be served as ActivityStreams, and its id, the key's id and the key's
    owner must all be on the host it was fetched from; anything else is discarded."""
    url = key_id.split("#", 1)[0]
    try:
        response = outbound.fetch(url, headers={"Accept": FETCH_ACCEPT})
    except outbound.OutboundError:
        return None
    media_type = response.header("content-type").split(";", 1)[0].strip().lower()
    if response.status != 200 or media_type not in ACCEPTED_TYPES:
        return None
    try:
        doc = json.loads(response.body)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(doc, dict):
        return None
    key = _key_in(doc, key_id)
    if key is None:
        return None
    owner = key.get("owner") if key is not doc else doc.get("owner")
    pem = key.get("publicKeyPem")
    if not isinstance(owner, str) or not isinstance(pem, str):
        return None
    origin = _host(response.url)
    if not origin or any(_host(u) != origin for u in (key_id, owner, str(doc.get("id", "")))):
        return None
    return owner, pem


def _key_in(doc: dict[str, Any], key_id: str) -> dict[str, Any] | None:
    if doc.get("id") == key_id and "publicKeyPem" in doc:
        return doc
    keys = doc.get("publicKey")
    for key in keys if isinstance(keys, list) else [keys]:
        if isinstance(key, dict) and key.get("id") == key_id:
            return key
    return None


def _host(url: str) -> str:
    try:
        return urlsplit(url).netloc.lower()
    except ValueError:
        return ""
