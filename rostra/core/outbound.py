"""The one door for every HTTP request Rostra makes to another host.

Link previews, remote media and federation all fetch URLs that strangers chose, so every such
request goes through ``OutboundClient``, which refuses to be turned against the instance's own
network (server-side request forgery) or held hostage by a slow or bottomless remote:

* Only ``https`` URLs without userinfo (plain ``http`` only behind the test-only hatch below).
* The host is resolved once, **every** resolved address is checked against the forbidden ranges
  (loopback, private, link-local, shared/CGNAT, unique-local, IPv4-mapped, 6to4 embedding a
  forbidden IPv4, multicast, reserved, documentation...), and the socket is then opened to the very
  address that was checked. There is no second lookup, so DNS rebinding between the check and the
  connect is impossible. The Host header, TLS SNI and certificate verification still use the name.
* IPv4 literals are read as browsers and ``inet_aton`` read them (``2130706433``, ``0177.0.0.1``,
  ``0x7f.1``, ``127.1`` all mean 127.0.0.1), so odd spellings are judged by what they are.
* Redirects are followed by hand, at most five, each target checked again like the first URL.
* Time-outs: 5 s to connect, 10 s for any single read, 30 s for the whole exchange including
  redirects; every socket read is given only what is left of that budget, so a remote trickling
  a byte a second is abandoned at the deadline.
* Bodies are capped (1 MB by default) on the announced Content-Length and on the bytes actually
  read; gzip is decompressed incrementally with the cap applied to the decompressed size.

Why the standard library's ``http.client`` rather than httpx or urllib3: the guard has to own the
connect step (connect to the checked address, then TLS-wrap with the hostname) and every read
(the shrinking budget). ``http.client`` exposes both in a few lines (``connect()`` and the
response's file object), while httpx and urllib3 would need their connection pools' internals
hooked, and those internals change between releases. No new dependency is needed.

Tests talk to fake remotes on 127.0.0.2 to 127.0.0.9 over plain http through one setting,
``OUTBOUND_TEST_ALLOW``, defined only in ``rostra.config.test_settings`` and honoured only when
``settings.TESTING`` is true; no environment variable sets either. 127.0.0.1, where the instance
itself and its databases listen, can never be allowed. Live multi-server tests (several real
``rostra serve`` processes on 127.0.0.2, 127.0.0.3...) use ``ROSTRA_ALLOW_LOOPBACK_FEDERATION``
instead, which the configuration refuses unless the instance's own domain is loopback.
"""

from __future__ import annotations

import http.client
import io
import ipaddress
import re
import socket
import ssl
import time
import zlib
from collections.abc import Callable, Container, Iterable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any
from urllib.parse import SplitResult, urljoin, urlsplit

from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[..., list[tuple[Any, ...]]]

CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 10.0
TOTAL_TIMEOUT = 30.0
MAX_BYTES = 1_000_000
MAX_REDIRECTS = 5
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_CHUNK = 64 * 1024


# --- Errors ---------------------------------------------------------------------------------


class OutboundError(Exception):
    """A request to another host failed; the message says why, without secrets."""


class ForbiddenDestination(OutboundError):
    """The URL, or an address its host resolves to, is not one Rostra will contact."""


class TooLarge(OutboundError):
    """The body (after decompression) is over the cap."""


class TimedOut(OutboundError):
    """Connecting, a single read, or the whole exchange took too long."""


class TooManyRedirects(OutboundError):
    """More redirects than allowed."""


class BadResponse(OutboundError):
    """The remote answered with something that is not acceptable HTTP."""


class Unreachable(OutboundError):
    """The host did not resolve, refused the connection, or failed TLS verification."""


# --- Which addresses are forbidden ----------------------------------------------------------

