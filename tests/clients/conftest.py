"""Real third-party clients (toot, masto.js) against a live `rostra serve`; installed by `make clients`."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.live import LiveServer, serve

ROOT = Path(__file__).resolve().parents[2]

# As everywhere outside tests/moderation/ (tests/conftest.py), the clients are tested under a policy that publishes
# everything: the screener's verdict on a client's test strings is not what these tests are about. Saved through the
# same action as the admin's policy page, so the server processes pick it up like any policy change.
LENIENT_POLICY = """
import django
django.setup()
from rostra.accounts.models import User
from rostra.moderation.actions import save_policy
from rostra.moderation.policy import default_document
doc = default_document()
for category in doc["categories"].values():
    category["thresholds"] = []
    category["new_account_thresholds"] = []
doc["spam_wave"]["action"] = "label"
doc["spam_wave"]["posts"] = 10_000
save_policy(User.objects.get(username="policykeeper"), doc, "client tests: publish everything")
"""


@pytest.fixture(scope="package")
def live_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    # toot's suite signs up ~200 accounts and makes ~1000 requests from 127.0.0.1 in a minute: lift the limits
    # (they are tested in tests/api/); everything else is the shipped configuration.
    limits = {"ROSTRA_RATE_LIMITS": "scale=1000"}
    with serve(tmp_path_factory.mktemp("live-clients"), workers=2, ready_path="/api/v1/instance", extra_env=limits) as live:
        live.rostra("users", "create", "policykeeper", "--email", "policykeeper@example.org", "--password", "a-long-admin-password-42", "--admin")
        subprocess.run([sys.executable, "-c", LENIENT_POLICY], env={**live.env, "DJANGO_SETTINGS_MODULE": "rostra.config.settings"},
                       check=True, capture_output=True, text=True)
        yield live


def tail(text: str, lines: int = 60) -> str:
    return "\n".join(text.splitlines()[-lines:])
