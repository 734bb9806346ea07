"""Admission control in-process: the middleware's decisions (rostra.core.admission)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory
from huey.contrib.djhuey import HUEY

from rostra.config.env import ConfigError, load
from rostra.core import admission
from rostra.core.admission import AdmissionMiddleware, decide, note_queue_wait, parse_request_start

pytestmark = pytest.mark.django_db


@pytest.fixture
def shed(settings) -> Iterator[None]:
    settings.ROSTRA = dataclasses.replace(
        settings.ROSTRA, shed_queue_ms=1000, shed_max_inflight=0, shed_task_backlog=0, shed_retry_after=5
    )
    admission._backlog.read_at = -1e9
    yield
    note_queue_wait(0.0)
    admission._backlog.read_at = -1e9


def _busy(response: HttpResponse) -> bool:
    return response.status_code == 503 and 5 <= int(response["Retry-After"]) <= 10


def test_a_request_that_waited_past_the_budget_gets_503_json_on_the_api(shed: None) -> None:
    note_queue_wait(1.5)
    response = Client().get("/api/v1/timelines/public")
    assert _busy(response)
    assert response["Content-Type"] == "application/json"
    assert json.loads(response.content) == {"error": admission.BUSY}
    assert response["Cache-Control"] == "no-store"


def test_a_web_page_gets_a_small_html_page(shed: None) -> None:
    note_queue_wait(1.5)
    response = Client().get("/about")
    assert _busy(response)
    assert response["Content-Type"].startswith("text/html")
    assert b"Very busy right now" in response.content


def test_below_the_budget_requests_are_served_and_the_wait_is_not_remembered(shed: None) -> None:
    note_queue_wait(0.9)
    assert Client().get("/api/v1/timelines/public").status_code == 200
    assert Client().get("/api/v1/timelines/public").status_code == 200  # the next request on the thread starts afresh


def test_writes_are_shed_at_half_the_budget_reads_are_not(shed: None) -> None:
    note_queue_wait(0.6)
    assert Client().get("/api/v1/timelines/public").status_code == 200
    note_queue_wait(0.6)
    assert _busy(Client().post("/api/v1/statuses", {"status": "hello"}))


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/reports",
        "/report",
        "/api/v1/accounts/123/block",
        "/api/v1/accounts/123/unmute",
        "/@alice/block",
        "/moderation/cases/1/decide",
        "/api/v1/admin/reports/1/resolve",
        "/notices/5/appeal",
        "/logout",
        "/oauth/revoke",
    ],
)
def test_safety_writes_are_never_shed(shed: None, path: str) -> None:
    assert admission.is_protected_write(path)
    assert decide(path=path, method="POST", waited_s=60, in_flight=10_000, backlog=lambda: 10**9) is None
    note_queue_wait(60)
    assert Client().post(path, {}).status_code != 503


def test_ordinary_writes_are_not_protected() -> None:
    for path in (
        "/api/v1/statuses",
        "/api/v1/statuses/1/favourite",
        "/api/v1/accounts/1/follow",
        "/compose",
        "/@alice/follow",
        "/reports",
    ):
        assert not admission.is_protected_write(path), path


def test_health_static_and_metrics_are_never_shed(shed: None, settings) -> None:
    settings.ROSTRA = dataclasses.replace(settings.ROSTRA, shed_max_inflight=1)
    for path in ("/health", "/static/rostra/app.css", "/metrics", "/robots.txt"):
        assert decide(path=path, method="GET", waited_s=60, in_flight=10_000, backlog=lambda: 10**9) is None
    note_queue_wait(60)
    response = Client().get("/health")
    assert response.status_code == 200
    assert json.loads(response.content) == {"status": "ok", "database": "ok", "in_flight": 0}
    note_queue_wait(60)
    assert Client().head("/health").status_code == 200
    note_queue_wait(60)
    assert Client().get("/static/no-such-file.css").status_code == 404  # whitenoise/Django answer, not the shedder


def test_health_answers_whatever_host_the_load_balancer_sends() -> None:
    assert Client(HTTP_HOST="10.1.2.3:8000").get("/health").status_code == 200


def test_health_is_never_rate_limited(settings) -> None:
    settings.ROSTRA = dataclasses.replace(settings.ROSTRA, rate_limits="api_ip=1/5m")
    client = Client()
    assert all(client.get("/health").status_code == 200 for _ in range(5))


def test_in_flight_bound(shed: None, settings) -> None:
    settings.ROSTRA = dataclasses.replace(settings.ROSTRA, shed_max_inflight=1)
    inner: list[HttpResponse] = []
    factory = RequestFactory()

    def view(request: HttpRequest) -> HttpResponse:
        if request.path == "/outer":  # while this one is in progress, a second arrives
            inner.append(middleware(factory.get("/api/v1/inner")))
            inner.append(middleware(factory.get("/health")))
        return HttpResponse("ok")

    middleware = AdmissionMiddleware(view)
    assert middleware(factory.get("/outer")).status_code == 200
    assert _busy(inner[0])
    assert json.loads(inner[1].content)["in_flight"] == 1
    assert inner[1].status_code == 200
    assert middleware(factory.get("/outer-again")).status_code == 200  # the place was given back
    assert middleware.in_flight == 0


def test_a_long_task_queue_sheds_writes_not_reads(shed: None, settings) -> None:
    settings.ROSTRA = dataclasses.replace(settings.ROSTRA, shed_task_backlog=2)
    for _ in range(3):
        HUEY.storage.enqueue(b"placeholder")
    assert HUEY.pending_count() == 3
    assert Client().get("/api/v1/timelines/public").status_code == 200
    assert _busy(Client().post("/api/v1/statuses", {"status": "hello"}))
    assert Client().post("/api/v1/reports", {}).status_code != 503


def test_a_trusted_proxys_request_start_counts(shed: None, settings) -> None:
    import time

    old = f"t={time.time() - 3:.3f}"
    settings.ROSTRA = dataclasses.replace(settings.ROSTRA, trusted_proxies=("127.0.0.1/32",))
    assert _busy(Client().get("/api/v1/timelines/public", HTTP_X_REQUEST_START=old))
    assert Client().get("/api/v1/timelines/public", HTTP_X_REQUEST_START=f"t={time.time():.3f}").status_code == 200
    # Not from a trusted proxy: the header is anyone's to write, and is ignored.
    settings.ROSTRA = dataclasses.replace(settings.ROSTRA, trusted_proxies=("10.0.0.0/8",))
    assert Client().get("/api/v1/timelines/public", HTTP_X_REQUEST_START=old).status_code == 200


def test_parse_request_start() -> None:
    now = 1_700_000_010.0
    assert parse_request_start("t=1700000000.5", now) == pytest.approx(9.5)
    assert parse_request_start("1700000000500", now) == pytest.approx(9.5)  # milliseconds
    assert parse_request_start("t=1700000000500000", now) == pytest.approx(9.5)  # microseconds
    assert parse_request_start("t=1700000020", now) == 0.0  # a proxy clock ahead of ours
    for bad in ("", "t=", "soon", "t=nan", "-5", "t=0"):
        assert parse_request_start(bad, now) is None, bad


def test_off_switches(shed: None, settings) -> None:
    settings.ROSTRA = dataclasses.replace(settings.ROSTRA, shed_queue_ms=0, shed_max_inflight=0, shed_task_backlog=0)
    assert decide(path="/api/v1/statuses", method="POST", waited_s=3600, in_flight=10_000, backlog=lambda: 10**9) is None


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ROSTRA_SHED_QUEUE_MS", "-1"),
        ("ROSTRA_SHED_QUEUE_MS", "soon"),
        ("ROSTRA_SHED_MAX_INFLIGHT", "5000"),
        ("ROSTRA_SHED_TASK_BACKLOG", "-3"),
        ("ROSTRA_SHED_RETRY_AFTER", "0"),
    ],
)
def test_bad_settings_name_the_variable(tmp_path, name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        load({"ROSTRA_DATA_DIR": str(tmp_path), name: value})


def test_settings_defaults(tmp_path) -> None:
    cfg = load({"ROSTRA_DATA_DIR": str(tmp_path)})
    assert (cfg.shed_queue_ms, cfg.shed_max_inflight, cfg.shed_task_backlog, cfg.shed_retry_after) == (1000, 0, 50000, 5)
