"""``{% account_sign_ins as security %}``: the signed-in person's web sessions and app tokens, for
``rostra/settings/_sessions.html``, so that include works on any settings page without its view
knowing about it."""

from __future__ import annotations

from typing import Any

from django import template

from rostra.accounts import sessions

register = template.Library()


@register.simple_tag(takes_context=True)
def account_sign_ins(context: template.Context) -> dict[str, Any]:
    request = context.get("request")
    user = getattr(request, "user", None)
    if request is None or user is None or not user.is_authenticated:
        return {"sessions": [], "apps": []}
    return {"sessions": sessions.sign_ins(user, request.session.session_key), "apps": sessions.app_grants(user)}
