"""SECURITY-TESTS D4: deleting an account removes the person, through the settings page.

Alice has public, followers-only and direct posts, images, an avatar, an edit history, likes,
bookmarks, follows, a list, a filter, two browser sessions and an API token. She deletes her
account with her password. Afterwards: every session and token is dead at once, every row
that held her words is gone (every text column of every model is searched for a word only she
wrote, her direct message included), her image files are off the disk, and others' counters
are right. The delete page offers her archive first. (tests/accounts/test_delete_account.py
covers the domain action's details; this is the whole path, end to end.)
"""

from __future__ import annotations

from django.contrib.sessions.models import Session
from django.test import Client

from rostra.accounts import actions as accounts
from rostra.accounts.models import Account, Follow, User
from rostra.api.models import AccessToken
from rostra.notifications.models import Notification
from rostra.posts import actions as posts
from rostra.posts.models import Bookmark, Like, Media, Post
from rostra.testing.images import png_bytes
from rostra.testing.world import PASSWORD, make_post
from rostra.timelines import lists
from rostra.timelines.models import Filter, List
from tests.api.conftest import bearer, password_token, register  # noqa: F401 - fixtures
from tests.security.test_d3_delete_is_gone import rows_containing

SECRET = "marmosetcapybara"  # only alice ever writes this word
DIRECT = "okapiaxolotl"


def test_d4_account_purge(world, password_token, media_dir, run_tasks, django_capture_on_commit_callbacks):  # noqa: F811 - fixture
    w = world
    accounts.update_profile(
        w.alice, accounts.ProfileUpdate(avatar=png_bytes((64, 64)), header=png_bytes((300, 100)), note=f"bio {SECRET}")
    )
    image = posts.upload_media(w.alice, png_bytes(), description=f"alt {SECRET}")
    public = make_post(w.alice, f"public {SECRET}", media_ids=[image.pk])
    posts.edit_post(w.alice, public.pk, text=f"public, edited {SECRET}")
    make_post(w.alice, f"followers {SECRET}", visibility="private")
    make_post(w.alice, f"@bob psst {DIRECT}", visibility="direct")
    posts.upload_media(w.alice, png_bytes((5, 5)))  # an upload never posted
    bobs = make_post(w.bob, "bob writes")
    posts.like(w.alice, bobs.pk)
    posts.bookmark(w.alice, bobs.pk)
    accounts.follow(w.alice, w.dave)
    lists.create_list(w.alice, lists.ListDraft(title=f"list {SECRET}"))
    token = password_token(w.alice)
    run_tasks()
    browser, other_browser = Client(), Client()
    assert browser.login(username="alice", password=PASSWORD) and other_browser.login(username="alice", password=PASSWORD)
    assert (
        other_browser.get("/home").status_code == 200
        and bearer(token).get("/api/v1/accounts/verify_credentials").status_code == 200
    )
    alice = Account.objects.get(pk=w.alice.pk)
    files = [alice.avatar, alice.header, *(f for m in Media.objects.filter(owner=alice) for f in (m.file, m.thumbnail))]
    assert all((media_dir / f).exists() for f in files) and len(files) == 6
    assert Notification.objects.filter(actor_id=alice.pk).exists()  # bob was told of the like and the DM
    dave_followers = Account.objects.get(pk=w.dave.pk).followers_count

    # The page offers the archive before anything is deleted.
    page = browser.get("/settings/delete").content.decode()
    assert 'href="/settings/export"' in page
    # A wrong password deletes nothing.
    assert browser.post("/settings/delete", {"password": "wrong"}).status_code == 400
    assert Account.objects.filter(pk=alice.pk).exists()
    with django_capture_on_commit_callbacks(execute=True):
        response = browser.post("/settings/delete", {"password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/"
    run_tasks()

    # Logged out everywhere, tokens dead, at once.
    assert other_browser.get("/home").status_code == 302
    assert bearer(token).get("/api/v1/accounts/verify_credentials").status_code == 401
    assert not User.objects.filter(pk=alice.user_id).exists() and not Account.objects.filter(pk=alice.pk).exists()
    assert not AccessToken.objects.filter(user_id=alice.user_id).exists()
    assert not [s for s in Session.objects.all() if str(s.get_decoded().get("_auth_user_id")) == str(alice.user_id)]
    # Her words are nowhere: posts, edits, the direct message, bio, alt text, list titles.
    assert rows_containing(SECRET) == [] and rows_containing(DIRECT) == []
    assert not Post.objects.filter(author_id=alice.pk).exists()
    assert not Like.objects.filter(account_id=alice.pk).exists() and not Bookmark.objects.filter(account_id=alice.pk).exists()
    assert not Follow.objects.filter(follower_id=alice.pk).exists() and not Follow.objects.filter(target_id=alice.pk).exists()
    assert not List.objects.filter(owner_id=alice.pk).exists() and not Filter.objects.filter(account_id=alice.pk).exists()
    assert not Notification.objects.filter(actor_id=alice.pk).exists()
    # Her files are off the disk; nothing of hers is served.
    assert [f for f in files if (media_dir / f).exists()] == []
    for name in files:
        assert Client().get(f"/media/{name}").status_code == 404
    for url in ("/@alice", f"/@alice/{public.pk}"):
        assert Client().get(url).status_code == 404
    assert Account.objects.get(pk=w.dave.pk).followers_count == dave_followers - 1
    bob_inbox = bearer(password_token(w.bob)).get("/api/v1/conversations").content.decode()
    assert DIRECT not in bob_inbox
