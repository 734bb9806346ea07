from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def parse(text: str) -> Samples:
    """Every sample of a /metrics answer: (name, sorted labels) -> value."""
    out: Samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sum of the samples of ``name`` whose labels include ``labels``."""
    want = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and want <= set(ls))


@pytest.fixture
def scrape(db: None) -> Callable[..., Samples]:
    """Read /metrics from loopback (as Prometheus on the same machine does)."""

    def read(**extra: Any) -> Samples:
        r = Client().get("/metrics", **extra)
        assert r.status_code == 200, r.status_code
        assert r["Content-Type"].startswith("text/plain; version=0.0.4")
        return parse(r.content.decode())

    return read


@pytest.fixture
def rostra_settings(settings: Any) -> Iterator[Callable[..., None]]:
    """Change fields of settings.ROSTRA (the middleware reads them when a new Client first asks)."""

    def change(**fields: Any) -> None:
        settings.ROSTRA = dataclasses.replace(settings.ROSTRA, **fields)

    yield change
