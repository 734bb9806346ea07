"""Editing, deleting, and the buttons on every card (with and without htmx)."""

from __future__ import annotations

import pytest

from rostra.posts.actions import Draft, create_post, upload_media
from rostra.posts.models import Bookmark, Like, Media, Post
from rostra.testing.world import make_post
from tests.web.helpers import files_in, image_bytes

HX = {"HTTP_HX_REQUEST": "true"}


# --- Edit and history


def test_edit_form_and_history(world, client_for):
    post = make_post(world.alice, "First draft")
    client = client_for(world.alice)
    form = client.get(f"/posts/{post.pk}/edit")
    assert form.status_code == 200 and "First draft" in form.content.decode()
    response = client.post(f"/posts/{post.pk}/edit", {"text": "Second draft", "spoiler_text": ""})
    assert response.status_code == 302 and response["Location"] == f"/@alice/{post.pk}"
    post.refresh_from_db()
    assert post.text == "Second draft" and post.edited_at is not None
    page = client.get(f"/@alice/{post.pk}").content.decode()
    assert "Second draft" in page and f'href="/@alice/{post.pk}/history"' in page
    history = client_for(None).get(f"/@alice/{post.pk}/history")
    assert history.status_code == 200
    html = history.content.decode()
    assert "Second draft" in html and "First draft" in html and "Original" in html


def test_edit_refuses_bad_input_and_keeps_the_post(world, client_for):
    post = make_post(world.alice, "Unchanged")
    response = client_for(world.alice).post(f"/posts/{post.pk}/edit", {"text": "y" * 5000})
    assert response.status_code == 400 and "at most" in response.content.decode()
    post.refresh_from_db()
    assert post.text == "Unchanged" and post.edited_at is None


def test_only_the_author_can_edit(world, client_for):
    post = make_post(world.alice, "Mine")
    client = client_for(world.bob)
    assert client.get(f"/posts/{post.pk}/edit").status_code == 404
    assert client.post(f"/posts/{post.pk}/edit", {"text": "Yours now"}).status_code == 404
    post.refresh_from_db()
    assert post.text == "Mine"


def test_edit_alt_text_and_remove_an_image(world, client_for, media_dir):
    a = upload_media(world.alice, image_bytes(), description="old alt")
    b = upload_media(world.alice, image_bytes(), description="second")
    post = create_post(world.alice, Draft(text="Pictures", media_ids=[a.pk, b.pk]))
    response = client_for(world.alice).post(
        f"/posts/{post.pk}/edit", {"text": "Pictures", f"alt_{a.pk}": "new alt", f"alt_{b.pk}": "second", f"remove_{b.pk}": "1"}
    )
    assert response.status_code == 302
    assert [m.description for m in Media.objects.filter(post=post)] == ["new alt"]
    assert not Media.objects.filter(pk=b.pk).exists()


# --- Delete


def test_delete_asks_first_then_deletes(world, client_for):
    post = make_post(world.alice, "Regrettable")
    client = client_for(world.alice)
    confirm = client.get(f"/posts/{post.pk}/delete")
    assert confirm.status_code == 200
    html = confirm.content.decode()
    assert "Regrettable" in html and f'action="/posts/{post.pk}/delete"' in html and 'method="post"' in html
    assert Post.objects.filter(pk=post.pk).exists()  # GET changes nothing
    response = client.post(f"/posts/{post.pk}/delete")
    assert response.status_code == 302 and response["Location"] == "/@alice"
    assert not Post.objects.filter(pk=post.pk).exists()
    assert client.get(f"/@alice/{post.pk}").status_code == 404


def test_delete_removes_the_image_files(world, client_for, media_dir, django_capture_on_commit_callbacks):
    m = upload_media(world.alice, image_bytes(), description="bye")
    post = create_post(world.alice, Draft(text="With a picture", media_ids=[m.pk]))
    with django_capture_on_commit_callbacks(execute=True):
        client_for(world.alice).post(f"/posts/{post.pk}/delete")
    assert files_in(media_dir) == []


def test_someone_elses_post_cannot_be_deleted(world, client_for):
    post = make_post(world.alice, "Stays")
    client = client_for(world.bob)
    assert client.get(f"/posts/{post.pk}/delete").status_code == 404
    assert client.post(f"/posts/{post.pk}/delete").status_code == 404
    assert Post.objects.filter(pk=post.pk).exists()


def test_htmx_delete_removes_the_card_or_leaves_the_page(world, client_for):
    client = client_for(world.alice)
    post = make_post(world.alice, "From a timeline")
    response = client.post(f"/posts/{post.pk}/delete?next=/home", **HX)
    assert response.status_code == 200 and response.content == b"" and "HX-Redirect" not in response
    post = make_post(world.alice, "From its own page")
    response = client.post(f"/posts/{post.pk}/delete?next=/@alice/{post.pk}", **HX)
    assert response["HX-Redirect"] == "/@alice"


# --- Buttons


