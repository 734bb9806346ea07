"""The default posting language: update_credentials' source[language], the CredentialAccount's
source.language, preferences' posting:default:language, and new posts without a language."""

from __future__ import annotations

from django.test import Client

from rostra.accounts import actions as accounts
from rostra.accounts.models import User
from rostra.core.errors import ValidationError
from rostra.posts.models import Post
from rostra.testing.world import make_post
from tests.api.conftest import bearer


def _patch(c: Client, body: str) -> object:
    return c.patch("/api/v1/accounts/update_credentials", body, content_type="application/x-www-form-urlencoded")


def test_set_show_and_clear(world, password_token):
    c = bearer(password_token(world.alice, scope="read write"))
    assert c.get("/api/v1/accounts/verify_credentials").json()["source"]["language"] == ""
    assert c.get("/api/v1/preferences").json()["posting:default:language"] is None
    r = _patch(c, "source[language]=hr")
    assert r.status_code == 200, r.content
    assert r.json()["source"]["language"] == "hr"
    assert c.get("/api/v1/accounts/verify_credentials").json()["source"]["language"] == "hr"
    assert c.get("/api/v1/preferences").json()["posting:default:language"] == "hr"
    # JSON, nested; upper case is read as the code.
    r = c.patch("/api/v1/accounts/update_credentials", {"source": {"language": "DE"}}, content_type="application/json")
    assert r.status_code == 200 and r.json()["source"]["language"] == "de"
    # Other changes leave it alone; an empty value clears it.
    assert _patch(c, "display_name=Al").json()["source"]["language"] == "de"
    assert _patch(c, "source[language]=").json()["source"]["language"] == ""
    assert c.get("/api/v1/preferences").json()["posting:default:language"] is None


def test_invalid_language_is_422_and_writes_nothing(world, password_token):
    c = bearer(password_token(world.alice, scope="read write"))
    _patch(c, "source[language]=fr")
    for bad in ("xx", "english", "e", "en-US"):
        r = _patch(c, f"display_name=Changed&source[privacy]=private&source[language]={bad}")
        assert r.status_code == 422, (bad, r.content)
        assert "error" in r.json()
    user = User.objects.get(pk=world.alice.user_id)
    assert user.default_language == "fr" and user.default_visibility == "public"
    assert c.get("/api/v1/accounts/verify_credentials").json()["display_name"] != "Changed"


def test_new_posts_take_the_default_unless_they_say(world, password_token):
    c = bearer(password_token(world.alice, scope="read write"))
    plain = c.post("/api/v1/statuses", {"status": "no language yet"}).json()
    assert plain["language"] is None
    _patch(c, "source[language]=hr")
    defaulted = c.post("/api/v1/statuses", {"status": "Dobar dan"}).json()
    assert defaulted["language"] == "hr"
    said = c.post("/api/v1/statuses", {"status": "Hello", "language": "en"}).json()
    assert said["language"] == "en"
    # In the domain, not the endpoint: every way of posting gets it.
    assert make_post(world.alice, "from the domain").language == "hr"
    assert Post.objects.get(pk=int(defaulted["id"])).language == "hr"
    # Someone else's default is theirs.
    assert make_post(world.bob, "bob's").language == ""


def test_update_preferences_action(world):
    user = world.alice.user
    accounts.update_preferences(user, default_language="pt")
    assert User.objects.get(pk=user.pk).default_language == "pt"
    try:
        accounts.update_preferences(user, default_language="zz")
    except ValidationError as exc:
        assert exc.field == "default_language"
    else:
        raise AssertionError("zz is not a language")
    assert User.objects.get(pk=user.pk).default_language == "pt"


def test_preferences_needs_a_token(db):
    assert Client().get("/api/v1/preferences").status_code == 401
