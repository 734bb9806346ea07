"""The Redis bus end to end: `rostra serve` with REDIS_URL, a post reaches a follower's socket.

Runs when `make test` provides Redis (ROSTRA_TEST_REDIS_URL); the live server gets its own Redis
database (13) so its worker never takes the in-process tests' queued tasks.
"""

from __future__ import annotations

import asyncio
import json
import os
from urllib.parse import urlsplit, urlunsplit

import pytest
from websockets.asyncio.client import connect

from tests.live import serve
from tests.streaming.test_streaming_live import Person, call, log_in, next_event, post, run, ws_url

pytestmark = pytest.mark.live

REDIS = os.environ.get("ROSTRA_TEST_REDIS_URL")
PASSWORD = "a-long-streaming-password-7"


@pytest.mark.skipif(not REDIS, reason="needs Redis (ROSTRA_TEST_REDIS_URL)")
def test_a_post_reaches_a_follower_over_the_redis_bus(tmp_path):
    parts = urlsplit(str(REDIS))
    url = urlunsplit(parts._replace(path="/13"))
    with serve(tmp_path, ready_path="/api/v1/instance", extra_env={"REDIS_URL": url}) as live:
        status, app = call(live, "POST", "/api/v1/apps", data={"client_name": "t", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob", "scopes": "read write follow"})
        assert status == 200
        for name in ("rita", "sol"):
            live.rostra("users", "create", name, "--email", f"{name}@example.org", "--password", PASSWORD)
        rita, sol = log_in(live, app, "rita"), log_in(live, app, "sol")
        rita_id = call(live, "GET", "/api/v1/accounts/verify_credentials", rita)[1]["id"]
        assert call(live, "POST", f"/api/v1/accounts/{rita_id}/follow", sol, {})[0] == 200

        async def scenario() -> None:
            async with connect(ws_url(live, stream="user", access_token=sol)) as ws:
                await asyncio.sleep(0.5)
                sent = await asyncio.to_thread(post, live, Person(rita_id, rita), "Sunny afternoon by the river.")
                frame = await next_event(ws, "update")
                assert json.loads(frame["payload"])["id"] == sent["id"]

        run(scenario())
    assert not (tmp_path / "streaming.sqlite3").exists()  # the SQLite bus was not used
