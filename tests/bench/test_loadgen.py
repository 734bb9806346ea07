"""The open-loop load generator against a small real HTTP server started here, and each HTTP scenario
run once at tiny scale against a live `rostra serve` (SQLite, or PostgreSQL + Redis when the suite
runs on them). No timed assertions: only that the code paths work and report what they saw."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from bench.suite import loadgen
from bench.suite.context import BenchContext
from bench.suite.loadgen import LoadgenError, Request
from bench.suite.scenarios import SCENARIOS, context_from_json, context_to_json
from tests.live import serve

ROOT = Path(__file__).resolve().parents[2]

# --- the generator against a small real server ---------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive
    seen: list[tuple[float, str, str, bytes]] = []  # (arrival time, method, path + auth, body)
    delay = 0.0

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        _Handler.seen.append((time.monotonic(), self.command, f"{self.path} {self.headers.get('Authorization')}", body))
        if self.path.startswith("/slow"):
            time.sleep(_Handler.delay)
        if self.path.startswith("/fail"):
            status, out = 503, b'{"error":"busy"}'
        else:
            status, out = 200, b'[{"id":"1"}]'
        self.send_response(status)
        if self.path.startswith("/chunked"):
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self.wfile.write(b'5\r\n[{"id\r\n7\r\n":"1"}]\r\n0\r\n\r\n')
            return
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    do_GET = do_POST = _answer

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def little_server() -> Iterator[str]:
    _Handler.seen = []
    _Handler.delay = 0.0
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_open_loop_follows_its_schedule_and_counts_statuses(little_server: str) -> None:
    src = loadgen.mix(
        [
            (1, lambda i: Request("GET", f"/ok?i={i}", token="tok", tag="ok")),
            (1, lambda i: Request("POST", "/fail", token="tok", body={"n": i}, tag="fail")),
        ],
        seed=3,
    )
    t0 = time.monotonic()
    r = loadgen.run_open(little_server, src, rate=40, duration=0.5)
    assert r.mode == "open" and r.target_rate == 40
    total = r.total()
    assert total.sent == 20  # 40/s for 0.5 s: the schedule, whatever the answers
    assert len(_Handler.seen) == 20
    ok, fail = r.by_tag["ok"], r.by_tag["fail"]
    assert ok.sent + fail.sent == 20 and ok.sent > 0 and fail.sent > 0
    assert ok.completed == ok.sent and not ok.errors
    assert fail.completed == 0 and fail.errors == {"503": fail.sent}
    f = r.figures()
    assert f["error_rate"] == pytest.approx(fail.sent / 20)
    assert 0 < f["p50_ms"] <= f["p90_ms"] <= f["p99_ms"] <= f["max_ms"]
    # arrivals follow the schedule: request i is not sent before start + i/rate (and start >= t0)
    arrivals = sorted(t for t, *_ in _Handler.seen)
    assert all(t >= t0 + i / 40 for i, t in enumerate(arrivals))
    # bearer tokens and JSON bodies went out
    assert all(auth.endswith("Bearer tok") for _, _, auth, _ in _Handler.seen)
    posted = {json.loads(b)["n"] for _, m, _, b in _Handler.seen if m == "POST"}
    got = {int(p.split("i=")[1].split(" ")[0]) for _, m, p, _ in _Handler.seen if m == "GET"}
    assert len(posted) == fail.sent and posted | got == set(range(20))


def test_latency_is_measured_from_the_scheduled_time(little_server: str) -> None:
    # One connection, a server that takes 0.2 s: request k waits for the k before it, and the
    # generator charges that wait (a closed-loop tool would report ~0.2 s for each).
    _Handler.delay = 0.2
    r = loadgen.run_open(
        little_server, loadgen.constant(Request("GET", "/slow", tag="slow")), rate=20, duration=0.25, max_connections=1
    )
    s = r.by_tag["slow"]
    assert s.sent == 5 and s.completed == 5
    lat = sorted(s.latencies_ms)
    assert lat[0] >= 200
    assert lat[-1] >= 4 * 200 - 4 * 50  # the fifth waited for four answers, less its 4 x 50 ms of schedule offset
    assert lat[-1] > 2 * lat[0]


def test_poisson_arrivals_and_timeouts(little_server: str) -> None:
    _Handler.delay = 1.0
    r = loadgen.run_open(
        little_server,
        loadgen.constant(Request("GET", "/slow", tag="t")),
        rate=30,
        duration=0.3,
        poisson=True,
        timeout=0.3,
        max_connections=4,
    )
    s = r.by_tag["t"]
    assert s.sent > 0 and s.errors["timeout"] == s.sent and s.completed == 0


def test_closed_loop_and_chunked_bodies(little_server: str) -> None:
    r = loadgen.run_closed(little_server, loadgen.constant(Request("GET", "/chunked", tag="c")), concurrency=3, duration=0.4)
    s = r.by_tag["c"]
    assert r.mode == "closed" and r.concurrency == 3
    assert s.completed == s.sent > 0 and not s.errors
    assert loadgen.call(little_server, Request("GET", "/chunked")).body == b'[{"id":"1"}]'


def test_several_processes_share_the_rate(little_server: str) -> None:
    r = loadgen.run_open(little_server, loadgen.constant(Request("GET", "/ok", tag="ok")), rate=40, duration=0.5, processes=2)
    assert r.by_tag["ok"].sent == 20 and r.by_tag["ok"].completed == 20 and r.target_rate == 40


def test_unreachable_target_is_counted_not_raised() -> None:
    from tests.live import free_port

    r = loadgen.run_open(f"http://127.0.0.1:{free_port()}", loadgen.constant(Request("GET", "/")), rate=20, duration=0.2)
    assert r.total().sent == 4 and r.total().completed == 0 and sum(r.total().errors.values()) == 4


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"base_url": "https://x.example", "rate": 1, "duration": 1}, "http://"),
        ({"base_url": "http://127.0.0.1:1", "rate": 0, "duration": 1}, "positive number of requests"),
        ({"base_url": "http://127.0.0.1:1", "rate": float("inf"), "duration": 1}, "positive number of requests"),
        ({"base_url": "http://127.0.0.1:1", "rate": 1, "duration": -1}, "positive number of seconds"),
        ({"base_url": "http://127.0.0.1:1", "rate": 1, "duration": 1, "processes": 0}, "processes"),
    ],
)
def test_bad_arguments_are_refused_before_any_load(kwargs: dict, message: str) -> None:
    with pytest.raises(LoadgenError, match=message):
        loadgen.run_open(source=loadgen.constant(Request("GET", "/")), **kwargs)


def test_bad_mix_and_concurrency_are_refused() -> None:
    with pytest.raises(LoadgenError, match="positive weights"):
        loadgen.mix([])
    with pytest.raises(LoadgenError, match="concurrency"):
        loadgen.run_closed("http://127.0.0.1:1", loadgen.constant(Request("GET", "/")), 0, 1)


def test_cli_drives_any_target_and_reports(little_server: str) -> None:
    cmd = [
        sys.executable,
        "-m",
        "bench.suite.loadgen",
        "--target",
        little_server,
        "--token",
        "T",
        "--rate",
        "20",
        "--seconds",
        "0.3",
        "--json",
    ]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True)
    doc = json.loads(out.stdout)
    assert doc["mode"] == "open" and doc["sent"] == 6 and doc["completed"] == 6
    bad = subprocess.run([*cmd[:4], "ftp://nowhere", "--seconds", "0.1"], check=False, cwd=ROOT, capture_output=True, text=True)
    assert bad.returncode == 2 and "must be an http:// URL" in bad.stderr
    ceiling = subprocess.run(
        [sys.executable, "-m", "bench.suite.loadgen", "--self-ceiling", "--seconds", "0.5"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert "generator ceiling, 1 process(es):" in ceiling.stdout


def test_percentile() -> None:
    assert loadgen.percentile([], 99) == 0.0
    assert loadgen.percentile([5.0], 50) == 5.0
    values = [float(v) for v in range(1, 101)]
    assert (
        loadgen.percentile(values, 50) == 50 and loadgen.percentile(values, 99) == 99 and loadgen.percentile(values, 100) == 100
    )


# --- the scenarios at tiny scale against a live `rostra serve` --------------------------------------------------------

# A small community written straight into the server's database (the benchmark's own loader,
# bench/suite/graph.py, builds the real ones): 30 accounts, everyone follows the celebrity,
# each reader follows a few others; tokens for 8 readers and the celebrity; a sign-up app.
BUILD_COMMUNITY = """
import json, random
import django
django.setup()
from django.contrib.auth.hashers import make_password
from rostra.accounts.models import Account, Follow, User
from rostra.api import oauth
rng = random.Random(5)
pw = make_password("tiny-bench-password")
users = User.objects.bulk_create([User(username=f"t{i}", email=f"t{i}@bench.example", password=pw) for i in range(30)])
accounts = Account.objects.bulk_create([Account(user=u, username=u.username) for u in users])
celebrity = accounts[0]
follows = {(a.pk, celebrity.pk) for a in accounts[1:]}
for a in accounts[1:]:
    for b in rng.sample(accounts[1:], 4):
        if b.pk != a.pk:
            follows.add((a.pk, b.pk))
