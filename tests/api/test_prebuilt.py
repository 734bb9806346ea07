"""Timelines send the entities they build without ninja validating them again (``prebuilt``):
what they send must be exactly what the declared schema would have sent."""

from __future__ import annotations

from typing import Any

from django.test import Client
from pydantic import TypeAdapter

from rostra.api import schemas
from rostra.posts import actions as posts
from rostra.posts.polls import PollDraft
from rostra.testing.images import png_bytes
from rostra.testing.world import make_post
from rostra.timelines.models import List, ListMember
from tests.api.conftest import bearer

STATUSES = TypeAdapter(list[schemas.Status])


def _as_the_schema_sends(body: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return STATUSES.dump_python(STATUSES.validate_python(body), mode="json")  # type: ignore[no-any-return]


def test_every_timeline_sends_what_its_schema_allows(world, tok, run_tasks):
    w = world
    media = posts.upload_media(w.alice, png_bytes(), description="a square")
    plain = make_post(w.alice, "hello #rostra @bob", spoiler_text="a warning", media_ids=[media.pk], language="en")
    make_post(w.alice, "which? #rostra", poll=PollDraft(options=["this", "that"], expires_in=3600))
    make_post(w.carol, "quoting", quote_of_id=plain.pk)
    posts.repost(w.carol, plain.pk)
    posts.like(w.bob, plain.pk)
    posts.bookmark(w.bob, plain.pk)
    run_tasks()
    c = bearer(tok(w.bob, "read write"))
    assert c.post("/api/v2/filters", {"title": "warned", "context[]": ["home", "public"], "filter_action": "warn",
                                      "keywords_attributes[][keyword]": "which"}).status_code == 200
    roster = List.objects.create(owner=w.bob, title="friends")
    ListMember.objects.create(list=roster, account=w.alice)
    for path in ("/api/v1/timelines/home", "/api/v1/timelines/public", "/api/v1/timelines/tag/rostra", f"/api/v1/timelines/list/{roster.pk}"):
        r = c.get(path)
        assert r.status_code == 200 and r["Content-Type"] == "application/json; charset=utf-8", (path, r.content)
        body = r.json()
        assert body, path
        assert _as_the_schema_sends(body) == body, path
    anonymous = Client().get("/api/v1/timelines/public").json()
    assert anonymous and _as_the_schema_sends(anonymous) == anonymous
    home = c.get("/api/v1/timelines/home").json()
    shown = {s["id"]: s for s in home}
    assert shown[str(plain.pk)]["favourited"] is True and shown[str(plain.pk)]["bookmarked"] is True
    assert any(s["filtered"] for s in home)
    assert any(s["reblog"] and s["reblog"]["id"] == str(plain.pk) and s["reblog"]["favourited"] is True for s in home)
