"""bench/overload.py and bench/soak.py at tiny scale: their code paths run and print their figures."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench import overload, soak

ROOT = Path(__file__).resolve().parents[2]


def _run(module: str, *args: str) -> str:
    # Its own server on its own temporary SQLite data dir, whatever database this test run uses.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ROSTRA_", "DJANGO_", "DATABASE_URL", "REDIS_URL"))}
    out = subprocess.run(
        [sys.executable, "-m", module, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


@pytest.mark.own_sqlite
def test_soak_at_tiny_scale(tmp_path: Path) -> None:
    import json

    stdout = _run(
        "bench.soak",
        "--minutes",
        "0.2",
        "--sample-seconds",
        "2",
        "--profile",
        "tiny",
        "--capacity-seconds",
        "1",
        "--concurrency",
        "4",
        "--json",
        str(tmp_path / "soak.json"),
    )
    for name in ("rss_growth_pct", "queues_drained", "queue_max", "rss_start_mb"):
        assert name in stdout
    figures = json.loads((tmp_path / "soak.json").read_text())
    assert len(figures["samples"]) >= 2
    assert figures["rss_start_mb"] > 0


@pytest.mark.own_sqlite
def test_overload_at_tiny_scale(tmp_path: Path) -> None:
    import json

    stdout = _run(
        "bench.overload",
        "--profile",
        "tiny",
        "--seconds",
        "2",
        "--capacity-seconds",
        "1",
        "--concurrency",
        "4",
        "--json",
        str(tmp_path / "overload.json"),
    )
    assert "shed_share" in stdout
    figures = json.loads((tmp_path / "overload.json").read_text())
    for name in ("capacity_rps", "offered_rps", "shed_share", "other_errors", "accepted_p99_ms", "recovery_s"):
        assert name in figures


def test_bad_arguments_are_refused_before_anything_starts(capsys) -> None:
    assert soak.main(["--minutes", "0"]) == 2
    assert overload.main(["--multiple", "-1"]) == 2
    assert overload.main(["--server-env", "SECRET"]) == 2
    assert "must be positive" in capsys.readouterr().err


def test_summary_counts_shed_answers_and_other_errors_apart() -> None:
    a = overload.Answer
    figures = overload.summarise(
        [
            a(200, False, 0.1, "read"),
            a(503, True, 0.01, "read"),
            a(429, True, 0.01, "write"),
            a(503, False, 0.01, "read"),
            a(500, False, 0.2, "write"),
            a(0, False, 30, "read", "timeout"),
            a(404, False, 0.1, "read"),
        ]
    )
    assert figures["shed"] == 2 and figures["shed_503"] == 1 and figures["shed_429"] == 1
    assert figures["other_errors"] == 3  # the 503 without Retry-After, the 500 and the timeout; not the 404
    assert figures["other_outcomes"] == {"503 without Retry-After": 1, "500": 1, "timeout": 1, "404": 1}
    assert figures["reads_shed_share"] == 0.2
