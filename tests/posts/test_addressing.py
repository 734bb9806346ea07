"""The one visibility → ActivityStreams addressing mapping (federation and the archive share it)."""

from __future__ import annotations

import pytest

from rostra.posts.addressing import PUBLIC, addressing

F = "https://social.example/users/alice/followers"
M = ["https://social.example/users/bob", "https://other.example/users/cy"]


@pytest.mark.parametrize(
    ("visibility", "to", "cc"),
    [
        ("public", [PUBLIC], [F, *M]),
        ("unlisted", [F], [PUBLIC, *M]),
        ("private", [F], M),
        ("direct", M, []),
    ],
)
def test_each_visibility_is_addressed_as_mastodon_does(visibility, to, cc):
    assert addressing(visibility, F, M) == (to, cc)


def test_a_direct_post_never_names_followers_or_the_public():
    to, cc = addressing("direct", F, M)
    assert F not in to + cc and PUBLIC not in to + cc
