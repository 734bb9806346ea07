"""The instance actor: the server itself as an ActivityPub actor (an ``Application``).

Rostra signs every GET it makes of another server's ActivityStreams documents (actors, keys,
notes) as this actor, so peers running authorised fetch ("secure mode") answer, and it sends
what the instance says in its own name (a Flag forwarded to another server). Its document is
served at ``<base>/actor`` and is **always** fetchable without a signature: it is how peers check
our signed GETs, and requiring a signature to fetch the key that checks signatures would loop.

WebFinger knows it as ``acct:<host>@<host>``, as Mastodon's instance actor is known.

``signer()`` gives what ``signatures.sign_request`` needs, the same two values delivery passes
for a local account (``key_id`` and ``private_key_pem``)::

    sign_request("GET", url, headers, None, **instance_actor.signer().as_kwargs())
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction

from rostra.core import sealing
from rostra.federation import uris
from rostra.federation.models import InstanceKey
from rostra.federation.signatures import generate_key_pair

_KEY_PURPOSE = b"rostra instance actor signing key"
_NAME = "instance"


def actor_uri() -> str:
    """``<base>/actor``: the instance actor's id."""
    return f"{uris.base_url()}/actor"


def key_id() -> str:
    return f"{actor_uri()}#main-key"


def username() -> str:
    """The instance actor's ``preferredUsername``: the instance's host (as Mastodon does)."""
    return uris.domain()


def ensure_key() -> InstanceKey:
    """The instance key pair, made (private half sealed) on first need."""
    row = InstanceKey.objects.filter(name=_NAME).first()
    if row is not None:
        return row
    private_pem, public_pem = generate_key_pair()
    try:
        with transaction.atomic():
            return InstanceKey.objects.create(
                name=_NAME, public_key_pem=public_pem, private_key_pem=sealing.seal(private_pem, purpose=_KEY_PURPOSE)
            )
    except IntegrityError:  # another process made it first: theirs is the key
        return InstanceKey.objects.get(name=_NAME)


def public_key_pem() -> str:
    return ensure_key().public_key_pem


def private_key_pem() -> str:
    pem = sealing.unseal(ensure_key().private_key_pem, purpose=_KEY_PURPOSE)
    if pem is None:
        raise RuntimeError("the instance key was sealed under another ROSTRA_SECRET_KEY; it cannot sign")
    return pem


@dataclass(frozen=True)
class Signer:
    """Who signs a request: the keyId to announce and the private key to sign with."""

    key_id: str
    private_key_pem: str

    def as_kwargs(self) -> dict[str, str]:
        return {"key_id": self.key_id, "private_key_pem": self.private_key_pem}


def signer() -> Signer:
    """The instance actor as a signer, for ``sign_request`` / ``sign_request_rfc9421``."""
    return Signer(key_id(), private_key_pem())


def is_instance_key(candidate: str) -> bool:
    return candidate == key_id()


def document() -> dict[str, Any]:
    """The ``Application`` document served at ``/actor``."""
    uri = actor_uri()
    return {
        "@context": [uris.AS_CONTEXT, uris.SECURITY_CONTEXT],
        "id": uri,
        "type": "Application",
        "preferredUsername": username(),
        "name": username(),
        "summary": "The instance actor: it signs this server's requests to other servers.",
        "url": f"{uris.base_url()}/about",
        "inbox": uris.shared_inbox_url(),
        "outbox": f"{uri}/outbox",
        "manuallyApprovesFollowers": True,
        "publicKey": {"id": key_id(), "owner": uri, "publicKeyPem": public_key_pem()},
        "endpoints": {"sharedInbox": uris.shared_inbox_url()},
    }


def webfinger() -> dict[str, Any]:
    """WebFinger's JRD for ``acct:<host>@<host>``."""
    uri = actor_uri()
    return {
        "subject": f"acct:{username()}@{uris.domain()}",
        "aliases": [uri],
        "links": [
            {"rel": "self", "type": uris.AS_MEDIA_TYPE, "href": uri},
            {"rel": "http://webfinger.net/rel/profile-page", "type": "text/html", "href": f"{uris.base_url()}/about"},
        ],
    }
