"""The benchmark suite's code paths at tiny size: the synthetic graph, the bulk loader on the
configured database, the local figures, the servers, and run.py end to end (no speed is asserted)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from django.test import Client

from bench.suite import local, run
from bench.suite.graph import PROFILES, Graph, Profile, _Inserter, build_graph, load_community
from bench.suite.servers import CeilingServer, free_port, process_tree_memory, process_tree_rss_mb

ROOT = Path(__file__).resolve().parents[2]
TINY = PROFILES["tiny"]


@pytest.fixture(scope="module")
def tiny() -> Graph:
    return build_graph(TINY)


@pytest.fixture(scope="module")
def xs() -> Graph:
    return build_graph(PROFILES["XS"])


def test_the_graph_is_the_same_on_every_build(tiny: Graph) -> None:
    again = build_graph(TINY)
    assert np.array_equal(tiny.follower, again.follower)
    assert np.array_equal(tiny.target, again.target)
    assert np.array_equal(tiny.post_authors, again.post_authors)
    assert tiny.readers() == again.readers()
    other = build_graph(Profile("tiny", users=60, posts=300, readers=8, seed=1))
    assert not np.array_equal(tiny.target, other.target)


@pytest.mark.parametrize("name", ["tiny", "XS"])
def test_following_counts_stay_within_bounds_without_self_or_duplicate_follows(name: str, tiny: Graph, xs: Graph) -> None:
    g = tiny if name == "tiny" else xs
    following = g.following_count()
    assert following.min() >= 10
    assert following.max() <= min(2_000, g.users - 1)
    assert not np.any(g.follower == g.target)
    pairs = g.follower.astype(np.int64) * g.users + g.target
    assert len(np.unique(pairs)) == len(pairs)


def test_xs_has_the_intended_shape(xs: Graph) -> None:
    following, followers = xs.following_count(), xs.followers_count()
    assert 30 <= following.mean() <= 40  # mean about 35
    # One celebrity, followed by most of the community (the share profile M has: 100,000 of 120,000).
    assert int(np.argmax(followers)) == xs.celebrity
    assert 0.8 * xs.users <= followers[xs.celebrity] <= 0.86 * xs.users
    rest = np.sort(np.delete(followers, xs.celebrity))[::-1]
    assert rest[0] < followers[xs.celebrity] / 1.5  # the next account is far behind
    assert np.median(rest) < rest.mean() < rest[10] / 5  # heavy tail: most have few followers, a few have many
    # Zipf authorship: a few accounts write much, most write little or nothing.
    posts = np.sort(xs.posts_count())[::-1]
    assert posts.sum() == PROFILES["XS"].posts
    assert posts[0] > 20 * max(1, posts[len(posts) // 2])
    assert len(xs.readers()) == PROFILES["XS"].readers


def test_follower_counts_follow_a_power_law_of_exponent_about_2_28() -> None:
    s = build_graph(PROFILES["S"])
    followers = np.delete(s.followers_count(), s.celebrity)
    tail = followers[followers >= 20]
    alpha = 1 + len(tail) / np.sum(np.log(tail / 19.5))  # the discrete maximum-likelihood (Hill) estimate
    assert 2.1 <= alpha <= 2.5


def test_profile_m_is_declared_as_the_issue_says() -> None:
    m = PROFILES["M"]
    assert m.users == 120_000
    assert {p.users for p in PROFILES.values()} >= {1_000, 10_000, 120_000}


def test_a_graph_too_small_for_the_degree_bounds_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 12 accounts"):
        build_graph(Profile("x", users=5, posts=10, readers=1))


def test_the_loader_writes_the_community_and_home_timelines(db: None, tiny: Graph) -> None:
    from rostra.accounts.models import Account, Follow
    from rostra.api.oauth import find_token
    from rostra.posts.models import Post
    from rostra.timelines.models import HomeEntry

    c = load_community(tiny, log=lambda _s: None)
    assert Account.objects.count() == len(c.account_ids) == TINY.users
    assert Follow.objects.count() == c.follows == len(tiny.follower)
    assert Post.objects.count() == c.posts == TINY.posts
    followers = tiny.followers_count()
    assert HomeEntry.objects.count() == int(followers[tiny.post_authors].sum()) + TINY.posts
    celebrity = Account.objects.get(pk=c.celebrity_id)
    assert celebrity.followers_count == c.celebrity_followers == Follow.objects.filter(target=celebrity).count()
    assert len(c.reader_tokens) == len(c.reader_ids) == TINY.readers
    for token, account_id in zip([c.celebrity_token, *c.reader_tokens], [c.celebrity_id, *c.reader_ids], strict=True):
        row = find_token(token)
        assert row is not None and row.user is not None and row.user.account.pk == account_id
        assert {"read", "write", "follow"} <= row.scope_set
    app = find_token(c.app_token)
    assert app is not None and app.user is None and app.application.client_id == c.client_id

    # A reader's home timeline answers through the real API, full.
    answer = Client().get("/api/v1/timelines/home?limit=20", HTTP_AUTHORIZATION=f"Bearer {c.reader_tokens[0]}")
    assert answer.status_code == 200
    statuses = answer.json()
    assert len(statuses) == 20
    ids = [int(s["id"]) for s in statuses]
    assert ids == sorted(ids, reverse=True)


def test_the_loader_refuses_a_database_that_has_accounts(db: None, tiny: Graph) -> None:
    from rostra.accounts.models import Account
    from rostra.testing.world import build_world

    build_world()
    before = Account.objects.count()
    with pytest.raises(RuntimeError, match="fresh database"):
        load_community(tiny, log=lambda _s: None)
    assert Account.objects.count() == before


def test_the_inserter_refuses_unknown_columns(db: None) -> None:
    from datetime import UTC, datetime

    from rostra.accounts.models import Follow

    with pytest.raises(ValueError, match="no column 'nope'"):
        _Inserter(Follow, ["id", "nope"], datetime.now(UTC))


def test_local_figures(tmp_path: Path) -> None:
    assert local.screener_figures(quick=True)["screener_posts_per_s"] > 0
    hashing = local.signup_hash_figures(quick=True)
    assert hashing["signup_hash_ms"] > 0 and hashing["signups_ceiling_per_s"] > 0
    sqlite = local.sqlite_insert_figures(tmp_path, seconds=0.2, bulk_rows=1_000)
    assert sqlite["sqlite_commits_per_s"] > 0 and sqlite["sqlite_bulk_rows_per_s"] > 0
    assert list(tmp_path.iterdir()) == []  # its scratch file is gone
    if os.environ.get("ROSTRA_TEST_REDIS_URL"):
        redis = local.redis_figures(os.environ["ROSTRA_TEST_REDIS_URL"], seconds=0.2)
        assert redis["redis_zadd_per_s"] > 0 and redis["redis_zadd_pipelined_per_s"] > 0
    if os.environ.get("ROSTRA_TEST_DATABASE_URL"):
        # The server's maintenance database: the suite's own database name (`make test`'s .../rostra)
        # need not exist, only Django's test_ copy of it does.
        from urllib.parse import urlsplit

        server = urlsplit(os.environ["ROSTRA_TEST_DATABASE_URL"])._replace(path="/postgres").geturl()
        pg = local.postgres_insert_figures(server, seconds=0.2, bulk_rows=1_000)
        assert pg["postgres_commits_per_s"] > 0 and pg["postgres_bulk_rows_per_s"] > 0
    assert process_tree_rss_mb(os.getpid()) > 10
    [me] = [p for p in process_tree_memory(os.getpid()) if p.pid == os.getpid()]
    assert me.role == "supervisor" and 0 < me.uss_mb <= me.pss_mb <= me.rss_mb


def test_a_ceiling_server_needs_a_known_kind_and_a_body(tmp_path: Path) -> None:
    body = tmp_path / "body.json"
    with pytest.raises(ValueError, match="does not exist"):
        CeilingServer("wsgi", body, tmp_path / "log", port=1)
    body.write_text("[]")
    with pytest.raises(ValueError, match="wsgi or asgi"):
        CeilingServer("fcgi", body, tmp_path / "log", port=1)


@pytest.mark.live
@pytest.mark.parametrize("kind", ["wsgi", "asgi"])
def test_the_ceiling_server_answers_with_the_captured_body(kind: str, tmp_path: Path) -> None:
    body = tmp_path / "body.json"
    body.write_bytes(b'[{"id": "1", "content": "<p>caf\xc3\xa9</p>"}]')
    server = CeilingServer(kind, body, tmp_path / "log", port=free_port(), workers=1)
    try:
        server.wait()
        with urllib.request.urlopen(f"{server.base_url}/api/v1/timelines/home?limit=20", timeout=10) as answer:
            assert answer.status == 200
            assert answer.headers["Content-Type"].startswith("application/json")
            assert answer.read() == body.read_bytes()
    finally:
        server.stop()
    assert server.process.poll() is not None


def test_the_table_prints_each_result_as_a_share_of_its_ceiling() -> None:
    text = run.table({"home_reads_per_s": 700.0, "home_ceiling_reads_per_s": 1000.0, "posts_per_s": None, "extra": 3}, "sqlite")
    line = next(line for line in text.splitlines() if line.startswith("home_reads_per_s"))
    assert "70 %" in line and "1,000.0" in line
    assert any(line.startswith("extra") for line in text.splitlines())


def test_run_refuses_bad_arguments_before_making_anything(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "something").write_text("x")
    out = tmp_path / "out.json"
    assert run.main(["--profile", "tiny", "--data-dir", str(busy), "--out", str(out)]) == 2
    assert "not an empty directory" in capsys.readouterr().err
    assert run.main(["--profile", "tiny", "--out", str(tmp_path)]) == 2
    assert "is a directory" in capsys.readouterr().err
    fresh = tmp_path / "fresh"
    bad_url = "postgres://postgres@127.0.0.1:5432/Not-A-Name"
    assert (
        run.main(
            [
                "--profile",
                "tiny",
                "--database",
                "postgres",
                "--database-url",
                bad_url,
                "--data-dir",
                str(fresh),
                "--out",
                str(out),
            ]
        )
        == 2
    )
    assert "lower-case name" in capsys.readouterr().err
    assert not out.exists()
    with pytest.raises(SystemExit):
        run.main(["--profile", "XXL"])
    with pytest.raises(SystemExit):
        run.main(["--step-seconds", "0"])
    capsys.readouterr()
    with pytest.raises(SystemExit):
        run.main(["--only", "posts_per_s,posts_per_minute"])
    err = capsys.readouterr().err
    assert "--only: no scenario named posts_per_minute" in err and "celebrity_fanout" in err


def test_only_names_the_scenarios_to_run() -> None:
    assert run.parse_args(["--only", " posts_per_s, signups ,"]).only == ["posts_per_s", "signups"]
    assert run.parse_args([]).only == []


@pytest.mark.live
@pytest.mark.own_sqlite
def test_run_end_to_end_on_the_tiny_profile_writes_the_json(tmp_path: Path) -> None:
    out = tmp_path / "tiny.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ROSTRA_", "DJANGO_", "DATABASE_URL", "REDIS_URL"))}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.suite.run",
            "--profile",
            "tiny",
            "--quick",
            "--workers",
            "1",
            "--idle-seconds",
            "1",
            "--step-seconds",
            "0.5",
            "--out",
            str(out),
        ],
        check=False,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    doc = json.loads(out.read_text())
    for key in run.REQUIRED:
        assert key in doc
    assert doc["screener_posts_per_s"] > 0 and doc["idle_rss_mb"] > 0 and doc["home_ceiling_reads_per_s"] > 0
    # supervisor, gunicorn and its worker, task worker, streaming
    assert 0 < doc["idle_pss_mb"] <= doc["idle_rss_mb"] and doc["idle_processes"] >= 5
    assert doc["machine"]["cores"] == os.cpu_count() and doc["machine"]["db"] == "sqlite" and doc["machine"]["python"]
    assert doc["community"]["accounts"] == TINY.users
    assert "home_reads_per_s" in proc.stdout and "% of ceiling" in proc.stdout
    assert doc["data_dir"] is None  # the temporary data dir is removed
