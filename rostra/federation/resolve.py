"""Remote objects: accounts and posts found by handle or URL, and the posts a thread is missing.

* ``resolve_account("user@domain")``: WebFinger on the handle's domain (through the guarded
  outbound client), its ``self`` link of an ActivityStreams type, then the actor through
  ``actors.resolve`` (the same checks, and the same daily refetch, as the inbox's actors).
* ``resolve_url(url)``: one of this instance's URLs names the local account or post; another
  server's is fetched as ActivityStreams (``actors.fetch_document``: the id on the host fetched,
  C4): an actor becomes an account, a Note a remote post stored through the inbox's own Create
  handler (``receive.on_create``: the same ownership checks and the same moderation gate).
* ``fetch_missing_parents``: a Create whose ``inReplyTo`` is unknown fetches the parent (and its
  parent, at most ``MAX_PARENT_DEPTH`` per activity), so threads connect; ``fetch_announced``:
  an Announce of an unknown post fetches it from its own host (C6).
* ``for_search`` / ``for_mention``: what search and @mentions call through the plugs that
  federation registers at start-up (domain apps never import federation).
"""

from __future__ import annotations

import contextvars
import ipaddress
import json
import logging
import re
from typing import Any
from urllib.parse import quote, urlsplit

from rostra.accounts import surge
from rostra.accounts.models import Account
from rostra.core import outbound
from rostra.core.errors import DomainError
from rostra.federation import actors, policy, uris
from rostra.federation.actors import ActorError, host_of
from rostra.federation.models import RemoteActor, RemotePost
from rostra.posts.models import Post

log = logging.getLogger(__name__)

MAX_PARENT_DEPTH = 5
NOTE_TYPES = ("Note", "Question", "Article")
WEBFINGER_TYPES = ("application/jrd+json", "application/json")
MAX_WEBFINGER_BYTES = 100_000
# @mentions resolve while the author waits: a short budget per remote server, as Mastodon does.
MENTION_TIMEOUT = 5.0
_HANDLE = re.compile(r"^@?(?P<user>[A-Za-z0-9_.\-]{1,30})@(?P<domain>[A-Za-z0-9](?:[A-Za-z0-9.\-]{0,252})(?::\d{1,5})?)$")
_depth: contextvars.ContextVar[int] = contextvars.ContextVar("rostra_parent_depth", default=0)


class ResolveError(Exception):
    """The handle or URL names nothing that can be found; the message says why."""


def parse_handle(text: str) -> tuple[str, str] | None:
    """``user@domain`` (``@`` and ``acct:`` prefixes allowed) as (user, lower-cased domain), or None."""
    text = (text or "").strip()
    if text.lower().startswith("acct:"):
        text = text[5:]
    m = _HANDLE.match(text)
    return (m.group("user"), m.group("domain").lower()) if m else None


def _origin(domain: str) -> str:
    """``https://domain``; plain http only for a loopback peer, which the outbound client refuses
    anyway unless a test hatch (test settings, or ROSTRA_ALLOW_LOOPBACK_FEDERATION) is open."""
    host = domain.rsplit(":", 1)[0] if domain.count(":") == 1 else domain
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    return f"{'http' if loopback else 'https'}://{domain}"


# --- Accounts ---------------------------------------------------------------------------------


def _known_remote(user: str, domain: str) -> Account | None:
    return (
        Account.objects.filter(username__iexact=user, domain__iexact=domain, remote_actor__isnull=False)
        .select_related("remote_actor")
        .first()
    )


def webfinger(user: str, domain: str, *, client: outbound.OutboundClient | None = None) -> str:
    """The actor URL WebFinger gives for ``user@domain`` (the ``self`` link of an AS type)."""
    if policy.is_suspended(domain):
        raise ResolveError(f"{domain} is suspended by this instance's policy: nothing is fetched from it.")
    url = f"{_origin(domain)}/.well-known/webfinger?resource={quote(f'acct:{user}@{domain}', safe=':@')}"
    try:
        response = (client or outbound.client()).get(url, headers={"Accept": "application/jrd+json, application/json"}, max_bytes=MAX_WEBFINGER_BYTES)
    except outbound.OutboundError as exc:
        raise ResolveError(f"WebFinger on {domain} failed: {exc}") from None
    if response.status != 200:
        raise ResolveError(f"WebFinger on {domain} answered {response.status} for {user}@{domain}.")
    try:
        doc = json.loads(response.body)
    except (ValueError, UnicodeDecodeError):
        raise ResolveError(f"WebFinger on {domain} did not answer JSON.") from None
    links = doc.get("links") if isinstance(doc, dict) else None
    for link in links if isinstance(links, list) else []:
        if not isinstance(link, dict) or link.get("rel") != "self" or not isinstance(link.get("href"), str):
            continue
        kind = str(link.get("type") or "").split(";", 1)[0].strip().lower()
        if kind in actors.ACCEPTED_TYPES and urlsplit(link["href"]).scheme in ("http", "https"):
            return str(link["href"])
    raise ResolveError(f"WebFinger on {domain} names no ActivityStreams actor for {user}@{domain}.")


