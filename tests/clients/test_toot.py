"""toot's own integration suite (from its sdist, unpacked by `make clients`) against a live Rostra.

toot (https://toot.bezdomni.net) is a Mastodon command-line client. Its `tests/integration` suite registers fresh
accounts through `POST /api/v1/accounts` with an app token, then drives every command (post, reply, media, polls,
timelines, lists, follow/mute/block, search, account updates) through click's CliRunner. It needs only
TOOT_TEST_BASE_URL: no direct database access (older toot versions confirmed e-mails through TOOT_TEST_DATABASE_DSN;
0.52 does not).
"""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from importlib.metadata import version
from pathlib import Path

import pytest

from tests.clients.conftest import ROOT, tail
from tests.live import LiveServer

pytestmark = [pytest.mark.live, pytest.mark.own_sqlite]

TOOT_VERSION = version("toot")
TOOT_SRC = ROOT / ".venv" / "clients" / f"toot-{TOOT_VERSION}"
TOOT = str(Path(sys.executable).parent / "toot")
PASSWORD = "a-long-live-password-42"

# Tests that cannot apply to Rostra, each with the reason. Everything else must pass.
INAPPLICABLE = {
    # They log in to a hard-coded http://localhost:3000 (Mastodon's development server), not TOOT_TEST_BASE_URL;
    # test_toot_login_cli below runs the same `toot login_cli` against the live server instead.
    "tests/integration/test_auth.py::test_login_cli": "hard-coded localhost:3000",
    "tests/integration/test_auth.py::test_login_cli_wrong_password": "hard-coded localhost:3000",
    # Uploads a WebM video with a custom thumbnail: Rostra accepts images only (docs/api-compatibility.md).
    "tests/integration/test_post.py::test_media_thumbnail": "video uploads",
    # Expects Mastodon's literal "Record invalid" for an unparsable scheduled_at (toot's comment calls it a "stupid
    # error"); Rostra answers the same 422 naming the field.
    "tests/integration/test_post.py::test_post_scheduled_at_error": "Mastodon's verbatim error text",
    # Expects Mastodon's wrong error ("You have already voted") for two choices in a single-choice poll, which
    # toot's own comment marks as a Mastodon bug; Rostra answers 422 "This poll allows only one choice."
    "tests/integration/test_polls.py::test_vote_not_multiple": "a Mastodon bug",
}


def test_toot_integration_suite(live_api: LiveServer, tmp_path):
    if not (TOOT_SRC / "tests" / "integration" / "conftest.py").exists():
        pytest.fail(f"toot's sources are missing at {TOOT_SRC}: run `make clients`", pytrace=False)
    report = tmp_path / "toot.xml"
    env = {**live_api.env, "TOOT_TEST_BASE_URL": str(live_api), "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "config")}
    args = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:django", "-p", "no:randomly",
            "--junitxml", str(report), "tests/integration"]
    for test in INAPPLICABLE:
        args += ["--deselect", test]
    out = subprocess.run(args, cwd=TOOT_SRC, env=env, capture_output=True, text=True, timeout=240, check=False)
    if not report.exists():
        pytest.fail(f"toot's suite did not run:\n{tail(out.stdout + out.stderr)}", pytrace=False)
    failures = []
    passed = 0
    for case in ET.parse(report).iter("testcase"):  # noqa: S314 - the report our own subprocess wrote
        name = f"{case.get('classname', '').rsplit('.', 1)[-1]}::{case.get('name')}"
        problem = case.find("failure")
        if problem is None:
            problem = case.find("error")
        if problem is not None:
            lines = [line.strip() for line in (problem.get("message") or problem.text or "?").splitlines() if line.strip()]
            failures.append(f"{name}: {' / '.join(lines[:3])[:500]}")
        elif case.find("skipped") is None:
            passed += 1
    assert not failures, f"{len(failures)} of toot's integration tests failed against Rostra ({passed} passed):\n" + "\n".join(failures)
    assert out.returncode == 0, tail(out.stdout + out.stderr)
    assert passed >= 100, f"only {passed} of toot's tests ran: {tail(out.stdout)}"


def toot_cli(live_api: LiveServer, config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**live_api.env, "XDG_CONFIG_HOME": str(config), "HOME": str(config)}
    return subprocess.run([TOOT, *args], env=env, capture_output=True, text=True, timeout=60, check=False)


def test_toot_login_cli(live_api: LiveServer, tmp_path):
    """What test_login_cli checks, against the live server: `toot login_cli` registers an app, logs in with the
    e-mail address and password (the password grant), saves the account, and `toot whoami` then works."""
    live_api.rostra("users", "create", "tooter", "--email", "tooter@example.org", "--password", PASSWORD)
    wrong = toot_cli(live_api, tmp_path, "login_cli", "--instance", live_api, "--email", "tooter@example.org", "--password", "not-it")
    assert wrong.returncode == 1 and wrong.stderr.strip() == "Error: Login failed", wrong.stdout + wrong.stderr
    out = toot_cli(live_api, tmp_path, "login_cli", "--instance", live_api, "--email", "tooter@example.org", "--password", PASSWORD)
    assert out.returncode == 0 and "Successfully logged in." in out.stdout, out.stdout + out.stderr
    me = toot_cli(live_api, tmp_path, "whoami")
    assert me.returncode == 0 and "@tooter" in me.stdout, me.stdout + me.stderr
