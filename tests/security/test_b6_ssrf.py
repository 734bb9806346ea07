"""B6 ssrf: no URL trick makes Rostra connect to a forbidden address.

A canary listens on 127.0.0.1 (and ::1) on the same port as the allowed fake remote on 127.0.0.2,
and must see no connection at all: not through odd spellings of loopback, not through names that
resolve there, not through redirects from the fake remote, not through DNS rebinding.
"""

from __future__ import annotations

import contextlib
import errno
import socket
from collections.abc import Iterator
from urllib.parse import quote

import pytest

from rostra.core.outbound import ForbiddenDestination, OutboundClient, OutboundError, TooManyRedirects
from tests.core.test_outbound import Canary, FakeRemote, resolver_to


class Trap:
    """The allowed fake remote and, on the same port, canaries on the forbidden loopbacks."""

    def __init__(self, remote: FakeRemote, canaries: list[Canary]) -> None:
        self.remote = remote
        self.port = remote.port
        self.canaries = canaries

    def connections(self) -> int:
        return sum(c.count() for c in self.canaries)


@pytest.fixture
def trap() -> Iterator[Trap]:
    # The canary shares the remote's port, so a client that re-resolved, or followed a redirect
    # to loopback, would land on it rather than on a closed port.
    for _ in range(20):
        with contextlib.ExitStack() as stack:
            remote = stack.enter_context(FakeRemote())
            try:
                canaries = [Canary("127.0.0.1", remote.port)]
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE:
                    continue
                raise
            with contextlib.suppress(OSError):  # the machine may have no IPv6 loopback
                canaries.append(Canary("::1", remote.port))
            stack.callback(lambda found=canaries: [c.close() for c in found])
            yield Trap(remote, canaries)
            return
    raise RuntimeError("no port free on both 127.0.0.1 and 127.0.0.2")


LITERAL_TRICKS = [
    "http://127.0.0.1:{port}/",
    "https://127.0.0.1:{port}/",
    "http://2130706433:{port}/",
    "http://0177.0.0.1:{port}/",
    "http://0x7f.1:{port}/",
    "http://0x7f000001:{port}/",
    "http://017700000001:{port}/",
    "http://127.1:{port}/",
    "http://127.0.1:{port}/",
    "http://127.0.0.1.:{port}/",
    "http://0:{port}/",
    "http://0.0.0.0:{port}/",
    "http://[::]:{port}/",
    "http://[::1]:{port}/",
    "http://[0:0:0:0:0:0:0:1]:{port}/",
    "http://[::ffff:127.0.0.1]:{port}/",
    "http://[::ffff:7f00:1]:{port}/",
    "http://[::127.0.0.1]:{port}/",
    "http://[2002:7f00:1::]:{port}/",
    "http://\uff11\uff12\uff17.\uff10.\uff10.\uff11:{port}/",
    "http://127\u30020\u30020\u30021:{port}/",
    "http://LOCALHOST:{port}/",
    "http://localhost.:{port}/",
    "http://127.0.0.2:{port}@127.0.0.1:{port}/",
    "http://127.0.0.2:{port}\\@127.0.0.1:{port}/",
    "http://127.0.0.1%2f@127.0.0.2:{port}/",
    "http://%31%32%37.0.0.1:{port}/",
]


@pytest.mark.parametrize("template", LITERAL_TRICKS)
def test_b6_ssrf_literal_forms_of_loopback_are_refused(trap, template):
    with pytest.raises(ForbiddenDestination):
        OutboundClient().get(template.format(port=trap.port))
    assert trap.connections() == 0
    assert trap.remote.seen == []


@pytest.mark.parametrize(
    "answer",
    [
        ["127.0.0.1"],
        ["::1"],
        ["::ffff:127.0.0.1"],
        ["0.0.0.0"],  # noqa: S104
        ["::"],
        ["10.0.0.7"],
        ["169.254.169.254"],
        ["100.64.0.1"],
        ["fd12:3456::1"],
        ["fe80::1"],
        ["fe80::1%1"],
        ["2002:7f00:1::"],
        ["127.0.0.2", "127.0.0.1"],  # one allowed address does not launder a forbidden one
        ["::ffff:127.0.0.1", "127.0.0.2"],
    ],
)
def test_b6_ssrf_names_resolving_to_forbidden_addresses_are_refused(trap, answer):
    out = OutboundClient(resolver=resolver_to(*answer))
    with pytest.raises(ForbiddenDestination, match=r"evil\.example"):
        out.get(f"http://evil.example:{trap.port}/ok")
    assert trap.connections() == 0
    assert trap.remote.seen == []


