"""The API's shared machinery: Mastodon pagination (Link headers) and the error mapping."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from django.http import HttpResponse
from django.test import RequestFactory

from rostra.accounts import actions as accounts
from rostra.accounts import queries as account_queries
from rostra.api.api import domain_status
from rostra.api.entities import midnight, timestamp
from rostra.api.http import link_header, page_request, paginated
from rostra.core.errors import Conflict, NotFound, PermissionDenied, RateLimited, ValidationError
from rostra.core.pagination import Page
from rostra.testing.world import make_account


def _links(header: str) -> dict[str, dict[str, list[str]]]:
    out = {}
    for part in header.split(", "):
        url, rel = part.split("; ")
        parts = urlsplit(url.strip("<>"))
        out[rel.split('"')[1]] = {"path": [parts.path], **parse_qs(parts.query)}
    return out


def test_page_request_reads_mastodon_params_and_clamps_the_limit():
    rf = RequestFactory()
    req = page_request(rf.get("/x", {"max_id": "123", "since_id": "7", "limit": "500"}), max_limit=80)
    assert (req.max_id, req.since_id, req.min_id, req.limit) == (123, 7, None, 80)
    assert page_request(rf.get("/x", {"limit": "0"})).limit == 1
    assert page_request(rf.get("/x", {"limit": "lots"})).limit == 20
    assert page_request(rf.get("/x", {"max_id": "not-an-id"})).max_id is None


def test_link_header_keeps_other_params_and_replaces_cursors(settings):
    request = RequestFactory().get("/api/v1/accounts/1/followers", {"limit": "2", "max_id": "999", "only_media": "true"})
    header = link_header(request, Page(items=[1, 2], next_max_id=10, prev_min_id=20))
    links = _links(header)
    assert links["next"]["path"] == ["/api/v1/accounts/1/followers"]
    assert links["next"]["max_id"] == ["10"] and "min_id" not in links["next"]
    assert links["prev"]["min_id"] == ["20"] and "max_id" not in links["prev"]
    assert links["next"]["limit"] == ["2"] and links["next"]["only_media"] == ["true"]
    assert header.startswith(f"<{settings.ROSTRA.base_url}/api/v1/")
    assert link_header(request, Page(items=[], next_max_id=None, prev_min_id=None)) is None


def test_walking_a_real_list_with_the_link_header(db):
    """Follow ``next`` links through the followers of an account until the end: every follower once."""
    star = make_account("star")
    fans = [make_account(f"fan{i}") for i in range(5)]
    for fan in fans:
        accounts.follow(fan, star)
    seen: list[str] = []
    url = "/api/v1/accounts/x/followers?limit=2"
    for _ in range(10):
        request = RequestFactory().get(url)
        page = account_queries.followers(None, star, page_request(request))
        seen += [a.username for a in page.items]
        response = HttpResponse()
        paginated(request, response, page)
        if "Link" not in response or "next" not in _links(response["Link"]):
            break
        nxt = _links(response["Link"])["next"]
        url = f"{nxt['path'][0]}?limit={nxt['limit'][0]}&max_id={nxt['max_id'][0]}"
    assert sorted(seen) == sorted(f.username for f in fans)
    assert seen == [f.username for f in reversed(fans)]  # newest follow first
    # And ``prev`` from the last page comes back to newer ones.
    prev = _links(response["Link"])["prev"]
    request = RequestFactory().get(f"/x?limit=2&min_id={prev['min_id'][0]}")
    newer = account_queries.followers(None, star, page_request(request))
    assert [a.username for a in newer.items] == seen[-3:-1]


@pytest.mark.parametrize(
    ("exc", "status"),
    [(ValidationError("bad"), 422), (Conflict("already"), 422), (NotFound(), 404), (PermissionDenied("no"), 403), (RateLimited("slow", 30), 429)],
)
def test_domain_errors_map_to_mastodon_statuses(exc, status):
    got, headers = domain_status(exc)
    assert got == status
    if status == 429:
        assert headers == {"Retry-After": "30"}


def test_domain_errors_answer_in_mastodon_format(world, password_token, monkeypatch):
    from django.test import Client

    from rostra.api.endpoints import accounts as endpoint

    def boom(account):
        raise RateLimited("Too many requests", 12)

    monkeypatch.setattr(endpoint.account_queries, "follow_request_count", boom)
    r = Client(headers={"Authorization": f"Bearer {password_token(world.alice)}"}).get("/api/v1/accounts/verify_credentials")
    assert r.status_code == 429 and r.json() == {"error": "Too many requests"} and r["Retry-After"] == "12"


def test_timestamps_have_milliseconds_and_z():
    from datetime import UTC, datetime, timedelta, timezone

    t = datetime(2025, 3, 4, 5, 6, 7, 123456, tzinfo=timezone(timedelta(hours=2)))
    assert timestamp(t) == "2025-03-04T03:06:07.123Z"
    assert midnight(datetime(2025, 3, 4, 23, 59, tzinfo=UTC)) == "2025-03-04T00:00:00.000Z"
    assert timestamp(None) is None


def test_maybe_scoped_lets_anonymous_readers_in_and_refuses_a_bad_token(db: None) -> None:
    from django.http import HttpRequest
    from django.test import RequestFactory

    from rostra.api.http import ANONYMOUS, MaybeScoped

    auth = MaybeScoped("read:statuses")
    anonymous: HttpRequest = RequestFactory().get("/api/v1/statuses/1")
    assert auth(anonymous) is ANONYMOUS
    bad: HttpRequest = RequestFactory().get("/api/v1/statuses/1", HTTP_AUTHORIZATION="Bearer nope")
    assert not auth(bad)


def test_a_post_to_an_unknown_api_path_is_a_json_404_not_a_csrf_page(db: None) -> None:
    from django.test import Client

    r = Client(enforce_csrf_checks=True).post("/api/v1/no-such-thing", {"a": "b"})
    assert r.status_code == 404 and r.json() == {"error": "Record not found"}


def test_a_trailing_slash_reaches_the_same_endpoint_as_in_mastodon(world, password_token) -> None:
    from tests.api.conftest import bearer

    c = bearer(password_token(world.bob))
    plain = c.get("/api/v1/timelines/home")
    slashed = c.get("/api/v1/timelines/home/")
    assert plain.status_code == slashed.status_code == 200 and plain.json() == slashed.json()
    assert c.get("/api/v1/no/such/thing/").status_code == 404
    assert c.post("/api/v1/statuses/", {"status": "slash"}).status_code == 200
