"""masto.js (npm `masto`, a package.json dev dependency) runs tests/clients/masto/scenario.mjs against a live Rostra."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from PIL import Image

from tests.clients.conftest import ROOT, tail
from tests.live import LiveServer

pytestmark = [pytest.mark.live, pytest.mark.own_sqlite]

PASSWORD = "a-long-live-password-42"
SCENARIO = ROOT / "tests" / "clients" / "masto" / "scenario.mjs"


def test_masto_js_scenario(live_api: LiveServer, tmp_path):
    node = shutil.which("node")
    if node is None or not (ROOT / "node_modules" / "masto" / "package.json").exists():
        pytest.fail("masto.js is not installed: run `make clients` (needs Node.js and npm)", pytrace=False)
    for name in ("mara", "theo"):
        live_api.rostra("users", "create", name, "--email", f"{name}@example.org", "--password", PASSWORD)
    png = tmp_path / "red.png"
    Image.new("RGB", (64, 48), (200, 40, 90)).save(png, "PNG")
    env = {**live_api.env, "ROSTRA_URL": str(live_api), "ROSTRA_PASSWORD": PASSWORD, "ROSTRA_PNG": str(png)}
    out = subprocess.run([node, str(SCENARIO), "mara", "theo"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)
    steps = out.stdout + out.stderr
    failed = [line for line in steps.splitlines() if line.startswith("FAIL ")]
    assert out.returncode == 0 and not failed, "masto.js against Rostra:\n" + tail(steps, 40)
    assert "ok all" in out.stdout, tail(steps)
