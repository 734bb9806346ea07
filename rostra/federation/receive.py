"""Processing what the inbox stored: one handler per activity type (docs/federation.md).

``process_inbox_item`` is the ``inbox.received`` handler. It runs once per item: a pending item
ends ``processed``, ``failed`` (with the reason in ``outcome``) or ``ignored`` (a type Rostra does
not process), and running it again changes nothing. The signature was checked at the door and the
signer is the activity's actor (C3); here every handler checks that the actor owns what it
touches: a Note's ``attributedTo`` is the actor, an Update or Delete names the actor's own post,
an Undo undoes the actor's own activity, an embedded object lives on the actor's host (C6).

Everything goes through the domain actions (follows, posts, likes, reports), so remote content
passes the same moderation gate as local content and notifications take the normal path.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.db import IntegrityError, transaction
from django.db.models import F

from rostra.accounts import actions as accounts
from rostra.accounts import moving as account_moving
from rostra.accounts.models import Account, Follow, FollowRequest
from rostra.core import clock, html
from rostra.core.errors import DomainError
from rostra.federation import actors, delivery, policy, quotes, resolve, uris
from rostra.federation import media as remote_media
from rostra.federation import moving as federation_moving
from rostra.federation import polls as federation_polls
from rostra.federation.actors import ActorError, host_of
from rostra.federation.models import InboundFollow, InboxItem, InboxState, RemoteActor, RemotePost
from rostra.moderation import actions as moderation
from rostra.posts import actions as posts
from rostra.posts import federated as federated_posts
from rostra.posts.models import Post, Visibility

PUBLIC_IDS = frozenset({uris.PUBLIC, "as:Public", "Public"})
MAX_OUTCOME = 500
# An item that failed because a remote could not answer (``actors.Unavailable``: unreachable,
# timed out, 5xx) stays pending and is tried again after each of these, about an hour in all,
# before it fails for good. ``retry_due`` (a periodic task) runs the due ones.
INBOX_RETRY_SCHEDULE = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=15), timedelta(minutes=40))
RETRY_LEASE = timedelta(minutes=5)


class Rejected(Exception):
    """The activity is refused; the message is kept as the item's outcome (state failed)."""


class Ignored(Exception):
    """Rostra does not process this (state ignored); the message says what it was."""


def process_inbox_item(item_id: int) -> None:
    """Handle a stored activity once; a second run (or a run on a finished item) does nothing."""
    item = InboxItem.objects.filter(pk=item_id, state=InboxState.PENDING).first()
    if item is None:
        return
    try:
        state, outcome = InboxState.PROCESSED, handle(item)
    except Ignored as exc:
        state, outcome = InboxState.IGNORED, str(exc)
    except actors.Unavailable as exc:
        if _postpone(item, str(exc)):
            return
        state, outcome = InboxState.FAILED, f"Gave up after {item.attempts + 1} attempts: {exc}"
    except (Rejected, ActorError, DomainError) as exc:
        state, outcome = InboxState.FAILED, str(exc)
    InboxItem.objects.filter(pk=item.pk, state=InboxState.PENDING).update(
        state=state, outcome=outcome[:MAX_OUTCOME], processed_at=clock.now()
    )


def _postpone(item: InboxItem, error: str) -> bool:
    """Leave the item pending, to be tried again on the schedule; False when it is spent."""
    if item.attempts >= len(INBOX_RETRY_SCHEDULE):
        return False
    InboxItem.objects.filter(pk=item.pk, state=InboxState.PENDING).update(
        attempts=F("attempts") + 1,
        retry_at=clock.now() + INBOX_RETRY_SCHEDULE[item.attempts],
        outcome=f"Will try again: {error}"[:MAX_OUTCOME],
    )
    return True


