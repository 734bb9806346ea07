"""The outbound HTTP client: URL and address checks, the exchange, TLS, and the test-only hatch.

The fake remotes and the canary here are real sockets and real threaded HTTP servers on loopback;
tests/security/test_b6_ssrf.py and test_b7_slow_remote.py use them too.
"""

from __future__ import annotations

import functools
import gzip
import ipaddress
import json
import os
import socket
import ssl
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings
from hypothesis import given
from hypothesis import strategies as st

from rostra.core.outbound import (
    CONNECT_TIMEOUT,
    MAX_BYTES,
    MAX_REDIRECTS,
    READ_TIMEOUT,
    TOTAL_TIMEOUT,
    BadResponse,
    ForbiddenDestination,
    OutboundClient,
    OutboundError,
    TimedOut,
    TooLarge,
    TooManyRedirects,
    Unreachable,
    client,
    forbidden_reason,
    is_forbidden,
    parse_ipv4_literal,
    parse_url,
)

# --- Helpers shared with tests/security -----------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    """Routes of a fake remote, each a small hostile or friendly behaviour."""

    server: _RemoteServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        self._route(b"")

    def do_POST(self) -> None:
        self._route(self.rfile.read(int(self.headers.get("Content-Length") or 0)))

    def _route(self, body: bytes) -> None:
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        self.server.seen.append((self.command, self.path, dict(self.headers.items())))
        name, _, arg = url.path.strip("/").partition("/")
        getattr(self, f"route_{name.replace('-', '_')}", self.route_ok)(arg, query, body)

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None, *, length: bool = True) -> None:
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        if length:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def route_ok(self, arg: str, query: dict[str, str], body: bytes) -> None:
        self._send(200, b"hello", {"Content-Type": "text/plain", "X-Twice": "a"})

    def route_echo(self, arg: str, query: dict[str, str], body: bytes) -> None:
        doc = {"method": self.command, "headers": dict(self.headers.items()), "body": body.decode()}
        self._send(200, json.dumps(doc).encode(), {"Content-Type": "application/json"})

    def route_redirect(self, arg: str, query: dict[str, str], body: bytes) -> None:
        self._send(int(query.get("status", "302")), b"", {"Location": query["to"]})

    def route_chain(self, arg: str, query: dict[str, str], body: bytes) -> None:
        n = int(arg)
        if n == 0:
            self._send(200, b"end of the chain")
        else:
            self._send(302, b"", {"Location": f"/chain/{n - 1}"})

    def route_loop(self, arg: str, query: dict[str, str], body: bytes) -> None:
        self._send(301, b"", {"Location": "/loop"})

    def route_big(self, arg: str, query: dict[str, str], body: bytes) -> None:
        size = int(query.get("size", 2_000_000))
        if arg == "unannounced":  # HTTP/1.0 style: no length, the body ends when the connection closes
            self.wfile.write(b"HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n")
            self._write_slices(size)
        elif arg == "chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for start in range(0, size, 65536):
                piece = b"x" * min(65536, size - start)
                if not self._write(b"%x\r\n%s\r\n" % (len(piece), piece)):
                    return
            self._write(b"0\r\n\r\n")
        else:
            self.send_response(200)
            self.send_header("Content-Length", str(size))
            self.end_headers()
            self._write_slices(size)
        self.close_connection = True

    def route_gzip(self, arg: str, query: dict[str, str], body: bytes) -> None:
        if arg == "bomb":  # 20 MB of zeros in about 20 KB
            payload = _bomb()
        elif arg == "corrupt":
            payload = gzip.compress(b"hello gzip")[:12] + b"\xff" * 20
        else:
            payload = gzip.compress(b"hello gzip")
        self._send(200, payload, {"Content-Encoding": "gzip"})

    def route_trickle(self, arg: str, query: dict[str, str], body: bytes) -> None:
        """One byte a second: the body (after honest headers) or the status line itself."""
        stream = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b"x" * 100
        if arg == "body":
            self.wfile.write(stream[: stream.index(b"\r\n\r\n") + 4])
            stream = b"x" * 100
        for i in range(len(stream)):
            if not self._write(stream[i : i + 1]) or self.server.stopping.wait(1.0):
                break
        self.close_connection = True

    def route_silent(self, arg: str, query: dict[str, str], body: bytes) -> None:
        self.server.stopping.wait(30)
        self.close_connection = True

    def route_garbage(self, arg: str, query: dict[str, str], body: bytes) -> None:
        self.wfile.write(b"THIS IS NOT HTTP\r\n\r\n")
        self.close_connection = True

    def _write_slices(self, size: int) -> None:
        for start in range(0, size, 65536):
            if not self._write(b"x" * min(65536, size - start)):
                return

    def _write(self, data: bytes) -> bool:
        try:
            self.wfile.write(data)
            self.wfile.flush()
        except OSError:
            return False
        return True


