"""The ActivityStreams documents this instance serves: Person, Note, Tombstone, collections,
and the discovery documents (WebFinger's JRD, host-meta's XRD).

Wire formats live here, outside the models. Shapes follow what Mastodon sends, since most of the
fediverse parses Mastodon's output most carefully; the contexts are Mastodon's too.
"""

from __future__ import annotations

import mimetypes
import re
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape

from rostra.accounts.models import Account
from rostra.core.grants import file_url
from rostra.core.html import sanitize
from rostra.federation import note_extras, uris
from rostra.federation.models import RemoteActor, RemotePost, Tombstone
from rostra.posts.addressing import addressing
from rostra.posts.models import Media, Post

ACTOR_CONTEXT: list[Any] = [
    uris.AS_CONTEXT,
    uris.SECURITY_CONTEXT,
    {
        "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
        "toot": "http://joinmastodon.org/ns#",
        "featured": {"@id": "toot:featured", "@type": "@id"},
        "alsoKnownAs": {"@id": "as:alsoKnownAs", "@type": "@id"},
        "movedTo": {"@id": "as:movedTo", "@type": "@id"},
        "schema": "http://schema.org#",
        "PropertyValue": "schema:PropertyValue",
        "value": "schema:value",
        "discoverable": "toot:discoverable",
        "indexable": "toot:indexable",
    },
]
NOTE_CONTEXT: list[Any] = [
    uris.AS_CONTEXT,
    {
        "sensitive": "as:sensitive",
        "toot": "http://joinmastodon.org/ns#",
        "Hashtag": "as:Hashtag",
        "blurhash": "toot:blurhash",
        "focalPoint": {"@container": "@list", "@id": "toot:focalPoint"},
        **note_extras.CONTEXT_TERMS,  # quotes and polls (Question)
    },
]

_RELATIVE_HREF = re.compile(r'href="/(?!/)')


def _iso(at: datetime | None) -> str | None:
    return at.isoformat().replace("+00:00", "Z") if at is not None else None


def _absolute_html(html: str) -> str:
    """Rendered HTML with this site's relative links (mentions, hashtags) made absolute, sanitised."""
    return sanitize(_RELATIVE_HREF.sub(f'href="{uris.base_url()}/', html or ""))


def _image(file_name: str) -> dict[str, Any] | None:
    if not file_name:
        return None
    media_type = mimetypes.guess_type(file_name)[0] or "application/octet-stream"
    return {"type": "Image", "mediaType": media_type, "url": file_url(file_name, base=uris.base_url())}


# --- Actors ----------------------------------------------------------------------------------------


def person(account: Account, public_key_pem: str) -> dict[str, Any]:
    url = uris.actor_url(account.username)
    doc: dict[str, Any] = {
        "@context": ACTOR_CONTEXT,
        "id": url,
        "type": "Service" if account.bot else "Person",
        "following": f"{url}/following",
        "followers": f"{url}/followers",
        "inbox": f"{url}/inbox",
        "outbox": f"{url}/outbox",
        "featured": f"{url}/collections/featured",
        "preferredUsername": account.username,
        "name": account.display_name,
        "summary": _absolute_html(account.note_html),
        "url": uris.profile_url(account.username),
        "manuallyApprovesFollowers": account.locked,
        "discoverable": account.discoverable,
        "indexable": account.discoverable,
        "published": _iso(account.created_at),
        "publicKey": {"id": uris.key_id(account.username), "owner": url, "publicKeyPem": public_key_pem},
        "attachment": [
            {
                "type": "PropertyValue",
                "name": str(f.get("name", "")),
                "value": sanitize(str(f.get("value_html") or f.get("value", ""))),
            }
            for f in (account.fields or [])
        ],
        "endpoints": {"sharedInbox": uris.shared_inbox_url()},
    }
    if icon := _image(account.avatar):
        doc["icon"] = icon
    if image := _image(account.header):
        doc["image"] = image
    # Moving (docs/federation.md, "Moving an account"): the accounts allowed to move here, and
    # where this one moved to.
    if account.also_known_as:
        doc["alsoKnownAs"] = list(account.also_known_as)
    if account.moved_to_id is not None and (moved_to := _moved_to_uri(account)):
        doc["movedTo"] = moved_to
    return doc


def _moved_to_uri(account: Account) -> str:
    target = account.moved_to
    if target is None:
        return ""
    if target.is_local:
        return uris.actor_url(target.username)
    return RemoteActor.objects.filter(account_id=target.pk).values_list("uri", flat=True).first() or ""


# --- Notes -----------------------------------------------------------------------------------------


def _mentioned(post: Post) -> list[tuple[str, str]]:
    """(actor id, ``@user@domain``) of each account the post mentions: ours, and remote ones by
    their actor's id (a remote account without one is left out)."""
    out: list[tuple[str, str]] = []
    for m in post.mention_rows.all():
        account = m.account
        if account.is_local:
            out.append((uris.actor_url(account.username), f"@{account.username}@{uris.domain()}"))
        else:
            try:
                remote = account.remote_actor.uri  # one query per remote mention unless prefetched
            except RemoteActor.DoesNotExist:
                continue
            out.append((remote, f"@{account.username}@{account.domain}"))
    return out


def _note_id(post: Post) -> str:
    """A post's ActivityPub id: ours, or the id a remote post arrived with."""
    if post.author.is_local:
        return uris.note_url(post.author.username, post.pk)
    return RemotePost.objects.filter(post_id=post.pk).values_list("uri", flat=True).first() or uris.note_url(post.author.username, post.pk)


