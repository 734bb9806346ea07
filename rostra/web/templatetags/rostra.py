"""Template helpers: icons, avatars, relative times, counts.

Everything here renders markup without inline styles (the Content-Security-Policy forbids them):
colours are classes, sizes are classes.
"""

from __future__ import annotations

import zlib
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from django import template
from django.conf import settings
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from rostra.core import grants
from rostra.core.clock import now

register = template.Library()

# Hand-drawn 24x24 stroke icons (one path language, so they look like one family).
ICONS: dict[str, str] = {
    "home": '<path d="M3 10.5 12 3l9 7.5V20a1 1 0 0 1-1 1h-5v-6h-6v6H4a1 1 0 0 1-1-1z"/>',
    "globe": '<circle cx="12" cy="12" r="9"/><path d="M3 12h18M12 3a14 14 0 0 1 0 18M12 3a14 14 0 0 0 0 18"/>',
    "bell": '<path d="M6 8a6 6 0 1 1 12 0c0 7 3 9 3 9H3s3-2 3-9"/><path d="M10.3 21a1.94 1.94 0 0 0 3.4 0"/>',
    "bookmark": '<path d="M19 21l-7-5-7 5V5a2 2 0 0 1 2-2h10a2 2 0 0 1 2 2z"/>',
    "search": '<circle cx="11" cy="11" r="7"/><path d="m20 20-3.5-3.5"/>',
    "user": '<circle cx="12" cy="8" r="4"/><path d="M4 21a8 8 0 0 1 16 0"/>',
    "users": '<circle cx="9" cy="8" r="4"/><path d="M2 21a7 7 0 0 1 14 0M16 3.1a4 4 0 0 1 0 7.8M22 21a7 7 0 0 0-5-6.7"/>',
    "settings": '<path d="M4 6h9M17 6h3M4 12h3M11 12h9M4 18h11M19 18h1"/><circle cx="15" cy="6" r="2"/>'
    '<circle cx="9" cy="12" r="2"/><circle cx="17" cy="18" r="2"/>',
    "pen": '<path d="M12 20h9"/><path d="M16.5 3.5a2.12 2.12 0 0 1 3 3L7 19l-4 1 1-4z"/>',
    "reply": '<path d="M21 11.5a8.4 8.4 0 0 1-9 8.4 8.6 8.6 0 0 1-3.8-.9L3 21l1.9-5.2A8.4 8.4 0 0 1 12 3a8.4 8.4 0 0 1 9 8.5z"/>',
    "repost": '<path d="m17 2 4 4-4 4"/><path d="M3 11v-1a4 4 0 0 1 4-4h14"/><path d="m7 22-4-4 4-4"/><path d="M21 13v1a4 4 0 0 1-4 4H3"/>',
    "quote": '<path d="M5 7h5v5c0 3.5-1.8 5.3-4.5 6M14 7h5v5c0 3.5-1.8 5.3-4.5 6"/>',
    "heart": '<path d="M20.8 4.6a5.5 5.5 0 0 0-7.8 0L12 5.7l-1-1.1a5.5 5.5 0 0 0-7.8 7.8l1 1.1L12 21l7.8-7.5 1-1.1a5.5 5.5 0 0 0 0-7.8z"/>',
    "more": '<circle cx="5" cy="12" r="1.3"/><circle cx="12" cy="12" r="1.3"/><circle cx="19" cy="12" r="1.3"/>',
    "lock": '<rect x="4" y="11" width="16" height="10" rx="2"/><path d="M8 11V7a4 4 0 0 1 8 0v4"/>',
    "unlock": '<rect x="4" y="11" width="16" height="10" rx="2"/><path d="M8 11V7a4 4 0 0 1 7.9-1"/>',
    "mail": '<rect x="3" y="5" width="18" height="14" rx="2"/><path d="m3 7 9 6 9-6"/>',
    "at": '<circle cx="12" cy="12" r="4"/><path d="M16 8v5a3 3 0 0 0 6 0v-1a10 10 0 1 0-3.9 7.9"/>',
    "user-plus": '<circle cx="9" cy="8" r="4"/><path d="M2 21a7 7 0 0 1 14 0M19 8v6M16 11h6"/>',
    "user-check": '<circle cx="9" cy="8" r="4"/><path d="M2 21a7 7 0 0 1 14 0M16 11l2 2 4-4"/>',
    "logout": '<path d="M9 21H5a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2h4M16 17l5-5-5-5M21 12H9"/>',
    "trash": '<path d="M3 6h18M8 6V4h8v2M19 6l-1 14a2 2 0 0 1-2 2H8a2 2 0 0 1-2-2L5 6"/>',
    "hash": '<path d="M4 9h16M4 15h16M10 3 8 21M16 3l-2 18"/>',
    "image": '<rect x="3" y="3" width="18" height="18" rx="2"/><circle cx="9" cy="9" r="2"/><path d="m21 15-5-5L5 21"/>',
    "warning": '<path d="M10.3 3.9 1.8 18a2 2 0 0 0 1.7 3h17a2 2 0 0 0 1.7-3L13.7 3.9a2 2 0 0 0-3.4 0z"/><path d="M12 9v4M12 17h.01"/>',
    "check": '<path d="M20 6 9 17l-5-5"/>',
    "x": '<path d="M18 6 6 18M6 6l12 12"/>',
    "back": '<path d="M19 12H5M12 19l-7-7 7-7"/>',
    "calendar": '<rect x="3" y="4" width="18" height="18" rx="2"/><path d="M16 2v4M8 2v4M3 10h18"/>',
    "info": '<circle cx="12" cy="12" r="9"/><path d="M12 16v-4M12 8h.01"/>',
    "clock": '<circle cx="12" cy="12" r="9"/><path d="M12 7v5l3 3"/>',
    "mute": '<path d="M11 5 6 9H2v6h4l5 4z"/><path d="m22 9-6 6M16 9l6 6"/>',
    "block": '<circle cx="12" cy="12" r="9"/><path d="m5.6 5.6 12.8 12.8"/>',
    "link": '<path d="M10 13a5 5 0 0 0 7.5.5l3-3a5 5 0 0 0-7-7l-1.7 1.7"/><path d="M14 11a5 5 0 0 0-7.5-.5l-3 3a5 5 0 0 0 7 7l1.7-1.7"/>',
    "bot": '<rect x="4" y="8" width="16" height="12" rx="3"/><path d="M12 4v4M9 13h.01M15 13h.01M9 17h6"/>',
    "login": '<path d="M15 3h4a2 2 0 0 1 2 2v14a2 2 0 0 1-2 2h-4M10 17l5-5-5-5M15 12H3"/>',
    "detach": '<path d="M18.8 13.2 21 11a5 5 0 0 0-7-7l-2.2 2.2M5.2 10.8 3 13a5 5 0 0 0 7 7l2.2-2.2M3 3l18 18"/>',
    "star": '<path d="m12 3 2.8 5.7 6.2.9-4.5 4.4 1.1 6.2L12 17.3 6.4 20.2l1.1-6.2L3 9.6l6.2-.9z"/>',
    "flag": '<path d="M4 22V4M4 4h12l-2 4 2 4H4"/>',
    "shield": '<path d="M12 22s8-4 8-10V5l-8-3-8 3v7c0 6 8 10 8 10z"/>',
}