def resolve_account(handle: str, *, client: outbound.OutboundClient | None = None) -> Account:
    """The account ``user@domain`` names: local, known (refetched as ``actors`` allows), or found
    by WebFinger and fetched now. ResolveError when there is none."""
    parsed = parse_handle(handle)
    if parsed is None:
        raise ResolveError("A handle looks like user@example.social.")
    user, domain = parsed
    if uris.is_local_host(domain):
        local = Account.objects.filter(username__iexact=user, domain="", suspended_at__isnull=True).first()
        if local is None:
            raise ResolveError(f"There is no account {user} here.")
        return local
    known = _known_remote(user, domain)
    if known is not None:
        try:
            return actors.resolve(known.remote_actor.uri)  # refetched only when older than a day
        except ActorError as exc:
            log.info("refreshing %s failed (%s); the stored copy is used", known.acct, exc)
            return known
    try:
        actor = actors.resolve(webfinger(user, domain, client=client))
    except ActorError as exc:
        raise ResolveError(str(exc)) from None
    if actor.username.lower() != user.lower():
        raise ResolveError(f"WebFinger on {domain} pointed at another account ({actor.acct}).")
    return actor


# --- Posts ------------------------------------------------------------------------------------


def _receive() -> Any:
    from rostra.federation import receive  # receive calls this module back for missing posts

    return receive


def fetch_post(uri: str) -> Post:
    """A post by its ActivityPub id or URL: known, or fetched from its own host (C4: the document's
    id on the host fetched; C6: its author on the same host) and stored through the inbox's Create
    handler. ResolveError, or the handler's Rejected/Ignored, when it cannot be."""
    receive = _receive()
    known = receive.known_post(uri) or _stored_by_url(uri)
    if known is not None:
        return known
    if uris.is_local_host(host_of(uri)):
        raise ResolveError("No post here has that address.")  # ours are never fetched over the wire
    try:
        doc = actors.fetch_document(uri)
    except ActorError as exc:
        raise ResolveError(str(exc)) from None
    return _store_note(doc)


def _stored_by_url(url: str) -> Post | None:
    if not url:
        return None
    # Only a post whose author lives on the URL's host (its url was kept only there, too)
    row = RemotePost.objects.select_related("post__author").filter(url=url, post__author__domain=host_of(url)).first()
    return row.post if row is not None else None


def _store_note(doc: dict[str, Any]) -> Post:
    receive = _receive()
    if doc.get("type") not in NOTE_TYPES:
        raise ResolveError(f"{str(doc.get('type'))[:64]} is not a post.")
    known = receive.known_post(doc["id"])
    if known is not None:
        return known
    authors = receive._ids(doc.get("attributedTo"))
    if len(authors) != 1 or host_of(authors[0]) != host_of(doc["id"]):
        raise ResolveError("C6: the post's author is not on the post's own host.")
    try:
        author = actors.resolve(authors[0])
    except ActorError as exc:
        raise ResolveError(str(exc)) from None
    if author.suspended_at is not None:
        raise ResolveError("The post's author is suspended here.")
    activity = {"id": f"{doc['id']}#fetched", "type": "Create", "actor": authors[0], "object": doc}
    receive.on_create(author, activity)  # the inbox's own path: checks, moderation gate, RemotePost
    stored = receive.known_post(doc["id"])
    if stored is None:
        raise ResolveError("The post was not stored.")
    return stored


def fetch_missing_parents(note: dict[str, Any]) -> None:
    """Before a Note is stored: fetch and store its parent when it is not known here (and that
    one's parent...), at most MAX_PARENT_DEPTH per activity. A parent that cannot be had is left
    out; the Note is then stored without it, as before."""
    parent = _receive().object_id(note.get("inReplyTo"))
    depth = _depth.get()
    if not parent or depth >= MAX_PARENT_DEPTH or _receive().known_post(parent) is not None:
        return
    if surge.shed_optional_fetches():
        log.info("surge mode: the parent %s is not fetched", parent[:200])
        return  # shed first in a surge: the reply is stored without its parent
    token = _depth.set(depth + 1)
    try:
        fetch_post(parent)  # stores through on_create, which calls back here for the grandparent
    except Exception as exc:  # noqa: BLE001 - a parent is optional: the reply is stored without it
        log.info("fetching the parent %s failed: %s", parent[:200], exc)
    finally:
        _depth.reset(token)


