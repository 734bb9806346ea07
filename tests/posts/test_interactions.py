"""Reposts, likes, bookmarks and quotes."""

from __future__ import annotations

import pytest

from rostra.accounts.models import Account
from rostra.core.errors import NotFound, ValidationError
from rostra.posts import actions as posts
from rostra.posts.models import Bookmark, Like, Post
from rostra.posts.queries import bookmarked_posts, get_post, liked_posts, likers, quote_is_visible, reposters
from rostra.testing.world import make_post


def _counts(post: Post) -> tuple[int, int, int, int]:
    post.refresh_from_db()
    return post.likes_count, post.reposts_count, post.replies_count, post.quotes_count


# --- reposts


@pytest.mark.parametrize("visibility", ["public", "unlisted"])
def test_repost_and_unrepost(world, visibility):
    w = world
    post = make_post(w.alice, "share me", visibility=visibility)
    rp = posts.repost(w.bob, post.pk)
    assert (rp.repost_of_id, rp.author_id, rp.visibility, rp.text) == (post.pk, w.bob.pk, visibility, "")
    assert posts.repost(w.bob, post.pk).pk == rp.pk  # one per account
    assert posts.repost(w.bob, rp.pk).pk == rp.pk  # reposting the repost reposts the original, once
    assert _counts(post)[1] == 1
    assert Post.objects.filter(repost_of=post).count() == 1
    assert Account.objects.get(pk=w.bob.pk).posts_count == 1
    rp2 = posts.repost(w.dave, rp.pk)
    assert rp2.repost_of_id == post.pk and _counts(post)[1] == 2
    posts.unrepost(w.bob, post.pk)
    posts.unrepost(w.dave, rp2.pk)  # by the repost's own id works too
    posts.unrepost(w.dave, rp2.pk)  # and again is harmless
    assert _counts(post)[1] == 0
    assert not Post.objects.filter(repost_of=post).exists()
    assert Account.objects.get(pk=w.bob.pk).posts_count == 0


def test_private_and_direct_posts_cannot_be_reposted(world):
    w = world
    private = make_post(w.alice, "followers", visibility="private")
    direct = make_post(w.alice, "@bob only", visibility="direct")
    for post in (private, direct):
        with pytest.raises(ValidationError):
            posts.repost(w.bob, post.pk)  # bob can see both
        with pytest.raises(ValidationError):
            posts.repost(w.alice, post.pk)  # not even by their author
    with pytest.raises(NotFound):
        posts.repost(w.dave, direct.pk)  # dave cannot see it at all
    assert not Post.objects.filter(repost_of__isnull=False).exists()
    assert _counts(private)[1] == _counts(direct)[1] == 0


def test_reposting_the_invisible_answers_not_found(world):
    post = make_post(world.alice, "eve is blocked")
    for target in (post.pk, 777):
        with pytest.raises(NotFound):
            posts.repost(world.eve, target)


def test_reposters(world):
    post = make_post(world.alice, "x")
    posts.repost(world.bob, post.pk)
    posts.repost(world.dave, post.pk)
    assert {a.pk for a in reposters(None, post)} == {world.bob.pk, world.dave.pk}


# --- likes


def test_like_and_unlike_are_idempotent(world):
    w = world
    post = make_post(w.alice, "like me")
    posts.like(w.bob, post.pk)
    posts.like(w.bob, post.pk)
    assert _counts(post)[0] == 1 and Like.objects.filter(post=post).count() == 1
    rp = posts.repost(w.dave, post.pk)
    assert posts.like(w.dave, rp.pk).pk == post.pk  # liking a repost likes what it shares
    assert _counts(post)[0] == 2
    assert get_post(w.dave, rp.pk).viewer_liked
    assert [p.pk for p in liked_posts(w.dave)] == [post.pk]
    assert {a.pk for a in likers(None, post)} == {w.bob.pk, w.dave.pk}
    posts.unlike(w.bob, post.pk)
    posts.unlike(w.bob, post.pk)
    posts.unlike(w.dave, rp.pk)
    assert _counts(post)[0] == 0 and not Like.objects.exists()
    posts.unlike(w.mod, post.pk)  # never liked: nothing happens, no negative count
    assert _counts(post)[0] == 0


def test_liking_the_invisible_answers_not_found(world):
    post = make_post(world.alice, "@bob only", visibility="direct")
    with pytest.raises(NotFound):
        posts.like(world.dave, post.pk)
    assert _counts(post)[0] == 0


# --- bookmarks


def test_bookmarks(world):
    w = world
    post = make_post(w.alice, "keep this")
    rp = posts.repost(w.dave, post.pk)
    posts.bookmark(w.bob, rp.pk)  # a repost's bookmark is a bookmark of the original
    posts.bookmark(w.bob, post.pk)
    assert Bookmark.objects.filter(account=w.bob).count() == 1
    assert [p.pk for p in bookmarked_posts(w.bob)] == [post.pk]
    assert get_post(w.bob, post.pk).viewer_bookmarked
    posts.unbookmark(w.bob, rp.pk)
    assert not Bookmark.objects.exists()
    with pytest.raises(NotFound):
        posts.bookmark(w.eve, post.pk)


def test_a_bookmark_of_a_post_that_became_invisible_is_not_shown(world):
    post = make_post(world.alice, "followers only", visibility="private")
    posts.bookmark(world.bob, post.pk)
    from rostra.accounts.actions import unfollow

    unfollow(world.bob, world.alice)
    assert list(bookmarked_posts(world.bob)) == []


# --- quotes


def test_detach_quote(world):
    w = world
    original = make_post(w.alice, "original")
    quote = make_post(w.bob, "quoting", quote_of_id=original.pk)
    assert _counts(original)[3] == 1
    assert quote_is_visible(w.dave, get_post(w.dave, quote.pk))
    for stranger in (w.bob, w.dave):
        with pytest.raises(NotFound):
            posts.detach_quote(stranger, quote.pk)
    posts.detach_quote(w.alice, quote.pk)
    posts.detach_quote(w.alice, quote.pk)  # twice is once
    quote.refresh_from_db()
    assert quote.quote_state == "detached" and quote.quote_of_id == original.pk
    assert _counts(original)[3] == 0
    for viewer in (None, w.dave, w.bob, w.alice):
        assert not quote_is_visible(viewer, get_post(viewer, quote.pk))
        assert not quote_is_visible(viewer, Post.objects.get(pk=quote.pk))


def test_a_quote_of_a_post_that_became_invisible_shows_nothing(world):
    original = make_post(world.alice, "original")
    quote = make_post(world.bob, "quoting", quote_of_id=original.pk)
    Post.objects.filter(pk=original.pk).update(moderation_state="removed")
    assert not quote_is_visible(world.dave, get_post(world.dave, quote.pk))
    assert not quote_is_visible(None, get_post(None, quote.pk))
    assert quote_is_visible(world.alice, get_post(world.alice, quote.pk))  # its author still sees it
