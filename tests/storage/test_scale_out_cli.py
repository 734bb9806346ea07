"""`rostra web` (the web server alone) and `rostra check --scale-out` (what several machines need)."""

from __future__ import annotations

import dataclasses
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from rostra.config.checks import scale_out_gaps
from rostra.config.cli import main

RBIN = str(Path(sys.executable).parent / "rostra")


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ROSTRA_", "DJANGO_", "DATABASE_", "REDIS_URL"))}
    env.update(ROSTRA_DATA_DIR=str(tmp_path / "data"), **extra)
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_check_scale_out_names_everything_a_single_machine_setup_lacks(db, capsys, settings, monkeypatch) -> None:
    monkeypatch.delenv("ROSTRA_SECRET_KEY", raising=False)
    settings.ROSTRA = dataclasses.replace(settings.ROSTRA, database_url=None, redis_url=None, media_s3_url=None)
    assert main(["check", "--scale-out"]) == 1
    out = capsys.readouterr().out
    assert "FAIL scale-out: database: SQLite is a file on one machine" in out
    assert "FAIL scale-out: queue, cache" in out and "set REDIS_URL" in out
    assert "FAIL scale-out: signing key" in out and "ROSTRA_SECRET_KEY" in out
    assert "FAIL scale-out: media" in out and "ROSTRA_MEDIA_S3_URL" in out
    # Without the flag, a one-machine instance is healthy.
    settings.ROSTRA = dataclasses.replace(settings.ROSTRA)
    assert "scale-out" not in (main(["check"]), capsys.readouterr().out)[1]


def test_a_complete_scale_out_configuration_passes(settings) -> None:
    cfg = dataclasses.replace(
        settings.ROSTRA,
        database_url="postgres://db.internal:5432/rostra",
        redis_url="redis://cache.internal:6379/0",
        media_s3_url="https://k:s@s3.example.com/media",
        database_replica_urls=("postgres://replica.internal:5432/rostra",),
    )
    gaps = scale_out_gaps(cfg, {"ROSTRA_SECRET_KEY": "s" * 48})
    assert all(ok for ok, _, _ in gaps), gaps
    assert any("1 (DATABASE_REPLICA_URLS)" in detail for _, _, detail in gaps)


def test_web_dry_run_is_the_gunicorn_of_serve_without_migrating(db, capsys) -> None:
    assert main(["web", "--port", "8123", "--workers", "3", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "-m gunicorn rostra.config.wsgi:application --bind 127.0.0.1:8123 --workers 3" in out
    assert main(["web", "--workers", "65", "--dry-run"]) == 2
    assert "between 1 and 64" in capsys.readouterr().err


def test_rostra_web_serves_pages_alone_and_stops_on_sigterm(tmp_path) -> None:
    port = _free_port()
    env = _env(tmp_path, ROSTRA_DOMAIN=f"127.0.0.1:{port}", ROSTRA_WEB_WORKERS="1")
    subprocess.run([RBIN, "migrate"], check=True, env=env, capture_output=True, timeout=180)
    proc = subprocess.Popen(
        [RBIN, "web", "--port", str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        status = None
        for _ in range(300):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=15) as resp:
                    status = resp.status
                    break
            except OSError:  # not listening yet (URLError), or still loading (a read timeout)
                time.sleep(0.2)
        assert status == 200
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=40)
    assert proc.returncode == 0, out
    assert "web server for" in out and "streaming on" not in out  # neither streaming nor a worker was started
