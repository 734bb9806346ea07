"""A real `rostra serve` with two gunicorn workers, the task worker and the streaming process:
/metrics adds up every process's figures, and every log line is JSON with the request id."""

from __future__ import annotations

import json
import os
import subprocess
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.multiprocess import MultiProcessCollector

from tests.live import RBIN, serve
from tests.metrics.conftest import parse, value

pytestmark = pytest.mark.skipif(os.environ.get("ROSTRA_SKIP_LIVE") == "1", reason="live server tests skipped")

COUNT = "rostra_http_request_duration_seconds_count"


def _get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=20) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def _per_process_counts(metrics_dir: Path, route: str) -> dict[str, float]:
    """The request count of ``route`` in each process's own file."""
    out: dict[str, float] = {}
    for f in sorted(metrics_dir.glob("histogram_*.db")):
        total = 0.0
        for metric in MultiProcessCollector.merge([str(f)]):
            for s in metric.samples:
                if s.name == COUNT and s.labels.get("route") == route:
                    total += s.value
        if total:
            out[f.stem.split("_", 1)[1]] = total
    return out


def test_two_workers_one_scrape_and_json_logs(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    # A file left by a process that no longer runs is cleaned away at start.
    (data / "metrics").mkdir()
    stale = data / "metrics" / f"counter_{os.uname().nodename}-999999999.db"
    stale.write_bytes(b"\0" * 8)
    token = "live-metrics-token-0123456789"
    # Migrated beforehand, so the server's start (on a busy machine) fits in serve()'s minute.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ROSTRA_", "DJANGO_", "DATABASE_URL", "REDIS_URL"))}
    subprocess.run([RBIN, "migrate"], env={**env, "ROSTRA_DATA_DIR": str(data)}, check=True, capture_output=True)
    # Load shedding off: on a busy test machine a burst of requests may wait in the queue long enough to be shed.
    extra = {"ROSTRA_LOG_FORMAT": "json", "ROSTRA_METRICS_TOKEN": token, "ROSTRA_SHED_QUEUE_MS": "0"}
    with serve(data, workers=2, ready_path="/about", extra_env=extra, args=["--no-migrate"]) as live:
        assert not stale.exists()
        ids: list[str] = []

        def hit(_: int) -> str:
            status, headers, _body = _get(live + "/about")
            assert status == 200
            return headers["X-Request-Id"]

        # Concurrent requests until both web workers have served some (the kernel spreads connections).
        per_process: dict[str, float] = {}
        with ThreadPoolExecutor(8) as pool:
            for _ in range(20):
                ids += list(pool.map(hit, range(40)))
                per_process = _per_process_counts(data / "metrics", "about")
                if len(per_process) >= 2:
                    break
        assert len(per_process) >= 2, per_process

        status, _, body = _get(live + "/metrics")
        assert status == 200
        samples = parse(body.decode())
        # The scrape is the sum of both workers' files: every request counted once (the readiness probes too).
        total = value(samples, COUNT, route="about", method="GET", status="2xx")
        assert total == sum(per_process.values())
        assert total >= len(ids)
        # The task worker's and the streaming process's figures are there too.
        assert value(samples, "rostra_process_resident_memory_bytes", kind="web") > 0
        assert value(samples, "rostra_process_resident_memory_bytes", kind="worker") > 0
        assert value(samples, "rostra_process_resident_memory_bytes", kind="streaming") > 0
        assert ("rostra_task_queue_depth", ()) in samples
        assert ("rostra_pipeline_events_pending", ()) in samples

        # From elsewhere (as a proxy on loopback forwarding a stranger): 404; with the token: 200.
        assert _get(live + "/metrics", {"X-Forwarded-For": "203.0.113.5"})[0] == 404
        assert _get(live + "/metrics", {"X-Forwarded-For": "203.0.113.5", "Authorization": f"Bearer {token}"})[0] == 200

    lines = (data / "server.log").read_text().splitlines()
    records: list[dict[str, Any]] = [json.loads(line) for line in lines if line.startswith("{")]
    requests = [r for r in records if r["logger"] == "rostra.request"]
    logged_ids = {r["request_id"] for r in requests}
    assert set(ids) <= logged_ids
    assert all(r["route"] in ("about", "unmatched") or r["route"].startswith("api") for r in requests if r["status"] < 400)
    assert not any("127.0.0.1" in json.dumps(r) for r in requests)
    # gunicorn's own lines are JSON too, and its access log is off (no second line per request).
    assert any(r["logger"].startswith("gunicorn") for r in records)
    assert not any(line.startswith("127.0.0.1 - ") for line in lines)
    # The task worker's and the streaming process's lines (huey, uvicorn) are JSON lines as well.
    assert {r.get("process") for r in records} >= {"web", "worker", "streaming"}
    assert any(r["logger"].startswith("uvicorn") for r in records)