@register.simple_tag
def icon(name: str, label: str = "") -> SafeString:
    """An inline SVG icon. Decorative unless ``label`` is given (then it is announced)."""
    body = ICONS.get(name, ICONS["info"])
    if label:
        return format_html(
            '<svg class="icon icon-{}" viewBox="0 0 24 24" role="img" aria-label="{}" focusable="false" fill="none" '
            'stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round">{}</svg>',
            name, label, mark_safe(body),  # noqa: S308 - constant markup from ICONS above
        )
    return format_html(
        '<svg class="icon icon-{}" viewBox="0 0 24 24" aria-hidden="true" focusable="false" fill="none" '
        'stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round">{}</svg>',
        name, mark_safe(body),  # noqa: S308 - constant markup from ICONS above
    )


def initials(account: Any) -> str:
    name = (getattr(account, "display_name", "") or "").strip()
    words = [w for w in name.replace("_", " ").split() if w[:1].isalnum()]
    if len(words) >= 2:
        return (words[0][0] + words[1][0]).upper()
    if words:
        return words[0][:2].upper() if len(words[0]) > 1 else words[0][0].upper()
    return (getattr(account, "username", "") or "?")[:2].upper()


def hue_class(account: Any) -> str:
    return f"hue-{zlib.crc32((getattr(account, 'username', '') or '').lower().encode()) % 8}"


