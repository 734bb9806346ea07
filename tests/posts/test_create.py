"""Composing a post: every validation rule, and nothing written when one fails."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from rostra.accounts.models import Account
from rostra.core.clock import now
from rostra.core.errors import NotFound, PermissionDenied, ValidationError
from rostra.core.models import Event
from rostra.posts import actions as posts
from rostra.posts.actions import Draft, create_post
from rostra.posts.models import Hashtag, Media, Mention, Post
from rostra.posts.queries import can_view
from rostra.testing.images import png_bytes
from rostra.testing.world import make_account, make_post


def _state() -> tuple[int, int, int, int, int]:
    return Post.objects.count(), Mention.objects.count(), Hashtag.objects.count(), Event.objects.count(), Media.objects.filter(post__isnull=False).count()


def _refused(author, draft, error=ValidationError):
    before = _state()
    with pytest.raises(error) as err:
        create_post(author, draft)
    assert _state() == before
    return err.value


def test_a_post_and_what_it_writes(world):
    a = world.alice
    post = create_post(a, Draft(text="  Hello @bob and @nobody, see #Rostra <b>now</b>  ", language="en"))
    post.refresh_from_db()
    assert post.text == "Hello @bob and @nobody, see #Rostra <b>now</b>"
    assert 'href="/@bob"' in post.content_html and "@nobody" in post.content_html
    assert "&lt;b&gt;" in post.content_html and "<b>" not in post.content_html
    assert post.thread_id == post.pk and post.in_reply_to_id is None
    assert post.moderation_state == "published" and post.visibility == "public"
    assert list(post.mentions.all()) == [world.bob]
    assert [h.name for h in post.hashtags.all()] == ["rostra"]
    assert Event.objects.filter(kind="post.created", payload={"post_id": post.pk}).exists()
    a.refresh_from_db()
    assert a.posts_count == 1 and a.last_status_at is not None


def test_length_limit_comes_from_settings(world, settings):
    settings.ROSTRA = dataclasses.replace(settings.ROSTRA, max_post_chars=100)
    assert len(create_post(world.alice, Draft(text="x" * 100)).text) == 100
    err = _refused(world.alice, Draft(text="x" * 101))
    assert err.field == "text" and "100" in err.message and "101" in err.message


def test_default_length_limit(world):
    create_post(world.alice, Draft(text="y" * 1000))
    _refused(world.alice, Draft(text="y" * 1001))


@pytest.mark.parametrize("text", ["", "   ", "\x00\x00", "\n\n"])
def test_an_empty_post_is_refused(world, text):
    assert _refused(world.alice, Draft(text=text)).field == "text"


def test_content_warning(world):
    post = create_post(world.alice, Draft(text="spoilers", spoiler_text="  film ending "))
    assert (post.spoiler_text, post.sensitive) == ("film ending", True)
    assert _refused(world.alice, Draft(text="x", spoiler_text="w" * 501)).field == "spoiler_text"
    create_post(world.alice, Draft(text="x", spoiler_text="w" * 500))


@pytest.mark.parametrize("visibility", ["public", "unlisted", "private"])
def test_each_visibility(world, visibility):
    assert make_post(world.alice, "hi", visibility=visibility).visibility == visibility


def test_an_unknown_visibility_is_refused(world):
    assert _refused(world.alice, Draft(text="hi", visibility="secret")).field == "visibility"


def test_a_direct_post_reaches_the_mentioned_and_without_anyone_only_its_author(world):
    # As in Mastodon, a direct post that mentions nobody (or nobody real) is a note to oneself.
    for text in ("no one here", "@nobody is not real", "@alice only myself"):
        note = create_post(world.alice, Draft(text=text, visibility="direct"))
        assert not [m for m in note.mentions.all() if m.pk != world.alice.pk]
        assert can_view(world.alice, note) and not can_view(world.bob, note) and not can_view(None, note)
    post = create_post(world.alice, Draft(text="psst @dave", visibility="direct"))
    assert list(post.mentions.all()) == [world.dave]
    # A direct reply reaches the person replied to without typing their name.
    reply = create_post(world.dave, Draft(text="ok", visibility="direct", in_reply_to_id=post.pk))
    assert list(reply.mentions.all()) == [world.alice]


def test_a_suspended_account_cannot_post(world):
    Account.objects.filter(pk=world.alice.pk).update(suspended_at=now())
    world.alice.refresh_from_db()
    _refused(world.alice, Draft(text="hello"), PermissionDenied)


def test_mentions_of_suspended_and_remote_accounts(world):
    Account.objects.filter(pk=world.dave.pk).update(suspended_at=now())
    post = make_post(world.alice, "@dave @bob@elsewhere.example @bob@127.0.0.1:8000")
    assert list(post.mentions.all()) == [world.bob]
    assert "@dave" in post.content_html and 'href="/@dave"' not in post.content_html
    assert post.content_html.count('href="/@bob"') == 1  # only the local-domain form links


def test_hashtags_are_capped(world):
    post = make_post(world.alice, " ".join(f"#tag{i}" for i in range(40)))
    assert post.hashtags.count() == 30


def test_a_new_posts_hashtags_new_known_and_repeated(world):
    known = Hashtag.objects.create(name="gardening", display_name="Gardening")
    untouched = Hashtag.objects.create(name="cycling", display_name="cycling")
    before = now()
    post = make_post(world.alice, "#Gardening and #sourdough, #gardening again")
    assert sorted(post.hashtags.values_list("name", flat=True)) == ["gardening", "sourdough"]
    assert Hashtag.objects.filter(name="gardening").count() == 1  # the known one, not a second
    assert post.hashtags.get(name="gardening").pk == known.pk
    for tag in Hashtag.objects.filter(name__in=["gardening", "sourdough"]):
        assert tag.last_used_at is not None and tag.last_used_at >= before
        assert tag.last_used_at == post.created_at
    untouched.refresh_from_db()
    assert untouched.last_used_at is None
    assert make_post(world.bob, "no tags here").hashtags.count() == 0


# --- replies


def test_a_reply(world):
    root = make_post(world.alice, "root")
    reply = make_post(world.bob, "first", in_reply_to_id=root.pk)
    deeper = make_post(world.dave, "second", in_reply_to_id=reply.pk)
    assert (reply.in_reply_to_id, reply.in_reply_to_account_id, reply.thread_id) == (root.pk, world.alice.pk, root.pk)
    assert deeper.thread_id == root.pk
    assert set(deeper.mentions.all()) == {world.bob}
    root.refresh_from_db()
    assert root.replies_count == 1


def test_reply_to_an_invisible_post_answers_not_found(world):
    w = world
    stranger = make_account("stranger")
    private = make_post(w.alice, "followers only", visibility="private")
    direct = make_post(w.alice, "@bob secret", visibility="direct")
    held = make_post(w.bob, "held")
    Post.objects.filter(pk=held.pk).update(moderation_state="held")
    blocked = make_post(w.alice, "eve is blocked")
    rp = posts.repost(w.bob, make_post(w.alice, "to repost").pk)
    for author, target in (
        (stranger, private.pk), (stranger, direct.pk), (w.dave, direct.pk), (w.alice, held.pk), (w.eve, blocked.pk),
        (w.alice, rp.pk), (w.alice, 12345), (w.alice, rp.pk + 1),
    ):
        err = _refused(author, Draft(text="re", in_reply_to_id=target), NotFound)
        assert "not available" in err.message
    # A follower may answer the followers-only post; the author may answer their own held post.
    make_post(w.bob, "re", in_reply_to_id=private.pk)
    make_post(w.bob, "re", in_reply_to_id=held.pk)


# --- quotes


def test_quote_rules(world):
    w = world
    public = make_post(w.alice, "quote me")
    quote = make_post(w.bob, "so true", quote_of_id=public.pk)
    assert (quote.quote_of_id, quote.quote_state) == (public.pk, "accepted")
    public.refresh_from_db()
    assert public.quotes_count == 1
    make_post(w.bob, "also", quote_of_id=make_post(w.alice, "unlisted", visibility="unlisted").pk)
    private = make_post(w.alice, "followers", visibility="private")
    direct = make_post(w.alice, "@bob between us", visibility="direct")
    rp = posts.repost(w.dave, public.pk)
    for target in (private.pk, direct.pk, rp.pk):
        assert _refused(w.bob, Draft(text="q", quote_of_id=target)).field == "quote_of"
    for author, target in ((w.eve, public.pk), (w.dave, direct.pk), (w.bob, 999)):
        _refused(author, Draft(text="q", quote_of_id=target), NotFound)


# --- media


def test_media_is_attached_in_order(world, media_dir):
    media = [posts.upload_media(world.alice, png_bytes((4 + i, 4))) for i in range(4)]
    ids = [m.pk for m in reversed(media)]
    post = make_post(world.alice, "", media_ids=ids)  # media alone is a post
    assert [m.pk for m in post.media.all()] == ids
    assert [m.position for m in post.media.all()] == [0, 1, 2, 3]


def test_media_ownership_and_count(world, media_dir):
    w = world
    mine = [posts.upload_media(w.bob, png_bytes()) for _ in range(5)]
    alices = posts.upload_media(w.alice, png_bytes())
    # B cannot attach A's media: refused like a missing upload, and A's media is untouched.
    err = _refused(w.bob, Draft(text="look", media_ids=[mine[0].pk, alices.pk]))
    assert err.field == "media"
    alices.refresh_from_db()
    assert alices.post_id is None and alices.owner_id == w.alice.pk
    assert _refused(w.bob, Draft(text="five", media_ids=[m.pk for m in mine])).field == "media"
    _refused(w.bob, Draft(text="missing", media_ids=[424242]))
    used = make_post(w.bob, "two", media_ids=[mine[0].pk, mine[1].pk, mine[0].pk])  # repeats count once
    assert used.media.count() == 2
    # Media already in one post cannot be moved into another.
    _refused(w.bob, Draft(text="again", media_ids=[mine[1].pk]))
    mine[1].refresh_from_db()
    assert mine[1].post_id == used.pk


# --- idempotency


def test_an_idempotency_key_returns_the_same_post(world):
    first = create_post(world.alice, Draft(text="once", idempotency_key="k-1"))
    before = _state()
    again = create_post(world.alice, Draft(text="once", idempotency_key="k-1"))
    assert again.pk == first.pk
    assert _state() == before
    assert create_post(world.alice, Draft(text="once", idempotency_key="k-2")).pk != first.pk
    assert create_post(world.bob, Draft(text="once", idempotency_key="k-1")).pk != first.pk
    world.alice.refresh_from_db()
    assert world.alice.posts_count == 2


def test_an_idempotency_key_outlives_the_cache_and_lasts_an_hour(world):
    """The key is kept with the post, in its transaction: a retry after a restart, a Redis wipe
    or a crash (when no cache remembers anything) still gets the post it made."""
    from django.core.cache import cache

    from rostra.posts.models import IdempotencyKey

    first = create_post(world.alice, Draft(text="once", idempotency_key="retry-me"))
    cache.clear()
    assert create_post(world.alice, Draft(text="once", idempotency_key="retry-me")).pk == first.pk
    stored = IdempotencyKey.objects.get(author=world.alice)
    assert "retry-me" not in stored.key and len(stored.key) == 64  # a digest, not what the client sent
    # After its hour the key is free again, and the upkeep forgets it.
    IdempotencyKey.objects.update(created_at=now() - timedelta(hours=2))
    second = create_post(world.alice, Draft(text="once", idempotency_key="retry-me"))
    assert second.pk != first.pk
    assert IdempotencyKey.objects.get(author=world.alice).post_id == second.pk
    IdempotencyKey.objects.update(created_at=now() - timedelta(hours=2))
    assert posts.prune_idempotency_keys() == 1 and not IdempotencyKey.objects.exists()


def test_a_deleted_posts_key_makes_a_new_post(world):
    first = create_post(world.alice, Draft(text="gone", idempotency_key="k-del"))
    posts.delete_post(world.alice, first.pk)
    assert create_post(world.alice, Draft(text="gone", idempotency_key="k-del")).pk != first.pk


def test_very_long_hashtags_fit_the_table(world):
    # Before the fix, "#" + 99 digits + 98 letters parsed as a 197-character tag, which
    # PostgreSQL refused (Hashtag.name holds 100): the post failed with a server error.
    post = make_post(world.alice, "#" + "1" * 99 + "a" * 98 + " and #" + "b" * 150)
    assert sorted(len(h.name) for h in post.hashtags.all()) == [100, 100]
