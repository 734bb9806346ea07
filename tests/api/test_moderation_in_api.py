"""Moderation as a client sees it: a held or removed status is its author's alone, and an action
against someone reaches their app as a ``moderation_warning`` notification naming the rule and
the evidence, with the state of their appeal."""

from __future__ import annotations

import pytest

from rostra.moderation import actions
from rostra.testing.world import make_post
from tests.api.conftest import bearer

pytestmark = pytest.mark.screening  # the shipped policy, as in production


def test_a_removed_status_is_the_authors_alone_and_the_notice_reaches_their_app(world, password_token, run_tasks):
    post = make_post(world.bob, "a perfectly ordinary post about bread")
    action = actions.act_on_post(world.mod.user, post.pk, "remove", reason="This broke the rule on harassment.", category="harassment")
    run_tasks()
    bob = bearer(password_token(world.bob))
    assert bob.get(f"/api/v1/statuses/{post.pk}").status_code == 200  # the author still sees it
    assert bearer(password_token(world.alice)).get(f"/api/v1/statuses/{post.pk}").status_code == 404
    notes = bob.get("/api/v1/notifications", {"types[]": "moderation_warning"}).json()
    assert len(notes) == 1, notes
    warning = notes[0]["moderation_warning"]
    assert notes[0]["type"] == "moderation_warning" and warning["action"] == "delete_statuses"
    assert warning["status_ids"] == [str(post.pk)] and "harassment" in warning["text"].lower()
    assert warning["appeal"] is None
    actions.appeal(world.bob, action.pk, "It was about bread.")
    again = bob.get("/api/v1/notifications", {"types[]": "moderation_warning"}).json()[0]["moderation_warning"]
    assert again["appeal"] == {"text": "It was about bread.", "state": "pending"}


def test_a_held_status_answers_like_a_missing_one_to_everyone_else(world, password_token):
    post = make_post(world.bob, "held for a look")
    actions.act_on_post(world.mod.user, post.pk, "hold", category="violence")
    assert bearer(password_token(world.bob)).get(f"/api/v1/statuses/{post.pk}").status_code == 200
    for viewer in (world.alice, world.dave):
        c = bearer(password_token(viewer))
        r, missing = c.get(f"/api/v1/statuses/{post.pk}"), c.get(f"/api/v1/statuses/{post.pk + 1}")
        assert r.status_code == missing.status_code == 404 and r.json() == missing.json()
    timeline = bearer(password_token(world.alice)).get("/api/v1/timelines/public").json()
    assert str(post.pk) not in {s["id"] for s in timeline}