def retry_due(*, now: datetime | None = None, limit: int = 50) -> int:
    """Process again the pending items whose retry time has come; returns how many were run.
    Each is claimed first (its retry time moved on by ``RETRY_LEASE``), so two workers never
    run the same item at once."""
    at = now or clock.now()
    due = list(
        InboxItem.objects.filter(state=InboxState.PENDING, retry_at__lte=at)
        .order_by("retry_at", "id")
        .values_list("pk", "retry_at")[:limit]
    )
    ran = 0
    for pk, retry_at in due:
        if InboxItem.objects.filter(pk=pk, state=InboxState.PENDING, retry_at=retry_at).update(retry_at=at + RETRY_LEASE):
            process_inbox_item(pk)
            ran += 1
    return ran


def handle(item: InboxItem) -> str:
    activity: dict[str, Any] = item.body
    kind = item.activity_type
    handler = HANDLERS.get(kind)
    if handler is None:
        raise Ignored(f"{kind[:64]} activities are not processed.")
    if policy.is_suspended(host_of(item.actor)):  # blocked (or left off the allow-list) since it was stored
        raise Rejected("The actor's domain is suspended here.")
    if kind == "Delete":
        actor = actors.known(item.actor)  # a deleted actor's document is gone: never fetch it here
        if actor is None:
            return "Nothing of this actor is stored here."
    else:
        actor = actors.resolve(item.actor)
    if actor.suspended_at is not None:
        raise Rejected("The actor is suspended here.")
    return handler(actor, activity)


# --- Reading activities ----------------------------------------------------------------------------


def object_id(value: Any) -> str:
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) else ""


def _ids(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value]
    return [i for i in (object_id(v) for v in items) if i]


def local_account(url: str) -> Account | None:
    """The local account an actor or profile URL of ours names (``/users/<name>`` or ``/@<name>``)."""
    parts = urlsplit(url)
    if not uris.is_local_host(parts.netloc):
        return None
    match = re.fullmatch(r"/(?:users/|@)([A-Za-z0-9_]{1,30})/?", parts.path)
    if match is None:
        return None
    return Account.objects.filter(username__iexact=match.group(1), domain="", suspended_at__isnull=True).first()


def local_post(url: str) -> Post | None:
    parts = urlsplit(url)
    if not uris.is_local_host(parts.netloc):
        return None
    match = re.fullmatch(r"/(?:users/|@)([A-Za-z0-9_]{1,30})(?:/statuses)?/(\d{1,20})/?", parts.path)
    if match is None:
        return None
    return Post.objects.filter(pk=int(match.group(2)), author__username__iexact=match.group(1), author__domain="").first()


def known_post(uri: str) -> Post | None:
    """A post by its ActivityPub id: ours by URL, or a remote one stored before."""
    if not uri:
        return None
    found = local_post(uri)
    if found is not None:
        return found
    row = RemotePost.objects.select_related("post").filter(uri=uri).first()
    return row.post if row is not None else None


def _embedded(activity: dict[str, Any], actor: Account) -> dict[str, Any]:
    """The activity's object as a document: embedded (on the actor's host: C6) or fetched from the
    actor's host."""
    obj = activity.get("object")
    if isinstance(obj, str):
        if host_of(obj) != actor.domain:
            raise Rejected("C6: the object is on another host than the actor.")
        return actors.fetch_document(obj)
    if not isinstance(obj, dict) or not isinstance(obj.get("id"), str):
        raise Rejected("The activity needs an object with an id.")
    if host_of(obj["id"]) != actor.domain:
        raise Rejected("C6: an embedded object on another host than the actor is not trusted.")
    return obj


def _actor_uri(actor: Account) -> str:
    return RemoteActor.objects.filter(account=actor).values_list("uri", flat=True).first() or ""


def _inner_activity(activity: dict[str, Any], actor: Account) -> dict[str, Any]:
    """What an Undo/Accept/Reject names: embedded, or an activity of the actor stored before."""
    obj = activity.get("object")
    if isinstance(obj, dict):
        return obj
    if isinstance(obj, str):
        earlier = InboxItem.objects.filter(activity_id=obj, actor=_actor_uri(actor)).first()
        if earlier is not None:
            return dict(earlier.body)
        return {"id": obj}
    raise Rejected("The activity needs an object.")


