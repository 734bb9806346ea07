"""PostgreSQL statements are bound by the server and prepared by each connection once it has
run them a few times (ROSTRA_DB_PREPARED_STATEMENTS, on by default), so a home page's statements
are planned once per connection. Off, Django's defaults: client-side binding, nothing prepared."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from rostra.core.pagination import PageRequest
from rostra.testing.world import make_post
from rostra.timelines.queries import home

ROOT = Path(__file__).resolve().parents[2]


def _options(tmp_path: Path, **env: str) -> dict[str, dict[str, object]]:
    """The OPTIONS of each database alias, as the settings module makes them from ``env``."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("ROSTRA_", "DATABASE_", "REDIS_URL", "DJANGO_"))}
    clean.update(ROSTRA_DATA_DIR=str(tmp_path), ROSTRA_SECRET_KEY="x" * 50, **env)
    code = (
        "import json; from rostra.config import settings; "
        "print(json.dumps({alias: {k: v for k, v in d.get('OPTIONS', {}).items() if k in ('server_side_binding', 'prepare_threshold')} "
        "for alias, d in settings.DATABASES.items()}))"
    )
    out = subprocess.run([sys.executable, "-c", code], env=clean, cwd=ROOT, capture_output=True, text=True, timeout=60, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_on_by_default_for_postgresql_and_its_replicas_off_when_asked(tmp_path):
    pg = "postgres://rostra@db.example:5432/rostra"
    replica = "postgres://rostra@replica.example:5432/rostra"
    both = {"DATABASE_URL": pg, "REDIS_URL": "redis://127.0.0.1:6379/0", "DATABASE_REPLICA_URLS": replica}
    assert _options(tmp_path, **both) == {
        "default": {"server_side_binding": True, "prepare_threshold": 5},
        "replica_1": {"server_side_binding": True, "prepare_threshold": 5},
    }
    assert _options(tmp_path, ROSTRA_DB_PREPARED_STATEMENTS="false", **both) == {"default": {}, "replica_1": {}}
    assert _options(tmp_path) == {"default": {}}  # SQLite: nothing to prepare


@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="PostgreSQL only")
def test_a_home_page_is_prepared_after_a_few_reads(world, run_tasks):
    w = world
    for i in range(3):
        make_post(w.alice, f"post {i}")
    run_tasks()
    for _ in range(7):
        assert len(home(w.bob, PageRequest(limit=20)).items) >= 3
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]
    assert any('FROM "timelines_homeentry"' in s or 'FROM "posts_post"' in s for s in prepared), prepared
