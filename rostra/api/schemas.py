"""Typed request and response schemas (they make the OpenAPI document at /api/openapi.json).

They mirror Mastodon 4.x's entities; ``rostra.api.entities`` fills them from domain objects.
"""

from __future__ import annotations

from typing import Any

from ninja import Schema


class Error(Schema):
    error: str
    error_description: str | None = None


class Empty(Schema):
    """``{}``: what Mastodon answers to a delete, a dismiss or a clear."""


class List(Schema):
    id: str
    title: str
    replies_policy: str
    exclusive: bool


class AppIn(Schema):
    client_name: str
    redirect_uris: str | list[str]
    scopes: str | None = None
    website: str | None = None


class Application(Schema):
    id: str
    name: str
    website: str | None
    scopes: list[str]
    redirect_uri: str
    redirect_uris: list[str]
    vapid_key: str


class CredentialApplication(Application):
    """Returned once, at registration: the only time the client secret is shown."""

    client_id: str
    client_secret: str
    client_secret_expires_at: int


class Field(Schema):
    name: str
    value: str
    verified_at: str | None


class Role(Schema):
    id: str
    name: str
    permissions: str
    color: str
    highlighted: bool


class Account(Schema):
    id: str
    username: str
    acct: str
    display_name: str
    locked: bool
    bot: bool
    discoverable: bool | None
    indexable: bool
    group: bool
    created_at: str
    note: str
    url: str
    uri: str
    avatar: str
    avatar_static: str
    header: str
    header_static: str
    followers_count: int
    following_count: int
    statuses_count: int
    last_status_at: str | None
    hide_collections: bool | None
    noindex: bool | None
    emojis: list[Any]
    roles: list[Any]
    fields: list[Field]
    moved: Account | None = None  # the account this one moved to (rostra.accounts.moving)


class Source(Schema):
    privacy: str
    sensitive: bool
    language: str
    note: str
    fields: list[Field]
    follow_requests_count: int
    hide_collections: bool | None
    discoverable: bool | None
    indexable: bool
    attribution_domains: list[str]


class CredentialAccount(Account):
    source: Source
    role: Role


class Rule(Schema):
    id: str
    text: str
    hint: str


class InstanceV1(Schema):
    uri: str
    title: str
    short_description: str
    description: str
    email: str
    version: str
    urls: dict[str, str]
    stats: dict[str, int]
    thumbnail: str | None
    languages: list[str]
    registrations: bool
    approval_required: bool
    invites_enabled: bool
    configuration: dict[str, Any]
    contact_account: Account | None
    rules: list[Rule]


class InstanceV2(Schema):
    domain: str
    title: str
    version: str
    source_url: str
    description: str
    usage: dict[str, Any]
    thumbnail: dict[str, Any]
    icon: list[Any]
    languages: list[str]
    configuration: dict[str, Any]
    registrations: dict[str, Any]
    api_versions: dict[str, int]
    contact: dict[str, Any]
    rules: list[Rule]


class MediaAttachment(Schema):
    id: str
    type: str
    url: str
    preview_url: str | None
    remote_url: str | None
    preview_remote_url: str | None
    text_url: str | None
    meta: dict[str, Any] | None
    description: str | None
    blurhash: str | None


class PollOption(Schema):
    title: str
    votes_count: int | None


class Poll(Schema):
    id: str
    expires_at: str | None
    expired: bool
    multiple: bool
    votes_count: int
    voters_count: int | None
    voted: bool | None = None
    own_votes: list[int] | None = None
    options: list[PollOption]
    emojis: list[Any]


class Tag(Schema):
    id: str | None = None
    name: str
    url: str
    history: list[Any]
    following: bool | None = None


class Mention(Schema):
    id: str
    username: str
    url: str
    acct: str


class FilterKeyword(Schema):
    id: str
    keyword: str
    whole_word: bool


class FilterStatus(Schema):
    id: str
    status_id: str


class Filter(Schema):
    id: str
    title: str
    context: list[str]
    expires_at: str | None
    filter_action: str
    keywords: list[FilterKeyword]
    statuses: list[FilterStatus]


class FilterResult(Schema):
    filter: Filter
    keyword_matches: list[str] | None
    status_matches: list[str] | None


class Quote(Schema):
    state: str
    quoted_status: Status | None


class Status(Schema):
    id: str
    uri: str
    url: str | None
    created_at: str
    account: Account
    content: str
    visibility: str
    sensitive: bool
    spoiler_text: str
    media_attachments: list[MediaAttachment]
    application: dict[str, Any] | None
    mentions: list[Mention]
    tags: list[Tag]
    emojis: list[Any]
    reblogs_count: int
    favourites_count: int
    replies_count: int
    quotes_count: int
    in_reply_to_id: str | None
    in_reply_to_account_id: str | None
    reblog: Status | None
    quote: Quote | None
    poll: Poll | None
    card: dict[str, Any] | None
    language: str | None
    text: str | None
    edited_at: str | None
    favourited: bool | None = None
    reblogged: bool | None = None
    muted: bool | None = None
    bookmarked: bool | None = None
    pinned: bool | None = None
    filtered: list[FilterResult] | None = None


Quote.model_rebuild()
Status.model_rebuild()


class Relationship(Schema):
    id: str
    following: bool
    showing_reblogs: bool
    notifying: bool
    languages: list[str] | None
    followed_by: bool
    blocking: bool
    blocked_by: bool
    muting: bool
    muting_notifications: bool
    requested: bool
    requested_by: bool
    domain_blocking: bool
    endorsed: bool
    note: str


class AccountWarning(Schema):
    id: str
    action: str
    text: str
    status_ids: list[str] | None
    target_account: Account
    appeal: dict[str, Any] | None
    created_at: str


class Notification(Schema):
    id: str
    type: str
    created_at: str
    group_key: str
    account: Account
    status: Status | None = None
    moderation_warning: AccountWarning | None = None
    target: Account | None = None  # type move: the account moved to
