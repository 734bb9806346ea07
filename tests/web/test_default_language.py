"""The default posting language on the account settings page."""

from __future__ import annotations

from rostra.accounts.models import User


def test_language_select_is_shown_with_the_current_choice(world, client_for):
    client = client_for(world.alice)
    page = client.get("/settings/account").content.decode()
    assert 'name="default_language"' in page and '<option value="hr">Croatian</option>' in page
    User.objects.filter(pk=world.alice.user_id).update(default_language="hr")
    assert '<option value="hr" selected>Croatian</option>' in client.get("/settings/account").content.decode()


def test_choose_and_clear_the_default_language(world, client_for):
    client = client_for(world.alice)
    saved = client.post("/settings/account", {"form": "preferences", "default_visibility": "public", "default_language": "de"})
    assert saved.status_code == 302
    assert User.objects.get(pk=world.alice.user_id).default_language == "de"
    cleared = client.post("/settings/account", {"form": "preferences", "default_visibility": "public", "default_language": ""})
    assert cleared.status_code == 302
    assert User.objects.get(pk=world.alice.user_id).default_language == ""


def test_an_unknown_language_is_refused_and_nothing_changes(world, client_for):
    client = client_for(world.alice)
    refused = client.post("/settings/account", {"form": "preferences", "default_visibility": "unlisted", "default_language": "xx"})
    assert refused.status_code == 400
    user = User.objects.get(pk=world.alice.user_id)
    assert user.default_language == "" and user.default_visibility == "public"
