"""B7 slow-remote: a remote that trickles, stalls or sends too much is abandoned.

The budgets are shortened for the tests (a 2 s total instead of 30 s); the shared client's real
limits (5 s connect, 10 s read, 30 s total, 1 MB) are asserted in tests/core/test_outbound.py.
Only the outcome is asserted, never how long it took.
"""

from __future__ import annotations

import pytest

from rostra.core.outbound import BadResponse, OutboundClient, TimedOut, TooLarge
from tests.core.test_outbound import remote  # noqa: F401 - the fake remote fixture

# pytest hands the fixture in by name; ruff sees the parameter as shadowing the import.
# ruff: noqa: F811


def test_b7_slow_remote_trickling_body_is_abandoned_at_the_total_deadline(remote):
    # Each byte arrives well inside the read time-out; only the total budget can stop it.
    with pytest.raises(TimedOut, match="total time"):
        OutboundClient(total_timeout=2, read_timeout=10).get(remote.url("/trickle/body"))


def test_b7_slow_remote_trickling_status_line_is_abandoned_at_the_total_deadline(remote):
    with pytest.raises(TimedOut, match="total time"):
        OutboundClient(total_timeout=2, read_timeout=10).get(remote.url("/trickle/head"))


def test_b7_slow_remote_silence_is_abandoned_at_the_read_timeout(remote):
    with pytest.raises(TimedOut, match="stopped sending"):
        OutboundClient(read_timeout=0.5, total_timeout=20).get(remote.url("/silent"))


def test_b7_slow_remote_the_deadline_covers_the_redirects_too(remote):
    # The redirect is quick, the trickling target is not; the budget is for the whole exchange.
    with pytest.raises(TimedOut):
        OutboundClient(total_timeout=2).get(remote.url("/redirect?to=/trickle/body"))


@pytest.mark.parametrize("path", ["/big", "/big/unannounced", "/big/chunked"])
def test_b7_slow_remote_a_2mb_body_is_abandoned(remote, path):
    with pytest.raises(TooLarge, match="1000000"):
        OutboundClient().get(remote.url(path))


def test_b7_slow_remote_an_announced_length_over_the_cap_is_refused_before_reading(remote):
    with pytest.raises(TooLarge, match="announced 2000000 bytes"):
        OutboundClient().get(remote.url("/big"))


@pytest.mark.parametrize("path", ["/big", "/big/unannounced", "/big/chunked"])
def test_b7_slow_remote_the_cap_can_be_raised_or_lowered_per_call(remote, path):
    assert len(OutboundClient().get(remote.url(path), max_bytes=3_000_000).body) == 2_000_000
    with pytest.raises(TooLarge):
        OutboundClient().get(remote.url(path + "?size=5000"), max_bytes=4096)
    assert len(OutboundClient(max_bytes=5000).get(remote.url(path + "?size=5000")).body) == 5000


def test_b7_slow_remote_a_gzip_bomb_is_refused_by_its_decompressed_size(remote):
    # About 20 KB on the wire, 20 MB once inflated: refused after inflating just past the cap.
    with pytest.raises(TooLarge, match="decompressed"):
        OutboundClient().get(remote.url("/gzip/bomb"))
    with pytest.raises(TooLarge, match="decompressed"):
        OutboundClient().get(remote.url("/gzip/bomb"), max_bytes=19_000_000)


def test_b7_slow_remote_a_gzip_bomb_fits_only_when_the_cap_allows_it(remote):
    assert len(OutboundClient().get(remote.url("/gzip/bomb"), max_bytes=20_000_000).body) == 20_000_000


def test_b7_slow_remote_a_truncated_or_corrupt_gzip_is_a_bad_response(remote):
    with pytest.raises(BadResponse):
        OutboundClient().get(remote.url("/gzip/corrupt"))
