"""The polls API: GET /api/v1/polls/:id and POST /api/v1/polls/:id/votes."""

from __future__ import annotations

import json
from datetime import timedelta

from django.test import Client

from rostra.posts.models import Poll, PollVote
from rostra.posts.polls import PollDraft
from rostra.testing.world import make_post
from tests.api.conftest import bearer


def _poll(author, *, multiple: bool = False, visibility: str = "public") -> Poll:
    post = make_post(author, "Which?", visibility=visibility, poll=PollDraft(options=["a", "b", "c"], expires_in=3600, multiple=multiple))
    return Poll.objects.get(post=post)


def test_read_a_poll(world, password_token):
    poll = _poll(world.alice)
    body = Client().get(f"/api/v1/polls/{poll.pk}").json()
    assert body["id"] == str(poll.pk) and [o["title"] for o in body["options"]] == ["a", "b", "c"] and body["expired"] is False
    assert bearer(password_token(world.bob, scope="read:statuses")).get(f"/api/v1/polls/{poll.pk}").json()["voted"] is False
    assert Client().get("/api/v1/polls/123456").status_code == 404


def test_vote_by_form_and_json(world, password_token):
    single, multi = _poll(world.alice), _poll(world.alice, multiple=True)
    bob = bearer(password_token(world.bob))
    r = bob.post(f"/api/v1/polls/{single.pk}/votes", {"choices[]": ["1"]})
    assert r.status_code == 200, r.content
    assert r.json()["voted"] is True and r.json()["own_votes"] == [1] and r.json()["options"][1]["votes_count"] == 1
    r = bob.post(f"/api/v1/polls/{multi.pk}/votes", data=json.dumps({"choices": [0, "2"]}), content_type="application/json")
    assert r.status_code == 200 and r.json()["own_votes"] == [0, 2] and r.json()["voters_count"] == 1


def test_bad_votes_are_422(world, password_token):
    poll = _poll(world.alice)
    bob = bearer(password_token(world.bob))
    assert bob.post(f"/api/v1/polls/{poll.pk}/votes", {"choices[]": ["7"]}).status_code == 422
    assert bob.post(f"/api/v1/polls/{poll.pk}/votes", {"choices[]": ["x"]}).status_code == 422
    assert bob.post(f"/api/v1/polls/{poll.pk}/votes", {"choices[]": ["0", "1"]}).status_code == 422  # single choice
    assert bob.post(f"/api/v1/polls/{poll.pk}/votes", {}).status_code == 422
    assert not PollVote.objects.exists()
    assert bob.post(f"/api/v1/polls/{poll.pk}/votes", {"choices[]": ["0"]}).status_code == 200
    r = bob.post(f"/api/v1/polls/{poll.pk}/votes", {"choices[]": ["1"]})
    assert r.status_code == 422 and "already voted" in r.json()["error"]
    Poll.objects.filter(pk=poll.pk).update(expires_at=poll.expires_at - timedelta(days=2))
    r = bearer(password_token(world.dave)).post(f"/api/v1/polls/{poll.pk}/votes", {"choices[]": ["1"]})
    assert r.status_code == 422 and "ended" in r.json()["error"]


def test_a_poll_one_cannot_see_is_404(world, password_token):
    poll = _poll(world.alice, visibility="private")
    assert Client().get(f"/api/v1/polls/{poll.pk}").status_code == 404
    eve = bearer(password_token(world.eve))
    assert eve.get(f"/api/v1/polls/{poll.pk}").status_code == 404
    assert eve.post(f"/api/v1/polls/{poll.pk}/votes", {"choices[]": ["0"]}).status_code == 404
    assert Client().post(f"/api/v1/polls/{poll.pk}/votes", {"choices[]": ["0"]}).status_code == 401
    assert bearer(password_token(world.bob, scope="read")).post(f"/api/v1/polls/{poll.pk}/votes", {"choices[]": ["0"]}).status_code == 403
    assert not PollVote.objects.exists()
