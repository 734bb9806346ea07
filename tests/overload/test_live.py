"""A real `rostra serve` with a tiny admission bound, hammered: the excess is refused with 503 +
Retry-After, nothing fails or times out, and afterwards normal requests succeed."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.live import serve


def _get(url: str) -> tuple[int, str | None, str]:
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            return response.status, response.headers.get("Retry-After"), response.headers.get("Content-Type", "")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Retry-After"), exc.headers.get("Content-Type", "")


@pytest.mark.own_sqlite
def test_a_saturated_server_sheds_quickly_and_recovers(tmp_path: Path) -> None:
    env = {"ROSTRA_SHED_MAX_INFLIGHT": "1", "ROSTRA_RATE_LIMITS": "scale=1000"}
    with serve(tmp_path, workers=1, ready_path="/health", extra_env=env) as live:
        api = live + "/api/v1/timelines/public?limit=20"
        seen: Counter[tuple[int, bool]] = Counter()
        health: Counter[int] = Counter()
        with ThreadPoolExecutor(max_workers=24) as pool:
            for _ in range(10):  # a few rounds until the bound has certainly been hit
                urls = [api] * 46 + [live + "/about", live + "/health"]
                for url, (status, retry_after, content_type) in zip(urls, pool.map(_get, urls), strict=True):
                    if url.endswith("/health"):
                        health[status] += 1
                        continue
                    seen[(status, retry_after is not None)] += 1
                    if status == 503:
                        assert int(retry_after or 0) >= 1
                        assert content_type.startswith("application/json" if "/api/" in url else "text/html")
                if seen[(503, True)] >= 5:
                    break
        assert seen[(503, True)] >= 1, seen
        assert set(seen) <= {(200, False), (503, True)}, seen  # no 500, no 503 without Retry-After, no timeout (it raises)
        assert set(health) == {200}, health
        # The surge is over: ordinary requests are served again.
        for _ in range(5):
            assert _get(api)[0] == 200
        with urllib.request.urlopen(live + "/health", timeout=10) as response:
            assert json.loads(response.read())["status"] == "ok"
