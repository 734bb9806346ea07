"""Reads for federation: only what an anonymous visitor may see, through the one door.

Servers fetching actors and notes carry no viewer (signed fetches name a remote actor, but no
remote account can be a follower yet), so every read here asks ``visible_posts(None)``: a
followers-only, direct, held or removed post answers exactly like a missing one.
"""

from __future__ import annotations

from django.db.models import QuerySet

from rostra.accounts import queries as account_queries
from rostra.accounts.models import Account
from rostra.core.errors import NotFound
from rostra.core.ids import parse_id
from rostra.federation import instance_actor, uris
from rostra.federation.models import ActorKey, InstanceKey, RemoteKey, Tombstone
from rostra.posts import queries as post_queries
from rostra.posts.models import Media, Post, Visibility

OUTBOX_PAGE_SIZE = 20


def local_actor(username: str) -> Account:
    """A local account others may see (not suspended, login active); NotFound otherwise."""
    account = account_queries.get_local_account(username)
    if account.user is None or not account.user.is_active:
        raise NotFound("No such account.")
    return account


def public_post(account: Account, post_id: object) -> Post:
    """``account``'s post (not a repost) as an anonymous visitor may see it; NotFound otherwise."""
    pid = parse_id(post_id)
    if pid is None:
        raise NotFound("No such post.")
    post = _anonymous(post_queries.visible_posts(None).filter(pk=pid, author_id=account.pk, repost_of__isnull=True)).first()
    if post is None:
        raise NotFound("No such post.")
    return post


def tombstone(account: Account, post_id: object) -> Tombstone | None:
    pid = parse_id(post_id)
    return None if pid is None else Tombstone.objects.filter(post_id=pid, account_id=account.pk).first()


def _anonymous(qs: QuerySet[Post]) -> QuerySet[Post]:
    return qs.select_related(
        "author", "in_reply_to__author", "repost_of__author", "quote_of__author", "quote_of__remote", "poll"
    ).prefetch_related("media", "repost_of__media", "hashtags", "mention_rows__account", "poll__options")


def outbox_posts(account: Account) -> QuerySet[Post]:
    """The public posts and reposts of public posts that an outbox lists, newest first."""
    return post_queries.visible_posts(None).filter(author_id=account.pk, visibility=Visibility.PUBLIC)


def outbox_page(account: Account, max_id: object = None) -> list[Post]:
    qs = outbox_posts(account)
    if (before := parse_id(max_id)) is not None:
        qs = qs.filter(pk__lt=before)
    return list(_anonymous(qs.order_by("-id"))[:OUTBOX_PAGE_SIZE])


def featured_posts(account: Account) -> list[Post]:
    """Pinned posts an anonymous visitor may see, most recently pinned first."""
    ids = [p.pk for p in post_queries.pinned_posts(None, account)]
    by_id = {p.pk: p for p in _anonymous(Post.objects.filter(pk__in=ids))}
    return [by_id[i] for i in ids if i in by_id]


def media_of(post: Post) -> list[Media]:
    return sorted(post.media.all(), key=lambda m: (m.position, m.pk))


def local_public_key(key_id: str) -> tuple[str, str] | None:
    """(owner actor URL, public key PEM) of one of this instance's keys, if it is one."""
    if key_id == instance_actor.key_id():
        pem = InstanceKey.objects.values_list("public_key_pem", flat=True).first()
        return None if pem is None else (instance_actor.actor_uri(), pem)
    prefix = uris.actor_url("")
    if not key_id.startswith(prefix) or not key_id.endswith("#main-key"):
        return None
    username = key_id[len(prefix) : -len("#main-key")]
    row = ActorKey.objects.filter(account__username__iexact=username, account__domain="").select_related("account").first()
    if row is None:
        return None
    return uris.actor_url(row.account.username), row.public_key_pem


def remote_key(key_id: str) -> RemoteKey | None:
    return RemoteKey.objects.filter(key_id=key_id).first()
