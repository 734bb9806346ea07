"""Who a post is addressed to, in ActivityStreams terms.

The one mapping from Rostra's four visibilities to an activity's ``to`` and ``cc``, as Mastodon
addresses them: used by federation's Note documents and by the archive's ``outbox.json``, so a
post exported and a post delivered say the same thing about who may read it.
"""

from __future__ import annotations

from rostra.posts.models import Visibility

PUBLIC = "https://www.w3.org/ns/activitystreams#Public"


def addressing(visibility: str, followers: str, mentioned: list[str]) -> tuple[list[str], list[str]]:
    """``(to, cc)`` for a post of ``visibility`` by an actor whose followers collection is
    ``followers``, mentioning the actors ``mentioned``."""
    if visibility == Visibility.PUBLIC:
        return [PUBLIC], [followers, *mentioned]
    if visibility == Visibility.UNLISTED:
        return [followers], [PUBLIC, *mentioned]
    if visibility == Visibility.PRIVATE:
        return [followers], list(mentioned)
    return list(mentioned), []
