"""Deleting an account removes the person for real, and fixes everyone else's counters."""

from __future__ import annotations

import pytest
from django.contrib.sessions.models import Session
from django.test import Client

from rostra.accounts import actions as accounts
from rostra.accounts.models import Account, Block, Follow, Mute, User
from rostra.core.errors import ValidationError
from rostra.core.models import Event
from rostra.core.pagination import PageRequest
from rostra.notifications.models import Notification
from rostra.posts import actions as posts
from rostra.posts.models import Bookmark, Like, Media, Mention, Post, PostEdit
from rostra.testing.images import png_bytes
from rostra.testing.world import PASSWORD, make_post
from rostra.timelines.queries import home
from rostra.timelines.store import get_store


def _session_for(user) -> str:
    # A real sign-in (Django's login(), as the login page does), so it is recorded in the
    # sign-ins table that deletion purges through (rostra.accounts.sessions).
    client = Client()
    client.force_login(user)
    return client.session.session_key


@pytest.fixture
def busy_alice(world, run_tasks, media_dir):
    """alice with posts, media, likes, reposts, replies, quotes, bookmarks, and others' reactions."""
    w = world
    accounts.follow(w.alice, w.dave)
    accounts.update_profile(w.alice, accounts.ProfileUpdate(avatar=png_bytes()))
    m1, m2 = posts.upload_media(w.alice, png_bytes()), posts.upload_media(w.alice, png_bytes((16, 16)))
    unattached = posts.upload_media(w.alice, png_bytes((4, 4)))
    p1 = make_post(w.alice, "with pictures @bob", media_ids=[m1.pk, m2.pk])
    posts.edit_post(w.alice, p1.pk, text="with pictures, edited @bob")
    p2 = make_post(w.alice, "followers only", visibility="private")
    b1, b2, b3 = make_post(w.bob, "bob one"), make_post(w.bob, "bob two"), make_post(w.bob, "bob three")
    posts.like(w.alice, b1.pk)
    posts.repost(w.alice, b2.pk)
    reply = make_post(w.alice, "a reply", in_reply_to_id=b1.pk)
    make_post(w.alice, "a quote", quote_of_id=b3.pk)
    posts.bookmark(w.alice, b1.pk)
    posts.like(w.bob, p1.pk)
    bob_repost = posts.repost(w.bob, p1.pk)
    dave_reply = make_post(w.dave, "dave answers", in_reply_to_id=p1.pk)
    posts.like(w.bob, reply.pk)
    run_tasks()
    files = [f for m in (m1, m2, unattached) for f in (m.file, m.thumbnail)]
    w.alice.refresh_from_db()
    files.append(w.alice.avatar)
    return {
        "p1": p1, "p2": p2, "b1": b1, "b2": b2, "b3": b3, "bob_repost": bob_repost, "dave_reply": dave_reply,
        "files": files, "alice_session": _session_for(w.alice.user), "bob_session": _session_for(w.bob.user),
    }


def test_a_wrong_password_deletes_nothing(world, busy_alice):
    posts_before = Post.objects.count()
    with pytest.raises(ValidationError) as err:
        accounts.delete_account(world.alice.user, "not my password")
    assert "password" in err.value.errors
    assert Account.objects.filter(pk=world.alice.pk).exists()
    assert Post.objects.count() == posts_before
    assert Session.objects.filter(session_key=busy_alice["alice_session"]).exists()


def test_delete_account_purges_everything(world, busy_alice, media_dir, run_tasks, django_capture_on_commit_callbacks):
    w, b = world, busy_alice
    bob_posts_before = Account.objects.get(pk=w.bob.pk).posts_count
    assert all((media_dir / f).exists() for f in b["files"])
    alice_id, user_id = w.alice.pk, w.alice.user.pk

    with django_capture_on_commit_callbacks(execute=True):
        accounts.delete_account(w.alice.user, PASSWORD)
    run_tasks()

    # The person is gone: login, account, posts, edits, media rows and files, sessions.
    assert not User.objects.filter(pk=user_id).exists()
    assert not Account.objects.filter(pk=alice_id).exists()
    assert not Post.objects.filter(author_id=alice_id).exists()
    assert not PostEdit.objects.filter(post_id=b["p1"].pk).exists()
    assert not Media.objects.filter(owner_id=alice_id).exists()
    assert [f for f in b["files"] if (media_dir / f).exists()] == []
    assert not Session.objects.filter(session_key=b["alice_session"]).exists()
    assert Session.objects.filter(session_key=b["bob_session"]).exists()
    # Everything that hung off her: likes, bookmarks, mentions, follows, blocks, mutes, notifications.
    assert not Like.objects.filter(account_id=alice_id).exists()
    assert not Bookmark.objects.filter(account_id=alice_id).exists()
    assert not Mention.objects.filter(post__author_id=alice_id).exists()
    assert not Follow.objects.filter(follower_id=alice_id).exists() and not Follow.objects.filter(target_id=alice_id).exists()
    assert not Block.objects.filter(account_id=alice_id).exists()
    assert not Mute.objects.filter(target_id=alice_id).exists()
    assert not Notification.objects.filter(recipient_id=alice_id).exists()
    assert not Notification.objects.filter(actor_id=alice_id).exists()
    # No home shows her posts (read through the door: others' Redis sets may still hold their
    # ids), and her own home timeline is gone: its rows with the database, her set from Redis.
    assert not any(p.author_id == alice_id for a in Account.objects.all() for p in home(a, PageRequest(limit=40)).items)
    assert get_store().count([alice_id]) == 0
    # Others' reposts of her posts went with them; replies to her posts stay, detached.
    assert not Post.objects.filter(pk=b["bob_repost"].pk).exists()
    dave_reply = Post.objects.get(pk=b["dave_reply"].pk)
    assert dave_reply.in_reply_to_id is None and dave_reply.in_reply_to_account_id is None
    # Counters on others' posts and accounts are right again.
    b1, b2, b3 = (Post.objects.get(pk=b[k].pk) for k in ("b1", "b2", "b3"))
    assert (b1.likes_count, b1.replies_count) == (0, 0)
    assert b2.reposts_count == 0
    assert b3.quotes_count == 0
    bob, dave = Account.objects.get(pk=w.bob.pk), Account.objects.get(pk=w.dave.pk)
    assert (bob.followers_count, bob.following_count) == (0, 1)  # still follows carol
    assert (dave.followers_count, dave.following_count) == (0, 0)
    assert bob.posts_count == bob_posts_before - 1  # his repost of her post is gone
    assert bob.posts_count == Post.objects.filter(author=bob).count()
    assert Event.objects.filter(kind="account.deleted", payload={"account_id": alice_id}).exists()


def test_the_username_is_free_again_after_deletion(world, media_dir):
    accounts.delete_account(world.eve.user, PASSWORD)
    assert accounts.sign_up("eve", "eve@example.org", PASSWORD).account.pk != world.eve.pk