def _addressing(post: Post) -> tuple[list[str], list[str]]:
    followers = f"{uris.actor_url(post.author.username)}/followers"
    mentioned = [uri for uri, _name in _mentioned(post)]
    return addressing(post.visibility, followers, mentioned)


def _attachment(media: Media) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "type": "Document",
        "mediaType": media.content_type,
        "url": file_url(media.file, base=uris.base_url()),
        "name": media.description or None,
        "width": media.width,
        "height": media.height,
    }
    if media.focus_x or media.focus_y:
        doc["focalPoint"] = [media.focus_x, media.focus_y]
    return doc


def _tags(post: Post) -> list[dict[str, Any]]:
    tags: list[dict[str, Any]] = [{"type": "Mention", "href": uri, "name": name} for uri, name in _mentioned(post)]
    tags += [
        {"type": "Hashtag", "href": f"{uris.base_url()}/tags/{h.name}", "name": f"#{h.display_name}"} for h in post.hashtags.all()
    ]
    return tags


def note(post: Post, *, with_context: bool = True) -> dict[str, Any]:
    author = post.author.username
    to, cc = _addressing(post)
    url = uris.note_url(author, post.pk)
    reply_to = post.in_reply_to
    doc: dict[str, Any] = {
        "id": url,
        "type": "Note",
        "summary": post.spoiler_text or None,
        "inReplyTo": _note_id(reply_to) if reply_to is not None else None,
        "published": _iso(post.created_at),
        "updated": _iso(post.edited_at) if post.edited_at else None,
        "url": uris.post_page_url(author, post.pk),
        "attributedTo": uris.actor_url(author),
        "to": to,
        "cc": cc,
        "sensitive": post.sensitive or bool(post.spoiler_text),
        "content": _absolute_html(post.content_html),
        "attachment": [_attachment(m) for m in sorted(post.media.all(), key=lambda m: (m.position, m.pk))],
        "tag": _tags(post),
        "replies": {"id": f"{url}/replies", "type": "OrderedCollection", "totalItems": post.replies_count},
    }
    if post.language:
        doc["contentMap"] = {post.language: doc["content"]}
    if post.edited_at is None:
        del doc["updated"]
    note_extras.add_quote(post, doc)
    note_extras.add_poll(post, doc)
    return {"@context": NOTE_CONTEXT, **doc} if with_context else doc


def tombstone(row: Tombstone) -> dict[str, Any]:
    return {"@context": uris.AS_CONTEXT, "id": row.uri, "type": "Tombstone", "deleted": _iso(row.deleted_at)}


def activity_of(post: Post) -> dict[str, Any]:
    """A post as its outbox lists it: Create of the Note, or Announce of the reposted post."""
    author = post.author.username
    url = f"{uris.note_url(author, post.pk)}/activity"
    if post.repost_of is not None:
        original = post.repost_of
        return {
            "id": url,
            "type": "Announce",
            "actor": uris.actor_url(author),
            "published": _iso(post.created_at),
            "to": [uris.PUBLIC],
            "cc": [f"{uris.actor_url(author)}/followers", uris.actor_url(original.author.username)],
            "object": uris.note_url(original.author.username, original.pk),
        }
    obj = note(post, with_context=False)
    return {
        "id": url,
        "type": "Create",
        "actor": obj["attributedTo"],
        "published": obj["published"],
        "to": obj["to"],
        "cc": obj["cc"],
        "object": obj,
    }


# --- Collections -----------------------------------------------------------------------------------


def collection(url: str, total: int, *, first: str | None = None) -> dict[str, Any]:
    doc: dict[str, Any] = {"@context": uris.AS_CONTEXT, "id": url, "type": "OrderedCollection", "totalItems": total}
    if first is not None:
        doc["first"] = first
    return doc


def collection_page(url: str, page_url: str, items: list[dict[str, Any]], *, next_url: str | None) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "@context": NOTE_CONTEXT,
        "id": page_url,
        "type": "OrderedCollectionPage",
        "partOf": url,
        "orderedItems": items,
    }
    if next_url is not None:
        doc["next"] = next_url
    return doc


def featured(account: Account, posts: list[Post]) -> dict[str, Any]:
    url = f"{uris.actor_url(account.username)}/collections/featured"
    return {
        "@context": NOTE_CONTEXT,
        "id": url,
        "type": "OrderedCollection",
        "totalItems": len(posts),
        "orderedItems": [note(p, with_context=False) for p in posts],
    }


# --- Discovery -------------------------------------------------------------------------------------


def webfinger(account: Account, host: str) -> dict[str, Any]:
    return {
        "subject": f"acct:{account.username}@{host}",
        "aliases": [uris.profile_url(account.username), uris.actor_url(account.username)],
        "links": [
            {"rel": "http://webfinger.net/rel/profile-page", "type": "text/html", "href": uris.profile_url(account.username)},
            {"rel": "self", "type": uris.AS_MEDIA_TYPE, "href": uris.actor_url(account.username)},
            {
                "rel": "http://ostatus.org/schema/1.0/subscribe",
                "template": f"{uris.base_url()}/authorize_interaction?uri={{uri}}",
            },
        ],
    }


def host_meta() -> str:
    template = escape(f"{uris.base_url()}/.well-known/webfinger?resource={{uri}}", {'"': "&quot;"})
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<XRD xmlns="http://docs.oasis-open.org/ns/xri/xrd-1.0">\n'
        f'  <Link rel="lrdd" template="{template}"/>\n'
        "</XRD>\n"
    )
