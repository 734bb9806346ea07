"""Editing keeps a history; deleting really deletes."""

from __future__ import annotations

import dataclasses

import pytest

from rostra.accounts.models import Account
from rostra.core.errors import NotFound, ValidationError
from rostra.core.models import Event
from rostra.core.pagination import PageRequest
from rostra.moderation.gate import GateDecision
from rostra.notifications.models import Notification
from rostra.posts import actions as posts
from rostra.posts.models import Bookmark, Like, Media, Mention, Post, PostEdit
from rostra.posts.queries import edit_history, get_post
from rostra.testing.images import png_bytes
from rostra.testing.world import make_post
from rostra.timelines.queries import home
from tests.timelines.homes import owners


def test_edit_keeps_every_earlier_version(world):
    w = world
    post = make_post(w.alice, "first #one", spoiler_text="cw")
    posts.edit_post(w.alice, post.pk, text="second #two @dave")
    posts.edit_post(w.alice, post.pk, text="third", spoiler_text="", sensitive=True)
    post.refresh_from_db()
    assert post.text == "third" and post.edited_at is not None and post.is_edited
    assert post.sensitive and post.spoiler_text == ""
    edits = list(PostEdit.objects.filter(post=post).order_by("created_at"))
    assert [(e.text, e.spoiler_text) for e in edits] == [("first #one", "cw"), ("second #two @dave", "")]
    assert edits[0].created_at == post.created_at
    shown, history = edit_history(w.bob, post.pk)
    assert shown.pk == post.pk and [e.text for e in history] == ["second #two @dave", "first #one"]
    # Tags follow the text; a mention, once made, keeps its reader.
    assert list(post.hashtags.values_list("name", flat=True)) == []
    assert list(Mention.objects.filter(post=post).values_list("account_id", flat=True)) == [w.dave.pk]
    assert Event.objects.filter(kind="post.updated", payload={"post_id": post.pk}).count() == 2


def test_edit_validates_and_writes_nothing_on_failure(world, settings):
    settings.ROSTRA = dataclasses.replace(settings.ROSTRA, max_post_chars=100)
    post = make_post(world.alice, "short")
    for kwargs in ({"text": "x" * 101}, {"text": ""}, {"text": "ok", "spoiler_text": "s" * 501}):
        with pytest.raises(ValidationError):
            posts.edit_post(world.alice, post.pk, **kwargs)
    post.refresh_from_db()
    assert post.text == "short" and post.edited_at is None
    assert not PostEdit.objects.exists()


def test_only_the_author_edits_and_reposts_are_not_edited(world):
    post = make_post(world.alice, "mine")
    for editor in (world.bob, world.mod, world.admin):
        with pytest.raises(NotFound):
            posts.edit_post(editor, post.pk, text="yours now")
    rp = posts.repost(world.bob, post.pk)
    with pytest.raises(ValidationError):
        posts.edit_post(world.bob, rp.pk, text="changed")
    post.refresh_from_db()
    assert post.text == "mine" and not PostEdit.objects.exists()


def test_edit_changes_media_and_removes_dropped_files(world, media_dir, django_capture_on_commit_callbacks):
    w = world
    keep, drop = posts.upload_media(w.alice, png_bytes()), posts.upload_media(w.alice, png_bytes((6, 6)))
    post = make_post(w.alice, "pics", media_ids=[keep.pk, drop.pk])
    bobs = posts.upload_media(w.bob, png_bytes())
    with pytest.raises(ValidationError):
        posts.edit_post(w.alice, post.pk, text="pics", media_ids=[keep.pk, bobs.pk])
    bobs.refresh_from_db()
    assert bobs.post_id is None
    with django_capture_on_commit_callbacks(execute=True):
        posts.edit_post(w.alice, post.pk, text="one pic", media_ids=[keep.pk], media_descriptions={keep.pk: "a red square"})
    assert list(post.media.values_list("pk", "description")) == [(keep.pk, "a red square")]
    assert not Media.objects.filter(pk=drop.pk).exists()
    assert not (media_dir / drop.file).exists() and not (media_dir / drop.thumbnail).exists()
    assert (media_dir / keep.file).exists()
    assert PostEdit.objects.get(post=post).media_descriptions == ["", ""]
    with pytest.raises(ValidationError):
        posts.edit_post(w.alice, post.pk, text="x", media_descriptions={keep.pk: "d" * 1501})


