"""Schemathesis over the statuses, media and polls operations only: no server error, and every
answer matches the documented schema (the whole-API run is tests/api/test_schemathesis.py)."""

from __future__ import annotations

import dataclasses

import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections

from rostra.testing.world import make_post
from tests.api.test_schemathesis import fuzz, wsgi_app  # noqa: F401 - the fixture is used by name

MINE = r"^/api/v[12]/(statuses|media|polls)"


def test_statuses_media_and_polls_survive_fuzzing(world, password_token, settings, wsgi_app):  # noqa: F811
    settings.ROSTRA = dataclasses.replace(settings.ROSTRA, rate_limits="scale=1000")
    make_post(world.bob, "something to act on")
    token = password_token(world.alice, "read write follow push profile")
    # The test client behind password_token reconnects Django's per-request connection closing;
    # undo that again, or the first WSGI request would close the test's database.
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", wsgi_app).include(path_regex=MINE)
    failures, skipped, ran = fuzz(schema, {"Authorization": f"Bearer {token}"}, budget_s=60.0)
    assert ran >= 20 and not skipped
    assert not failures, "\n".join(f"{label}: {message}" for label, message in sorted(failures.items()))