# --- Follows ---------------------------------------------------------------------------------------


def on_follow(actor: Account, activity: dict[str, Any]) -> str:
    target = local_account(object_id(activity.get("object")))
    if target is None:
        raise Rejected("A Follow's object must be one of this instance's accounts.")
    with transaction.atomic():
        # A silenced domain's follows wait for approval, as Mastodon treats them (instance policy).
        status = accounts.follow(actor, target, require_approval=policy.is_silenced(actor.domain))
        row, _ = InboundFollow.objects.update_or_create(
            follower=actor, target=target, defaults={"activity_id": activity["id"], "received_at": clock.now()}
        )
        if status == "following":
            _accept(row)
    return f"Follow {status}."


def _accept(row: InboundFollow) -> None:
    """Answer an accepted follow with an Accept naming the Follow activity's id (delivery)."""
    delivery.send_accept(row)


def follow_uri(pk: int) -> str:
    """The id of a Follow activity a local account sends (delivery uses the same; see docs)."""
    return f"{uris.base_url()}/follows/{pk}"


def _our_follow(actor: Account, inner: dict[str, Any]) -> tuple[str, int] | None:
    """("request" | "follow", local follower id) of the follow a local account sent to ``actor``:
    by the Follow's id (``follow_uri``: a FollowRequest's or a Follow's row), else, for an embedded
    Follow, by its actor (ours) and object (``actor``)."""
    match = re.fullmatch(re.escape(uris.base_url()) + r"/follows/(\d{1,20})", object_id(inner))
    if match is not None:
        pk = int(match.group(1))
        request = FollowRequest.objects.filter(pk=pk, target=actor).values_list("requester_id", flat=True).first()
        if request is not None:
            return "request", request
        follow = Follow.objects.filter(pk=pk, target=actor).values_list("follower_id", flat=True).first()
        if follow is not None:
            return "follow", follow
    follower = local_account(object_id(inner.get("actor")))
    if follower is None or object_id(inner.get("object")) != _actor_uri(actor):
        return None
    if FollowRequest.objects.filter(requester=follower, target=actor).exists():
        return "request", follower.pk
    if Follow.objects.filter(follower=follower, target=actor).exists():
        return "follow", follower.pk
    return None


def on_accept(actor: Account, activity: dict[str, Any]) -> str:
    found = _our_follow(actor, _inner_activity(activity, actor))
    if found is None:
        return "No pending follow of ours matches; nothing to accept."
    kind, follower_id = found
    if kind == "request":
        accounts.accept_follow_request(actor, follower_id)
        return "Follow confirmed."
    return "Already following."


def on_reject(actor: Account, activity: dict[str, Any]) -> str:
    found = _our_follow(actor, _inner_activity(activity, actor))
    if found is None:
        return "No follow of ours matches; nothing to reject."
    kind, follower_id = found
    if kind == "request":
        accounts.reject_follow_request(actor, follower_id)
    else:
        accounts.remove_follower(actor, Account.objects.get(pk=follower_id))
    return "Follow removed."


# --- Undo ------------------------------------------------------------------------------------------


def on_undo(actor: Account, activity: dict[str, Any]) -> str:
    inner = _inner_activity(activity, actor)
    kind = inner.get("type")
    if kind is None:
        return "The undone activity is not known here; nothing to undo."
    if object_id(inner.get("actor")) != _actor_uri(actor):
        raise Rejected("C3: an actor can only undo its own activities.")
    target = object_id(inner.get("object"))
    if kind == "Follow":
        local = local_account(target)
        if local is not None:
            with transaction.atomic():
                accounts.unfollow(actor, local)
                InboundFollow.objects.filter(follower=actor, target=local).delete()
        return "Unfollowed."
    if kind == "Block":
        local = local_account(target)
        if local is not None:
            accounts.unblock(actor, local)
        return "Unblocked."
    if kind in ("Like", "Announce"):
        post = known_post(target)
        if post is not None:
            (posts.unlike if kind == "Like" else posts.unrepost)(actor, post.pk)
        return f"Undid {kind}."
    raise Ignored(f"Undo of {str(kind)[:64]} is not processed.")


