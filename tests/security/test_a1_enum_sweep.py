"""SECURITY-TESTS A1: a client walking ids finds nothing (the 2021 scrape must be impossible).

* Posts a visitor may not see (followers-only, direct, held, removed, deleted, by a suspended
  author) answer every read — the web thread and history pages, the API status and its
  context/favourited_by/reblogged_by/history/source, the poll, the image files — with the very
  same status, body bytes and headers as an id that never existed: ids next to real ones (±1,
  ±small), fresh ids and random 63-bit numbers. Only the id itself (echoed in a page) and the
  rate-limit counters are allowed to differ.
* Suspended and deleted accounts answer like accounts that never existed, by id and by name.
* No URL or API operation maps a counter to an id: every numeric path parameter is an opaque id
  (or an icon size), and the lists paged by ``offset`` are a short, reviewed list of surfaces
  that read through the door.
* Ids are not sequential: neighbours differ in random low bits.
* The anonymous API is rate limited (300 requests / 5 min per IP, IPv6 per /64): the rule is
  asserted here; the 429 walk is ``tests/api/test_ratelimit.py::test_e1_anonymous_limit_*`` and
  ``test_e1_ipv6_clients_are_grouped_by_64``.
* ``ROSTRA_API_REQUIRE_AUTH`` closes the client API to anonymous clients altogether.
"""

from __future__ import annotations

import dataclasses
import json
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import pairwise

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from rostra.accounts.actions import purge_account
from rostra.accounts.models import Account
from rostra.api.oauth import password_grant, register_app
from rostra.core import ratelimit
from rostra.core.clock import now
from rostra.core.ids import RANDOM_BITS, new_id
from rostra.moderation import actions as moderation
from rostra.posts import actions as posts
from rostra.posts.actions import PollDraft
from rostra.posts.models import Post
from rostra.testing.images import png_bytes
from rostra.testing.world import World, make_account, make_post

# Headers that may differ between two requests whatever they ask: the rate-limit counters move on.
VOLATILE = {"x-ratelimit-remaining", "x-ratelimit-reset", "date", "x-request-id"}  # a fresh random id per request
CSRF = re.compile(r"[A-Za-z0-9]{64}")  # a masked CSRF token differs on every page


def user_token(account: Account, scope: str = "read write follow") -> str:
    app = register_app("A1 sweep", "urn:ietf:wg:oauth:2.0:oob", "read write follow").application
    return password_grant(app, account.user, scope).access_token


@dataclass(frozen=True)
class Answer:
    status: int
    body: str
    headers: tuple[tuple[str, str], ...]


def answer(client: Client, path: str, secret: str) -> Answer:
    """What a response gives away, with the id asked for masked out (a 404 page may echo the URL)."""
    r = client.get(path)
    body = b"".join(r.streaming_content) if r.streaming else r.content  # type: ignore[attr-defined]
    text = CSRF.sub("CSRF", body.decode("utf-8", "replace").replace(secret, "SECRET"))
    headers = tuple(sorted((k.lower(), v) for k, v in r.headers.items() if k.lower() not in VOLATILE | {"content-length"}))
    if "set-cookie" in dict(headers):
        headers = tuple((k, "..." if k == "set-cookie" else v) for k, v in headers)
    return Answer(r.status_code, text, headers)


@pytest.fixture
def generous_limits(settings) -> None:
    """The sweep makes hundreds of anonymous requests from one address: lift the limit for it
    (the headers still come, so they are still compared)."""
    settings.ROSTRA = dataclasses.replace(settings.ROSTRA, rate_limits="api_ip=100000/5m", redis_url=None)


@dataclass
class Hidden:
    """Posts an outsider must not find, each with an image and (some) a poll."""

    author: Account
    posts: dict[str, int]
    files: dict[str, str]
    polls: dict[str, int]
    public: Post


