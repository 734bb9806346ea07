"""Profiles, preferences and passwords."""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY, get_user
from django.contrib.sessions.backends.db import SessionStore
from django.test import RequestFactory
from PIL import Image

from rostra.accounts import actions as accounts
from rostra.accounts.actions import ProfileUpdate, update_profile
from rostra.accounts.models import Account
from rostra.core.errors import ValidationError
from rostra.testing.images import png_bytes
from rostra.testing.world import PASSWORD


@pytest.fixture(autouse=True)
def _own_media_dir(media_dir):
    return media_dir


def media_files() -> set[str]:
    return {p.name for p in django_settings.ROSTRA.media_dir.iterdir()}


def _snapshot(account: Account) -> dict[str, object]:
    account.refresh_from_db()
    return {f: getattr(account, f) for f in ("display_name", "note", "note_html", "fields", "avatar", "header", "locked", "bot")}


def test_update_profile_text(world):
    a = update_profile(
        world.alice,
        ProfileUpdate(
            display_name="  Alice <b>L</b> ",
            note="I write about #tea at https://tea.example\n<script>x</script>",
            fields=[("Site", "https://alice.example"), ("", ""), ("Pronouns", "she/her")],
            discoverable=False,
            bot=True,
        ),
    )
    a.refresh_from_db()
    assert a.display_name == "Alice <b>L</b>"  # stored as typed; escaped when shown
    assert "<script" not in a.note_html and "&lt;script&gt;" in a.note_html
    assert 'href="https://tea.example"' in a.note_html and 'href="/tags/tea"' in a.note_html
    assert [(f["name"], f["value"]) for f in a.fields] == [("Site", "https://alice.example"), ("Pronouns", "she/her")]
    assert 'href="https://alice.example"' in a.fields[0]["value_html"]
    assert (a.discoverable, a.bot) == (False, True)
    update_profile(a, ProfileUpdate(note=""))
    a.refresh_from_db()
    assert (a.note, a.note_html) == ("", "")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (ProfileUpdate(display_name="x" * 61), "display_name"),
        (ProfileUpdate(note="x" * 501), "note"),
        (ProfileUpdate(fields=[(f"n{i}", "v") for i in range(5)]), "fields"),
        (ProfileUpdate(fields=[("n" * 61, "v")]), "fields"),
        (ProfileUpdate(fields=[("n", "v" * 256)]), "fields"),
        (ProfileUpdate(fields=[("label", "")]), "fields"),
        (ProfileUpdate(fields=[("", "value")]), "fields"),
        (ProfileUpdate(display_name="ok", note="x" * 501, avatar=png_bytes()), "note"),
    ],
)
def test_profile_limits_write_nothing(world, change, field):
    before, files = _snapshot(world.alice), media_files()
    with pytest.raises(ValidationError) as err:
        update_profile(world.alice, change)
    assert field in err.value.errors
    assert _snapshot(world.alice) == before
    assert media_files() == files


def test_limits_are_inclusive(world):
    update_profile(
        world.alice,
        ProfileUpdate(display_name="x" * 60, note="y" * 500, fields=[(f"n{i}" + "n" * 57, "v" * 255) for i in range(4)]),
    )
    world.alice.refresh_from_db()
    assert len(world.alice.fields) == 4


def test_avatar_and_header_images(world, django_capture_on_commit_callbacks):
    files = media_files()
    with django_capture_on_commit_callbacks(execute=True):
        update_profile(world.alice, ProfileUpdate(avatar=png_bytes((900, 900)), header=png_bytes((1500, 500))))
    a = world.alice
    a.refresh_from_db()
    assert a.avatar and a.header
    # Only the variant shown is kept: the avatar's thumbnail and the header's full image.
    assert media_files() - files == {a.avatar, a.header}
    with Image.open(django_settings.ROSTRA.media_dir / a.avatar) as img:
        assert max(img.size) <= 640
    with Image.open(django_settings.ROSTRA.media_dir / a.header) as img:
        assert img.size == (1500, 500)
    old_avatar = a.avatar
    with django_capture_on_commit_callbacks(execute=True):
        update_profile(a, ProfileUpdate(avatar=png_bytes((64, 64), (0, 0, 0))))
    a.refresh_from_db()
    assert a.avatar != old_avatar
    assert old_avatar not in media_files()
    with django_capture_on_commit_callbacks(execute=True):
        update_profile(a, ProfileUpdate(remove_avatar=True, remove_header=True))
    a.refresh_from_db()
    assert (a.avatar, a.header) == ("", "")
    assert media_files() == files


@pytest.mark.parametrize(
    "change",
    [
        ProfileUpdate(avatar=b"GIF89a not really an image"),
        ProfileUpdate(avatar=b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>"),
        ProfileUpdate(avatar=b""),
        # A good avatar with a bad header: the avatar's stored files are removed again.
        ProfileUpdate(display_name="New name", avatar=png_bytes(), header=b"%PDF-1.7 not an image"),
    ],
)
def test_a_non_image_is_refused_and_nothing_is_written(world, change, django_capture_on_commit_callbacks):
    before, files = _snapshot(world.alice), media_files()
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ValidationError) as err:
        update_profile(world.alice, change)
    assert set(err.value.errors) & {"avatar", "header"}
    assert _snapshot(world.alice) == before
    assert media_files() == files


def test_preferences(world):
    user = world.alice.user
    accounts.update_preferences(user, default_visibility="private", default_sensitive=True)
    user.refresh_from_db()
    assert (user.default_visibility, user.default_sensitive) == ("private", True)
    with pytest.raises(ValidationError):
        accounts.update_preferences(user, default_visibility="secret")
    user.refresh_from_db()
    assert user.default_visibility == "private"


# --- passwords


def _logged_in_session(user) -> SessionStore:
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    return session


def _session_user(session_key: str):
    request = RequestFactory().get("/")
    request.session = SessionStore(session_key)
    return get_user(request)


def test_change_password(world):
    user = world.alice.user
    with pytest.raises(ValidationError) as err:
        accounts.change_password(user, "wrong", "a-new-long-passphrase")
    assert "old_password" in err.value.errors
    with pytest.raises(ValidationError) as err:
        accounts.change_password(user, PASSWORD, "short")
    assert "new_password" in err.value.errors
    user.refresh_from_db()
    assert user.check_password(PASSWORD)

    other_device = _logged_in_session(user)
    assert _session_user(other_device.session_key).pk == user.pk
    accounts.change_password(user, PASSWORD, "a-new-long-passphrase")
    user.refresh_from_db()
    assert user.check_password("a-new-long-passphrase") and not user.check_password(PASSWORD)
    # Every other session of this person is logged out by the change.
    assert not _session_user(other_device.session_key).is_authenticated


def test_set_role(world):
    accounts.set_role(world.alice.user, "moderator")
    assert world.alice.user.is_moderator
    with pytest.raises(ValidationError):
        accounts.set_role(world.alice.user, "god")