@pytest.mark.parametrize(("act", "undo", "model"), [("like", "unlike", Like), ("bookmark", "unbookmark", Bookmark)])
def test_toggle_buttons_without_javascript(world, client_for, act, undo, model):
    post = make_post(world.alice, "Press the buttons")
    client = client_for(world.bob)
    response = client.post(f"/posts/{post.pk}/{act}", {"next": "/local"})
    assert response.status_code == 302 and response["Location"] == "/local"
    assert model.objects.filter(account=world.bob, post=post).exists()
    client.post(f"/posts/{post.pk}/{act}")  # twice is once
    assert model.objects.filter(account=world.bob, post=post).count() == 1
    response = client.post(f"/posts/{post.pk}/{undo}", {"next": "https://evil.example/"})
    assert response["Location"] == "/home"
    assert not model.objects.filter(account=world.bob, post=post).exists()


def test_like_with_htmx_swaps_just_the_buttons(world, client_for):
    post = make_post(world.alice, "Swap me")
    client = client_for(world.bob)
    response = client.post(f"/posts/{post.pk}/like", {"next": "/local"}, **HX)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.strip().startswith('<div class="post-actions">') and "<html" not in html
    assert f'action="/posts/{post.pk}/unlike"' in html and 'aria-pressed="true"' in html
    assert '<span class="count">1</span>' in html
    response = client.post(f"/posts/{post.pk}/unlike", **HX)
    assert f'action="/posts/{post.pk}/like"' in response.content.decode()
    post.refresh_from_db()
    assert post.likes_count == 0


def test_bookmark_with_htmx(world, client_for):
    post = make_post(world.alice, "Save me")
    client = client_for(world.bob)
    html = client.post(f"/posts/{post.pk}/bookmark", **HX).content.decode()
    assert f'action="/posts/{post.pk}/unbookmark"' in html and "action-bookmark on" in html
    assert Bookmark.objects.filter(account=world.bob, post=post).exists()
    html = client.post(f"/posts/{post.pk}/unbookmark", **HX).content.decode()
    assert f'action="/posts/{post.pk}/bookmark"' in html
    assert not Bookmark.objects.filter(account=world.bob, post=post).exists()


def test_repost_and_unrepost(world, client_for, run_tasks):
    post = make_post(world.alice, "Worth sharing")
    client = client_for(world.bob)
    response = client.post(f"/posts/{post.pk}/repost", **HX)
    assert response.status_code == 200 and f'action="/posts/{post.pk}/unrepost"' in response.content.decode()
    assert Post.objects.filter(author=world.bob, repost_of=post).exists()
    run_tasks()
    profile = client_for(None).get("/@bob").content.decode()
    assert "reposted" in profile and "Worth sharing" in profile
    response = client.post(f"/posts/{post.pk}/unrepost")
    assert response.status_code == 302
    assert not Post.objects.filter(author=world.bob, repost_of=post).exists()


def test_followers_only_posts_cannot_be_reposted(world, client_for):
    post = make_post(world.alice, "Just for followers", visibility="private")
    client = client_for(world.bob)  # a follower: may see it, may not repost it
    page = client.get(f"/@alice/{post.pk}").content.decode()
    assert f"/posts/{post.pk}/repost" not in page
    response = client.post(f"/posts/{post.pk}/repost")
    assert response.status_code == 400 and "can be reposted" in response.content.decode()
    htmx = client.post(f"/posts/{post.pk}/repost", **HX)
    assert htmx.status_code == 400 and htmx["HX-Reswap"] == "none" and "rostra:toast" in htmx["HX-Trigger"]
    assert not Post.objects.filter(repost_of=post).exists()


def test_buttons_on_invisible_posts_answer_404_and_write_nothing(world, client_for):
    secret = make_post(world.alice, "Not for eve")
    client = client_for(world.eve)  # blocked by alice
    for act in ("like", "repost", "bookmark"):
        assert client.post(f"/posts/{secret.pk}/{act}").status_code == 404
    assert client.post("/posts/not-an-id/like").status_code == 404
    assert not Like.objects.filter(post=secret).exists() and not Bookmark.objects.filter(post=secret).exists()


def test_buttons_are_post_only_and_need_an_account(world, client_for):
    post = make_post(world.alice, "Hands off")
    assert client_for(world.bob).get(f"/posts/{post.pk}/like").status_code == 405
    response = client_for(None).post(f"/posts/{post.pk}/like")
    assert response.status_code == 302 and response["Location"].startswith("/login")
    assert not Like.objects.exists()


def test_bookmarks_page_lists_only_mine(world, client_for):
    post = make_post(world.alice, "Keep this")
    client_for(world.bob).post(f"/posts/{post.pk}/bookmark")
    assert "Keep this" in client_for(world.bob).get("/bookmarks").content.decode()
    assert "Keep this" not in client_for(world.dave).get("/bookmarks").content.decode()


def test_the_quoted_author_can_detach_their_post(world, client_for):
    original = make_post(world.alice, "Original thought")
    quote = make_post(world.dave, "Dunking on this", quote_of_id=original.pk)
    assert client_for(world.bob).post(f"/posts/{quote.pk}/detach-quote").status_code == 404
    alice = client_for(world.alice)
    assert "Remove my post from this quote" in alice.get(f"/@dave/{quote.pk}").content.decode()
    response = alice.post(f"/posts/{quote.pk}/detach-quote", {"next": f"/@dave/{quote.pk}"})
    assert response.status_code == 302 and response["Location"] == f"/@dave/{quote.pk}"
    quote.refresh_from_db()
    assert quote.quote_state == "detached"
    page = client_for(None).get(f"/@dave/{quote.pk}").content.decode()
    assert "Original thought" not in page and "removed by its author" in page
