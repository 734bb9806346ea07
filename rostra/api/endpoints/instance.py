"""The instance: /api/v1/instance, /api/v2/instance, rules, custom emojis."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.templatetags.static import static
from ninja import Router

from rostra.accounts import queries as account_queries
from rostra.accounts import surge
from rostra.api import entities, schemas
from rostra.api.version import MASTODON_VERSION, SOURCE_URL
from rostra.core.images import ALLOWED_FORMATS
from rostra.moderation.gate import active_policy
from rostra.posts import polls
from rostra.posts.actions import MAX_ALT_TEXT, MAX_MEDIA, MAX_PINS
from rostra.posts.featured_tags import MAX_FEATURED_TAGS

router = Router(tags=["instance"])

# The limits the posts domain enforces (rostra/posts/polls.py).
POLLS = {
    "max_options": polls.MAX_OPTIONS,
    "max_characters_per_option": polls.MAX_OPTION_CHARS,
    "min_expiration": polls.MIN_EXPIRATION_S,
    "max_expiration": polls.MAX_EXPIRATION_S,
}


def rules() -> list[dict[str, str]]:
    """The moderation policy's categories, gravest first, as Mastodon rules."""
    _version, policy = active_policy()
    return [{"id": str(i), "text": c.title, "hint": c.guideline} for i, c in enumerate(policy.guidelines(), start=1)]


def _configuration() -> dict[str, Any]:
    cfg = settings.ROSTRA
    return {
        "accounts": {"max_featured_tags": MAX_FEATURED_TAGS, "max_pinned_statuses": MAX_PINS},
        "statuses": {"max_characters": cfg.max_post_chars, "max_media_attachments": MAX_MEDIA, "characters_reserved_per_url": 23},
        "media_attachments": {
            "supported_mime_types": sorted({mime for mime, _ext in ALLOWED_FORMATS.values()} | {"image/gif"}),
            "description_limit": MAX_ALT_TEXT,
            "image_size_limit": cfg.media_max_bytes,
            "image_matrix_limit": cfg.media_max_pixels,
            "video_size_limit": 0,
            "video_frame_rate_limit": 0,
            "video_matrix_limit": 0,
        },
        "polls": dict(POLLS),
    }


def _streaming_url() -> str:
    # The streaming process (rostra/streaming) listens on its own port, or behind the proxy's
    # /api/v1/streaming route; clients append /api/v1/streaming to this.
    return str(settings.ROSTRA.streaming_public_url)


def _contact() -> dict[str, Any] | None:
    staff = account_queries.staff()
    return entities.account(staff[0]) if staff else None


def _thumbnail() -> str:
    return entities.absolute("/icons/icon-512.png")


@router.get("/v1/instance", response=schemas.InstanceV1, auth=None, summary="Instance information (v1)")
@router.get("/v1/instance/", response=schemas.InstanceV1, auth=None, include_in_schema=False)
def instance_v1(request: HttpRequest) -> dict[str, Any]:
    cfg = settings.ROSTRA
    stats = account_queries.instance_stats()
    surging = surge.status()
    return {
        "uri": cfg.domain,
        "title": cfg.instance_name,
        "short_description": cfg.instance_description,
        "description": f"{cfg.instance_description}\n\n{surging.message}" if surging.active else cfg.instance_description,
        "email": "",
        "version": MASTODON_VERSION,
        "urls": {"streaming_api": _streaming_url()},
        "stats": {"user_count": stats.people, "status_count": stats.posts, "domain_count": 0},
        "thumbnail": _thumbnail(),
        "languages": ["en"],
        "registrations": cfg.registrations == "open",
        "approval_required": surging.active,  # surge mode: sign-ups wait on the waitlist
        "invites_enabled": surging.active,
        "configuration": _configuration(),
        "contact_account": _contact(),
        "rules": rules(),
    }


@router.get("/v2/instance", response=schemas.InstanceV2, auth=None, summary="Instance information (v2)")
@router.get("/v2/instance/", response=schemas.InstanceV2, auth=None, include_in_schema=False)
def instance_v2(request: HttpRequest) -> dict[str, Any]:
    cfg = settings.ROSTRA
    stats = account_queries.instance_stats()
    configuration = _configuration()
    configuration["urls"] = {"streaming": _streaming_url(), "about": entities.absolute("/about")}
    configuration["vapid"] = {"public_key": ""}
    configuration["translation"] = {"enabled": False}
    open_ = cfg.registrations == "open"
    surging = surge.status()
    return {
        "domain": cfg.domain,
        "title": cfg.instance_name,
        "version": MASTODON_VERSION,
        "source_url": SOURCE_URL,
        "description": f"{cfg.instance_description}\n\n{surging.message}" if surging.active else cfg.instance_description,
        "usage": {"users": {"active_month": stats.active_month}},
        "thumbnail": {"url": _thumbnail(), "blurhash": None, "versions": {}},
        "icon": [{"src": entities.absolute(static("rostra/icon.svg")), "size": "any"}],
        "languages": ["en"],
        "configuration": configuration,
        "registrations": {
            "enabled": open_,
            "approval_required": open_ and surging.active,
            "message": (surging.message if surging.active else None) if open_ else "Sign-ups are closed: an admin creates accounts here.",
            "url": entities.absolute("/signup") if open_ else None,
        },
        "api_versions": {"mastodon": 2},
        "contact": {"email": "", "account": _contact()},
        "rules": rules(),
    }


@router.get("/v1/instance/rules", response=list[schemas.Rule], auth=None, summary="The instance's rules")
def instance_rules(request: HttpRequest) -> list[dict[str, str]]:
    return rules()


@router.get("/v1/custom_emojis", response=list[dict[str, Any]], auth=None, summary="Custom emojis (Rostra has none)")
def custom_emojis(request: HttpRequest) -> list[dict[str, Any]]:
    return []
