"""Composing posts: text, content warnings, audiences, replies, quotes and images."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from rostra.accounts.actions import update_preferences
from rostra.posts.models import Media, Post
from rostra.testing.world import make_post
from tests.web.helpers import files_in, jpeg, png


def compose(client, **data):
    data.setdefault("visibility", "public")
    return client.post("/compose", data)


def test_compose_form_defaults_to_the_users_audience(world, client_for):
    update_preferences(world.alice.user, default_visibility="private")
    html = client_for(world.alice).get("/compose").content.decode()
    assert '<option value="private" selected>' in html
    for label in ('for="id_text"', 'for="media_0"', 'for="alt_0"', 'for="id_spoiler_text"', 'for="id_visibility"'):
        assert label in html


def test_a_text_post_is_published_and_shown(world, client_for):
    client = client_for(world.alice)
    response = compose(client, text="Hello from the web #Rostra")
    post = Post.objects.get(author=world.alice, text="Hello from the web #Rostra")
    assert response.status_code == 302 and response["Location"] == f"/@alice/{post.pk}"
    assert post.visibility == "public"
    assert "Hello from the web" in client.get("/@alice").content.decode()


def test_next_sends_people_back_where_they_were(world, client_for):
    response = compose(client_for(world.alice), text="From home", next="/home")
    assert response["Location"] == "/home"
    response = compose(client_for(world.alice), text="Elsewhere", next="https://evil.example/")
    assert response["Location"].startswith("/@alice/")


def test_a_content_warning_hides_the_text_behind_details(world, client_for):
    client = client_for(world.alice)
    compose(client, text="The ending!", spoiler_text="Film spoilers")
    post = Post.objects.get(author=world.alice, text="The ending!")
    assert post.spoiler_text == "Film spoilers" and post.sensitive
    html = client.get(f"/@alice/{post.pk}").content.decode()
    assert '<details class="cw">' in html and "Film spoilers" in html


@pytest.mark.parametrize("visibility", ["public", "unlisted", "private", "direct"])
def test_each_audience(world, client_for, visibility):
    compose(client_for(world.alice), text=f"@bob a {visibility} post", visibility=visibility)
    post = Post.objects.get(author=world.alice, text=f"@bob a {visibility} post")
    assert post.visibility == visibility
    local = client_for(None).get("/local").content.decode()
    assert (f"a {visibility} post" in local) is (visibility == "public")


def test_a_direct_post_needs_a_mention(world, client_for):
    before = Post.objects.count()
    response = compose(client_for(world.alice), text="to nobody", visibility="direct")
    assert response.status_code == 400
    assert "at least one @mention" in response.content.decode()
    assert Post.objects.count() == before


def test_an_unknown_audience_is_a_form_error(world, client_for):
    response = compose(client_for(world.alice), text="hm", visibility="everyone")
    assert response.status_code == 400 and "Select a valid choice" in response.content.decode()


def test_reply_prefills_and_threads(world, client_for):
    parent = make_post(world.alice, "Tea or coffee?")
    client = client_for(world.bob)
    form = client.get(f"/compose?reply_to={parent.pk}").content.decode()
    assert "@alice " in form and f'value="{parent.pk}"' in form and "Tea or coffee?" in form
    compose(client, text="@alice tea", in_reply_to=str(parent.pk))
    reply = Post.objects.get(author=world.bob, text="@alice tea")
    assert reply.in_reply_to_id == parent.pk and reply.thread_id == parent.pk


def test_replying_to_an_invisible_post_is_a_404_and_writes_nothing(world, client_for):
    secret = make_post(world.alice, "followers only", visibility="private")
    client = client_for(world.eve)
    assert client.get(f"/compose?reply_to={secret.pk}").status_code == 404
    before = Post.objects.count()
    assert compose(client, text="hi", in_reply_to=str(secret.pk)).status_code == 404
    assert Post.objects.count() == before


def test_quote(world, client_for):
    quoted = make_post(world.alice, "Quote me")
    client = client_for(world.bob)
    assert "Quote me" in client.get(f"/compose?quote={quoted.pk}").content.decode()
    compose(client, text="So true", quote_of=str(quoted.pk))
    post = Post.objects.get(author=world.bob, text="So true")
    assert post.quote_of_id == quoted.pk
    page = client.get(f"/@bob/{post.pk}").content.decode()
    assert 'class="quote"' in page and "Quote me" in page


def test_images_with_alt_text(world, client_for, media_dir):
    client = client_for(world.alice)
    response = client.post("/compose", {
        "text": "Two pictures", "visibility": "public",
        "media_0": png(), "alt_0": "A red rectangle",
        "media_1": jpeg(), "alt_1": "A photo of nothing",
    })
    assert response.status_code == 302
    post = Post.objects.get(author=world.alice, text="Two pictures")
    media = list(post.media.order_by("position"))
    assert [m.description for m in media] == ["A red rectangle", "A photo of nothing"]
    assert [m.content_type for m in media] == ["image/png", "image/jpeg"]
    assert len(files_in(media_dir)) == 4  # each image and its thumbnail
    html = client.get(f"/@alice/{post.pk}").content.decode()
    assert 'alt="A red rectangle"' in html and 'alt="A photo of nothing"' in html
    assert 'class="media-grid n2"' in html


def test_a_post_of_only_an_image(world, client_for, media_dir):
    response = client_for(world.alice).post("/compose", {"text": "", "visibility": "public", "media_0": png(), "alt_0": "Just this"})
    assert response.status_code == 302
    assert Post.objects.filter(author=world.alice, media__description="Just this").exists()


def test_too_long_is_an_error_next_to_the_text_and_nothing_is_written(world, client_for, media_dir, django_capture_on_commit_callbacks):
    before = Post.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(world.alice).post("/compose", {"text": "x" * 1001, "visibility": "public", "media_0": png(), "alt_0": "kept?"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "at most 1,000 characters" in html and 'id="text-errors"' in html
    assert "x" * 1001 in html  # what was typed is kept
    assert Post.objects.count() == before
    assert not Media.objects.filter(owner=world.alice).exists()
    assert files_in(media_dir) == []


def test_five_images_are_refused_and_nothing_is_left_behind(world, client_for, media_dir):
    data = {"text": "Too many", "visibility": "public"}
    for i in range(5):
        data[f"media_{i}"] = png(f"p{i}.png")
        data[f"alt_{i}"] = f"image {i}"
    response = client_for(world.alice).post("/compose", data)
    assert response.status_code == 400
    assert "at most 4 images" in response.content.decode()
    assert not Post.objects.filter(text="Too many").exists()
    assert not Media.objects.exists()
    assert files_in(media_dir) == []


def test_a_bad_file_discards_the_images_already_uploaded(world, client_for, media_dir, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(world.alice).post("/compose", {
            "text": "One good, one bad", "visibility": "public",
            "media_0": png(), "alt_0": "fine",
            "media_1": SimpleUploadedFile("evil.png", b"<?php echo 1; ?>", content_type="image/png"), "alt_1": "not an image",
        })
    assert response.status_code == 400
    html = response.content.decode()
    assert "Image 2:" in html and "not an image Rostra can read" in html
    assert not Media.objects.exists()
    assert files_in(media_dir) == []
    assert not Post.objects.filter(text="One good, one bad").exists()


def test_htmx_compose_answers_with_a_fresh_box_and_the_new_card(world, client_for):
    client = client_for(world.alice)
    response = client.post("/compose", {"text": "Swapped in", "visibility": "public", "compact": "1"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html
    assert 'hx-swap-oob="afterbegin:#timeline-items"' in html and "Swapped in" in html
    assert '<textarea name="text"' in html and "rostra:toast" in response["HX-Trigger"]
    error = client.post("/compose", {"text": "", "visibility": "public", "compact": "1"}, HTTP_HX_REQUEST="true")
    assert error.status_code == 400 and "Write something" in error.content.decode() and "<html" not in error.content.decode()


def test_the_same_form_sent_twice_posts_once(world, client_for):
    client = client_for(world.alice)
    for _ in range(2):
        compose(client, text="Double click", idempotency_key="abc123")
    assert Post.objects.filter(author=world.alice, text="Double click").count() == 1


def test_home_has_a_compact_compose_box(world, client_for):
    html = client_for(world.alice).get("/home").content.decode()
    assert 'class="compose compose-compact"' in html and 'hx-post="/compose"' in html
