"""The activities this instance sends: Create/Update/Delete of a Note, Announce, Like, Follow,
Undo, Accept, Reject, Block and Update of a Person — wire formats only, no database writes.

Notes are ``documents.note`` (the same document a server fetches), completed with what only
delivery needs: remote mentioned people in ``to``/``cc`` and ``tag``, and remote posts' own ids
for ``inReplyTo`` and an Announce's object. Activity ids are deterministic, so building the same
activity twice gives the same id and the outbox stores it once (see ``delivery``).

A Follow's id is ``https://<domain>/follows/<id>``, where ``<id>`` is the local ``Follow`` row's
id (or the ``FollowRequest`` row's while a locked remote account has not answered): the receiving
side matches Accept and Reject on it (docs/federation.md, "Delivery").
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from rostra.accounts.models import Account
from rostra.federation import documents, instance_actor, uris
from rostra.federation.models import RemoteActor, RemotePost
from rostra.posts.models import Post, Visibility


class UnknownRemote(ValueError):
    """A remote account or post without a known ActivityPub id: it cannot be addressed."""


def actor_uri(account: Account) -> str:
    """The ActivityPub id of any account: ours by convention, a remote one as its server said."""
    if account.is_local:
        return uris.actor_url(account.username)
    remote = RemoteActor.objects.filter(account_id=account.pk).values_list("uri", flat=True).first()
    if remote is None:
        raise UnknownRemote(f"the remote account {account.acct} has no known actor document")
    return remote


def note_uri(post: Post) -> str:
    """A post's ActivityPub id: a remote post keeps its server's id."""
    if post.author.is_local:
        return uris.note_url(post.author.username, post.pk)
    remote = RemotePost.objects.filter(post_id=post.pk).values_list("uri", flat=True).first()
    if remote is None:
        raise UnknownRemote(f"the remote post {post.pk} has no known id")
    return remote


def follow_uri(row_id: int) -> str:
    return f"{uris.base_url()}/follows/{row_id}"


def _iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


# --- Notes -----------------------------------------------------------------------------------------


def full_note(post: Post) -> dict[str, Any]:
    """The Note as delivered: the served document plus remote mentions and remote reply targets."""
    doc = documents.note(post, with_context=False)
    remote_mentions = [m.account for m in post.mention_rows.all() if not m.account.is_local]
    by_account = dict(RemoteActor.objects.filter(account__in=remote_mentions).values_list("account_id", "uri"))
    for account in remote_mentions:
        uri = by_account.get(account.pk)
        if uri is None:
            continue
        (doc["to"] if post.visibility == Visibility.DIRECT else doc["cc"]).append(uri)
        doc["tag"].append({"type": "Mention", "href": uri, "name": f"@{account.username}@{account.domain}"})
    if post.in_reply_to is not None and not post.in_reply_to.author.is_local:
        doc["inReplyTo"] = note_uri(post.in_reply_to)
        parent_author = actor_uri(post.in_reply_to.author)
        if post.visibility != Visibility.DIRECT and parent_author not in doc["to"] + doc["cc"]:
            doc["cc"].append(parent_author)
    return doc


def create_note(post: Post) -> dict[str, Any]:
    note = full_note(post)
    return {
        "@context": documents.NOTE_CONTEXT,
        "id": f"{note['id']}/activity",
        "type": "Create",
        "actor": note["attributedTo"],
        "published": note["published"],
        "to": note["to"],
        "cc": note["cc"],
        "object": note,
    }


def update_note(post: Post) -> dict[str, Any]:
    note = full_note(post)
    stamp = note.get("updated") or note["published"]
    return {
        "@context": documents.NOTE_CONTEXT,
        "id": f"{note['id']}#updates/{_digest(stamp + str(note))}",
        "type": "Update",
        "actor": note["attributedTo"],
        "to": note["to"],
        "cc": note["cc"],
        "object": note,
    }


def delete_note(author: Account, note_id: str, *, to: list[str], cc: list[str], deleted_at: datetime) -> dict[str, Any]:
    return {
        "@context": uris.AS_CONTEXT,
        "id": f"{note_id}#delete",
        "type": "Delete",
        "actor": uris.actor_url(author.username),
        "to": to,
        "cc": cc,
        "object": {"id": note_id, "type": "Tombstone", "deleted": _iso(deleted_at)},
    }


def announce(repost: Post) -> dict[str, Any]:
    assert repost.repost_of is not None
    actor = uris.actor_url(repost.author.username)
    original = repost.repost_of
    cc = [f"{actor}/followers"]
    if not original.author.is_local:
        cc.append(actor_uri(original.author))
    else:
        cc.append(uris.actor_url(original.author.username))
    to = [uris.PUBLIC] if repost.visibility == Visibility.PUBLIC else [f"{actor}/followers"]
    return {
        "@context": uris.AS_CONTEXT,
        "id": f"{uris.note_url(repost.author.username, repost.pk)}/activity",
        "type": "Announce",
        "actor": actor,
        "published": _iso(repost.created_at),
        "to": to,
        "cc": cc,
        "object": note_uri(original),
    }


def like(account: Account, like_id: int, post: Post) -> dict[str, Any]:
    actor = uris.actor_url(account.username)
    return {
        "@context": uris.AS_CONTEXT,
        "id": f"{actor}#likes/{like_id}",
        "type": "Like",
        "actor": actor,
        "object": note_uri(post),
    }


# --- Relationships ---------------------------------------------------------------------------------


def follow(follower: Account, target: Account, row_id: int) -> dict[str, Any]:
    return {
        "@context": uris.AS_CONTEXT,
        "id": follow_uri(row_id),
        "type": "Follow",
        "actor": uris.actor_url(follower.username),
        "object": actor_uri(target),
    }


def undo(actor: Account, activity: dict[str, Any]) -> dict[str, Any]:
    """Undo of an activity sent before, carrying that activity (without its context)."""
    inner = {k: v for k, v in activity.items() if k != "@context"}
    return {
        "@context": uris.AS_CONTEXT,
        "id": f"{inner['id']}#undo" if "id" in inner else f"{uris.actor_url(actor.username)}#undo/{_digest(str(inner))}",
        "type": "Undo",
        "actor": uris.actor_url(actor.username),
        "object": inner,
    }


def _answer(kind: str, target: Account, follower_uri: str, follow_activity_id: str | None) -> dict[str, Any]:
    actor = uris.actor_url(target.username)
    follow_object: dict[str, Any] = {"type": "Follow", "actor": follower_uri, "object": actor}
    if follow_activity_id:
        follow_object = {"id": follow_activity_id, **follow_object}
    return {
        "@context": uris.AS_CONTEXT,
        "id": f"{actor}#{kind.lower()}s/{_digest(follow_activity_id or follower_uri)}",
        "type": kind,
        "actor": actor,
        "object": follow_object,
    }


def accept(target: Account, follower_uri: str, follow_activity_id: str | None) -> dict[str, Any]:
    return _answer("Accept", target, follower_uri, follow_activity_id)


def reject(target: Account, follower_uri: str, follow_activity_id: str | None) -> dict[str, Any]:
    return _answer("Reject", target, follower_uri, follow_activity_id)


def block(account: Account, target: Account, block_id: int) -> dict[str, Any]:
    actor = uris.actor_url(account.username)
    return {
        "@context": uris.AS_CONTEXT,
        "id": f"{actor}#blocks/{block_id}",
        "type": "Block",
        "actor": actor,
        "object": actor_uri(target),
    }


def update_person(account: Account, public_key_pem: str, *, after: str = "") -> dict[str, Any]:
    """Update of the actor; ``after`` (an earlier activity's id, e.g. the Delete of a suspension)
    makes its id new even when the profile is the same as before."""
    person = documents.person(account, public_key_pem)
    actor = person["id"]
    return {
        "@context": documents.ACTOR_CONTEXT,
        "id": f"{actor}#updates/{_digest(after + str(person))}",
        "type": "Update",
        "actor": actor,
        "to": [uris.PUBLIC],
        "object": {k: v for k, v in person.items() if k != "@context"},
    }


def delete_actor(account: Account, *, stamp: str) -> dict[str, Any]:
    """Delete of a local actor (suspended here): servers that know it remove it. ``stamp`` (the
    suspension's time) makes each suspension's Delete its own activity."""
    actor = uris.actor_url(account.username)
    return {
        "@context": uris.AS_CONTEXT,
        "id": f"{actor}#delete/{_digest(stamp)}",
        "type": "Delete",
        "actor": actor,
        "to": [uris.PUBLIC],
        "object": actor,
    }


def flag(report_id: int, objects: list[str], comment: str) -> dict[str, Any]:
    """A report forwarded to another server's moderators, in the instance's own name: the
    instance actor, the reported account and posts, the comment; never who reported."""
    return {
        "@context": uris.AS_CONTEXT,
        "id": f"{uris.base_url()}/flags/{report_id}/{_digest(str(objects) + comment)}",
        "type": "Flag",
        "actor": instance_actor.actor_uri(),
        "object": objects,
        "content": comment,
    }


def move(account: Account, target_uri: str, moved_at: datetime) -> dict[str, Any]:
    """The account moved to ``target_uri`` (Mastodon's Move: actor and object are the old account)."""
    actor = uris.actor_url(account.username)
    return {
        "@context": uris.AS_CONTEXT,
        "id": f"{actor}#moves/{int(moved_at.timestamp())}",
        "type": "Move",
        "actor": actor,
        "object": actor,
        "target": target_uri,
    }
