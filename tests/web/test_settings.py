"""Settings: profile, password, preferences and deleting the account for real."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from rostra.accounts.models import Account, User
from rostra.posts.actions import Draft, create_post, upload_media
from rostra.posts.models import Media, Post
from rostra.testing.world import make_post
from tests.web.helpers import PASSWORD, files_in, image_bytes, png, reload

PROFILE = {
    "display_name": "Alice in Wonderland", "note": "Curiouser and curiouser. #wonder",
    "field_0_name": "Website", "field_0_value": "https://alice.example",
    "field_1_name": "Pronouns", "field_1_value": "she/her",
    "locked": "on", "discoverable": "on",
}


def test_profile_form_is_prefilled(world, client_for):
    html = client_for(world.alice).get("/settings/profile").content.decode()
    assert 'value="Alice Liddell"' in html and 'for="id_avatar"' in html and 'for="id_field_3_value"' in html


def test_update_profile_with_an_avatar(world, client_for, media_dir):
    client = client_for(world.alice)
    response = client.post("/settings/profile", {**PROFILE, "avatar": png(size=(64, 64))})
    assert response.status_code == 302 and response["Location"] == "/settings/profile"
    alice = reload(world.alice)
    assert alice.display_name == "Alice in Wonderland" and alice.locked and not alice.bot
    assert [f["name"] for f in alice.fields] == ["Website", "Pronouns"]
    assert alice.avatar and (media_dir / alice.avatar).exists()
    page = client_for(None).get("/@alice").content.decode()
    assert "Alice in Wonderland" in page and "Curiouser" in page and f'src="/media/{alice.avatar}"' in page
    image = client_for(None).get(f"/media/{alice.avatar}")
    assert image.status_code == 200 and image["Content-Type"] == "image/png"


def test_profile_errors_are_shown_and_nothing_changes(world, client_for, media_dir):
    client = client_for(world.alice)
    response = client.post("/settings/profile", {**PROFILE, "display_name": "x" * 61})
    assert response.status_code == 400 and "at most 60 characters" in response.content.decode()
    assert reload(world.alice).display_name == "Alice Liddell"
    response = client.post("/settings/profile", {**PROFILE, "field_2_name": "Label only"})
    assert response.status_code == 400 and "needs both a label and a value" in response.content.decode()
    response = client.post("/settings/profile", {**PROFILE, "avatar": SimpleUploadedFile("x.png", b"nope")})
    assert response.status_code == 400 and "not an image" in response.content.decode()
    assert files_in(media_dir) == []
    assert not reload(world.alice).locked


def test_change_password(world, client_for):
    client = client_for(world.alice)
    wrong = client.post("/settings/account", {"form": "password", "pw-old_password": "wrong", "pw-new_password": "a-new-long-password-1"})
    assert wrong.status_code == 400 and "current password is not right" in wrong.content.decode()
    weak = client.post("/settings/account", {"form": "password", "pw-old_password": PASSWORD, "pw-new_password": "123"})
    assert weak.status_code == 400 and "too short" in weak.content.decode()
    good = client.post("/settings/account", {"form": "password", "pw-old_password": PASSWORD, "pw-new_password": "a-new-long-password-1"})
    assert good.status_code == 302
    assert client.get("/home").status_code == 200  # still signed in here
    assert Client().post("/login", {"username": "alice", "password": "a-new-long-password-1"}).status_code == 302
    assert Client().post("/login", {"username": "alice", "password": PASSWORD}).status_code == 400


def test_posting_preferences(world, client_for):
    client = client_for(world.alice)
    response = client.post("/settings/account", {"form": "preferences", "default_visibility": "unlisted", "default_sensitive": "on"})
    assert response.status_code == 302
    user = User.objects.get(pk=world.alice.user_id)
    assert user.default_visibility == "unlisted" and user.default_sensitive
    assert client.post("/settings/account", {"form": "preferences", "default_visibility": "nobody"}).status_code == 400


def test_delete_account_needs_the_password(world, client_for):
    response = client_for(world.alice).post("/settings/delete", {"password": "wrong"})
    assert response.status_code == 400 and "password is not right" in response.content.decode()
    assert Account.objects.filter(pk=world.alice.pk).exists()


def test_delete_account_removes_everything(world, client_for, media_dir, django_capture_on_commit_callbacks):
    client = client_for(world.alice)
    with django_capture_on_commit_callbacks(execute=True):  # the avatar's unused full-size variant goes on commit
        client.post("/settings/profile", {**PROFILE, "avatar": png()})
    media = upload_media(world.alice, image_bytes(), description="gone soon")
    post = create_post(world.alice, Draft(text="Last words", media_ids=[media.pk]))
    make_post(world.alice, "More words")
    assert files_in(media_dir)
    assert client.get("/settings/delete").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/settings/delete", {"password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/"
    assert not Account.objects.filter(pk=world.alice.pk).exists()
    assert not User.objects.filter(username="alice").exists()
    assert not Post.objects.filter(pk=post.pk).exists() and not Post.objects.filter(text="More words").exists()
    assert not Media.objects.filter(pk=media.pk).exists()
    assert files_in(media_dir) == []
    landing = client.get("/")
    assert landing.status_code == 200 and "Goodbye" in landing.content.decode()  # signed out, told so
    assert client.get("/@alice").status_code == 404