# IANA IPv4 special-purpose registry: every block that is not globally reachable, plus multicast.
_FORBIDDEN_V4 = tuple(
    (ipaddress.IPv4Network(net), name)
    for net, name in (
        ("0.0.0.0/8", "this network"),
        ("10.0.0.0/8", "private (RFC 1918)"),
        ("100.64.0.0/10", "shared address space (CGNAT)"),
        ("127.0.0.0/8", "loopback"),
        ("169.254.0.0/16", "link-local"),
        ("172.16.0.0/12", "private (RFC 1918)"),
        ("192.0.0.0/29", "IETF protocol assignment"),
        ("192.0.0.170/31", "IETF protocol assignment"),
        ("192.0.2.0/24", "documentation"),
        ("192.168.0.0/16", "private (RFC 1918)"),
        ("198.18.0.0/15", "benchmarking"),
        ("198.51.100.0/24", "documentation"),
        ("203.0.113.0/24", "documentation"),
        ("224.0.0.0/4", "multicast"),
        ("240.0.0.0/4", "reserved"),  # includes the broadcast address 255.255.255.255
    )
)
# IPv6: only global unicast (2000::/3) can be a remote server; within it, a few blocks are special.
_GLOBAL_UNICAST_V6 = ipaddress.IPv6Network("2000::/3")
_FORBIDDEN_GLOBAL_V6 = tuple(
    (ipaddress.IPv6Network(net), name)
    for net, name in (
        ("2001::/23", "IETF protocol assignment (Teredo, ORCHID, ...)"),
        ("2001:db8::/32", "documentation"),
    )
)
_NAMED_NON_GLOBAL_V6 = tuple(
    (ipaddress.IPv6Network(net), name)
    for net, name in (
        ("::/128", "unspecified"),
        ("::1/128", "loopback"),
        ("::ffff:0:0/96", "IPv4-mapped"),
        ("::/96", "IPv4-compatible"),
        ("64:ff9b::/96", "NAT64"),
        ("fc00::/7", "unique local"),
        ("fe80::/10", "link-local"),
        ("fec0::/10", "site-local"),
        ("ff00::/8", "multicast"),
    )
)
_SIXTOFOUR_V6 = ipaddress.IPv6Network("2002::/16")


def forbidden_reason(address: IPAddress) -> str | None:
    """Why Rostra will not connect to ``address``, or None when it is a public unicast address."""
    if isinstance(address, ipaddress.IPv4Address):
        return next((name for net, name in _FORBIDDEN_V4 if address in net), None)
    if address not in _GLOBAL_UNICAST_V6:
        named = next((name for net, name in _NAMED_NON_GLOBAL_V6 if address in net), "reserved")
        return f"IPv6 {named}"
    if reason := next((name for net, name in _FORBIDDEN_GLOBAL_V6 if address in net), None):
        return f"IPv6 {reason}"
    if address in _SIXTOFOUR_V6 and address.sixtofour is not None and (inner := forbidden_reason(address.sixtofour)):
        return f"6to4 embedding {inner}"
    return None


def is_forbidden(address: IPAddress) -> bool:
    return forbidden_reason(address) is not None


# --- Reading URLs and hosts -----------------------------------------------------------------

_HOST_LABELS = re.compile(
    r"^(?=.{1,253}\.?$)[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*\.?$"
)
_NUMBER = re.compile(r"^(?:0[xX][0-9a-fA-F]*|[0-9]+)$")
_UNSAFE_URL_CHARS = re.compile(r"[\x00-\x20\x7f\\]")


def parse_ipv4_literal(host: str) -> ipaddress.IPv4Address | None:
    """An IPv4 address written in any form ``inet_aton`` (and the WHATWG URL standard) accepts.

    Returns None when ``host`` is a name. Raises ``ForbiddenDestination`` for a host that ends in
    a number but is no valid address (``1.2.3.4.5``, ``256.1.1.1``): browsers refuse those too.
    """
    parts = host.split(".")
    if parts and parts[-1] == "" and len(parts) > 1:
        parts = parts[:-1]  # a trailing dot, as in "127.0.0.1."
    if not _NUMBER.match(parts[-1]):
        return None
    if len(parts) > 4 or not all(_NUMBER.match(p) for p in parts):
        raise ForbiddenDestination(f"{host!r} is not a valid IPv4 address")
    values = [_ipv4_part(p) for p in parts]
    *head, last = values
    if any(v > 255 for v in head) or last >= 256 ** (5 - len(values)):
        raise ForbiddenDestination(f"{host!r} is not a valid IPv4 address")
    number = last
    for i, v in enumerate(head):
        number += v << (8 * (3 - i))
    return ipaddress.IPv4Address(number)


