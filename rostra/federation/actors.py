"""Remote actors: an actor URL turned into a local ``Account`` (with its ``RemoteActor`` row).

The actor document is fetched through the guarded outbound client and trusted only if it is
served as ActivityStreams, its id is the URL it was fetched from (same host: C4/C6), its type is
one a person or a service can be, and it names a username and an inbox. A known actor is
refetched at most once a day (``REFRESH_AFTER``); when its avatar or header changed, they are
fetched afterwards (``rostra.federation.media``).
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from django.db import IntegrityError, transaction

from rostra.accounts.models import Account
from rostra.core import clock, events, html, outbound
from rostra.federation import fetching, media, policy, uris
from rostra.federation.models import MAX_ID_LENGTH, RemoteActor

REFRESH_AFTER = timedelta(days=1)
ACTOR_TYPES = ("Person", "Service", "Group", "Application", "Organization")
ACCEPTED_TYPES = ("application/activity+json", "application/ld+json")
FETCH_ACCEPT = f"{uris.AS_MEDIA_TYPE}, {uris.LD_PROFILE}"
_USERNAME = re.compile(r"^[A-Za-z0-9_.\-]{1,30}$")
MAX_FIELDS = 8


class ActorError(Exception):
    """The actor cannot be resolved; the message says why (kept as the inbox item's outcome)."""


class Unavailable(ActorError):
    """The remote could not answer now (unreachable, timed out, 5xx, 429, 408): worth another try
    later, unlike every other ``ActorError``."""


_TRANSIENT_ERRORS = (outbound.TimedOut, outbound.Unreachable)
_TRANSIENT_STATUSES = frozenset({408, 429})


def host_of(url: str) -> str:
    try:
        return urlsplit(url).netloc.lower()
    except ValueError:
        return ""


def fetch_document(url: str) -> dict[str, Any]:
    """An ActivityStreams document fetched from ``url``; its id must be on the host that served it."""
    if urlsplit(url).scheme not in ("http", "https") or len(url) > MAX_ID_LENGTH:
        raise ActorError(f"Not a fetchable URL: {url[:200]}")
    if policy.is_suspended(host_of(url)):
        raise ActorError(f"{host_of(url)[:200]} is suspended by this instance's policy: nothing is fetched from it.")
    try:
        response = fetching.signed_get(url, accept=FETCH_ACCEPT)
    except _TRANSIENT_ERRORS as exc:
        raise Unavailable(f"Fetching {url[:200]} failed: {exc}") from None
    except outbound.OutboundError as exc:
        raise ActorError(f"Fetching {url[:200]} failed: {exc}") from None
    media_type = response.header("content-type").split(";", 1)[0].strip().lower()
    if response.status >= 500 or response.status in _TRANSIENT_STATUSES:
        raise Unavailable(f"Fetching {url[:200]} answered {response.status}.")
    if response.status != 200:
        raise ActorError(f"Fetching {url[:200]} answered {response.status}.")
    if media_type not in ACCEPTED_TYPES:
        raise ActorError(f"{url[:200]} is not served as ActivityStreams ({media_type or 'no type'}).")
    try:
        doc = json.loads(response.body)
    except (ValueError, UnicodeDecodeError):
        raise ActorError(f"{url[:200]} is not valid JSON.") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("id"), str):
        raise ActorError(f"{url[:200]} is not an object with an id.")
    if host_of(doc["id"]) != host_of(response.url) or host_of(doc["id"]) != host_of(url):
        raise ActorError("The document's id is on another host than the one that served it.")
    return doc


def resolve(uri: str, *, refresh: bool = False) -> Account:
    """The local Account for a remote actor URL, fetched (or refreshed daily, or when asked)."""
    if uris.is_local_host(host_of(uri)):
        raise ActorError("A local URL is not a remote actor.")
    known = RemoteActor.objects.select_related("account").filter(uri=uri).first()
    if known is not None and not refresh and clock.now() - known.fetched_at < REFRESH_AFTER:
        return known.account
    doc = fetch_document(uri)
    if doc["id"] != uri:
        raise ActorError("The actor document's id is not the URL it was fetched from.")
    return store(doc)