def fetch_announced(uri: str) -> Post:
    """The post an Announce names, fetched from its own host when unknown (never trusting an
    embedded copy). The inbox's Ignored, with the reason, when it cannot be had."""
    receive = _receive()
    if not uri:
        raise receive.Rejected("An Announce needs an object.")
    try:
        return fetch_post(uri)
    except ResolveError as exc:
        raise receive.Ignored(f"The announced post is not known here and could not be fetched: {exc}") from None


# --- URLs ---------------------------------------------------------------------------------------


def resolve_url(url: str) -> Account | Post:
    """What a URL names: a local account or post (unchecked: callers read it through the door), or
    a remote actor or post, fetched and stored. ResolveError when it names nothing usable."""
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ResolveError("Not a web address.")
    receive = _receive()
    if uris.is_local_host(parts.netloc):
        found: Account | Post | None = receive.local_post(url) or receive.local_account(url)
        if found is None:
            raise ResolveError("Nothing here has that address.")
        return found
    known_actor = RemoteActor.objects.filter(uri=url).values_list("uri", flat=True).first()
    known_post = receive.known_post(url) or _stored_by_url(url)
    try:
        if known_actor:
            return actors.resolve(known_actor)
        if known_post is not None:
            return known_post
        doc = actors.fetch_document(url)
        if doc.get("type") in actors.ACTOR_TYPES:
            return actors.store(doc) if doc["id"] == url else actors.resolve(doc["id"])
    except ActorError as exc:
        raise ResolveError(str(exc)) from None
    try:
        return _store_note(doc)
    except (receive.Rejected, receive.Ignored, DomainError) as exc:
        raise ResolveError(str(exc)) from None


# --- The plugs search and posts call --------------------------------------------------------------


def for_search(q: str) -> Account | Post | None:
    """What a search for a handle or URL finds on other servers (None when nothing: never an error)."""
    q = (q or "").strip()
    if surge.shed_optional_fetches():
        return _known_only(q)  # surge mode: no fetching from other servers for search
    try:
        if q.startswith(("http://", "https://")):
            return resolve_url(q)
        if parse_handle(q) is not None:
            return resolve_account(q)
    except ResolveError as exc:
        log.info("resolving %r found nothing: %s", q[:200], exc)
    return None


def _known_only(q: str) -> Account | Post | None:
    """What search finds without fetching: this instance's own URLs and what is already stored."""
    receive = _receive()
    if q.startswith(("http://", "https://")):
        parts = urlsplit(q)
        if uris.is_local_host(parts.netloc):
            found: Account | Post | None = receive.local_post(q) or receive.local_account(q)
            return found
        actor = RemoteActor.objects.select_related("account").filter(uri=q).first()
        if actor is not None:
            return actor.account
        stored: Post | None = receive.known_post(q) or _stored_by_url(q)
        return stored
    handle = parse_handle(q)
    return _known_remote(*handle) if handle is not None else None


def for_mention(username: str, domain: str) -> Account | None:
    """A remote account an @mention names: known, or found now within a short budget."""
    known = _known_remote(username, domain)
    if known is not None:
        return known if known.suspended_at is None else None
    client = outbound.OutboundClient(connect_timeout=MENTION_TIMEOUT / 2, read_timeout=MENTION_TIMEOUT, total_timeout=MENTION_TIMEOUT)
    try:
        account = resolve_account(f"{username}@{domain}", client=client)
    except ResolveError as exc:
        log.info("the mention @%s@%s stays text: %s", username, domain, exc)
        return None
    return account if account.suspended_at is None and not account.is_local else None


def profile_url(account: Account) -> str:
    """Where a remote account's profile is read (its ``url``, else its actor id)."""
    row = RemoteActor.objects.filter(account=account).values_list("url", "uri").first()
    if row is None:
        return uris.profile_url(account.username)
    return row[0] or row[1]


def actor_uri(account: Account) -> str:
    """The ActivityPub id of an account: ours, or the remote actor's."""
    if account.is_local:
        return uris.actor_url(account.username)
    return RemoteActor.objects.filter(account=account).values_list("uri", flat=True).first() or ""
