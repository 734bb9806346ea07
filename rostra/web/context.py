from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest


def instance(request: HttpRequest) -> dict[str, Any]:
    cfg = settings.ROSTRA
    ctx: dict[str, Any] = {
        "instance_name": cfg.instance_name,
        "instance_description": cfg.instance_description,
        "max_post_chars": cfg.max_post_chars,
        "registrations_open": cfg.registrations == "open",
    }
    from rostra.accounts import surge  # memoised: no query per page (rostra.accounts.surge.status)

    surge_status = surge.status()
    ctx["surge_banner"] = surge_status.message if surge_status.active else ""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        from rostra.accounts.models import FollowRequest
        from rostra.notifications.queries import unread_count
        from rostra.web.http import viewer

        account = viewer(request)  # the same lookup the view made, not a second one
        ctx["me"] = account
        if account is not None:
            ctx["unread_notifications"] = unread_count(account)
            ctx["pending_requests"] = FollowRequest.objects.filter(target=account).count()
        from rostra.moderation.models import Case
        from rostra.moderation.policies import is_admin, is_moderator

        ctx["is_moderator"] = is_moderator(user)
        ctx["is_admin"] = is_admin(user)
        if ctx["is_moderator"]:
            ctx["open_cases"] = Case.objects.filter(status=Case.Status.OPEN).count()
    return ctx
