"""What the benchmark runner hands to every scenario (the seam between the runner and the scenarios)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Community:
    """The synthetic community loaded into the database under test (bench/suite/graph.py)."""

    profile: str  # XS, S, M (or "tiny" in the test suite)
    account_ids: list[int]  # every local account, in load order
    celebrity_id: int  # the account with the most followers
    celebrity_followers: int
    celebrity_token: str  # a bearer token (scopes read write follow) of the celebrity
    reader_tokens: list[str]  # bearer tokens of a sample of ordinary accounts, for load
    reader_ids: list[int]  # the accounts those tokens belong to, same order
    client_id: str  # an OAuth app able to register accounts (POST /api/v1/accounts)
    client_secret: str
    app_token: str  # that app's client_credentials token (scope write:accounts)
    follows: int  # total follow rows
    posts: int  # total posts loaded


@dataclass
class BenchContext:
    profile: str
    database: str  # "sqlite" or "postgres"
    base_url: str  # the Rostra server under test: `rostra serve` (gunicorn WSGI + worker + streaming)
    ceiling_url: str  # the bare Django view returning the same 20-post JSON, same gunicorn settings
    env: dict[str, str]  # the environment the server runs with (ROSTRA_DATA_DIR, DATABASE_URL, REDIS_URL...)
    data_dir: Path
    community: Community
    step_seconds: float  # how long each measured step runs (shorter in tests)
    quick: bool = False  # the test suite's tiny run: fewest steps, smallest sizes
    results: dict[str, float] = field(default_factory=dict)  # scenario figures, JSON names
    notes: list[str] = field(default_factory=list)  # printed under the table