def _hidden_world(world: World) -> Hidden:
    alice, banned = world.alice, make_account("banned")
    made: dict[str, Post] = {}
    files: dict[str, str] = {}
    polls: dict[str, int] = {}

    def with_image(key: str, author: Account, text: str, **draft: object) -> Post:
        media = posts.upload_media(author, png_bytes((5, 5)))
        post = make_post(author, text, media_ids=[media.pk], **draft)
        files[key] = media.file
        made[key] = post
        return post

    with_image("private", alice, "followers only", visibility="private")
    with_image("direct", alice, "@bob psst", visibility="direct")
    with_image("held", alice, "held for review")
    with_image("removed", alice, "removed by a moderator")
    with_image("deleted", alice, "gone soon")
    with_image("suspended", banned, "by someone suspended")
    polled = make_post(alice, "vote, followers", visibility="private", poll=PollDraft(options=["yes", "no"], expires_in=3600))
    made["private poll"] = polled
    polls["private poll"] = polled.poll.pk
    Post.objects.filter(pk=made["held"].pk).update(moderation_state="held")
    Post.objects.filter(pk=made["removed"].pk).update(moderation_state="removed")
    moderation.act_on_account(world.mod.user, banned.pk, "ban", reason="spam")
    deleted_id = made["deleted"].pk
    posts.delete_post(alice, deleted_id)
    public = make_post(alice, "hello, everyone")
    return Hidden(alice, {k: (deleted_id if k == "deleted" else p.pk) for k, p in made.items()}, files, polls, public)


def _post_paths(username: str, pid: int) -> dict[str, str]:
    return {
        "web thread": f"/@{username}/{pid}",
        "web history": f"/@{username}/{pid}/history",
        "api status": f"/api/v1/statuses/{pid}",
        "api context": f"/api/v1/statuses/{pid}/context",
        "api favourited_by": f"/api/v1/statuses/{pid}/favourited_by",
        "api reblogged_by": f"/api/v1/statuses/{pid}/reblogged_by",
        "api history": f"/api/v1/statuses/{pid}/history",
        "api source": f"/api/v1/statuses/{pid}/source",
    }


def _neighbours(real: int, rng: random.Random) -> list[int]:
    """Ids an enumerator would try around a real one, of the same length (so pages line up)."""
    near = [real + d for d in (1, -1, 2, -2, 7, -7, 1000, -1000)] + [real ^ (1 << b) for b in range(0, RANDOM_BITS, 4)]
    return [n for n in near if len(str(n)) == len(str(real))] + [rng.randrange(1 << 62, 1 << 63) for _ in range(4)] + [new_id()]


def _clients(world: World) -> Iterator[tuple[str, Client]]:
    yield "anonymous", Client()
    # A signed-in stranger (dave follows alice, so eve: blocked, and a newcomer).
    newcomer = make_account("newcomer")
    yield "a stranger's token", Client(headers={"Authorization": f"Bearer {user_token(newcomer)}"})
    web = Client()
    web.force_login(newcomer.user)
    yield "a stranger's session", web


def test_a1_enum_sweep_hidden_posts_answer_like_ids_that_never_existed(world, media_dir, generous_limits):
    hidden = _hidden_world(world)
    rng = random.Random(1)
    problems: list[str] = []
    for who, client in _clients(world):
        never = new_id()  # the same length as any real id made now
        missing: dict[tuple[str, str], Answer] = {}
        for kind, pid in hidden.posts.items():
            username = "banned" if kind == "suspended" else hidden.author.username
            for surface, path in _post_paths(username, pid).items():
                got = answer(client, path, str(pid))
                if (username, surface) not in missing:
                    missing[(username, surface)] = answer(client, _post_paths(username, never)[surface], str(never))
                want = missing[(username, surface)]
                if got.status not in (401, 404):
                    problems.append(f"{who}: {surface} of the {kind} post answered {got.status}")
                if got != want:
                    problems.append(f"{who}: {surface} of the {kind} post differs from a never-existing id: {got} != {want}")
        # The public post is there (the sweep's control), and nothing around it is.
        assert answer(client, f"/api/v1/statuses/{hidden.public.pk}", "").status == 200
        miss = answer(client, f"/api/v1/statuses/{new_id()}", "")
        for guess in _neighbours(hidden.public.pk, rng):
            if answer(client, f"/api/v1/statuses/{guess}", "") != miss:
                problems.append(f"{who}: /api/v1/statuses/{guess}, next to a real id, is not a plain 404")
    assert not problems, "\n".join(problems)