Follow.objects.bulk_create([Follow(follower_id=f, target_id=t) for f, t in follows])
reg = oauth.register_app("tiny bench", oauth.OOB, "read write follow")
scopes = frozenset({"read", "write", "follow"})
readers = accounts[1:9]
print(json.dumps(dict(
    profile="tiny", account_ids=[a.pk for a in accounts], celebrity_id=celebrity.pk, celebrity_followers=len(accounts) - 1,
    celebrity_token=oauth._issue(reg.application, celebrity.user, scopes).access_token,
    reader_tokens=[oauth._issue(reg.application, a.user, scopes).access_token for a in readers], reader_ids=[a.pk for a in readers],
    client_id=reg.application.client_id, client_secret=reg.client_secret,
    app_token=oauth.client_credentials(reg.application, "write:accounts").access_token, follows=len(follows), posts=0)))
"""


def _database_env() -> dict[str, str]:
    env: dict[str, str] = {}
    pg = os.environ.get("ROSTRA_TEST_DATABASE_URL")
    if pg:
        import psycopg

        parts = urlsplit(pg)
        url = urlunsplit(parts._replace(path=f"{parts.path.rstrip('/') or '/rostra'}_loadgen{os.getpid()}"))
        with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{urlsplit(url).path.lstrip("/")}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{urlsplit(url).path.lstrip("/")}"')
        env["DATABASE_URL"] = url
    if os.environ.get("ROSTRA_TEST_REDIS_URL"):
        env["REDIS_URL"] = os.environ["ROSTRA_TEST_REDIS_URL"]
    return env


def _drop(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{parts.path.lstrip("/")}" WITH (FORCE)')


@pytest.fixture(scope="module")
def bench_context(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A live `rostra serve` with a tiny community, as a BenchContext JSON file."""
    data = tmp_path_factory.mktemp("loadgen-server")
    extra = {"ROSTRA_RATE_LIMITS": "scale=100000", **_database_env()}
    # Migrate first, so the server's start (awaited for at most a minute) is quick even on a busy machine.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ROSTRA_", "DJANGO_", "DATABASE_URL", "REDIS_URL"))}
    subprocess.run(
        [str(Path(sys.executable).parent / "rostra"), "migrate"],
        env={**env, "ROSTRA_DATA_DIR": str(data), **extra},
        check=True,
        capture_output=True,
    )
    try:
        with serve(data, extra_env=extra, ready_path="/api/v1/instance", args=("--no-migrate",)) as live:
            env = {**live.env, "DJANGO_SETTINGS_MODULE": "rostra.config.settings", "PYTHONPATH": str(ROOT)}
            built = subprocess.run(
                [sys.executable, "-c", BUILD_COMMUNITY], check=False, env=env, cwd=ROOT, capture_output=True, text=True
            )
            assert built.returncode == 0, built.stderr
            ctx = BenchContext(
                profile="tiny",
                database="postgres" if "DATABASE_URL" in extra else "sqlite",
                base_url=str(live),
                ceiling_url=str(live),
                env=env,
                data_dir=data,
                community=context_from_json(
                    {
                        "profile": "tiny",
                        "database": "",
                        "base_url": "",
                        "ceiling_url": "",
                        "env": {},
                        "data_dir": "",
                        "step_seconds": 0,
                        "community": json.loads(built.stdout.strip().splitlines()[-1]),
                    }
                ).community,
                step_seconds=1.0,
                quick=True,
            )
            path = data / "ctx.json"
            path.write_text(json.dumps(context_to_json(ctx)))
            yield path
    finally:
        if "DATABASE_URL" in extra:
            _drop(extra["DATABASE_URL"])


