"""Settings for the test suite: production settings plus the few things tests need.

Chosen by DJANGO_SETTINGS_MODULE in pyproject.toml's pytest section only. Nothing here can be
switched on from the environment of a production process.
"""

from __future__ import annotations

import os
import tempfile

os.environ.setdefault("ROSTRA_DATA_DIR", tempfile.mkdtemp(prefix="rostra-test-"))
# `make test` runs the suite a second time with ROSTRA_TEST_DATABASE_URL pointing at PostgreSQL.
if os.environ.get("ROSTRA_TEST_DATABASE_URL"):
    os.environ["DATABASE_URL"] = os.environ["ROSTRA_TEST_DATABASE_URL"]
if os.environ.get("ROSTRA_TEST_REDIS_URL"):
    os.environ["REDIS_URL"] = os.environ["ROSTRA_TEST_REDIS_URL"]

from rostra.config.settings import *  # noqa: F403
from rostra.config.settings import DATABASES, ROSTRA

TESTING = True
# Parallel test processes (xdist workers, and other test runs on the same machine) share one Redis:
# each counts rate limits under its own prefix and streams on its own channel (Redis pub/sub
# channels are server-wide, whatever the database number).
RATE_LIMIT_REDIS_PREFIX = f"rl:{os.getpid()}:"
# The database rate limiter writes every count at once in tests: batched by time, a request would
# make one query more whenever a quarter-second had passed (the batching has tests of its own).
RATE_LIMIT_FLUSH_S = 0.0
STREAMING_BUS_CHANNEL = f"rostra:streaming:{os.getpid()}"
TIMELINE_REDIS_PREFIX = f"tl:{os.getpid()}:"  # home timelines in Redis (rostra.timelines.store)
NEAR_DUPLICATE_REDIS_PREFIX = f"nd:{os.getpid()}"
SURGE_CACHE_KEY = f"rostra:surge:{os.getpid()}"  # surge mode's cached state (rostra.accounts.surge)
ALLOWED_HOSTS = ["*"]
# Tests create hundreds of users; the Argon2id hasher has its own tests.
PASSWORD_HASHERS = ["rostra.accounts.hashers.FastTestHasher", "rostra.accounts.hashers.RostraArgon2Hasher"]
# Queued tasks wait in memory until a test runs them with rostra.testing.tasks.run_tasks().
HUEY = {"huey_class": "huey.MemoryHuey", "name": "rostra-test", "immediate": False, "results": False}
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
WHITENOISE_AUTOREFRESH = True
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # A real SQLite file (not :memory:), so WAL and FTS5 behave as in production.
    DATABASES["default"]["TEST"] = {"NAME": str(ROSTRA.data_dir / "test.sqlite3")}
else:
    # tests/storage: a read-replica alias that is the test database itself (Django's test mirror).
    # Timeline reads use it only when a test lists it in ROSTRA_READ_REPLICAS.
    DATABASES["replica_1"] = {**DATABASES["default"], "TEST": {"MIRROR": "default"}}
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "WARNING"}}
# rostra.core.outbound: tests' fake remotes listen on 127.0.0.2-127.0.0.9 over plain http. 127.0.0.1
# stays forbidden (the SSRF tests keep a canary there). Honoured only together with TESTING above.
OUTBOUND_TEST_ALLOW = {"peers": [f"127.0.0.{n}" for n in range(2, 10)], "plain_http": True}
# Authorised fetch is on in production; most tests GET documents unsigned, so it is off here and
# tests/federation/test_authorized_fetch.py turns it on with the settings fixture.
AUTHORIZED_FETCH = False