def test_a1_enum_sweep_hidden_polls_and_images_answer_like_missing_ones(world, media_dir, generous_limits):
    hidden = _hidden_world(world)
    anon = Client()
    for kind, poll_id in hidden.polls.items():
        never = new_id()
        assert answer(anon, f"/api/v1/polls/{poll_id}", str(poll_id)) == answer(anon, f"/api/v1/polls/{never}", str(never)), kind
        assert answer(anon, f"/api/v1/polls/{poll_id}", "").status == 404
    for kind, name in hidden.files.items():
        fake = f"{new_id():032x}.png"
        got, want = answer(anon, f"/media/{name}", name), answer(anon, f"/media/{fake}", fake)
        assert got.status == 404 and got == want, kind


def test_a1_enum_sweep_suspended_and_deleted_accounts_answer_like_missing_ones(world, generous_limits):
    banned, leaving = make_account("banned"), make_account("leaving")
    make_post(banned, "a post")
    moderation.act_on_account(world.mod.user, banned.pk, "ban", reason="spam")
    leaving_id = leaving.pk
    purge_account(leaving)
    anon = Client()
    for name, account_id in (("banned", banned.pk), ("leaving", leaving_id)):
        never = new_id()
        for path in (
            "/api/v1/accounts/{}",
            "/api/v1/accounts/{}/statuses",
            "/api/v1/accounts/{}/followers",
            "/api/v1/accounts/{}/following",
        ):
            got = answer(anon, path.format(account_id), str(account_id))
            want = answer(anon, path.format(never), str(never))
            assert got.status == 404 and got == want, (name, path)
        for path in ("/api/v1/accounts/lookup?acct={}", "/@{}", "/@{}.rss", "/@{}/followers"):
            got = answer(anon, path.format(name), name)
            want = answer(anon, path.format("nobodyhere"), "nobodyhere")
            assert got.status == 404 and got == want, (name, path)
    # Several at once (GET /api/v1/accounts?id[]=): they are simply left out.
    assert Client().get(f"/api/v1/accounts?id[]={banned.pk}&id[]={leaving_id}").json() == []


# --- No counter maps to an id ------------------------------------------------------------------

# Numeric path parameters that are not ids, each with why it is harmless.
NOT_IDS = {
    "size",  # the PWA icon sizes
    "version",  # the published moderation policy's versions: public documents, meant to be walked
}
# API list operations paged by ``offset`` (Mastodon's): each reads through the door or lists only
# what people chose to make discoverable, so an offset walks a public list, not the id space.
OFFSET_PAGED = {
    "/api/v1/directory",  # discoverable accounts only
    "/api/v2/search",  # visible posts, searchable accounts, hashtags
    "/api/v1/trends",
    "/api/v1/trends/tags",
    "/api/v1/trends/statuses",  # public, published posts through the door
    "/api/v1/trends/links",
    "/api/v1/accounts/search",
    "/api/v1/suggestions",
    "/api/v2/suggestions",
    "/api/v1/admin/accounts",  # moderators only
    "/api/v2/admin/accounts",
}


def _web_patterns(resolver: URLResolver, prefix: str = "") -> Iterator[str]:
    for p in resolver.url_patterns:
        if isinstance(p, URLResolver):
            yield from _web_patterns(p, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern)


def test_a1_enum_sweep_no_url_takes_a_counter():
    problems = []
    for route in _web_patterns(get_resolver()):
        for conv, name in re.findall(r"<(?:(\w+):)?(\w+)>", route):
            if conv == "int" and name not in NOT_IDS:
                problems.append(f"{route}: <int:{name}> (a counter?)")
        for name, pattern in re.findall(r"\(\?P<(\w+)>([^)]*)\)", route):
            if re.fullmatch(r"\[0-9\]\{1,\d+\}|\\d\+|\\d\{1,\d+\}", pattern) and not name.endswith("id"):
                problems.append(f"{route}: {name} is numeric but not an id")
    assert not problems, "\n".join(problems)


