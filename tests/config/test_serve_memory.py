"""`rostra serve` forks its server processes from one parent that has set Django up, so they share
its memory instead of each importing Rostra again (docs/operations.md, "Memory of a small instance")."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from bench.suite.servers import free_port, process_tree_memory
from rostra.config.cli import main

RBIN = str(Path(sys.executable).parent / "rostra")


def test_web_loads_the_app_once_in_gunicorns_master_for_its_workers_to_share(db, capsys) -> None:
    assert main(["web", "--dry-run", "--port", "8123", "--workers", "3"]) == 0
    assert " --preload" in capsys.readouterr().out


def _cmdline(pid: int) -> bytes:
    return Path(f"/proc/{pid}/cmdline").read_bytes()


@pytest.mark.live
def test_serve_forks_web_worker_and_streaming_from_one_parent_and_they_share_its_pages(tmp_path: Path) -> None:
    port, streaming_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ROSTRA_", "DJANGO_", "DATABASE_URL", "REDIS_URL"))}
    env.update(
        ROSTRA_DATA_DIR=str(tmp_path / "data"), ROSTRA_DOMAIN=f"127.0.0.1:{port}", ROSTRA_WEB_WORKERS="2",
        ROSTRA_TASK_WORKERS="1", ROSTRA_STREAMING_PORT=str(streaming_port),
    )  # fmt: skip
    proc = subprocess.Popen(
        [RBIN, "serve", "--port", str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2).close()
                urllib.request.urlopen(f"http://127.0.0.1:{streaming_port}/api/v1/streaming/health", timeout=2).close()
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, "rostra serve did not start"
                time.sleep(0.3)
        while not (tmp_path / "data" / "tasks.sqlite3").exists():  # the task worker is up once it opened the queue
            assert proc.poll() is None and time.monotonic() < deadline, "the task worker did not start"
            time.sleep(0.3)
        tree = process_tree_memory(proc.pid)
        roles = sorted(p.role for p in tree)
        assert roles == sorted(["supervisor", "web master", "web worker", "web worker", "task worker", "streaming"]), roles
        names = {Path(f"/proc/{p.pid}/comm").read_text().strip() for p in tree if p.role != "supervisor"}
        assert names == {"rostra-web", "rostra-worker", "rostra-stream"}
        for p in tree:  # forked, not started anew: every process still has the supervisor's command line
            assert _cmdline(p.pid) == _cmdline(proc.pid), (p.role, _cmdline(p.pid))
            assert p.uss_mb <= p.pss_mb <= p.rss_mb
        for p in tree[1:]:  # most of each child's resident pages are the parent's, shared
            assert p.uss_mb < p.rss_mb / 2, p
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=40)
    assert proc.returncode == 0, out