@functools.cache
def _bomb() -> bytes:
    return gzip.compress(b"\0" * 20_000_000, compresslevel=9)


class _RemoteServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], context: ssl.SSLContext | None) -> None:
        super().__init__(address, handler)
        self.seen: list[tuple[str, str, dict[str, str]]] = []
        self.stopping = threading.Event()
        self.context = context

    def get_request(self) -> tuple[socket.socket, object]:
        sock, addr = super().get_request()
        if self.context is not None:
            sock = self.context.wrap_socket(sock, server_side=True)
        return sock, addr


class FakeRemote:
    """A real threaded HTTP(S) server on an allowed test address (127.0.0.2 to 127.0.0.9)."""

    def __init__(self, host: str = "127.0.0.2", *, context: ssl.SSLContext | None = None) -> None:
        self.host = host
        self.server = _RemoteServer((host, 0), _Handler, context)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def url(self, path: str = "/ok", scheme: str = "http", host: str | None = None) -> str:
        return f"{scheme}://{host or self.host}:{self.port}{path}"

    @property
    def seen(self) -> list[tuple[str, str, dict[str, str]]]:
        return self.server.seen

    def __enter__(self) -> FakeRemote:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stopping.set()
        self.server.shutdown()
        self.server.server_close()


class Canary:
    """A listener on a forbidden address that counts every connection that reaches it."""

    def __init__(self, host: str, port: int) -> None:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(64)
        self.sock.setblocking(False)
        self.connections = 0

    def count(self) -> int:
        # The kernel completes handshakes without accept(); every queued one is a connection made.
        while True:
            try:
                conn, _ = self.sock.accept()
            except BlockingIOError:
                return self.connections
            conn.close()
            self.connections += 1

    def close(self) -> None:
        self.sock.close()


def resolver_to(*addresses: str, calls: list[str] | None = None) -> Callable[..., list[tuple[object, ...]]]:
    """A resolver with getaddrinfo's signature that answers every name with ``addresses``."""

    def resolve(host: str, port: int, family: int = 0, type: int = 0, proto: int = 0, flags: int = 0) -> list[tuple[object, ...]]:
        if calls is not None:
            calls.append(host)
        return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in addresses]

    return resolve


@pytest.fixture
def remote() -> Iterator[FakeRemote]:
    with FakeRemote() as fake:
        yield fake


# --- Addresses ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("127.0.1", "127.0.0.1"),
        ("017700000001", "127.0.0.1"),
        ("0", "0.0.0.0"),  # noqa: S104 - an address to refuse, not to bind
        ("10.0.0.1.", "10.0.0.1"),
        ("0xA9.0376.43518", "169.254.169.254"),
    ],
)
def test_ipv4_literals_are_read_as_inet_aton_reads_them(text, expected):
    assert parse_ipv4_literal(text) == ipaddress.IPv4Address(expected)
    assert socket.inet_aton(text.rstrip(".")) == ipaddress.IPv4Address(expected).packed


@pytest.mark.parametrize(
    "text", ["1.2.3.4.5", "256.0.0.1", "1.2.3.256", "0x100000000", "08.0.0.1", "1.2.3.09", "4294967296", "1.2.65536"]
)
def test_hosts_ending_in_a_number_must_be_valid_ipv4(text):
    with pytest.raises(ForbiddenDestination, match="not"):
        parse_ipv4_literal(text)


@pytest.mark.parametrize("text", ["example.org", "1.2.3.example", "0x7f.example", "social.example."])
def test_names_are_not_ipv4_literals(text):
    assert parse_ipv4_literal(text) is None


def _spell(part: int, style: int) -> str:
    return [str(part), f"0{part:o}", f"0x{part:x}", f"0X{part:X}"][style]


