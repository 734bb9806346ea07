"""ROSTRA_ALLOW_LOOPBACK_FEDERATION: the test-only hatch that lets servers on 127.0.0.2, 127.0.0.3...
federate over plain http, and that refuses to exist on an instance with a real domain."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from rostra.config.env import ConfigError, load
from rostra.core.outbound import ForbiddenDestination, OutboundClient

RBIN = str(Path(sys.executable).parent / "rostra")


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ROSTRA_", "DJANGO_", "DATABASE_URL", "REDIS_URL"))}
    env.update(ROSTRA_DATA_DIR=str(tmp_path / "data"), **extra)
    return env


class _Ok(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.server.seen.append(self.path)
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, host: str) -> None:
        super().__init__((host, 0), _Ok)
        self.seen: list[str] = []
        self.port = int(self.server_address[1])


@pytest.fixture
def peers() -> Iterator[tuple[_Server, _Server]]:
    """A plain-http server on 127.0.0.2 (a test peer) and one on 127.0.0.1 (this very host)."""
    servers = (_Server("127.0.0.2"), _Server("127.0.0.1"))
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in servers]
    for t in threads:
        t.start()
    yield servers
    for s in servers:
        s.shutdown()
        s.server_close()


# --- Loading the setting --------------------------------------------------------------------


@pytest.mark.parametrize("domain", ["social.example.org", "10.0.0.5:8000", "192.168.1.2", "127.0.0.2.example.org", "localhost.example.org:8000"])
def test_refused_unless_the_domain_is_loopback_and_the_message_names_the_variable(tmp_path, domain):
    with pytest.raises(ConfigError) as caught:
        load({"ROSTRA_DATA_DIR": str(tmp_path), "ROSTRA_DOMAIN": domain, "ROSTRA_ALLOW_LOOPBACK_FEDERATION": "1"})
    message = str(caught.value)
    assert "ROSTRA_ALLOW_LOOPBACK_FEDERATION" in message and "loopback" in message and repr(domain) in message


def test_refused_domain_stops_start_up(tmp_path):
    env = _env(tmp_path, ROSTRA_DOMAIN="social.example.org", ROSTRA_ALLOW_LOOPBACK_FEDERATION="true")
    done = subprocess.run([RBIN, "check"], env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2
    assert "ROSTRA_ALLOW_LOOPBACK_FEDERATION" in done.stderr and "'social.example.org'" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("domain", ["127.0.0.2:8000", "127.0.0.3", "localhost:8000"])
def test_accepted_on_a_loopback_domain(tmp_path, domain):
    cfg = load({"ROSTRA_DATA_DIR": str(tmp_path), "ROSTRA_DOMAIN": domain, "ROSTRA_ALLOW_LOOPBACK_FEDERATION": "1"})
    assert cfg.allow_loopback_federation is True
    assert cfg.base_url == f"http://{domain}"


def test_off_by_default_and_a_bad_value_is_named(tmp_path):
    assert load({"ROSTRA_DATA_DIR": str(tmp_path), "ROSTRA_DOMAIN": "127.0.0.2:8000"}).allow_loopback_federation is False
    off = load({"ROSTRA_DATA_DIR": str(tmp_path), "ROSTRA_DOMAIN": "social.example.org", "ROSTRA_ALLOW_LOOPBACK_FEDERATION": "0"})
    assert off.allow_loopback_federation is False
    with pytest.raises(ConfigError, match="ROSTRA_ALLOW_LOOPBACK_FEDERATION='perhaps' is not a yes/no value"):
        load({"ROSTRA_DATA_DIR": str(tmp_path), "ROSTRA_DOMAIN": "127.0.0.2:8000", "ROSTRA_ALLOW_LOOPBACK_FEDERATION": "perhaps"})


# --- What it opens in the outbound client ------------------------------------------------------


def test_with_it_on_loopback_peers_are_reached_but_never_127_0_0_1(settings, peers):
    peer, host = peers
    settings.OUTBOUND_TEST_ALLOW = None
    settings.ALLOW_LOOPBACK_FEDERATION = True
    assert OutboundClient().get(f"http://127.0.0.2:{peer.port}/actor").status == 200
    with pytest.raises(ForbiddenDestination, match="loopback"):
        OutboundClient().get(f"http://127.0.0.1:{host.port}/admin")
    with pytest.raises(ForbiddenDestination):
        OutboundClient().get(f"http://[::1]:{host.port}/admin")
    with pytest.raises(ForbiddenDestination):
        OutboundClient().get("http://10.0.0.1/")  # private addresses stay shut: only loopback opens
    assert peer.seen == ["/actor"] and host.seen == []


def test_a_real_server_with_it_on_reaches_127_0_0_2_and_refuses_127_0_0_1(tmp_path, peers):
    """Production settings built from the environment, as `rostra serve` would build them."""
    peer, host = peers
    script = f"""
import django
django.setup()
from django.conf import settings
from rostra.core.outbound import ForbiddenDestination, OutboundClient
assert settings.ALLOW_LOOPBACK_FEDERATION is True and not getattr(settings, "TESTING", False)
print("fetched:", OutboundClient().get("http://127.0.0.2:{peer.port}/actor").status)
try:
    OutboundClient().get("http://127.0.0.1:{host.port}/admin")
except ForbiddenDestination as exc:
    print("refused:", exc)
"""
    env = _env(tmp_path, DJANGO_SETTINGS_MODULE="rostra.config.settings", ROSTRA_DOMAIN="127.0.0.2:8000", ROSTRA_ALLOW_LOOPBACK_FEDERATION="1")
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert "fetched: 200" in done.stdout and "refused:" in done.stdout and "loopback" in done.stdout
    assert peer.seen == ["/actor"] and host.seen == []


def test_without_it_a_real_server_reaches_no_loopback_peer(tmp_path, peers):
    peer, _ = peers
    script = f"""
import django
django.setup()
from rostra.core.outbound import ForbiddenDestination, OutboundClient
try:
    OutboundClient().get("http://127.0.0.2:{peer.port}/actor")
except ForbiddenDestination as exc:
    print("refused:", exc)
"""
    env = _env(tmp_path, DJANGO_SETTINGS_MODULE="rostra.config.settings", ROSTRA_DOMAIN="127.0.0.2:8000")
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert "refused:" in done.stdout and peer.seen == []
