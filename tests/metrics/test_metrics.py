"""/metrics in one process: what moves when requests, posts and fan-outs happen, what the labels
say (URL pattern names, never paths), and who may read it."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.test import Client, RequestFactory
from huey.contrib.djhuey import HUEY

from rostra.config.env import ConfigError, load
from rostra.core import metrics
from rostra.core.observability import metrics_allowed, route_of
from rostra.testing.world import make_account, make_post
from tests.metrics.conftest import Samples, parse, value

TOKEN = "s3cret-metrics-token-0123456789"


def test_requests_are_counted_by_route_pattern_never_by_path(scrape: Callable[..., Samples]) -> None:
    alice = make_account("alice")
    post = make_post(alice, "Counting requests")
    before = scrape()
    c = Client()
    assert c.get(f"/@alice/{post.pk}").status_code == 200
    assert c.get("/@alice").status_code == 200
    assert c.get(f"/api/v1/statuses/{post.pk}").status_code == 200
    assert c.get("/api/v1/statuses/1234567").status_code == 404
    assert c.get("/no/such/page/98765").status_code == 404
    after = scrape()

    def delta(route: str, status: str) -> float:
        name = "rostra_http_request_duration_seconds_count"
        return value(after, name, route=route, status=status, method="GET") - value(
            before, name, route=route, status=status, method="GET"
        )

    assert delta("thread", "2xx") == 1
    assert delta("profile", "2xx") == 1
    assert delta("api:get_status", "2xx") == 1
    assert delta("api:get_status", "4xx") == 1
    assert delta("unmatched", "4xx") == 1
    # No label anywhere carries an id or a username from a path.
    labels = {v for (_, ls) in after for (_, v) in ls}
    assert not any(str(post.pk) in v or "98765" in v or "1234567" in v or "alice" in v for v in labels)
    # Buckets are cumulative and end with +Inf = count.
    inf = value(after, "rostra_http_request_duration_seconds_bucket", route="thread", le="+Inf")
    assert inf == value(after, "rostra_http_request_duration_seconds_count", route="thread")


def test_every_response_has_a_request_id(db: None) -> None:
    r = Client().get("/about")
    rid = r["X-Request-Id"]
    assert len(rid) == 32 and int(rid, 16) >= 0
    assert Client().get("/about")["X-Request-Id"] != rid


def test_a_client_cannot_choose_its_request_id_but_a_trusted_proxy_can(db: None, rostra_settings: Callable[..., None]) -> None:
    # Without trusted proxies, the header is ignored.
    assert Client().get("/about", HTTP_X_REQUEST_ID="chosen-by-client")["X-Request-Id"] != "chosen-by-client"
    rostra_settings(trusted_proxies=("10.1.2.3/32",))
    c = Client()
    assert c.get("/about", REMOTE_ADDR="10.1.2.3", HTTP_X_REQUEST_ID="from-the-proxy-42")["X-Request-Id"] == "from-the-proxy-42"
    assert (
        c.get("/about", REMOTE_ADDR="198.51.100.7", HTTP_X_REQUEST_ID="from-the-proxy-42")["X-Request-Id"] != "from-the-proxy-42"
    )
    # A malformed id (spaces, too long) from a trusted proxy is replaced too.
    assert c.get("/about", REMOTE_ADDR="10.1.2.3", HTTP_X_REQUEST_ID="a b")["X-Request-Id"] != "a b"
    assert len(c.get("/about", REMOTE_ADDR="10.1.2.3", HTTP_X_REQUEST_ID="x" * 200)["X-Request-Id"]) == 32


def test_screener_decisions_are_counted_by_action_and_source(scrape: Callable[..., Samples]) -> None:
    alice = make_account("alice")
    before = value(scrape(), "rostra_screener_decisions_total", action="publish", source="create")
    make_post(alice, "One")
    make_post(alice, "Two")
    assert value(scrape(), "rostra_screener_decisions_total", action="publish", source="create") == before + 2


def test_queue_depth_and_pending_events_are_read_at_scrape_time(
    scrape: Callable[..., Samples],
    run_tasks: Callable[[], int],
    django_capture_on_commit_callbacks: Any,
) -> None:
    alice = make_account("alice")
    run_tasks()
    assert value(scrape(), "rostra_task_queue_depth") == 0
    assert value(scrape(), "rostra_pipeline_events_pending") == 0
    with django_capture_on_commit_callbacks(execute=True):  # the post's event is enqueued on commit
        make_post(alice, "Queued work")
    s = scrape()
    assert value(s, "rostra_task_queue_depth") >= 1
    assert value(s, "rostra_pipeline_events_pending") >= 1
    run_tasks()
    s = scrape()
    assert value(s, "rostra_task_queue_depth") == 0
    assert value(s, "rostra_pipeline_events_pending") == 0
    assert value(s, "rostra_pipeline_events_failed") == 0
    assert HUEY.pending_count() == 0


def test_fanout_shed_and_streaming_figures(scrape: Callable[..., Samples]) -> None:
    before = scrape()
    metrics.observe_fanout(1.5, 250, 0.2)
    metrics.count_shed("queue_wait")
    metrics.count_shed("queue_wait")
    metrics.streaming_connections(3)
    after = scrape()
    assert value(after, "rostra_fanout_lag_seconds_count") == value(before, "rostra_fanout_lag_seconds_count") + 1
    assert (
        value(after, "rostra_fanout_lag_seconds_bucket", le="2.0")
        == value(before, "rostra_fanout_lag_seconds_bucket", le="2.0") + 1
    )
    assert value(after, "rostra_fanout_lag_seconds_bucket", le="1.0") == value(
        before, "rostra_fanout_lag_seconds_bucket", le="1.0"
    )
    assert value(after, "rostra_fanout_recipients_sum") == value(before, "rostra_fanout_recipients_sum") + 250
    assert value(after, "rostra_fanout_duration_seconds_count") == value(before, "rostra_fanout_duration_seconds_count") + 1
    assert (
        value(after, "rostra_http_requests_shed_total", reason="queue_wait")
        == value(before, "rostra_http_requests_shed_total", reason="queue_wait") + 2
    )
    assert value(after, "rostra_streaming_connections") == 3
    assert value(after, "rostra_process_resident_memory_bytes", kind="web") > 10_000_000
    metrics.streaming_connections(0)


def test_labels_from_odd_input_stay_tame(scrape: Callable[..., Samples]) -> None:
    metrics.observe_request("BREW", 'a"b\nc', 418, 0.01)
    s = scrape()
    assert value(s, "rostra_http_request_duration_seconds_count", method="other", route="a_b_c", status="4xx") >= 1


# --- Who may read /metrics ----------------------------------------------------------------------


def test_metrics_answer_loopback_and_404_elsewhere(db: None) -> None:
    assert Client().get("/metrics").status_code == 200
    assert Client().get("/metrics", REMOTE_ADDR="::1").status_code == 200
    r = Client().get("/metrics", REMOTE_ADDR="203.0.113.9")
    assert r.status_code == 404
    assert b"rostra_" not in r.content
    # Not through an untrusted proxy on loopback either: it forwarded someone else.
    assert Client().get("/metrics", HTTP_X_FORWARDED_FOR="203.0.113.9").status_code == 404
    assert Client().get("/metrics", HTTP_X_REAL_IP="203.0.113.9").status_code == 404
    # Only GET and HEAD read it.
    assert Client().post("/metrics").status_code in (403, 404, 405)


def test_metrics_token_and_allowed_networks(db: None, rostra_settings: Callable[..., None]) -> None:
    rostra_settings(metrics_token=TOKEN, metrics_allow=("10.0.0.0/8",), trusted_proxies=("192.0.2.1/32",))
    c = Client()
    far = {"REMOTE_ADDR": "203.0.113.9"}
    assert c.get("/metrics", **far).status_code == 404
    assert c.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}", **far).status_code == 200
    assert c.get("/metrics", HTTP_AUTHORIZATION=f"bearer {TOKEN}", **far).status_code == 200
    assert c.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}x", **far).status_code == 404
    assert c.get("/metrics", HTTP_AUTHORIZATION=f"Basic {TOKEN}", **far).status_code == 404
    assert c.get("/metrics", REMOTE_ADDR="10.20.30.40").status_code == 200
    # Through the trusted proxy: the client it names decides.
    assert c.get("/metrics", REMOTE_ADDR="192.0.2.1", HTTP_X_FORWARDED_FOR="10.9.9.9").status_code == 200
    assert c.get("/metrics", REMOTE_ADDR="192.0.2.1", HTTP_X_FORWARDED_FOR="203.0.113.9").status_code == 404
    assert c.get("/metrics", REMOTE_ADDR="192.0.2.1", HTTP_X_FORWARDED_FOR="127.0.0.1, 203.0.113.9").status_code == 404


def test_metrics_are_never_rate_limited(db: None, rostra_settings: Callable[..., None]) -> None:
    c = Client()
    for _ in range(3):
        assert c.get("/metrics").status_code == 200


@pytest.mark.parametrize(
    ("meta", "allowed"),
    [
        ({"REMOTE_ADDR": "127.0.0.1"}, True),
        ({"REMOTE_ADDR": "::ffff:127.0.0.1"}, True),
        ({"REMOTE_ADDR": "not an address"}, False),
        ({"REMOTE_ADDR": ""}, False),
        ({"REMOTE_ADDR": "127.0.0.1", "HTTP_FORWARDED": "for=203.0.113.9"}, False),
    ],
)
def test_metrics_allowed_rules(meta: dict[str, Any], allowed: bool) -> None:
    assert metrics_allowed(meta, token=None, allow=(), trusted_proxies=()) is allowed


def test_bad_metrics_and_log_settings_are_refused(tmp_path: Path) -> None:
    base = {"ROSTRA_DATA_DIR": str(tmp_path)}
    for env, words in [
        ({"ROSTRA_METRICS_ALLOW": "10.0.0.0/8,nope"}, "ROSTRA_METRICS_ALLOW"),
        ({"ROSTRA_METRICS_TOKEN": "short"}, "ROSTRA_METRICS_TOKEN"),
        ({"ROSTRA_METRICS_TOKEN": "has a space in it, really"}, "ROSTRA_METRICS_TOKEN"),
        ({"ROSTRA_LOG_FORMAT": "xml"}, "ROSTRA_LOG_FORMAT"),
    ]:
        with pytest.raises(ConfigError, match=words):
            load({**base, **env})
    cfg = load(
        {**base, "ROSTRA_METRICS_ALLOW": "10.0.0.0/8, 192.168.1.5", "ROSTRA_METRICS_TOKEN": TOKEN, "ROSTRA_LOG_FORMAT": "JSON"}
    )
    assert cfg.metrics_allow == ("10.0.0.0/8", "192.168.1.5/32")
    assert cfg.metrics_token == TOKEN
    assert cfg.log_format == "json"


# --- The shared directory -----------------------------------------------------------------------


def test_dead_processes_files_are_removed_and_other_hosts_files_kept(tmp_path: Path) -> None:
    host = metrics._host()
    dead = tmp_path / f"counter_{host}-999999999.db"
    live = tmp_path / f"counter_{host}-{os.getpid()}.db"
    gauge_dead = tmp_path / f"gauge_livesum_{host}-999999999.db"
    other = tmp_path / "counter_otherhost-999999999.db"
    for f in (dead, live, gauge_dead, other):
        f.write_bytes(b"")
    assert metrics.remove_dead_files(tmp_path) == 2
    assert not dead.exists() and not gauge_dead.exists()
    assert live.exists() and other.exists()


def test_parse_helper_reads_the_exposition() -> None:
    s = parse('# TYPE x counter\nx_total{a="1"} 2.0\n')
    assert value(s, "x_total", a="1") == 2.0


def test_a_request_answered_before_resolution_still_names_its_route() -> None:
    # Shed by admission control or refused by an earlier middleware: the pattern it was meant for.
    rf = RequestFactory()
    assert route_of(rf.get("/@alice/123")) == "thread"
    assert route_of(rf.get("/api/v1/timelines/home")) == "api:home"
    assert route_of(rf.get("/static/rostra.css")) == "static"
    assert route_of(rf.get("/no/such/thing")) == "unmatched"
