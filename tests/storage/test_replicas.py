"""Read replicas: timeline and search reads go to a replica, writes and a writer's own reads to
the primary. On PostgreSQL the replica is the test database itself under another alias (Django's
test MIRROR), so the assertion is about which connection carried the query."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.cache import cache
from django.db import connection, connections  # noqa: F401  (connection: the skipif conditions)
from django.test.utils import CaptureQueriesContext

from rostra.config.env import ConfigError, load
from rostra.core import replicas
from rostra.core.pagination import PageRequest
from rostra.search import queries as search
from rostra.testing.world import make_account, make_post
from rostra.timelines import queries as timelines

postgres_only = pytest.mark.skipif("connection.vendor != 'postgresql'", reason="read replicas are PostgreSQL only")
on_both = pytest.mark.django_db(transaction=True, databases=["default", "replica_1"])


def _env(tmp_path: object, **extra: str) -> dict[str, str]:
    return {"ROSTRA_DATA_DIR": str(tmp_path), "ROSTRA_SECRET_KEY": "x" * 40, **extra}


def test_replicas_without_postgresql_are_refused_with_a_clear_message(tmp_path) -> None:
    with pytest.raises(ConfigError, match="DATABASE_REPLICA_URLS needs a PostgreSQL DATABASE_URL"):
        load(_env(tmp_path, DATABASE_REPLICA_URLS="postgres://replica.example:5432/rostra"))
    with pytest.raises(ConfigError, match="DATABASE_REPLICA_URLS needs a PostgreSQL DATABASE_URL"):
        load(_env(tmp_path, DATABASE_URL="sqlite:///tmp/x.sqlite3", DATABASE_REPLICA_URLS="postgres://r:5432/rostra"))


def test_replicas_without_redis_are_refused_with_a_clear_message(tmp_path) -> None:
    # Read-your-writes must be known to every web process: a per-process cache would send a
    # person's next request, on another process, to a replica that has not seen their write.
    with pytest.raises(ConfigError, match="DATABASE_REPLICA_URLS needs REDIS_URL"):
        load(_env(tmp_path, DATABASE_URL="postgres://db:5432/rostra", DATABASE_REPLICA_URLS="postgres://r1:5432/rostra"))


def test_a_replica_url_that_is_not_postgresql_is_refused(tmp_path) -> None:
    with pytest.raises(ConfigError, match="DATABASE_REPLICA_URLS="):
        load(
            _env(
                tmp_path,
                DATABASE_URL="postgres://db:5432/rostra",
                REDIS_URL="redis://cache:6379/0",
                DATABASE_REPLICA_URLS="postgres://r1:5432/rostra, mysql://r2/rostra",
            )
        )


def test_replica_urls_are_read_in_order(tmp_path) -> None:
    cfg = load(
        _env(
            tmp_path,
            DATABASE_URL="postgres://db:5432/rostra",
            REDIS_URL="redis://cache:6379/0",
            DATABASE_REPLICA_URLS="postgres://r1:5432/rostra,postgres://r2:5432/rostra",
        )
    )
    assert cfg.database_replica_urls == ("postgres://r1:5432/rostra", "postgres://r2:5432/rostra")
    assert load(_env(tmp_path)).database_replica_urls == ()


def test_without_replicas_everything_reads_the_primary(settings) -> None:
    settings.ROSTRA_READ_REPLICAS = []
    assert replicas.reader_alias(None) == "default"


def test_the_router_sends_every_write_to_the_primary() -> None:
    router = replicas.ReplicaRouter()
    assert router.db_for_write(object) == "default"  # type: ignore[arg-type]
    assert router.allow_migrate("replica_1", "posts") is False
    assert router.allow_migrate("default", "posts") is True


@pytest.fixture
def with_replica(settings) -> Iterator[None]:
    settings.ROSTRA_READ_REPLICAS = ["replica_1"]
    cache.clear()
    yield
    cache.clear()


def _sql(ctx: CaptureQueriesContext) -> str:
    return "\n".join(q["sql"] for q in ctx.captured_queries)


@postgres_only
@on_both
def test_public_timelines_and_search_read_from_the_replica(with_replica) -> None:
    alice = make_account("alice")
    reader = make_account("reader")
    make_post(alice, "Kettles and #teapots at dawn")
    for read in (
        lambda: timelines.local_public(reader, PageRequest(limit=20)),
        lambda: timelines.federated_public(None, PageRequest(limit=20)),
        lambda: timelines.hashtag(reader, "teapots", PageRequest(limit=20)),
        lambda: timelines.tag_timeline(reader, "teapots", PageRequest(limit=20)),
        lambda: timelines.profile(reader, alice, PageRequest(limit=20)),
        lambda: search.search_posts(reader, "kettles", PageRequest(limit=20)),
    ):
        with (
            CaptureQueriesContext(connections["replica_1"]) as on_replica,
            CaptureQueriesContext(connections["default"]) as on_primary,
        ):
            page = read()
        assert [p.text for p in page.items] == ["Kettles and #teapots at dawn"]
        assert '"posts_post"' in _sql(on_replica)
        assert 'FROM "posts_post"' not in _sql(on_primary)
    with CaptureQueriesContext(connections["replica_1"]) as on_replica:
        assert [a.username for a in search.search_accounts(reader, "ali")] == ["alice"]
        assert [t.name for t in search.search_hashtags("teap")] == ["teapots"]
    assert '"accounts_account"' in _sql(on_replica) and '"posts_hashtag"' in _sql(on_replica)


@postgres_only
@on_both
def test_a_writer_reads_their_own_writes_from_the_primary_for_a_few_seconds(with_replica, client_for) -> None:
    alice = make_account("alice")
    response = client_for(alice).post("/compose", {"text": "Fresh off the press", "visibility": "public"})
    assert response.status_code in (200, 302)
    assert replicas.recently_wrote(alice.user_id)
    assert replicas.reader_alias(alice) == "default"
    with CaptureQueriesContext(connections["replica_1"]) as on_replica:
        page = timelines.local_public(alice, PageRequest(limit=20))
    assert [p.text for p in page.items] == ["Fresh off the press"]
    assert not on_replica.captured_queries
    # Someone else is not in alice's window: their read goes to the replica.
    bob = make_account("bob")
    assert replicas.reader_alias(bob) == "replica_1"
    # When the window closes, alice reads the replica again.
    cache.delete(f"rostra:rw:{alice.user_id}")
    assert replicas.reader_alias(alice) == "replica_1"


@postgres_only
@on_both
def test_a_write_through_an_object_read_from_the_replica_goes_to_the_primary(with_replica) -> None:
    alice = make_account("alice")
    make_post(alice, "Read me from the replica")
    post = timelines.local_public(None, PageRequest(limit=20)).items[0]
    assert post._state.db == "replica_1"
    post.text = "Saved on the primary"
    with (
        CaptureQueriesContext(connections["default"]) as on_primary,
        CaptureQueriesContext(connections["replica_1"]) as on_replica,
    ):
        post.save(update_fields=["text"])
    assert "UPDATE" in _sql(on_primary) and "UPDATE" not in _sql(on_replica)


def test_a_failed_write_opens_no_window(settings, db, client_for) -> None:
    settings.ROSTRA_READ_REPLICAS = ["replica_1"]
    cache.clear()
    alice = make_account("alice")
    client_for(alice).post("/compose", {"text": "", "visibility": "nonsense"})
    assert not replicas.recently_wrote(alice.user_id)
    client_for(None).post("/compose", {"text": "anonymous"})
    cache.clear()