# --- Notes -----------------------------------------------------------------------------------------


def _attributed_to(note: dict[str, Any]) -> list[str]:
    return _ids(note.get("attributedTo"))


def _visibility(note: dict[str, Any], actor: Account) -> str:
    to, cc = set(_ids(note.get("to"))), set(_ids(note.get("cc")))
    if to & PUBLIC_IDS:
        return Visibility.PUBLIC
    if cc & PUBLIC_IDS:
        return Visibility.UNLISTED
    followers = RemoteActor.objects.filter(account=actor).values_list("followers", flat=True).first()
    if followers and followers in to | cc:
        return Visibility.PRIVATE
    return Visibility.DIRECT


MAX_MENTIONS = 50  # of one remote post's Mention tags, the first this many are kept


def _known_remote(uri: str) -> Account | None:
    row = RemoteActor.objects.select_related("account").filter(uri=uri, account__suspended_at__isnull=True).first()
    return row.account if row is not None else None


def _tags(note: dict[str, Any]) -> tuple[list[Account], list[str]]:
    mentions: dict[int, Account] = {}
    hashtags: list[str] = []
    tags = note.get("tag")
    for tag in tags if isinstance(tags, list) else [tags]:
        if not isinstance(tag, dict):
            continue
        if tag.get("type") == "Mention" and isinstance(tag.get("href"), str) and len(mentions) < MAX_MENTIONS:
            # A local account, or a remote one already known here (never fetched for a mention)
            known = local_account(tag["href"]) or _known_remote(tag["href"])
            if known is not None:
                mentions[known.pk] = known
        elif tag.get("type") == "Hashtag" and isinstance(tag.get("name"), str):
            name = tag["name"].lstrip("#").lower()
            if re.fullmatch(r"\w{1,100}", name) and name not in hashtags:
                hashtags.append(name)
    return list(mentions.values()), hashtags


def _draft(note: dict[str, Any], actor: Account) -> posts.RemoteDraft:
    content = note.get("content")
    if isinstance(content, str) and quotes.quote_target(note):
        content = quotes.without_inline_quote(content)  # the quote is shown; its "RE: <url>" fallback is not
    content_html = html.sanitize(content if isinstance(content, str) else "")
    summary = note.get("summary")
    mentions, hashtags = _tags(note)
    languages = note.get("contentMap")
    language = next(iter(languages), "") if isinstance(languages, dict) and languages else ""
    parent = known_post(object_id(note.get("inReplyTo")))
    return posts.RemoteDraft(
        text=html.to_plain_text(content_html),
        content_html=content_html,
        spoiler_text=html.to_plain_text(html.sanitize(summary)) if isinstance(summary, str) else "",
        sensitive=note.get("sensitive") is True,
        visibility=_visibility(note, actor),
        in_reply_to_id=parent.pk if parent is not None else None,
        mentions=mentions,
        hashtags=hashtags,
        language=str(language),
        created_at=clock.parse_iso(note.get("published")),
    )


def _own_note(note: dict[str, Any], actor: Account) -> None:
    if note.get("type") not in ("Note", "Question"):
        raise Ignored(f"{str(note.get('type'))[:64]} objects are not processed yet (Notes and Questions only).")
    if _attributed_to(note) != [_actor_uri(actor)]:
        raise Rejected("C3/C6: the Note is not attributed to the activity's actor.")


