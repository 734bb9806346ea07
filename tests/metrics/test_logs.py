"""Structured logs: one JSON object a line, carrying the request's id and fields, never an address."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.test import Client

from rostra.accounts.models import Account
from rostra.core import logs
from rostra.testing.world import make_account, make_post


@pytest.fixture
def json_lines() -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """What Rostra's loggers write through the JSON handler (as ROSTRA_LOG_FORMAT=json sets it up)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonFormatter())
    handler.addFilter(logs.ContextFilter())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


def test_each_request_writes_one_json_line_with_its_id(db: None, json_lines: Callable[[], list[dict[str, Any]]]) -> None:
    alice = make_account("alice")
    post = make_post(alice, "Logged")
    r = Client().get(f"/@alice/{post.pk}", REMOTE_ADDR="198.51.100.23", HTTP_USER_AGENT="SecretAgent/1.0")
    lines = [x for x in json_lines() if x["logger"] == "rostra.request"]
    assert len(lines) == 1
    line = lines[0]
    assert line["request_id"] == r["X-Request-Id"]
    assert line["method"] == "GET" and line["route"] == "thread" and line["status"] == 200
    assert line["level"] == "INFO" and line["process"] == "web"
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert line["time"].endswith("Z") and "T" in line["time"]
    assert "account_id" not in line and "user_id" not in line
    text = json.dumps(line)
    assert "198.51.100.23" not in text and "SecretAgent" not in text and str(post.pk) not in text


def test_signed_in_requests_name_the_account_and_tokens_never_appear(
    db: None,
    json_lines: Callable[[], list[dict[str, Any]]],
    client_for: Callable[[Account | None], Client],
) -> None:
    alice = make_account("alice")
    c = client_for(alice)
    assert c.get("/home").status_code == 200
    line = next(x for x in json_lines() if x["logger"] == "rostra.request" and x["route"] == "home")
    assert line.get("account_id") == alice.pk or line.get("user_id") == alice.user_id
    # An API request with a bearer token and a token in the query: neither is written.
    Client().get("/api/v1/timelines/public?access_token=leaky-token-123", HTTP_AUTHORIZATION="Bearer leaky-token-456")
    dump = json.dumps(json_lines())
    assert "leaky-token" not in dump and "access_token" not in dump


def test_lines_logged_during_a_request_carry_its_id(json_lines: Callable[[], list[dict[str, Any]]]) -> None:
    token = logs.bind(request_id="abc123", route="home")
    try:
        logging.getLogger("rostra.somewhere").warning("inside %s", "a request")
    finally:
        logs.unbind(token)
    logging.getLogger("rostra.somewhere").warning("outside")
    inside, outside = json_lines()[-2:]
    assert inside["message"] == "inside a request" and inside["request_id"] == "abc123" and inside["route"] == "home"
    assert "request_id" not in outside


def test_exceptions_are_one_line_with_the_traceback(json_lines: Callable[[], list[dict[str, Any]]]) -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("rostra.x").exception("failed")
    line = json_lines()[-1]
    assert line["level"] == "ERROR" and "ValueError: boom" in line["exc"]


def test_text_format_keeps_the_request_id() -> None:
    record = logging.LogRecord("rostra.request", logging.INFO, __file__, 1, "GET home 200", None, None)
    record.request_id = "r1"
    record.status = 200
    out = logs.TextFormatter().format(record)
    assert "GET home 200" in out and "request_id=r1" in out and "status=200" in out


def test_logging_config_follows_the_format() -> None:
    assert logs.logging_config("json", "INFO")["handlers"]["console"]["formatter"] == "json"
    assert logs.logging_config("text", "DEBUG")["handlers"]["console"]["formatter"] == "text"
    assert logs.logging_config("text", "DEBUG")["root"]["level"] == "DEBUG"