@pytest.mark.parametrize("host", ["localhost", "LocalHost.", "api.localhost", "x.y.localhost."])
def test_b6_ssrf_localhost_names_are_refused_whatever_the_resolver_says(trap, host):
    calls: list[str] = []
    with pytest.raises(ForbiddenDestination, match="loopback name"):
        OutboundClient(resolver=resolver_to("127.0.0.2", calls=calls)).get(f"http://{host}:{trap.port}/ok")
    assert calls == [] and trap.connections() == 0 and trap.remote.seen == []


@pytest.mark.parametrize(
    "target",
    [
        "http://127.0.0.1:{port}/",
        "http://2130706433:{port}/",
        "http://0x7f.1:{port}/",
        "http://[::ffff:127.0.0.1]:{port}/",
        "http://[::1]:{port}/",
        "http://localhost:{port}/",
        "//127.0.0.1:{port}/",
        "https://127.0.0.1:{port}/",
        "file:///etc/passwd",
        "gopher://127.0.0.1:{port}/_GET",
        "http://user@127.0.0.2:{port}/ok",
    ],
)
def test_b6_ssrf_redirects_to_forbidden_places_are_refused(trap, target):
    start = trap.remote.url("/redirect?to=" + quote(target.format(port=trap.port), safe=""))
    with pytest.raises(ForbiddenDestination):
        OutboundClient().get(start)
    assert trap.connections() == 0
    assert [path for _, path, _ in trap.remote.seen] == [start.split(str(trap.port), 1)[1]]  # the remote did redirect


def test_b6_ssrf_redirect_to_a_name_that_resolves_to_loopback_is_refused(trap):
    def resolver(host: str, port: int, *args: object) -> list[tuple[object, ...]]:
        return resolver_to("127.0.0.2" if host == "friendly.example" else "127.0.0.1")(host, port)

    start = f"http://friendly.example:{trap.port}/redirect?to=" + quote(f"http://sneaky.example:{trap.port}/", safe="")
    with pytest.raises(ForbiddenDestination, match=r"sneaky\.example \(127\.0\.0\.1\) is a loopback"):
        OutboundClient(resolver=resolver).get(start)
    assert trap.connections() == 0 and len(trap.remote.seen) == 1


def test_b6_ssrf_dns_rebinding_cannot_swap_the_address_after_the_check(trap):
    """The resolver answers the allowed remote first and loopback on every later call."""
    calls: list[str] = []

    def rebinding(host: str, port: int, *args: object) -> list[tuple[object, ...]]:
        calls.append(host)
        return resolver_to("127.0.0.2" if len(calls) == 1 else "127.0.0.1")(host, port)

    resp = OutboundClient(resolver=rebinding).get(f"http://rebind.example:{trap.port}/ok")
    assert resp.status == 200 and resp.body == b"hello"
    assert calls == ["rebind.example"]  # resolved once, and that answer was the one used
    assert trap.connections() == 0
    # A redirect back to the same name is resolved and checked afresh: now loopback, so refused.
    calls.clear()
    with pytest.raises(ForbiddenDestination):
        OutboundClient(resolver=rebinding).get(f"http://rebind.example:{trap.port}/redirect?to=/ok")
    assert calls == ["rebind.example", "rebind.example"]
    assert trap.connections() == 0


def test_b6_ssrf_redirects_are_capped_at_five(trap):
    assert OutboundClient().get(trap.remote.url("/chain/5")).body == b"end of the chain"
    trap.remote.seen.clear()
    with pytest.raises(TooManyRedirects, match="more than 5"):
        OutboundClient().get(trap.remote.url("/chain/6"))
    assert len(trap.remote.seen) == 6  # the sixth redirect is never followed
    with pytest.raises(TooManyRedirects):
        OutboundClient().get(trap.remote.url("/loop"))
    assert trap.connections() == 0


def test_b6_ssrf_refusals_are_outbound_errors_with_a_reason(trap):
    with pytest.raises(OutboundError) as caught:
        OutboundClient().get(f"http://0x7f.1:{trap.port}/")
    assert "127.0.0.1 is a loopback address" in str(caught.value)
    assert trap.connections() == 0


def test_b6_ssrf_canary_would_notice_a_connection(trap):
    """The canary is not blind: a direct connection is counted."""
    with socket.create_connection(("127.0.0.1", trap.port), timeout=5):
        pass
    assert trap.connections() == 1