def on_create(actor: Account, activity: dict[str, Any]) -> str:
    note = _embedded(activity, actor)
    _own_note(note, actor)
    if (vote := federation_polls.vote_of(note, local_post)) is not None:
        return _count_vote(actor, *vote)
    if RemotePost.objects.filter(uri=note["id"]).exists():
        return "Already stored."
    question = _question(note)  # a Question that is no poll is refused before anything is fetched
    resolve.fetch_missing_parents(note)  # an unknown inReplyTo is fetched (bounded), so threads connect
    draft = _draft(note, actor)
    quoted = quotes.quoted_post(note, known_post)  # fetched from its own host when unknown
    refused: DomainError | None = None
    try:
        with transaction.atomic():
            try:
                post = posts.create_remote_post(actor, draft)
            except DomainError as exc:  # the refusal's decision is kept: leave the block normally
                refused = exc
            else:
                url = note.get("url")
                # Its page address is kept only on its own host: a note naming another server's
                # post as its url must never be found by that address (C4/C6).
                own_url = isinstance(url, str) and host_of(url) == host_of(note["id"])
                RemotePost.objects.create(post=post, uri=note["id"], url=url[:2048] if own_url and isinstance(url, str) else "")
                remote_media.attach(post, note)  # the rows now; their files are fetched after commit
                if question is not None:
                    federated_posts.write_remote_poll(post, question)
                if quoted is not None:
                    federated_posts.attach_quote(post, quoted)  # the quoted author is notified on post.created
    except IntegrityError:
        return "Already stored."  # the same Note arrived by another activity at the same time
    if refused is not None:
        raise Rejected(refused.message)
    return f"Stored as post {post.pk} ({post.moderation_state})."


def on_update(actor: Account, activity: dict[str, Any]) -> str:
    obj = activity.get("object")
    if isinstance(obj, dict) and obj.get("type") in actors.ACTOR_TYPES:
        if object_id(obj) != _actor_uri(actor):
            raise Rejected("C3: an actor can only update its own profile.")
        actors.resolve(_actor_uri(actor), refresh=True)  # from its origin, not from the embedded copy
        return "Profile refreshed."
    note = _embedded(activity, actor)
    _own_note(note, actor)
    row = RemotePost.objects.select_related("post").filter(uri=note["id"]).first()
    if row is None:
        raise Rejected("The updated Note is not known here.")
    if row.post.author_id != actor.pk:
        raise Rejected("C3: only its author can update a post.")
    draft = _draft(note, actor)
    if (question := _question(note)) is not None:
        federated_posts.update_remote_poll(row.post, question)
        if (draft.content_html, draft.spoiler_text) == (row.post.content_html, row.post.spoiler_text):
            return f"Poll of post {row.post_id} updated."  # new counts are not an edit
    if (quoted := quotes.quoted_post(note, known_post)) is not None:
        federated_posts.attach_quote(row.post, quoted)
    posts.edit_remote_post(actor, row.post_id, draft)
    return f"Post {row.post_id} edited."


# --- Polls (Question) and votes ---------------------------------------------------------------------


def _question(note: dict[str, Any]) -> federated_posts.RemotePoll | None:
    """A Question's poll; a Question that is no poll is refused (nothing is stored)."""
    try:
        return federation_polls.parse_question(note)
    except DomainError as exc:
        raise Rejected(exc.message) from None


def _count_vote(actor: Account, post: Post, title: str) -> str:
    """A remote vote on a local poll (a Note with a name, no text): counted, never stored as a post."""
    counted = federated_posts.count_remote_vote(actor, post.pk, title)
    return f"Vote for {title[:50]!r} counted." if counted else "This vote was counted before."


