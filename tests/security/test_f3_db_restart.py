"""F3 db-restart: PostgreSQL stopped and started under a live `rostra serve` (docs/security.md, "Crash safety").

The test brings its own PostgreSQL cluster (initdb, pg_ctl; `make crash-deps` installs them), so it
runs the same in the SQLite and the PostgreSQL test runs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.live import free_port, serve
from tests.security.test_f_crash import INSTALL_PG, LIMITS, PASSWORD, Answer, app_token, create_database, eventually, http

pytestmark = pytest.mark.live

INITDB = ("-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync")


def pg_binary(name: str) -> str:
    found = shutil.which(name) or next(iter(sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), reverse=True)), None)
    if found is None:
        pytest.fail(f"F3 starts its own PostgreSQL and needs {name}: {INSTALL_PG}", pytrace=False)
    return str(found)


class PgCluster:
    """A throwaway PostgreSQL cluster on a free port (as the postgres user when run as root)."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="rostra-f3-pg-"))
        self.port = free_port()
        self.as_pg = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_pg:
            shutil.chown(self.dir, "postgres")
        self.run(pg_binary("initdb"), "-D", str(self.dir / "data"), *INITDB)

    def run(self, *cmd: str) -> None:
        out = subprocess.run([*self.as_pg, *cmd], capture_output=True, text=True, timeout=120, check=False)
        assert out.returncode == 0, f"{cmd[0]} failed:\n{out.stdout}\n{out.stderr}"

    def start(self) -> None:
        # fsync off: a throwaway cluster; a clean restart (what F3 does) never depends on it.
        opts = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self.run(
            pg_binary("pg_ctl"), "-D", str(self.dir / "data"), "-l", str(self.dir / "log"), "-w", "-t", "60", "-o", opts, "start"
        )

    def stop(self, mode: str = "fast") -> None:
        self.run(pg_binary("pg_ctl"), "-D", str(self.dir / "data"), "-w", "-t", "60", "-m", mode, "stop")

    def url(self, db: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{db}"

    def destroy(self) -> None:
        subprocess.run(
            [*self.as_pg, pg_binary("pg_ctl"), "-D", str(self.dir / "data"), "-m", "immediate", "stop"],
            capture_output=True,
            timeout=60,
            check=False,
        )
        shutil.rmtree(self.dir, ignore_errors=True)


@contextmanager
def private_postgres() -> Iterator[PgCluster]:
    cluster = PgCluster()
    try:
        cluster.start()
        create_database(cluster.url("postgres"), "rostra")
        yield cluster
    finally:
        cluster.destroy()


@dataclass
class Flow:
    stop: threading.Event = field(default_factory=threading.Event)
    answers: list[tuple[float, str, Answer]] = field(default_factory=list)
    acked: list[tuple[str, str]] = field(default_factory=list)


def keep_posting(flow: Flow, base: str, token: str) -> None:
    n = 0
    while not flow.stop.is_set():
        n += 1
        text = f"Still here, note {n} from the lighthouse."
        for what, method, url, data in (("post", "POST", "/api/v1/statuses", {"status": text}), ("page", "GET", "/local", None)):
            try:
                got = http(method, base + url, token=token if data else None, data=data)
            except OSError as exc:
                got = Answer(0, {}, str(exc))
            flow.answers.append((time.monotonic(), what, got))
            if what == "post" and got.status == 200:
                flow.acked.append((got.body["id"], text))
        time.sleep(0.05)


def test_f3_db_restart_answers_503_then_recovers(tmp_path: Path) -> None:
    with (
        private_postgres() as pg,
        serve(tmp_path, ready_path="/api/v1/instance", extra_env={"DATABASE_URL": pg.url("rostra"), **LIMITS}) as live,
    ):
        live.rostra("users", "create", "ines", "--email", "ines@example.org", "--password", PASSWORD)
        token = app_token(live, "ines")
        flow = Flow()
        poster = threading.Thread(target=keep_posting, args=(flow, str(live), token), daemon=True)
        poster.start()
        try:
            eventually(lambda: len(flow.acked) >= 3, "posts before the outage")
            pg.stop()
            down_at = time.monotonic()
            eventually(
                lambda: sum(1 for t, _, a in flow.answers if t > down_at and a.status == 503) >= 6, "503s during the outage"
            )
            pg.start()
            back_at = time.monotonic()
            recovered = eventually(
                lambda: next((t for t, w, a in flow.answers if t > back_at and w == "post" and a.status == 200), None),
                "a post accepted after PostgreSQL is back",
                timeout=10,
            )
            eventually(
                lambda: sum(1 for t, _, a in flow.answers if t > recovered and a.status == 200) >= 6, "steady after recovery"
            )
        finally:
            flow.stop.set()
            poster.join(timeout=30)
        outage = [(w, a) for t, w, a in flow.answers if down_at < t < back_at]
        assert {w for w, a in outage if a.status == 503} == {"post", "page"}, [(w, a.status) for w, a in outage]
        for _, what, answer in flow.answers:
            assert answer.status in (200, 503), (what, answer.status, str(answer.body)[:500])
            if answer.status == 503:
                assert answer.headers.get("Retry-After", "").isdigit(), answer.headers
                assert "Traceback" not in str(answer.body) and "database" in str(answer.body)
                if what == "post":
                    assert answer.body == {
                        "error": "Rostra cannot reach its database right now. Please try again in a few seconds."
                    }
        # No acknowledged write lost: every post answered 200 is there, before and after the restart.
        for post_id, text in flow.acked:
            got = http("GET", f"{live}/api/v1/statuses/{post_id}", token=token)
            assert got.status == 200 and text in got.body["content"], (post_id, got.status)
    print(
        f"F3: {len(flow.acked)} posts acknowledged, {sum(1 for _, a in outage if a.status == 503)} answers 503 during the outage, "
        f"first post accepted {recovered - back_at:.1f}s after PostgreSQL was back"
    )
