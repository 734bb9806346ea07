"""B1 schemathesis: every operation of /api/openapi.json, fuzzed in-process (WSGI) with a valid
bearer token. Checks: no server error, and the response matches the documented schema.

A small fixed budget keeps it fast (a few examples per operation, the whole test well under
90 s); failures are listed per operation in one message.
"""

from __future__ import annotations

import dataclasses
import time
import warnings
from typing import Any

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

EXAMPLES_PER_OPERATION = 6
TIME_BUDGET_S = 75.0  # a slow, shared machine stops early (with a warning) rather than time out
CHECKS = [not_a_server_error, response_schema_conformance]


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:400] + ("…" if len(text) > 400 else "")


def fuzz(schema: Any, headers: dict[str, str], budget_s: float = TIME_BUDGET_S) -> tuple[dict[str, str], list[str], int]:
    """Run each operation a few times; (failures by operation label, operations not reached, operations run)."""
    failures: dict[str, str] = {}
    skipped: list[str] = []
    ran = 0
    started = time.monotonic()
    operations = [r.ok() for r in schema.get_all_operations()]
    for op in operations:
        if time.monotonic() - started > budget_s:
            skipped.append(op.label)
            continue
        ran += 1

        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=op.as_strategy())
        def run(case: Any) -> None:
            response = case.call(headers=headers)
            case.validate_response(response, checks=CHECKS)

        try:
            run()
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:  # every failure (an exception group too) is reported, per operation
            failures[op.label] = _short(exc)
    return failures, skipped, ran


@pytest.fixture
def wsgi_app() -> Any:
    """Django as a WSGI application, inside the test's transaction.

    A bare WSGI handler closes the database connection (and with it the test transaction) at
    the start and end of each request; Django's test client avoids that by disconnecting
    ``close_old_connections`` around its own requests (and connecting it again after them), so
    this app does the same before each of its requests."""
    handler = WSGIHandler()

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        for signal in (request_started, request_finished):
            signal.disconnect(close_old_connections)
        return handler(environ, start_response)

    yield app
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


def test_b1_schemathesis(world, password_token, settings, wsgi_app):
    # Hundreds of requests from one token and one address: raise the limits for this test only.
    settings.ROSTRA = dataclasses.replace(settings.ROSTRA, rate_limits="scale=1000")
    token = password_token(world.alice, "read write follow push profile")
    document = Client().get("/api/openapi.json").json()
    schema = schemathesis.openapi.from_dict(document)
    schema.app = wsgi_app  # requests go to the Django app in-process (WSGI), no server
    started = time.monotonic()
    failures, skipped, ran = fuzz(schema, {"Authorization": f"Bearer {token}"})
    elapsed = time.monotonic() - started
    print(f"schemathesis: {ran} operations in {elapsed:.1f} s, {len(failures)} failing, {len(skipped)} not reached")
    for label, message in sorted(failures.items()):
        print(f"FAIL {label}: {message}")
    # The fuzzing ran signed in throughout (nothing it sent revoked the token or locked the account).
    assert Client(headers={"Authorization": f"Bearer {token}"}).get("/api/v1/accounts/verify_credentials").status_code == 200
    if skipped:
        warnings.warn(f"schemathesis: out of time before {len(skipped)} operations: {skipped}", stacklevel=1)
    assert not failures, "\n".join(f"{label}: {message}" for label, message in sorted(failures.items()))