def _ipv4_part(part: str) -> int:
    if part[:2].lower() == "0x":
        return int(part[2:] or "0", 16)
    if len(part) > 1 and part.startswith("0"):
        if not set(part) <= set("01234567"):
            raise ForbiddenDestination(f"{part!r} is not an octal number")
        return int(part, 8)
    return int(part)


@dataclass(frozen=True)
class Target:
    """A checked URL: what to send and where (the addresses are resolved separately)."""

    scheme: str
    host: str  # lower-case ASCII name or IP literal, without brackets
    port: int
    path: str  # path and query, never empty
    literal: IPAddress | None


def parse_url(url: str, *, allow_http: bool = False) -> Target:
    """Check a URL's shape: scheme, no userinfo, a sane host and port. Raises ForbiddenDestination."""
    if not isinstance(url, str) or _UNSAFE_URL_CHARS.search(url):
        raise ForbiddenDestination("the URL contains whitespace, control characters or backslashes")
    try:
        parts: SplitResult = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ForbiddenDestination(f"not a valid URL: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme != "https" and not (scheme == "http" and allow_http):
        raise ForbiddenDestination(f"only https URLs are fetched, not {scheme or 'scheme-less'} ones")
    if "@" in parts.netloc:
        raise ForbiddenDestination("URLs with a user name or password are not fetched")
    host = parts.hostname or ""
    if not host:
        raise ForbiddenDestination("the URL has no host")
    literal: IPAddress | None
    if parts.netloc.startswith("["):
        if "%" in host:
            raise ForbiddenDestination("IPv6 zone identifiers are not fetched")
        try:
            literal = ipaddress.IPv6Address(host)
        except ValueError:
            raise ForbiddenDestination(f"{host!r} is not a valid IPv6 address") from None
    else:
        try:
            host = host.encode("idna").decode("ascii").lower()
        except UnicodeError:
            raise ForbiddenDestination(f"{host!r} is not a valid host name") from None
        literal = parse_ipv4_literal(host)
        if literal is not None:
            host = str(literal)
        elif not _HOST_LABELS.match(host):
            raise ForbiddenDestination(f"{host!r} is not a valid host name")
        elif host.rstrip(".") == "localhost" or host.rstrip(".").endswith(".localhost"):
            raise ForbiddenDestination(f"{host} is a loopback name (RFC 6761)")  # whatever the resolver says
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(scheme, host, port or (443 if scheme == "https" else 80), path, literal)


# --- The test-only hatch --------------------------------------------------------------------


class _LoopbackPeers:
    """Every loopback address but 127.0.0.1 and ::1 (where the instance's own databases listen)."""

    def __contains__(self, address: object) -> bool:
        return (
            isinstance(address, ipaddress.IPv4Address)
            and address.is_loopback
            and address != ipaddress.ip_address("127.0.0.1")
        )


def _test_allowance() -> tuple[Container[IPAddress], bool]:
    """Loopback peers and plain http that the test settings open; nothing in production.

    Two hatches, neither reachable on a public instance: ``OUTBOUND_TEST_ALLOW`` (test settings
    only, named loopback peers) and ``ALLOW_LOOPBACK_FEDERATION`` (the environment's
    ``ROSTRA_ALLOW_LOOPBACK_FEDERATION``, which ``rostra.config.env`` refuses unless the
    instance's own domain is a loopback address): every 127.0.0.0/8 peer but 127.0.0.1.
    """
    if getattr(settings, "ALLOW_LOOPBACK_FEDERATION", False):
        return _LoopbackPeers(), True
    if not getattr(settings, "TESTING", False):
        return frozenset(), False
    allow = getattr(settings, "OUTBOUND_TEST_ALLOW", None) or {}
    peers = frozenset(ipaddress.ip_address(p) for p in allow.get("peers", ()))
    for peer in peers:
        if not peer.is_loopback or peer in (ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1")):
            raise ValueError(f"OUTBOUND_TEST_ALLOW may open loopback test peers only, never {peer}")
    return peers, bool(allow.get("plain_http", False))


# --- The exchange ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Response:
    status: int
    headers: Mapping[str, str]  # lower-case names; repeated headers joined with ", "
    body: bytes
    url: str  # the final URL, after redirects

    def header(self, name: str, default: str = "") -> str:
        return self.headers.get(name.lower(), default)


@dataclass
class _Budget:
    """What is left of the exchange's total time, handed out one socket operation at a time."""

    deadline: float
    read_timeout: float

    def timeout(self, cap: float) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimedOut("the remote took longer than the total time allowed")
        return min(cap, left)

    def check_spent(self) -> None:
        """After a socket time-out: say so if it was the total budget (not one read) that ran out."""
        if self.deadline - time.monotonic() <= 0.01:
            raise TimedOut("the remote took longer than the total time allowed")


class _BudgetedReader(io.RawIOBase):
    """Socket reads that each wait at most the read time-out and never past the deadline."""

    def __init__(self, sock: socket.socket, budget: _Budget) -> None:
        self._sock = sock
        self._budget = budget

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        self._sock.settimeout(self._budget.timeout(self._budget.read_timeout))
        try:
            return self._sock.recv_into(buffer)
        except TimeoutError:
            self._budget.check_spent()
            raise TimedOut("the remote stopped sending") from None


class _BudgetedSocket:
    """What ``HTTPResponse`` sees of the socket: only ``makefile``, over the budgeted reader."""

    def __init__(self, sock: socket.socket, budget: _Budget) -> None:
        self._sock = sock
        self._budget = budget

    def makefile(self, mode: str = "rb", *args: Any, **kwargs: Any) -> io.BufferedReader:
        return io.BufferedReader(_BudgetedReader(self._sock, self._budget))


class _BudgetedResponse(http.client.HTTPResponse):
    def __init__(self, sock: socket.socket, *args: Any, budget: _Budget, **kwargs: Any) -> None:
        super().__init__(_BudgetedSocket(sock, budget), *args, **kwargs)  # type: ignore[arg-type]


class _PinnedConnection(http.client.HTTPConnection):
    """An HTTP connection to already-checked addresses, whatever the name resolves to now."""

    def __init__(self, target: Target, addresses: list[IPAddress], budget: _Budget, connect_timeout: float) -> None:
        super().__init__(target.host, target.port)
        self._addresses = addresses
        self._budget = budget
        self._connect_timeout = connect_timeout
        self.response_class = partial(_BudgetedResponse, budget=budget)  # type: ignore[assignment]
        self._held: list[socket.socket] = []

    def close(self) -> None:
        # http.client closes the connection as soon as it sees a close-delimited response, relying
        # on the response's makefile() reference to keep the socket open; our reader holds the
        # socket itself, so the socket is kept until the exchange is over (release()).
        if self.sock is not None:
            self._held.append(self.sock)
            self.sock = None
        super().close()

    def release(self) -> None:
        self.close()
        for sock in self._held:
            sock.close()
        self._held.clear()

    def connect(self) -> None:
        # Each checked address in resolver order (a dual-stack host may be unreachable over one family).
        error: OSError | None = None
        for address in self._addresses:
            try:
                sock = self._open(address)
            except OSError as exc:
                error = exc
                continue
            self.sock = self._secure(sock)
            self.sock.settimeout(self._budget.timeout(self._budget.read_timeout))
            return
        assert error is not None
        raise error

    def _open(self, address: IPAddress) -> socket.socket:
        family = socket.AF_INET if isinstance(address, ipaddress.IPv4Address) else socket.AF_INET6
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.settimeout(self._budget.timeout(self._connect_timeout))
            sock.connect((str(address), self.port))
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except BaseException:
            sock.close()
            raise
        return sock

    def _secure(self, sock: socket.socket) -> socket.socket:
        return sock


class _PinnedTLSConnection(_PinnedConnection):
    default_port = http.client.HTTPS_PORT

    def __init__(self, *args: Any, context: ssl.SSLContext, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._context = context

    def _secure(self, sock: socket.socket) -> socket.socket:
        # The certificate is verified for the name in the URL, which is also what SNI carries.
        try:
            return self._context.wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise


def _user_agent() -> str:
    base_url = getattr(getattr(settings, "ROSTRA", None), "base_url", "")
    return f"Rostra/0.1 (+{base_url}/)" if base_url else "Rostra/0.1"


class OutboundClient:
    """Fetches URLs from other hosts under the guards described in this module's docstring.

    ``resolver`` has ``socket.getaddrinfo``'s signature and is called once per request (and once
    per redirect hop); the tests hand in their own to play DNS tricks.
    """

    def __init__(
        self,
        *,
        resolver: Resolver = socket.getaddrinfo,
        connect_timeout: float = CONNECT_TIMEOUT,
        read_timeout: float = READ_TIMEOUT,
        total_timeout: float = TOTAL_TIMEOUT,
        max_bytes: int = MAX_BYTES,
        max_redirects: int = MAX_REDIRECTS,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        context = ssl_context or ssl.create_default_context()
        if not context.check_hostname or context.verify_mode != ssl.CERT_REQUIRED:
            raise ValueError("the TLS context must verify certificates and host names")
        self.resolver = resolver
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.total_timeout = total_timeout
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects
        self.ssl_context = context

    def get(self, url: str, *, headers: Mapping[str, str] | None = None, max_bytes: int | None = None) -> Response:
        return self.request("GET", url, headers=headers, max_bytes=max_bytes)

    def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
        max_bytes: int | None = None,
        follow_redirects: bool = True,
    ) -> Response:
        """One exchange, redirects included, within the total time budget."""
        cap = self.max_bytes if max_bytes is None else max_bytes
        sent = _request_headers(headers)
        budget = _Budget(time.monotonic() + self.total_timeout, self.read_timeout)
        peers, allow_http = _test_allowance()
        method = method.upper()
        origin = None
        for hop in range(self.max_redirects + 1):
            target = parse_url(url, allow_http=allow_http)
            if origin is not None and origin != (target.scheme, target.host, target.port):
                # Credentials meant for one origin are never handed to the next.
                sent = {k: v for k, v in sent.items() if k.lower() not in _CREDENTIAL_HEADERS}
            origin = (target.scheme, target.host, target.port)
            conn = self._connection(target, self._checked_addresses(target, peers), budget)
            try:
                resp = self._send(conn, method, target, sent, body)
                location = resp.getheader("location")
                if follow_redirects and resp.status in REDIRECT_STATUSES and location:
                    if hop == self.max_redirects:
                        raise TooManyRedirects(f"more than {self.max_redirects} redirects")
                    url = urljoin(url, location.strip()).split("#", 1)[0]
                    if resp.status in (301, 302, 303) and method not in ("GET", "HEAD"):
                        method, body = "GET", None
                    continue
                data = _read_body(resp, cap)
                return Response(resp.status, _response_headers(resp.getheaders()), data, url)
            except http.client.HTTPException as exc:
                raise BadResponse(f"the remote's answer is not valid HTTP ({type(exc).__name__})") from None
            except TimeoutError:
                raise TimedOut("the remote took too long") from None
            except ssl.SSLError as exc:
                raise Unreachable(f"TLS with {target.host} failed: {exc.reason or exc}") from None
            except OSError as exc:
                raise Unreachable(f"could not talk to {target.host}: {exc.strerror or exc}") from None
            finally:
                conn.release()
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    def _checked_addresses(self, target: Target, peers: Container[IPAddress]) -> list[IPAddress]:
        """Resolve once and refuse if any address is forbidden; the connection uses only these."""
        addresses = [target.literal] if target.literal is not None else self._resolve(target)
        for address in addresses:
            if address in peers:
                continue
            if reason := forbidden_reason(address):
                shown = target.host if target.host == str(address) else f"{target.host} ({address})"
                raise ForbiddenDestination(f"{shown} is a {reason} address")
        return addresses

    def _resolve(self, target: Target) -> list[IPAddress]:
        try:
            infos = self.resolver(target.host, target.port, 0, socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            raise Unreachable(f"{target.host} does not resolve: {exc}") from None
        addresses: list[IPAddress] = []
        for info in infos:
            raw = str(info[4][0])
            if "%" in raw:  # a scoped IPv6 address is link-local by definition
                raise ForbiddenDestination(f"{target.host} resolves to a scoped (link-local) address")
            address = ipaddress.ip_address(raw)
            if address not in addresses:
                addresses.append(address)
        if not addresses:
            raise Unreachable(f"{target.host} does not resolve")
        return addresses

    def _connection(self, target: Target, addresses: list[IPAddress], budget: _Budget) -> _PinnedConnection:
        if target.scheme == "https":
            return _PinnedTLSConnection(target, addresses, budget, self.connect_timeout, context=self.ssl_context)
        return _PinnedConnection(target, addresses, budget, self.connect_timeout)

    @staticmethod
    def _send(
        conn: _PinnedConnection, method: str, target: Target, headers: Mapping[str, str], body: bytes | None
    ) -> http.client.HTTPResponse:
        conn.request(method, target.path, body=body, headers=dict(headers))
        return conn.getresponse()


_CREDENTIAL_HEADERS = frozenset({"authorization", "cookie", "signature", "proxy-authorization"})


def _request_headers(headers: Mapping[str, str] | None) -> dict[str, str]:
    sent = {"User-Agent": _user_agent(), "Accept": "*/*", "Accept-Encoding": "gzip"}
    for name, value in (headers or {}).items():
        if name.lower() in ("host", "content-length", "transfer-encoding", "accept-encoding", "connection"):
            raise ValueError(f"the {name} header is set by the outbound client itself")
        sent = {k: v for k, v in sent.items() if k.lower() != name.lower()} | {name: value}
    return sent


def _response_headers(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    merged: dict[str, str] = {}
    for name, value in pairs:
        key = name.lower()
        merged[key] = f"{merged[key]}, {value}" if key in merged else value
    return merged


def _read_body(resp: http.client.HTTPResponse, cap: int) -> bytes:
    """The body, refused as soon as it (or its decompressed form) passes ``cap`` bytes."""
    length = resp.getheader("content-length")
    if length and length.strip().isdigit() and int(length) > cap:
        raise TooLarge(f"the remote announced {int(length)} bytes, more than the {cap} allowed")
    encoding = (resp.getheader("content-encoding") or "identity").strip().lower()
    if encoding not in ("identity", "gzip", "x-gzip", "deflate"):
        raise BadResponse(f"unsupported content encoding {encoding!r}")
    decoder = None if encoding == "identity" else zlib.decompressobj(wbits=47 if encoding != "deflate" else zlib.MAX_WBITS)
    out = bytearray()
    raw_total = 0
    while chunk := resp.read(_CHUNK):
        raw_total += len(chunk)
        if raw_total > cap:
            raise TooLarge(f"the body is over the {cap} bytes allowed")
        if decoder is None:
            out += chunk
            continue
        _inflate(decoder, chunk, out, cap)
    if decoder is not None and not decoder.eof:
        raise BadResponse("the compressed body is truncated")
    return bytes(out)


def _inflate(decoder: Any, chunk: bytes, out: bytearray, cap: int) -> None:
    """Decompress no more than one byte past the cap, however much the chunk would expand."""
    try:
        while chunk and not decoder.eof:
            out += decoder.decompress(chunk, cap + 1 - len(out))
            if len(out) > cap:
                raise TooLarge(f"the decompressed body is over the {cap} bytes allowed")
            chunk = decoder.unconsumed_tail
    except zlib.error:
        raise BadResponse("the compressed body is corrupt") from None


_default: OutboundClient | None = None


def client() -> OutboundClient:
    """The shared client with the standard limits."""
    global _default
    if _default is None:
        _default = OutboundClient()
    return _default


def fetch(url: str, *, headers: Mapping[str, str] | None = None, max_bytes: int | None = None) -> Response:
    """GET ``url`` through the guarded client (the usual entry point for link previews and media)."""
    return client().get(url, headers=headers, max_bytes=max_bytes)


__all__ = [
    "BadResponse",
    "ForbiddenDestination",
    "OutboundClient",
    "OutboundError",
    "Response",
    "TimedOut",
    "TooLarge",
    "TooManyRedirects",
    "Unreachable",
    "fetch",
    "forbidden_reason",
    "is_forbidden",
    "parse_ipv4_literal",
    "parse_url",
]
