"""The notifications page: grouped by kind and post, and visiting marks them read."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from rostra.accounts.models import Account
from rostra.moderation.models import Notice
from rostra.notifications import actions as notification_actions
from rostra.notifications import queries as notification_queries
from rostra.notifications.models import Kind, Notification
from rostra.posts.models import Post
from rostra.web.cards import post_url
from rostra.web.http import account_required, domain_errors, is_htmx, me
from rostra.web.views.common import more_url, page_request

KIND_STYLE: dict[str, tuple[str, str]] = {
    Kind.MENTION: ("at", "mentioned you"),
    Kind.REPLY: ("reply", "replied to you"),
    Kind.REPOST: ("repost", "reposted your post"),
    Kind.QUOTE: ("quote", "quoted your post"),
    Kind.LIKE: ("heart", "liked your post"),
    Kind.FOLLOW: ("user-plus", "followed you"),
    Kind.FOLLOW_REQUEST: ("lock", "asked to follow you"),
    Kind.POLL: ("check", "ran a poll that has ended"),
    Kind.MOVE: ("user-plus", "moved to a new account; your follow moved with it"),
    Kind.MODERATION: ("warning", ""),
    Kind.APPEAL_DECIDED: ("check", ""),
    Kind.JURY_SUMMONS: ("users", ""),
}
GROUPED: set[str] = {Kind.LIKE, Kind.REPOST, Kind.FOLLOW}  # many people doing one thing read as one line
FILTERS = {"all": None, "mentions": [Kind.MENTION, Kind.REPLY, Kind.QUOTE]}


@dataclass
class Group:
    kind: str
    icon: str
    verb: str
    actors: list[Account] = field(default_factory=list)
    post: Post | None = None
    unread: bool = False
    created_at: object = None
    notice: Notice | None = None  # for notifications from the moderators

    @property
    def others(self) -> int:
        return max(0, len(self.actors) - 2)

    @property
    def post_url(self) -> str:
        return post_url(self.post) if self.post is not None else ""

    @property
    def shows_post_text(self) -> bool:
        return self.kind in {Kind.MENTION, Kind.REPLY, Kind.QUOTE}


def group(items: list[Notification]) -> list[Group]:
    groups: list[Group] = []
    by_key: dict[tuple[str, int | None], Group] = {}
    for n in items:
        key = (n.kind, n.post_id)
        if n.kind in GROUPED and key in by_key:
            g = by_key[key]
        else:
            icon_name, verb = KIND_STYLE.get(n.kind, ("bell", n.kind))
            g = Group(kind=n.kind, icon=icon_name, verb=verb, post=n.post, created_at=n.created_at, notice=n.notice)
            groups.append(g)
            if n.kind in GROUPED:
                by_key[key] = g
        if all(a.pk != n.actor_id for a in g.actors):
            g.actors.append(n.actor)
        g.unread = g.unread or n.read_at is None
    return groups


@require_GET
@domain_errors
@account_required
def notifications(request: HttpRequest) -> HttpResponse:
    account = me(request)
    which = request.GET.get("filter", "all")
    kinds = FILTERS.get(which)
    page = notification_queries.notifications(account, page_request(request), kinds=kinds)
    # Visiting the page reads them: the page above still shows which ones were new.
    if not request.GET.get("max_id"):
        notification_actions.mark_all_read(account)
    ctx = {
        "groups": group(page.items),
        "more_url": more_url(request, page.next_max_id, keep=("filter",)),
        "filter": which if which in FILTERS else "all",
        "nav": "notifications",
    }
    if is_htmx(request) and request.GET.get("max_id"):
        return render(request, "rostra/partials/notifications_page.html", ctx)
    response = render(request, "rostra/notifications.html", ctx)
    return response
