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
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

from rostra.accounts.models import Account
from rostra.core import outbound, ratelimit
from rostra.federation import actions, fetching, policy, queries, uris
from rostra.federation.models import MAX_ID_LENGTH, InboxItem, InboxState
from rostra.federation.signatures import SignatureError, claimed_key_id, key_owner, verify_request

MAX_BODY_BYTES = 1_000_000
REFETCH_EVERY = timedelta(minutes=10)  # a kept key that fails to verify is fetched again at most this often
ACCEPTED_TYPES = ("application/activity+json", "application/ld+json")
FETCH_ACCEPT = f"{uris.AS_MEDIA_TYPE}, {uris.LD_PROFILE}"


class Refused(Exception):
    """The request is refused with ``status``; ``message`` says why (shown to the sender)."""

    def __init__(self, status: int, message: str, *, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.retry_after = retry_after  # seconds, sent as Retry-After (429, 503)


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
    actor = actor_id(activity)
    if _host(activity["id"]) != _host(actor):
        # Deduplication is by id: an id on another server could claim that server's activity
        # (say its account Delete) in advance and have the real one dropped as a replay.
        raise Refused(400, "The activity's id must be on its actor's server.")
    admit(actor)  # instance policy and the backlog, before any key is fetched
    try:
        claimed = claimed_key_id(headers)
    except SignatureError as exc:
        raise Refused(401, f"The HTTP signature is not valid: {exc}") from None
    if claimed and _host(claimed) != _host(actor):
        # Checked before any key is fetched: a forged keyId cannot make us fetch from anywhere.
        raise Refused(401, "The signing key is not on the activity's actor's server.")
    key_id, owner = _verified_signer(method, path, scheme, headers, body)
    if owner != actor_id(activity):
        raise Refused(401, "The signing key does not belong to the activity's actor.")
    count_sender(owner)  # the per-domain flood limit counts only verified senders
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
    """(keyId, its owner's actor URL) of a valid signature; Refused(401) otherwise.

    Key rotation: when a signature does not verify with a key kept from before, the key is
    fetched again (at most once per ``REFETCH_EVERY`` per key, so forged requests cannot make
    Rostra fetch on demand); a changed key replaces the kept one and the check is made once more."""
    owners: dict[str, str] = {}
    kept_keys: list[str] = []  # keyIds answered from the store, not fetched now

    def public_key_for(key_id: str) -> str | None:
        found = lookup_key(key_id, kept_keys)
        if found is None:
            return None
        owners[key_id], pem = found
        return pem

    try:
        try:
            key_id = verify_request(method, path, headers, body, public_key_for=public_key_for, scheme=scheme)
        except SignatureError:
            fresh = refetch_key(kept_keys[0]) if kept_keys else None
            if fresh is None:
                raise
            rotated, (owners[rotated], pem) = kept_keys[0], fresh
            key_id = verify_request(
                method, path, headers, body, public_key_for=lambda k: pem if k == rotated else None, scheme=scheme
            )
    except SignatureError as exc:
        raise Refused(401, f"The HTTP signature is not valid: {exc}") from None
    return key_id, owners.get(key_id) or key_owner(key_id)


def verified_signer(method: str, path: str, scheme: str, headers: Mapping[str, str], body: bytes) -> tuple[str, str]:
    """The inbox's signature check, for other signed requests (authorised fetch's GETs)."""
    return _verified_signer(method, path, scheme, headers, body)


def lookup_key(key_id: str, kept_keys: list[str] | None = None) -> tuple[str, str] | None:
    """(owner, public key PEM) for a keyId: ours, one kept from before (its keyId then appended
    to ``kept_keys``), or fetched now and kept."""
    if (local := queries.local_public_key(key_id)) is not None:
        return local
    if urlsplit(key_id).scheme not in ("http", "https") or len(key_id) > MAX_ID_LENGTH:
        return None
    if policy.is_suspended(_host(key_id)):
        return None  # instance policy: nothing is fetched from, or believed of, a suspended domain
    if (kept := queries.remote_key(key_id)) is not None:
        if kept_keys is not None:
            kept_keys.append(key_id)
        return kept.owner, kept.public_key_pem
    fetched = fetch_key(key_id)
    if fetched is None:
        return None
    owner, pem = fetched
    actions.remember_remote_key(key_id, owner, pem)
    return owner, pem


def refetch_key(key_id: str) -> tuple[str, str] | None:
    """A kept key fetched again after it failed to verify: (owner, PEM) when the remote now
    serves another key (stored in place of the old), None when it may not be fetched yet (see
    ``REFETCH_EVERY``), cannot be fetched, or has not changed."""
    if not actions.claim_key_refetch(key_id, every=REFETCH_EVERY):
        return None
    fetched = fetch_key(key_id)
    kept = queries.remote_key(key_id)
    if fetched is None or (kept is not None and (kept.owner, kept.public_key_pem) == fetched):
        return None
    actions.remember_remote_key(key_id, *fetched)
    return fetched


def fetch_key(key_id: str) -> tuple[str, str] | None:
    """Fetch the document a keyId names (the actor, or the key itself) and find the key in it.

    C4: the document must be served as ActivityStreams, and its id, the key's id and the key's
    owner must all be on the host it was fetched from; anything else is discarded."""
    url = key_id.split("#", 1)[0]
    try:
        response = fetching.signed_get(url, accept=FETCH_ACCEPT)
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


# --- Instance policy and floods (E5) ---------------------------------------------------------------

INBOX_BACKLOG_MAX = 10_000  # pending items above which every sender is asked to come back later
BACKLOG_RETRY_S = 120


def admit(actor: str) -> None:
    """Refuse, before the signature is checked (so nothing is fetched from it), an actor whose
    domain is suspended or not on the allow-list (403); and everyone while the backlog of
    unprocessed activities is over ``INBOX_BACKLOG_MAX`` (503 with Retry-After: senders retry)."""
    domain = policy.domain_of(actor)
    if policy.is_suspended(domain):
        raise Refused(403, f"This instance does not federate with {domain}.")
    limit = int(getattr(settings, "INBOX_BACKLOG_MAX", INBOX_BACKLOG_MAX))
    if InboxItem.objects.filter(state=InboxState.PENDING).values("id")[: limit + 1].count() > limit:
        raise Refused(503, "This inbox has too much waiting to be processed; try again later.", retry_after=BACKLOG_RETRY_S)


def count_sender(actor: str) -> None:
    """One activity against its domain's ``inbox_domain`` limit; Refused(429) over it."""
    domain = policy.domain_of(actor)
    try:
        verdict = ratelimit.limiter().hit(ratelimit.rules()["inbox_domain"], domain)
    except ratelimit.LimiterUnavailable:
        return  # neither Redis nor the database can count: the signature was checked, let it in
    if not verdict.allowed:
        wait = verdict.retry_after()
        raise Refused(429, f"Too many activities from {domain}; try again in {wait} seconds.", retry_after=wait)