def test_a1_enum_sweep_no_api_operation_takes_a_counter(db):
    doc = json.loads(Client().get("/api/openapi.json").content)
    problems, offset_paged = [], set()
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            for param in op.get("parameters", []):
                kind = param.get("schema", {}).get("type")
                if param["in"] == "path" and kind in ("integer", "number"):
                    problems.append(
                        f"{method.upper()} {path}: path parameter {param['name']} is a number (ids are opaque strings)"
                    )
                if param["in"] == "path" and not (
                    param["name"].endswith("id") or param["name"] in {"name", "hashtag", "group_key"}
                ):
                    problems.append(f"{method.upper()} {path}: path parameter {param['name']}?")
                if param["in"] == "query" and param["name"] in ("offset", "page", "index", "n"):
                    offset_paged.add(path)
    assert not problems, "\n".join(problems)
    assert offset_paged <= OFFSET_PAGED, f"new offset-paged operations to review: {sorted(offset_paged - OFFSET_PAGED)}"


def test_a1_enum_sweep_ids_are_not_sequential(world):
    made = [make_post(world.alice, f"post {i}") for i in range(40)]
    ids = [p.pk for p in made]
    assert ids == sorted(ids)  # time-ordered, for keyset pagination
    gaps = [b - a for a, b in pairwise(ids)]
    low = [i & ((1 << RANDOM_BITS) - 1) for i in ids]
    assert len(set(gaps)) > 30, "neighbouring ids differ by a pattern"
    assert len(set(low)) == len(low) and low != sorted(low), "the low bits count instead of being random"
    # Most neighbours made in the same millisecond are far apart, never +1.
    assert 1 not in gaps
    assert min(abs(g) for g in gaps) > 0
    for model_ids in (
        [make_account(f"seq{i}").pk for i in range(8)],
        [posts.upload_media(world.alice, png_bytes((3, 3))).pk for _ in range(4)],
    ):
        steps = {b - a for a, b in pairwise(model_ids)}
        assert 1 not in steps and len(steps) == len(model_ids) - 1
    assert now()  # (ids embed the clock's milliseconds; see rostra/core/ids.py)


def test_a1_enum_sweep_the_anonymous_api_is_rate_limited_per_address(db, settings):
    settings.ROSTRA = dataclasses.replace(settings.ROSTRA, rate_limits="", redis_url=None)
    rule = ratelimit.rules()["api_ip"]
    assert (rule.limit, rule.period_s) == (300, 300)
    assert ratelimit.ip_group("2001:db8:1:2:3:4:5:6") == ratelimit.ip_group("2001:db8:1:2:ffff::1")
    r = Client(REMOTE_ADDR="192.0.2.7").get(f"/api/v1/statuses/{new_id()}")
    assert r.status_code == 404 and r["X-RateLimit-Limit"] == "300" and r["X-RateLimit-Remaining"] == "299"


# --- ROSTRA_API_REQUIRE_AUTH ---------------------------------------------------------------------


@pytest.fixture
def require_auth(settings) -> None:
    settings.ROSTRA = dataclasses.replace(settings.ROSTRA, api_require_auth=True, redis_url=None, rate_limits="")


CLOSED = [
    "/api/v1/timelines/public",
    "/api/v1/timelines/tag/gardening",
    "/api/v1/statuses/{post}",
    "/api/v1/statuses/{post}/context",
    "/api/v1/accounts/{alice}",
    "/api/v1/accounts/{alice}/statuses",
    "/api/v1/accounts/lookup?acct=alice",
    "/api/v2/search?q=hello",
    "/api/v1/directory",
    "/api/v1/trends/statuses",
    "/api/v1/instance_that_does_not_exist",  # closed whatever the path: nothing to discover
]
OPEN = ["/api/v1/instance", "/api/v2/instance", "/api/v1/instance/rules", "/api/v1/instance/peers", "/api/v1/custom_emojis"]


