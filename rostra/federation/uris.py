"""Where this instance's actors and objects live on the wire.

Actor ids follow Mastodon's shape (``/users/<username>``, posts ``/users/<username>/statuses/<id>``)
because other servers' heuristics expect it; the pages people read stay ``/@<username>`` and
``/@<username>/<id>``, and both answer ActivityStreams to servers (content negotiation).
"""

from __future__ import annotations

from django.conf import settings

from rostra.posts import addressing

AS_CONTEXT = "https://www.w3.org/ns/activitystreams"
SECURITY_CONTEXT = "https://w3id.org/security/v1"
PUBLIC = addressing.PUBLIC
AS_MEDIA_TYPE = "application/activity+json"
LD_PROFILE = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'


def base_url() -> str:
    return str(settings.ROSTRA.base_url)


def domain() -> str:
    """This instance's host[:port], as handles write it (``user@domain``)."""
    return str(settings.ROSTRA.domain)


def actor_url(username: str) -> str:
    return f"{base_url()}/users/{username}"


def key_id(username: str) -> str:
    return f"{actor_url(username)}#main-key"


def profile_url(username: str) -> str:
    return f"{base_url()}/@{username}"


def note_url(username: str, post_id: int) -> str:
    return f"{actor_url(username)}/statuses/{post_id}"


def post_page_url(username: str, post_id: int) -> str:
    return f"{profile_url(username)}/{post_id}"


def shared_inbox_url() -> str:
    return f"{base_url()}/inbox"


def is_local_host(host: str) -> bool:
    """``host`` (with or without a port) names this instance."""
    host = host.lower()
    return host in {settings.ROSTRA.domain.lower(), settings.ROSTRA.hostname.lower()}