@given(st.integers(0, 2**32 - 1), st.integers(1, 4), st.lists(st.integers(0, 3), min_size=4, max_size=4))
def test_ipv4_literal_parser_agrees_with_inet_aton(number, nparts, styles):
    packed = number.to_bytes(4, "big")
    parts = [*packed[: nparts - 1], int.from_bytes(packed[nparts - 1 :], "big")]
    text = ".".join(_spell(p, s) for p, s in zip(parts, styles, strict=False))
    assert parse_ipv4_literal(text).packed == socket.inet_aton(text) == packed


def _forbidden_by_attributes(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """An independent statement of the rule, in the words of the ipaddress module."""
    if ip.is_private or not ip.is_global or ip.is_loopback or ip.is_link_local:
        return True
    if ip.is_multicast or ip.is_reserved or ip.is_unspecified:
        return True
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.is_site_local or ip.ipv4_mapped is not None:
            return True
        if ip.sixtofour is not None and _forbidden_by_attributes(ip.sixtofour):
            return True
        if ip.teredo is not None:
            return True
    return False


@given(st.ip_addresses())
def test_address_checker_agrees_with_the_ipaddress_attributes(ip):
    assert is_forbidden(ip) == _forbidden_by_attributes(ip), (ip, forbidden_reason(ip))


@given(
    st.sampled_from(["2002::/16", "2001::/32", "2000::/3", "::ffff:0:0/96", "64:ff9b::/96", "fc00::/7"]),
    st.integers(0, 2**128 - 1),
)
def test_address_checker_agrees_inside_the_ipv6_blocks_that_embed_ipv4(prefix, bits):
    net = ipaddress.IPv6Network(prefix)
    ip = net[bits % net.num_addresses]
    assert is_forbidden(ip) == _forbidden_by_attributes(ip), (ip, forbidden_reason(ip))


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("0.0.0.0", "this network"),  # noqa: S104
        ("10.1.2.3", "private"),
        ("172.31.255.255", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local"),
        ("100.64.0.1", "CGNAT"),
        ("224.0.0.251", "multicast"),
        ("255.255.255.255", "reserved"),
        ("::1", "loopback"),
        ("::", "unspecified"),
        ("::ffff:127.0.0.1", "IPv4-mapped"),
        ("::ffff:8.8.8.8", "IPv4-mapped"),
        ("::127.0.0.1", "IPv4-compatible"),
        ("fd00::1", "unique local"),
        ("fe80::1", "link-local"),
        ("ff02::1", "multicast"),
        ("2002:7f00:1::", "6to4 embedding loopback"),
        ("2002:a00:1::", "6to4 embedding private"),
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo"),
    ],
)
def test_forbidden_addresses_are_named(address, reason):
    assert reason in (forbidden_reason(ipaddress.ip_address(address)) or "")


@pytest.mark.parametrize("address", ["8.8.8.8", "1.1.1.1", "93.184.215.14", "2606:4700::1111", "2002:808:808::"])
def test_public_addresses_are_allowed(address):
    assert forbidden_reason(ipaddress.ip_address(address)) is None


# --- URLs -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.org/x", "only https"),
        ("file:///etc/passwd", "only https"),
        ("gopher://example.org/", "only https"),
        ("//example.org/", "only https"),
        ("http://example.org/", "only https"),
        ("https://user:pass@example.org/", "user name"),
        ("https://example.org@127.0.0.1/", "user name"),
        ("https:///path", "no host"),
        ("https://example.org:99999/", "not a valid URL"),
        ("https://exa mple.org/", "whitespace"),
        ("https://example.org\\@127.0.0.1/", "backslash"),
        ("https://ex%61mple.org/", "host name"),
        ("https://bad_host!.org/", "host name"),
        ("https://[fe80::1%25eth0]/", "zone"),
        ("https://1.2.3.4.5/", "IPv4"),
    ],
)
def test_bad_urls_are_refused_with_the_reason(url, message):
    with pytest.raises(ForbiddenDestination, match=message):
        parse_url(url)


def test_url_parts_are_normalised():
    target = parse_url("https://Social.EXAMPLE.org/users/a?x=1#frag")
    assert (target.scheme, target.host, target.port, target.path) == ("https", "social.example.org", 443, "/users/a?x=1")
    assert parse_url("https://bücher.example/").host == "xn--bcher-kva.example"
    assert (
        parse_url("https://\uff11\uff12\uff17.\uff10.\uff10.\uff11/").host == "127.0.0.1"
    )  # fullwidth digits are still 127.0.0.1
    assert parse_url("https://127\u30020\u30020\u30021/").host == "127.0.0.1"  # and so are ideographic dots
    assert parse_url("http://example.org:8080", allow_http=True).port == 8080