def test_a1_require_auth_closes_the_api_to_anonymous_clients(world, require_auth):
    post = make_post(world.alice, "hello, world")
    for path in CLOSED:
        url = path.format(post=post.pk, alice=world.alice.pk)
        r = Client().get(url)
        assert r.status_code == 401, (url, r.status_code)
        assert r.json() == {"error": "This method requires an authenticated user"}
        assert r["X-RateLimit-Limit"] == "300"  # still counted
    for url in OPEN:
        assert Client().get(url).status_code == 200, url
    # The web, the feeds, OAuth discovery, nodeinfo and the OpenAPI document stay open.
    for url in (
        f"/@alice/{post.pk}",
        "/@alice.rss",
        "/.well-known/oauth-authorization-server",
        "/api/openapi.json",
        "/.well-known/nodeinfo",
    ):
        assert Client().get(url).status_code == 200, url


def test_a1_require_auth_lets_users_in_and_apps_register_and_sign_up_only(world, require_auth, settings):
    post = make_post(world.alice, "hello, world")
    token = user_token(world.bob, "read")
    r = Client(headers={"Authorization": f"Bearer {token}"}).get(f"/api/v1/statuses/{post.pk}")
    assert r.status_code == 200 and r.json()["id"] == str(post.pk)
    # An app registers and gets its own token before anyone signs in...
    r = Client().post(
        "/api/v1/apps", {"client_name": "A phone", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob", "scopes": "read write"}
    )
    assert r.status_code == 200
    app = r.json()
    r = Client().post(
        "/oauth/token",
        {
            "grant_type": "client_credentials",
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
            "scope": "read write",
        },
    )
    assert r.status_code == 200
    app_client = Client(headers={"Authorization": f"Bearer {r.json()['access_token']}"})
    assert app_client.get("/api/v1/apps/verify_credentials").status_code == 200
    # ...but an app's token is not a person: reading is still refused.
    assert app_client.get("/api/v1/timelines/public").status_code == 401
    assert app_client.get(f"/api/v1/statuses/{post.pk}").status_code == 401
    # A made-up or revoked token is no token.
    assert Client(headers={"Authorization": "Bearer nonsense"}).get("/api/v1/instance/peers").status_code == 200
    assert Client(headers={"Authorization": "Bearer nonsense"}).get("/api/v1/directory").status_code == 401
    # Sign-up through the API (with the app's token) stays possible.
    r = app_client.post(
        "/api/v1/accounts",
        {
            "username": "newbie",
            "email": "newbie@example.org",
            "password": "a long enough password 1",
            "agreement": "true",
            "locale": "en",
        },
    )
    assert r.status_code == 200, r.content


def test_a1_require_auth_is_off_by_default(world, settings):
    settings.ROSTRA = dataclasses.replace(settings.ROSTRA, redis_url=None, rate_limits="")
    assert settings.ROSTRA.api_require_auth is False
    post = make_post(world.alice, "hello, world")
    assert Client().get(f"/api/v1/statuses/{post.pk}").status_code == 200


def test_a1_require_auth_closes_anonymous_streams_too(db, settings):
    from rostra.streaming.app import StreamingApp
    from rostra.streaming.hub import StreamError, authenticate, check_stream

    app = StreamingApp()  # its thread pool starts no thread until used
    settings.ROSTRA = dataclasses.replace(settings.ROSTRA, api_require_auth=False, streaming_anonymous=True)
    assert app.anonymous_public is True
    check_stream(authenticate(None, app.anonymous_public), "public", {})  # open by default
    settings.ROSTRA = dataclasses.replace(settings.ROSTRA, api_require_auth=True)
    assert app.anonymous_public is False
    with pytest.raises(StreamError) as refused:
        check_stream(authenticate(None, app.anonymous_public), "public", {})
    assert refused.value.status == 401
    app.hub.pool.shutdown()
