"""Preferences: GET /api/v1/preferences, the signed-in person's posting and reading defaults."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema
from pydantic import Field

from rostra.api.http import Scoped, account_of

router = Router(tags=["preferences"])


class Preferences(Schema):
    posting_default_visibility: str = Field(alias="posting:default:visibility")
    posting_default_sensitive: bool = Field(alias="posting:default:sensitive")
    posting_default_language: str | None = Field(alias="posting:default:language")
    reading_expand_media: str = Field(alias="reading:expand:media")
    reading_expand_spoilers: bool = Field(alias="reading:expand:spoilers")


@router.get(
    "/v1/preferences",
    response=Preferences,
    by_alias=True,
    auth=Scoped("read:accounts"),
    summary="Your posting defaults and reading preferences",
)
def preferences(request: HttpRequest) -> dict[str, Any]:
    user = account_of(request).user
    return {
        "posting:default:visibility": user.default_visibility if user else "public",
        "posting:default:sensitive": bool(user.default_sensitive) if user else False,
        "posting:default:language": (user.default_language or None) if user else None,  # null: none chosen
        "reading:expand:media": "default",  # sensitive media is hidden behind a click, as Mastodon's default
        "reading:expand:spoilers": False,
    }
