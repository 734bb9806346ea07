"""Typed request and response schemas (they make the OpenAPI document at /api/openapi.json).

They mirror Mastodon 4.x's entities; ``rostra.api.entities`` fills them from domain objects.
"""

from __future__ import annotations

from typing import Any

from ninja import Schema


class Error(Schema):
    error: str
    error_description: str | None = None


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
