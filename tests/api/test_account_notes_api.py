"""Private notes on accounts: POST /api/v1/accounts/:id/note and the Relationship's ``note``."""

from __future__ import annotations

from django.test import Client

from rostra.accounts import actions as accounts
from rostra.accounts.models import AccountNote
from tests.api.conftest import bearer


def test_a_note_is_written_and_shown_in_the_relationship(world, password_token):
    c = bearer(password_token(world.bob, scope="write:accounts read:follows"))
    r = c.post(f"/api/v1/accounts/{world.alice.pk}/note", {"comment": "Met at the conference"})
    assert r.status_code == 200, r.content
    assert r.json()["note"] == "Met at the conference"
    assert r.json()["id"] == str(world.alice.pk)
    assert c.get(f"/api/v1/accounts/relationships?id[]={world.alice.pk}").json()[0]["note"] == "Met at the conference"
    # Overwritten, not duplicated; JSON works too.
    r = c.post(f"/api/v1/accounts/{world.alice.pk}/note", {"comment": "Second thoughts"}, content_type="application/json")
    assert r.json()["note"] == "Second thoughts"
    assert AccountNote.objects.filter(account=world.bob, target=world.alice).count() == 1


def test_an_empty_or_missing_comment_clears_the_note(world, password_token):
    accounts.set_account_note(world.bob, world.alice, "hello")
    c = bearer(password_token(world.bob, scope="write:accounts"))
    r = c.post(f"/api/v1/accounts/{world.alice.pk}/note", {"comment": ""})
    assert r.status_code == 200 and r.json()["note"] == ""
    assert not AccountNote.objects.exists()
    accounts.set_account_note(world.bob, world.alice, "hello")
    assert c.post(f"/api/v1/accounts/{world.alice.pk}/note").json()["note"] == ""
    assert not AccountNote.objects.exists()


def test_a_note_is_at_most_2000_characters(world, password_token):
    accounts.set_account_note(world.bob, world.alice, "kept")
    c = bearer(password_token(world.bob, scope="write:accounts"))
    r = c.post(f"/api/v1/accounts/{world.alice.pk}/note", {"comment": "x" * 2001})
    assert r.status_code == 422 and "2000" in r.json()["error"]
    assert AccountNote.objects.get(account=world.bob, target=world.alice).comment == "kept"
    assert c.post(f"/api/v1/accounts/{world.alice.pk}/note", {"comment": "x" * 2000}).json()["note"] == "x" * 2000


def test_a_note_that_is_not_text_is_422(world, password_token):
    c = bearer(password_token(world.bob, scope="write:accounts"))
    r = c.post(f"/api/v1/accounts/{world.alice.pk}/note", {"comment": ["a", "b"]}, content_type="application/json")
    assert r.status_code == 422
    assert not AccountNote.objects.exists()


def test_notes_are_visible_only_to_their_writer(world, password_token):
    accounts.set_account_note(world.bob, world.alice, "private thought")
    dave = bearer(password_token(world.dave, scope="read:follows"))
    assert dave.get(f"/api/v1/accounts/relationships?id[]={world.alice.pk}").json()[0]["note"] == ""
    alice = bearer(password_token(world.alice, scope="read:follows"))
    assert alice.get(f"/api/v1/accounts/relationships?id[]={world.bob.pk}").json()[0]["note"] == ""
    # The follow endpoint's Relationship carries the writer's own note.
    bob = bearer(password_token(world.bob, scope="write:follows"))
    assert bob.post(f"/api/v1/accounts/{world.alice.pk}/follow").json()["note"] == "private thought"


def test_a_note_on_oneself_shows_in_ones_own_relationship(world, password_token):
    c = bearer(password_token(world.bob, scope="write:accounts read:follows"))
    assert c.post(f"/api/v1/accounts/{world.bob.pk}/note", {"comment": "me"}).json()["note"] == "me"
    assert c.get(f"/api/v1/accounts/relationships?id[]={world.bob.pk}").json()[0]["note"] == "me"


def test_note_needs_write_accounts(world, password_token):
    c = bearer(password_token(world.bob, scope="read write:follows"))
    assert c.post(f"/api/v1/accounts/{world.alice.pk}/note", {"comment": "x"}).status_code == 403
    assert not AccountNote.objects.exists()


def test_note_needs_a_token(db, world):
    assert Client().post(f"/api/v1/accounts/{world.alice.pk}/note", {"comment": "x"}).status_code == 401


def test_note_on_a_missing_or_suspended_account_is_404(world, password_token):
    c = bearer(password_token(world.bob, scope="write:accounts"))
    assert c.post("/api/v1/accounts/999999/note", {"comment": "x"}).status_code == 404
    world.dave.suspended_at = "2026-01-01T00:00:00Z"
    world.dave.save(update_fields=["suspended_at"])
    assert c.post(f"/api/v1/accounts/{world.dave.pk}/note", {"comment": "x"}).status_code == 404
    assert not AccountNote.objects.exists()


def test_deleting_either_account_removes_the_note(world):
    accounts.set_account_note(world.bob, world.alice, "one")
    accounts.set_account_note(world.dave, world.bob, "two")
    accounts.purge_account(world.bob)
    assert not AccountNote.objects.exists()


def test_relationships_with_notes_and_endorsements_take_a_fixed_number_of_queries(world, password_token, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from rostra.testing.world import make_account

    people = [make_account(f"noted{i}") for i in range(6)]
    for p in people:
        accounts.follow(world.bob, p)
        accounts.endorse(world.bob, p)
        accounts.set_account_note(world.bob, p, f"about {p.username}")
    c = bearer(password_token(world.bob, scope="read:follows"))
    with CaptureQueriesContext(connection) as one:
        c.get(f"/api/v1/accounts/relationships?id[]={people[0].pk}")
    query = "&".join(f"id[]={p.pk}" for p in people)
    with django_assert_max_num_queries(len(one.captured_queries)):  # six accounts cost no more than one
        body = c.get(f"/api/v1/accounts/relationships?{query}").json()
    assert [r["note"] for r in body] == [f"about {p.username}" for p in people]
    assert all(r["endorsed"] and r["following"] for r in body)


# --- The web's private note box on profiles ---------------------------------------------------


def test_the_web_profile_has_a_private_note_box(world):
    web = Client()
    web.force_login(world.bob.user)
    page = web.get("/@alice").content.decode()
    assert 'action="/@alice/note"' in page and 'name="comment"' in page
    r = web.post("/@alice/note", {"comment": "Met at <the> conference", "next": "/@alice"})
    assert r.status_code == 302 and r["Location"] == "/@alice"
    assert AccountNote.objects.get(account=world.bob, target=world.alice).comment == "Met at <the> conference"
    page = web.get("/@alice").content.decode()
    assert "Met at &lt;the&gt; conference" in page and "<the>" not in page
    # Nobody else sees it, not even alice; no box on one's own profile.
    other = Client()
    other.force_login(world.alice.user)
    assert "Met at" not in other.get("/@alice").content.decode()
    assert 'action="/@alice/note"' not in other.get("/@alice").content.decode()
    assert 'action="/@alice/note"' not in Client().get("/@alice").content.decode()
    web.post("/@alice/note", {"comment": ""})
    assert not AccountNote.objects.exists()


def test_the_web_note_box_rejects_a_long_note_and_needs_a_login(world):
    web = Client()
    web.force_login(world.bob.user)
    assert web.post("/@alice/note", {"comment": "x" * 2001}).status_code == 400
    r = Client().post("/@alice/note", {"comment": "x"})
    assert r.status_code in (302, 401, 403)
    assert not AccountNote.objects.exists()