def test_an_edit_does_not_lose_a_concurrent_like(world, monkeypatch):
    """An edit that reads the post, then saves it whole, must not undo a like made meanwhile."""
    post = make_post(world.alice, "like me")

    def screen_while_bob_likes(**kwargs):
        posts.like(world.bob, post.pk)  # another request, between the edit's read and its write
        return GateDecision(state="published")

    monkeypatch.setattr(posts, "screen_post", screen_while_bob_likes)
    posts.edit_post(world.alice, post.pk, text="like me, edited")
    post.refresh_from_db()
    assert post.text == "like me, edited"
    assert post.likes_count == Like.objects.filter(post=post).count() == 1


# --- delete


def _shown_in_a_home(*post_ids: int) -> bool:
    """Whether any account's home timeline shows one of these posts, read through the door (a
    Redis set may still hold a deleted post's id: reads drop it)."""
    for post_id in post_ids:
        window = PageRequest(max_id=post_id + 1, since_id=post_id - 1, limit=1)
        if any(home(a, window).items for a in Account.objects.all()):
            return True
    return False


@pytest.fixture
def busy_post(world, run_tasks, media_dir):
    w = world
    media = posts.upload_media(w.alice, png_bytes())
    parent = make_post(w.bob, "parent")
    quoted = make_post(w.bob, "quoted")
    post = make_post(w.alice, "busy @dave #busy", media_ids=[media.pk], in_reply_to_id=parent.pk, quote_of_id=quoted.pk)
    posts.edit_post(w.alice, post.pk, text="busy, edited @dave #busy")
    posts.like(w.bob, post.pk)
    posts.bookmark(w.dave, post.pk)
    rp = posts.repost(w.dave, post.pk)
    reply = make_post(w.bob, "a reply", in_reply_to_id=post.pk)
    quote = make_post(w.dave, "a quote", quote_of_id=post.pk)
    run_tasks()
    assert owners(post) and owners(rp) and _shown_in_a_home(post.pk) and _shown_in_a_home(rp.pk)
    assert Notification.objects.filter(post=post).count() >= 3  # like, reblog, mention and quote
    return {"post": post, "media": media, "parent": parent, "quoted": quoted, "repost": rp, "reply": reply, "quote": quote}


def test_delete_really_deletes(world, busy_post, media_dir, run_tasks, django_capture_on_commit_callbacks):
    w, b = world, busy_post
    post, media = b["post"], b["media"]
    dave_posts = Account.objects.get(pk=w.dave.pk).posts_count
    with django_capture_on_commit_callbacks(execute=True):
        posts.delete_post(w.alice, post.pk)
    run_tasks()
    assert not Post.objects.filter(pk=post.pk).exists()
    assert not PostEdit.objects.filter(post_id=post.pk).exists()
    assert not Media.objects.filter(pk=media.pk).exists()
    assert not (media_dir / media.file).exists() and not (media_dir / media.thumbnail).exists()
    assert not Post.objects.filter(pk=b["repost"].pk).exists()
    assert not _shown_in_a_home(post.pk, b["repost"].pk)
    assert not Notification.objects.filter(post_id=post.pk).exists()
    assert not Like.objects.filter(post_id=post.pk).exists() and not Bookmark.objects.filter(post_id=post.pk).exists()
    assert not Mention.objects.filter(post_id=post.pk).exists()
    for viewer in (w.alice, w.bob, w.dave, None):
        with pytest.raises(NotFound):
            get_post(viewer, post.pk)
    # What others wrote stays, detached from it; every counter is right.
    reply, quote = Post.objects.get(pk=b["reply"].pk), Post.objects.get(pk=b["quote"].pk)
    assert reply.in_reply_to_id is None and reply.thread_id == b["parent"].thread_id
    assert quote.quote_of_id is None
    parent, quoted = Post.objects.get(pk=b["parent"].pk), Post.objects.get(pk=b["quoted"].pk)
    assert (parent.replies_count, quoted.quotes_count) == (0, 0)
    assert Account.objects.get(pk=w.alice.pk).posts_count == 0
    assert Account.objects.get(pk=w.dave.pk).posts_count == dave_posts - 1  # the repost went too
    assert Event.objects.filter(kind="post.deleted", payload={"post_id": post.pk, "author_id": w.alice.pk, "repost_of_id": None, "public": True}).exists()


def test_only_the_author_deletes(world, busy_post):
    post = busy_post["post"]
    for actor in (world.bob, world.dave, world.mod, world.admin):
        with pytest.raises(NotFound):
            posts.delete_post(actor, post.pk)
    assert Post.objects.filter(pk=post.pk).exists()
    assert Media.objects.filter(pk=busy_post["media"].pk, post=post).exists()


def test_deleting_a_repost_fixes_the_count(world):
    post = make_post(world.alice, "x")
    rp = posts.repost(world.bob, post.pk)
    posts.delete_post(world.bob, rp.pk)
    post.refresh_from_db()
    assert post.reposts_count == 0 and Post.objects.filter(pk=post.pk).exists()