# --- The exchange ---------------------------------------------------------------------------


def test_a_plain_get_returns_status_headers_body_and_url(remote):
    resp = OutboundClient().get(remote.url("/ok"))
    assert resp.status == 200 and resp.body == b"hello"
    assert resp.header("Content-Type") == "text/plain" and resp.headers["x-twice"] == "a"
    assert resp.url == remote.url("/ok")


def test_requests_name_rostra_and_the_instance_and_carry_the_host_name(remote):
    calls: list[str] = []
    out = OutboundClient(resolver=resolver_to(remote.host, calls=calls))
    doc = json.loads(out.get(f"http://remote.test:{remote.port}/echo", headers={"Accept": "application/activity+json"}).body)
    headers = {k.lower(): v for k, v in doc["headers"].items()}
    assert headers["host"] == f"remote.test:{remote.port}"
    assert "Rostra" in headers["user-agent"] and settings.ROSTRA.domain in headers["user-agent"]
    assert headers["accept"] == "application/activity+json" and headers["accept-encoding"] == "gzip"
    assert calls == ["remote.test"]


def test_the_client_sets_framing_headers_itself():
    with pytest.raises(ValueError, match="Host"):
        OutboundClient().get("https://example.org/", headers={"Host": "127.0.0.1"})


def test_redirects_are_followed_and_the_final_url_reported(remote):
    resp = OutboundClient().get(remote.url("/chain/3"))
    assert resp.body == b"end of the chain" and resp.url == remote.url("/chain/0")
    assert [path for _, path, _ in remote.seen] == ["/chain/3", "/chain/2", "/chain/1", "/chain/0"]


def test_redirects_keep_or_drop_the_method_as_http_says(remote):
    out = OutboundClient()
    after_303 = json.loads(
        out.request("POST", remote.url(f"/redirect?status=303&to={remote.url('/echo')}"), body=b"payload").body
    )
    assert after_303["method"] == "GET" and after_303["body"] == ""
    after_307 = json.loads(
        out.request("POST", remote.url(f"/redirect?status=307&to={remote.url('/echo')}"), body=b"payload").body
    )
    assert after_307["method"] == "POST" and after_307["body"] == "payload"
    not_followed = out.request("GET", remote.url(f"/redirect?to={remote.url('/echo')}"), follow_redirects=False)
    assert not_followed.status == 302 and not_followed.header("location") == remote.url("/echo")


def test_credentials_are_not_handed_to_another_origin(remote):
    with FakeRemote("127.0.0.3") as other:
        out = OutboundClient()
        same = json.loads(out.get(remote.url(f"/redirect?to={remote.url('/echo')}"), headers={"Authorization": "Bearer s"}).body)
        assert same["headers"].get("Authorization") == "Bearer s"
        cross = json.loads(out.get(remote.url(f"/redirect?to={other.url('/echo')}"), headers={"Authorization": "Bearer s"}).body)
        assert "Authorization" not in cross["headers"]


def test_gzip_bodies_are_decoded(remote):
    assert OutboundClient().get(remote.url("/gzip")).body == b"hello gzip"
    with pytest.raises(BadResponse, match=r"corrupt|truncated"):
        OutboundClient().get(remote.url("/gzip/corrupt"))


def test_garbage_is_a_bad_response(remote):
    with pytest.raises(BadResponse):
        OutboundClient().get(remote.url("/garbage"))


def test_unresolvable_and_refusing_hosts_are_unreachable():
    def no_such_host(*args: object) -> list[tuple[object, ...]]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    with pytest.raises(Unreachable, match="does not resolve"):
        OutboundClient(resolver=no_such_host).get("https://nowhere.example/")
    with socket.socket() as unused:  # a port with nothing listening: the connection is refused
        unused.bind(("127.0.0.4", 0))
        port = unused.getsockname()[1]
    with pytest.raises(Unreachable, match="could not talk"):
        OutboundClient().get(f"http://127.0.0.4:{port}/")


def test_every_failure_is_an_outbound_error():
    for error in (ForbiddenDestination, TooLarge, TimedOut, TooManyRedirects, BadResponse, Unreachable):
        assert issubclass(error, OutboundError)