@pytest.mark.parametrize("name", [name for name, _ in SCENARIOS])
def test_each_scenario_runs_at_tiny_scale(bench_context: Path, name: str) -> None:
    doc = json.loads(bench_context.read_text())
    out = subprocess.run(
        [sys.executable, "-m", "bench.suite.scenarios", "--context", str(bench_context), "--only", name],
        env=doc["env"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    results, notes = report["results"], report["notes"]
    expected = {
        "home_reads": {"home_reads_per_s", "home_reads_per_s_c1", "home_reads_per_s_c4", "home_ceiling_reads_per_s", "home_first_read_p50_ms"},
        "mixed_knee": {"mixed_knee_rps", "home_p99_ms"},
        "posts_per_s": {"posts_per_s"},
        "celebrity_fanout": {"celebrity_fanout_50pct_s", "celebrity_fanout_99pct_s", "celebrity_fanout_100pct_s"},
        "signups": {"signups_per_s"},
    }[name]
    assert expected <= set(results), (results, out.stderr)
    assert notes
    # No timed assertions (the machine is shared): only that each figure was measured and reported.
    assert all(v >= 0 for v in results.values())
    if name == "home_reads":
        assert all("errors 0" in n for n in notes), notes
    elif name == "posts_per_s":
        assert "accepted" in notes[0] and "errors 0" in notes[0], notes
    elif name == "celebrity_fanout":
        assert "celebrity post to 30 home timelines" in notes[0], notes  # 29 followers and the celebrity
        assert results["celebrity_fanout_50pct_s"] <= results["celebrity_fanout_99pct_s"] <= results["celebrity_fanout_100pct_s"]
    elif name == "signups":
        assert "errors 0" in notes[0], notes


def test_scenarios_cli_refuses_a_bad_context(tmp_path: Path) -> None:
    bad = tmp_path / "ctx.json"
    bad.write_text('{"profile": "tiny"}')
    out = subprocess.run(
        [sys.executable, "-m", "bench.suite.scenarios", "--context", str(bad)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 2 and "not a usable context" in out.stderr


def test_asyncio_api_is_usable_directly(little_server: str) -> None:
    r = asyncio.run(loadgen.run_open_async(little_server, loadgen.constant(Request("GET", "/ok")), 10, 0.3))
    assert r.total().completed == 3