def known(uri: str) -> Account | None:
    """The Account of an actor already known, without fetching anything."""
    row = RemoteActor.objects.select_related("account").filter(uri=uri).first()
    return row.account if row is not None else None


def _string(doc: dict[str, Any], name: str, limit: int = MAX_ID_LENGTH) -> str:
    value = doc.get(name)
    if isinstance(value, dict):  # Mastodon's inbox-less forms and some { "id": ... } links
        value = value.get("id")
    return value[:limit] if isinstance(value, str) else ""


def _fields(doc: dict[str, Any]) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    attachments = doc.get("attachment")
    for item in attachments if isinstance(attachments, list) else []:
        if len(out) >= MAX_FIELDS:
            break
        if isinstance(item, dict) and item.get("type") == "PropertyValue":
            name, value = item.get("name"), item.get("value")
            if isinstance(name, str) and isinstance(value, str):
                value_html = html.sanitize(value[:2000])
                out.append(
                    {
                        "name": html.to_plain_text(name)[:255],
                        "value": html.to_plain_text(value_html)[:2000],
                        "value_html": value_html,
                    }
                )
    return out


def validate(doc: dict[str, Any]) -> dict[str, Any]:
    """The fields Rostra keeps of an actor document; ActorError for one it cannot use."""
    actor_type = doc.get("type")
    if actor_type not in ACTOR_TYPES:
        raise ActorError(f"An actor is a Person, Service, Group or Application, not {str(actor_type)[:64]!r}.")
    username = doc.get("preferredUsername")
    if actor_type == "Application" and isinstance(username, str) and username.strip() and not _USERNAME.match(username):
        # A server's own actor (Mastodon's, Rostra's) is named after its host, which may carry a
        # port or run past 30 characters; it signs Flags and fetches, so it must be storable.
        username = re.sub(r"[^A-Za-z0-9_.\-]", "_", username.strip())[:30]
    if not isinstance(username, str) or not _USERNAME.match(username):
        raise ActorError("The actor needs a preferredUsername of 1 to 30 letters, digits, '_', '.' or '-'.")
    inbox = _string(doc, "inbox")
    if not inbox or urlsplit(inbox).scheme not in ("http", "https"):
        raise ActorError("The actor needs an inbox URL.")
    origin = host_of(doc["id"])
    endpoints = doc.get("endpoints") if isinstance(doc.get("endpoints"), dict) else {}
    note_html = html.sanitize(_string(doc, "summary", 20_000))
    return {
        "username": username,
        "domain": origin,
        "display_name": html.to_plain_text(_string(doc, "name", 2000))[:60],
        "note": html.to_plain_text(note_html),
        "note_html": note_html,
        "fields": _fields(doc),
        "locked": doc.get("manuallyApprovesFollowers") is True,
        "bot": actor_type == "Service",
        "remote": {
            "url": _string(doc, "url"),
            "inbox": inbox,
            "shared_inbox": _string(endpoints, "sharedInbox"),  # type: ignore[arg-type]
            "outbox": _string(doc, "outbox"),
            "followers": _string(doc, "followers"),
            "following": _string(doc, "following"),
            "featured": _string(doc, "featured"),
            "actor_type": actor_type,
        },
    }


def store(doc: dict[str, Any]) -> Account:
    """Create or update the Account and RemoteActor for a validated actor document."""
    data = validate(doc)
    remote = data.pop("remote")
    uri = doc["id"]
    try:
        with transaction.atomic():
            row = RemoteActor.objects.select_related("account").filter(uri=uri).first()
            if row is not None:
                account = row.account
                for name, value in data.items():
                    setattr(account, name, value)
                account.save()
            else:
                account = Account.objects.create(**data)
                row = RemoteActor(account=account, uri=uri)
            for name, value in remote.items():
                setattr(row, name, value)
            images_changed = media.note_actor_images(row, doc)
            row.fetched_at = clock.now()
            row.save()
            if images_changed:  # fetched after commit, off this path (rostra.federation.media)
                events.emit("remote_actor.images", account_id=account.pk)
    except IntegrityError:
        # Another actor on that host already has the handle, or a concurrent fetch stored it.
        existing = known(uri)
        if existing is None:
            raise ActorError(f"The handle {data['username']}@{data['domain']} is taken by another actor.") from None
        return existing
    return account