def on_delete(actor: Account, activity: dict[str, Any]) -> str:
    target = object_id(activity.get("object"))
    if target == _actor_uri(actor):
        accounts.purge_account(actor)
        return "The account, its posts and its follows are deleted."
    if local_post(target) is not None:
        raise Rejected("C3: a remote actor cannot delete a local post.")
    row = RemotePost.objects.select_related("post").filter(uri=target).first()
    if row is None:
        return "Not stored here; nothing to delete."
    if row.post.author_id != actor.pk:
        raise Rejected("C3: only its author can delete a post.")
    posts.delete_post(actor, row.post_id)
    return "Post deleted."


# --- Likes, reposts, blocks, reports -----------------------------------------------------------------


def _post_of(activity: dict[str, Any]) -> Post:
    post = known_post(object_id(activity.get("object")))
    if post is None:
        raise Ignored("The post is not known here (fetching remote posts comes later).")
    return post


def on_like(actor: Account, activity: dict[str, Any]) -> str:
    posts.like(actor, _post_of(activity).pk)
    return "Liked."


def on_announce(actor: Account, activity: dict[str, Any]) -> str:
    target = object_id(activity.get("object"))
    post = known_post(target) or resolve.fetch_announced(target)  # unknown: fetched from its own host (C6)
    rp = posts.repost(actor, post.pk)
    return f"Reposted as {rp.pk}."


def on_block(actor: Account, activity: dict[str, Any]) -> str:
    target = local_account(object_id(activity.get("object")))
    if target is None:
        raise Rejected("A Block's object must be one of this instance's accounts.")
    accounts.block(actor, target)
    return "Blocked."


def on_flag(actor: Account, activity: dict[str, Any]) -> str:
    """A report from another server: the reporter is the remote actor that sent it (usually the
    instance's own actor, an Application); the posts named become the report's evidence."""
    if policy.rejects_reports(actor.domain):
        raise Ignored(f"Reports from {actor.domain} are rejected by this instance's policy.")
    named = _ids(activity.get("object"))
    reported = [a for a in (local_account(u) for u in named) if a is not None]
    found = [p for p in (known_post(u) for u in named) if p is not None]
    if not reported and found:
        reported = [found[0].author]
    if not reported:
        raise Rejected("A Flag must name an account or post of this instance.")
    target = reported[0]
    evidence = [p.pk for p in found if p.author_id == target.pk][: moderation.MAX_EVIDENCE]
    content = activity.get("content")
    comment = html.to_plain_text(html.sanitize(content))[: moderation.MAX_COMMENT] if isinstance(content, str) else ""
    note = f"Forwarded by {actor.domain}."
    comment = f"{comment}\n\n{note}".strip()[: moderation.MAX_COMMENT]
    report = moderation.report(actor, account_id=target.pk, category="other", comment=comment, evidence_post_ids=evidence)
    return f"Report {report.pk} opened."


# --- Move (docs/federation.md, "Moving an account") ------------------------------------------------


def on_move(actor: Account, activity: dict[str, Any]) -> str:
    """The actor moved: its local followers follow the target instead. The actor can move only
    itself (C3); the target is fetched fresh from its origin and must list the actor among its
    aliases (``alsoKnownAs``), as Mastodon requires."""
    origin = _actor_uri(actor)
    if object_id(activity.get("object")) != origin:
        raise Rejected("C3: a Move's object must be its actor (an account can move only itself).")
    try:
        target = federation_moving.target_of_move(object_id(activity.get("target")), origin)
    except federation_moving.MoveRefused as exc:
        raise Rejected(str(exc)) from None
    with transaction.atomic():
        account_moving.record_move(actor, target)
    moved = account_moving.move_followers(actor, target)
    return f"Moved to {target.acct}; {moved} local follower(s) moved."


HANDLERS: dict[str, Callable[[Account, dict[str, Any]], str]] = {
    "Follow": on_follow,
    "Accept": on_accept,
    "Reject": on_reject,
    "Undo": on_undo,
    "Create": on_create,
    "Update": on_update,
    "Delete": on_delete,
    "Like": on_like,
    "Announce": on_announce,
    "Block": on_block,
    "Flag": on_flag,
    "Move": on_move,
}