def test_the_shared_client_has_the_standard_limits():
    out = client()
    assert (
        (out.connect_timeout, out.read_timeout, out.total_timeout)
        == (CONNECT_TIMEOUT, READ_TIMEOUT, TOTAL_TIMEOUT)
        == (5, 10, 30)
    )
    assert (out.max_bytes, out.max_redirects) == (MAX_BYTES, MAX_REDIRECTS) == (1_000_000, 5)
    assert out.resolver is socket.getaddrinfo


# --- TLS: the checked address, the URL's name ------------------------------------------------


def _certificate(tmp_path: Path, name: str) -> tuple[Path, Path]:
    key, cert = tmp_path / f"{name}.key", tmp_path / f"{name}.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "2",
         "-subj", f"/CN={name}", "-addext", f"subjectAltName=DNS:{name}"],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.fixture
def tls_remote(tmp_path):
    cert, key = _certificate(tmp_path, "remote.test")
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert, key)
    sni: list[str | None] = []
    server_context.sni_callback = lambda sock, name, ctx: sni.append(name)  # type: ignore[assignment]
    trusting = ssl.create_default_context(cafile=str(cert))
    with FakeRemote("127.0.0.3", context=server_context) as fake:
        yield fake, trusting, sni


def test_tls_is_verified_for_the_name_while_connecting_to_the_checked_address(tls_remote):
    fake, trusting, sni = tls_remote
    out = OutboundClient(resolver=resolver_to(fake.host), ssl_context=trusting)
    resp = out.get(f"https://remote.test:{fake.port}/echo")
    assert resp.status == 200 and json.loads(resp.body)["headers"]["Host"] == f"remote.test:{fake.port}"
    assert sni == ["remote.test"]
    with pytest.raises(Unreachable, match="TLS"):  # same server, same address, another name: the certificate does not match
        out.get(f"https://other.test:{fake.port}/echo")
    with pytest.raises(Unreachable, match="TLS"):  # an untrusted certificate
        OutboundClient(resolver=resolver_to(fake.host)).get(f"https://remote.test:{fake.port}/echo")


def test_a_tls_context_that_does_not_verify_is_refused():
    lax = ssl.create_default_context()
    lax.check_hostname = False
    lax.verify_mode = ssl.CERT_NONE
    with pytest.raises(ValueError, match="verify"):
        OutboundClient(ssl_context=lax)


# --- The test-only hatch --------------------------------------------------------------------


def test_without_the_hatch_loopback_peers_and_plain_http_are_refused(remote, settings):
    settings.OUTBOUND_TEST_ALLOW = None
    with pytest.raises(ForbiddenDestination, match="only https"):
        OutboundClient().get(remote.url("/ok"))
    with pytest.raises(ForbiddenDestination, match="loopback"):
        OutboundClient().get(remote.url("/ok", scheme="https"))
    assert remote.seen == []


def test_the_hatch_never_opens_127_0_0_1(settings):
    settings.OUTBOUND_TEST_ALLOW = {"peers": ["127.0.0.1"], "plain_http": True}
    with pytest.raises(ValueError, match=r"never 127\.0\.0\.1"):
        OutboundClient().get("http://127.0.0.1/")


def test_no_environment_variable_opens_the_hatch(remote, tmp_path):
    """Production settings with every plausible variable set: the hatch stays shut."""
    script = f"""
import django
django.setup()
from django.conf import settings
from rostra.core.outbound import ForbiddenDestination, OutboundClient
assert settings.TESTING is False
assert not hasattr(settings, "OUTBOUND_TEST_ALLOW")
for url in ("http://127.0.0.2:{remote.port}/ok", "https://127.0.0.2:{remote.port}/ok"):
    try:
        OutboundClient().get(url)
    except ForbiddenDestination as exc:
        print("refused:", exc)
    else:
        raise SystemExit("fetched " + url)
"""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ROSTRA_", "DJANGO_"))}
    hatch = json.dumps({"peers": ["127.0.0.2"], "plain_http": True})
    env |= {
        "DJANGO_SETTINGS_MODULE": "rostra.config.settings",
        "ROSTRA_DATA_DIR": str(tmp_path / "data"),
        "ROSTRA_TESTING": "1",
        "TESTING": "1",
        "ROSTRA_OUTBOUND_TEST_ALLOW": hatch,
        "OUTBOUND_TEST_ALLOW": hatch,
        "ROSTRA_ALLOW_HTTP": "1",
    }
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("refused:") == 2 and "only https" in done.stdout and "loopback" in done.stdout
    assert remote.seen == []
