"""Conversations: a person's threads of direct posts (Mastodon's Conversation).

A conversation is read from the posts at read time: the direct posts the viewer may see (their
own and those that mention them: the visibility door decides), grouped by thread. Its id is the
thread's id (the root post's id); its participants are the authors and the people mentioned in
the posts the viewer can see, minus the viewer; it is ordered and paged by its last post's id.

The viewer's own state lives in ``ConversationState``: ``read_up_to`` (a conversation is unread
when its last post is someone else's and newer) and ``hidden_up_to`` (removing a conversation
hides it until a newer post arrives in the thread, as in Mastodon). No write happens when a
direct post is created, so there is nothing to keep in step and no race.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Exists, Max, OuterRef, QuerySet
from django.db.models.functions import Coalesce

from rostra.accounts.models import Account
from rostra.core.errors import NotFound
from rostra.core.ids import parse_id
from rostra.core.pagination import Page, PageRequest
from rostra.posts.models import Mention, Post, Visibility
from rostra.posts.queries import visible_posts, with_viewer_state
from rostra.timelines.models import ConversationState


@dataclass
class Conversation:
    id: int  # the thread's id
    last_post: Post
    participants: list[Account]  # the others; only the viewer (a note to self): the viewer
    unread: bool


def _direct(viewer: Account) -> QuerySet[Any]:
    """The direct posts the viewer is in, minus those of conversations they removed since."""
    hidden = ConversationState.objects.filter(account_id=viewer.pk, thread_id=OuterRef("conv"), hidden_up_to__gte=OuterRef("pk"))
    return (
        visible_posts(viewer)
        .filter(visibility=Visibility.DIRECT, repost_of__isnull=True)
        .annotate(conv=Coalesce("thread_id", "id"))
        .exclude(Exists(hidden))
    )


def _threads(viewer: Account) -> QuerySet[Any]:
    return _direct(viewer).order_by().values("conv").annotate(last_id=Max("id"))


def _build(viewer: Account, rows: list[dict[str, Any]]) -> list[Conversation]:
    """Conversations for ``[{"conv", "last_id"}, ...]``, in that order: four queries in all."""
    if not rows:
        return []
    thread_ids = [r["conv"] for r in rows]
    last = {p.pk: p for p in with_viewer_state(visible_posts(viewer).filter(pk__in=[r["last_id"] for r in rows]), viewer)}
    in_threads = _direct(viewer).filter(conv__in=thread_ids)
    people: dict[int, set[int]] = {}
    for conv, author_id in in_threads.values_list("conv", "author_id"):
        people.setdefault(conv, set()).add(author_id)
    mentions = Mention.objects.filter(post_id__in=in_threads.values("pk")).annotate(conv=Coalesce("post__thread_id", "post_id"))
    for conv, account_id in mentions.values_list("conv", "account_id"):
        people.setdefault(conv, set()).add(account_id)
    wanted = {a for ids in people.values() for a in ids}
    accounts = {a.pk: a for a in Account.objects.filter(pk__in=wanted)}
    read = dict(ConversationState.objects.filter(account_id=viewer.pk, thread_id__in=thread_ids).values_list("thread_id", "read_up_to"))
    out = []
    for r in rows:
        post = last.get(r["last_id"])
        if post is None:  # deleted between the two reads
            continue
        others = [accounts[a] for a in sorted(people.get(r["conv"], set()) - {viewer.pk}) if a in accounts]
        unread = post.author_id != viewer.pk and post.pk > read.get(r["conv"], 0)
        out.append(Conversation(id=r["conv"], last_post=post, participants=others or [viewer], unread=unread))
    return out


def conversations(viewer: Account, req: PageRequest) -> Page[Conversation]:
    """The viewer's conversations, newest last post first, paged by the last post's id."""
    qs = _threads(viewer)
    if req.max_id is not None:
        qs = qs.filter(last_id__lt=req.max_id)
    if req.since_id is not None:
        qs = qs.filter(last_id__gt=req.since_id)
    if req.min_id is not None:
        rows = list(qs.filter(last_id__gt=req.min_id).order_by("last_id")[: req.limit])
        rows.reverse()
    else:
        rows = list(qs.order_by("-last_id")[: req.limit])
    if not rows:
        return Page(items=[], next_max_id=None, prev_min_id=None)
    items = _build(viewer, rows)
    return Page(items=items, next_max_id=rows[-1]["last_id"] if len(rows) == req.limit else None, prev_min_id=rows[0]["last_id"])


def _row(viewer: Account, conversation_id: Any) -> dict[str, Any]:
    cid = parse_id(conversation_id)
    rows = list(_direct(viewer).filter(conv=cid).order_by().values("conv").annotate(last_id=Max("id"))) if cid is not None else []
    if not rows:
        raise NotFound("No such conversation.")
    return dict(rows[0])


def get_conversation(viewer: Account, conversation_id: Any) -> Conversation:
    """One of the viewer's conversations; anything else (or one they removed) is NotFound."""
    built = _build(viewer, [_row(viewer, conversation_id)])
    if not built:
        raise NotFound("No such conversation.")
    return built[0]


def mark_read(viewer: Account, conversation_id: Any) -> Conversation:
    row = _row(viewer, conversation_id)
    ConversationState.objects.update_or_create(account_id=viewer.pk, thread_id=row["conv"], defaults={"read_up_to": row["last_id"]})
    return get_conversation(viewer, row["conv"])


def remove(viewer: Account, conversation_id: Any) -> None:
    """Remove the conversation from the viewer's list until a newer post arrives in it."""
    row = _row(viewer, conversation_id)
    state, created = ConversationState.objects.get_or_create(
        account_id=viewer.pk, thread_id=row["conv"], defaults={"hidden_up_to": row["last_id"], "read_up_to": row["last_id"]}
    )
    if not created:
        ConversationState.objects.filter(pk=state.pk).update(hidden_up_to=row["last_id"])