@register.simple_tag
def avatar(account: Any, size: str = "md") -> SafeString:
    """The account's avatar, or its initials on a coloured circle. Decorative: the name is beside it."""
    if account is None:
        return format_html('<span class="avatar avatar-{} hue-0" aria-hidden="true">?</span>', size)
    if getattr(account, "avatar", ""):
        return format_html(
            '<img class="avatar avatar-{}" src="{}" alt="" loading="lazy" decoding="async">', size, grants.file_url(account.avatar)
        )
    return format_html(
        '<span class="avatar avatar-{} {}" aria-hidden="true">{}</span>', size, hue_class(account), initials(account)
    )


@register.simple_tag(takes_context=True)
def media_src(context: template.Context, file_name: str) -> str:
    """A stored file's URL for this page. On the main origin the session opens it; on a separate
    media origin (ROSTRA_MEDIA_URL) no cookie goes along, so a signed-in viewer's URLs carry
    their grant, checked again through the door when the file is fetched."""
    viewer_id = None
    if settings.ROSTRA.media_url:
        from rostra.web.http import viewer

        request = context.get("request")
        account = viewer(request) if request is not None else None
        viewer_id = account.pk if account is not None else None
    return grants.file_url(file_name, viewer_id)


@register.filter
def reltime(value: datetime | None) -> str:
    """A short relative time: now, 5m, 3h, 2d, Mar 4, Mar 4, 2023."""
    if value is None:
        return ""
    seconds = (now() - value).total_seconds()
    if seconds < 45:
        return "now"
    if seconds < 3600:
        return f"{max(1, round(seconds / 60))}m"
    if seconds < 86400:
        return f"{int(seconds // 3600)}h"
    if seconds < 7 * 86400:
        return f"{int(seconds // 86400)}d"
    if value.year == now().year:
        return f"{value:%b} {value.day}"
    return f"{value:%b} {value.day}, {value.year}"


@register.filter
def longtime(value: datetime | None) -> str:
    if value is None:
        return ""
    return f"{value:%A} {value.day} {value:%B %Y}, {value:%H:%M} UTC"


@register.filter
def compact(n: int | None) -> str:
    """1234 -> 1.2K, for counts under buttons."""
    n = int(n or 0)
    if n < 1000:
        return str(n)
    if n < 1_000_000:
        return f"{n / 1000:.1f}".rstrip("0").rstrip(".") + "K"
    return f"{n / 1_000_000:.1f}".rstrip("0").rstrip(".") + "M"


VISIBILITY_ICONS = {"public": "globe", "unlisted": "unlock", "private": "lock", "direct": "mail"}


@register.filter
def visibility_icon(value: str) -> str:
    return VISIBILITY_ICONS.get(value, "globe")


@register.simple_tag(takes_context=True)
def here(context: template.Context) -> str:
    """The current path with its query string: where a form sends the person back to."""
    request = context.get("request")
    if request is None:
        return "/"
    current = request.headers.get("HX-Current-URL")
    if current:  # an htmx fragment: go back to the page it was loaded into, not to the fragment's URL
        parts = urlsplit(current)
        return parts.path + (f"?{parts.query}" if parts.query else "")
    return request.get_full_path()
