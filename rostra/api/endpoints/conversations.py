"""Conversations (Mastodon's ``/api/v1/conversations``): your threads of direct posts.

See ``rostra.timelines.conversations``: a conversation's id is its thread's id, it is paged by
its last post's id, and removing one hides it until a newer post arrives in the thread.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Router, Schema

from rostra.accounts.models import Account
from rostra.api import entities, schemas
from rostra.api.http import Scoped, account_of, page_request, paginated
from rostra.timelines import conversations
from rostra.timelines.conversations import Conversation

router = Router(tags=["conversations"])


class ConversationEntity(Schema):
    id: str
    unread: bool
    accounts: list[schemas.Account]
    last_status: schemas.Status | None


def rendered(items: list[Conversation], viewer: Account) -> list[dict[str, Any]]:
    """Mastodon's Conversation; the last statuses are built in one batch."""
    statuses = entities.statuses([c.last_post for c in items], viewer)
    return [
        {"id": str(c.id), "unread": c.unread, "accounts": [entities.account(a) for a in c.participants], "last_status": s}
        for c, s in zip(items, statuses, strict=True)
    ]


@router.get(
    "/v1/conversations",
    response=list[ConversationEntity],
    auth=Scoped("read:statuses"),
    summary="Your direct conversations, newest first (limit 20 by default, at most 40)",
)
# Mastodon.py asks with a trailing slash (Rails answers both).
@router.get("/v1/conversations/", response=list[ConversationEntity], auth=Scoped("read:statuses"), include_in_schema=False)
def index(request: HttpRequest, response: HttpResponse) -> list[dict[str, Any]]:
    viewer = account_of(request)
    page = conversations.conversations(viewer, page_request(request))
    paginated(request, response, page)
    return rendered(page.items, viewer)


@router.delete(
    "/v1/conversations/{conversation_id}",
    response=schemas.Empty,
    auth=Scoped("write:conversations"),
    summary="Remove a conversation from your list (a newer post brings it back)",
)
def remove(request: HttpRequest, conversation_id: str) -> dict[str, Any]:
    conversations.remove(account_of(request), conversation_id)
    return {}


@router.post(
    "/v1/conversations/{conversation_id}/read",
    response=ConversationEntity,
    auth=Scoped("write:conversations"),
    summary="Mark a conversation as read",
)
def read(request: HttpRequest, conversation_id: str) -> dict[str, Any]:
    viewer = account_of(request)
    return rendered([conversations.mark_read(viewer, conversation_id)], viewer)[0]
