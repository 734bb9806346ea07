"""The deployment files under deploy/ (docs/operations.md, "Deploying on one machine", "Scaling out").

No init system or container engine runs here, so these check what can be checked: each file parses
(and passes `systemd-analyze verify`, `nginx -t` and `caddy adapt` where those are installed), every
`rostra` command a file runs is one the CLI accepts, the ports are the settings' defaults, and every
variable a file sets is a Rostra setting.
"""

from __future__ import annotations

import configparser
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from rostra.config.cli import build_parser
from rostra.config.env import SETTINGS
from rostra.core.ratelimit import parse_networks
from tests.live import RBIN

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
UNITS = ("rostra-web.service", "rostra-worker.service", "rostra-streaming.service")
SETTING_NAMES = {s.env for s in SETTINGS}
DEFAULTS = {s.env: s.default for s in SETTINGS}
STREAMING_PORT = int(DEFAULTS["ROSTRA_STREAMING_PORT"] or 0)
HARDENING = {"NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes", "User": "rostra"}


def web_port() -> int:
    """The port `rostra web` (and `rostra serve`) listen on by default."""
    commands = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    assert commands["web"].get_default("port") == commands["serve"].get_default("port")
    return int(commands["web"].get_default("port"))


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string((DEPLOY / "systemd" / name).read_text())
    return parser


def accepted(argv: list[str]) -> None:
    """The CLI parses these arguments (argparse exits on an unknown command or option)."""
    assert argv[0] in ("rostra", "/opt/rostra/venv/bin/rostra"), argv
    try:
        build_parser().parse_args(argv[1:])
    except SystemExit:
        pytest.fail(f"`{' '.join(argv)}` is not a command the rostra CLI accepts")


def option(argv: list[str], name: str) -> str | None:
    return argv[argv.index(name) + 1] if name in argv else None


def test_systemd_units_run_real_commands_with_hardening() -> None:
    target = unit("rostra.target")
    assert set(target["Unit"]["Wants"].split()) == set(UNITS)
    ports = {}
    for name in UNITS:
        u = unit(name)
        assert u["Unit"]["PartOf"] == "rostra.target" and u["Install"]["WantedBy"] == "rostra.target"
        for key, value in HARDENING.items():
            assert u["Service"][key] == value, (name, key)
        assert u["Service"]["ReadWritePaths"] == "/var/lib/rostra"
        argv = shlex.split(u["Service"]["ExecStart"])
        accepted(argv)
        ports[argv[1]] = option(argv, "--port")
        if "ExecStartPre" in u["Service"]:
            accepted(shlex.split(u["Service"]["ExecStartPre"]))
        assert u["Service"]["EnvironmentFile"] == "/etc/rostra/rostra.env"
    assert ports == {"web": str(web_port()), "worker": None, "streaming": str(STREAMING_PORT)}


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze is not installed")
def test_systemd_analyze_verify(tmp_path: Path) -> None:
    for name in (*UNITS, "rostra.target"):
        text = (DEPLOY / "systemd" / name).read_text()
        text = text.replace("/opt/rostra/venv/bin/rostra", RBIN).replace("/etc/rostra/rostra.env", str(DEPLOY / "rostra.env"))
        (tmp_path / name).write_text(text)
    out = subprocess.run(
        ["systemd-analyze", "verify", *(str(tmp_path / n) for n in ("rostra.target", *UNITS))],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0 and not out.stderr.strip(), out.stderr


def env_file(path: Path) -> dict[str, str]:
    pairs = {}
    for line in path.read_text().splitlines():
        line = line.strip().lstrip("#")
        if re.match(r"^[A-Z_]+=", line):
            key, _, value = line.partition("=")
            pairs[key] = value
    return pairs


def test_environment_file_sets_only_real_settings_matching_the_proxies() -> None:
    env = env_file(DEPLOY / "rostra.env")
    assert set(env) <= SETTING_NAMES, set(env) - SETTING_NAMES
    assert env["ROSTRA_STREAMING_PORT"] == str(STREAMING_PORT)
    assert env["ROSTRA_HTTPS"] == "true"
    proxies = parse_networks(env["ROSTRA_TRUSTED_PROXIES"])
    import ipaddress

    for proxy in ("127.0.0.1", "::1"):  # nginx and Caddy on the same machine connect from loopback
        assert any(ipaddress.ip_address(proxy) in ipaddress.ip_network(n) for n in proxies), proxy


def test_nginx_config_routes_streaming_media_and_the_rest() -> None:
    conf = (DEPLOY / "nginx" / "rostra.conf").read_text()
    assert f"server 127.0.0.1:{web_port()};" in conf and f"server 127.0.0.1:{STREAMING_PORT};" in conf
    streaming = conf[conf.index("location /api/v1/streaming") :]
    streaming = streaming[: streaming.index("}")]
    assert "proxy_pass http://rostra_streaming;" in streaming and "Upgrade $http_upgrade" in streaming
    assert "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;" in conf
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in conf
    assert "proxy_cache rostra_media;" in conf[conf.index("location /media/") :]
    size = re.search(r"client_max_body_size (\d+)m;", conf)
    assert size and int(size.group(1)) * 1024 * 1024 > int(DEFAULTS["ROSTRA_MEDIA_MAX_BYTES"] or 0)


@pytest.mark.skipif(not shutil.which("nginx"), reason="nginx is not installed (apt-get install nginx-light)")
def test_nginx_accepts_the_config(tmp_path: Path) -> None:
    from tests.operations.selfsigned import write_self_signed

    cert, key = write_self_signed(tmp_path, "social.example.org")
    conf = (DEPLOY / "nginx" / "rostra.conf").read_text()
    conf = conf.replace("/etc/letsencrypt/live/social.example.org/fullchain.pem", str(cert))
    conf = conf.replace("/etc/letsencrypt/live/social.example.org/privkey.pem", str(key))
    conf = conf.replace("/var/cache/nginx/rostra", str(tmp_path / "cache"))
    (tmp_path / "rostra.conf").write_text(conf)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{\n  access_log off;\n  include {tmp_path}/rostra.conf;\n}}\n"
    )
    out = subprocess.run(
        ["nginx", "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 0, out.stderr


def test_caddyfiles_route_streaming_and_limit_uploads() -> None:
    for name, web, streaming in (
        ("Caddyfile", f"127.0.0.1:{web_port()}", f"127.0.0.1:{STREAMING_PORT}"),
        ("Caddyfile.compose", f"dynamic a web {web_port()}", f"streaming:{STREAMING_PORT}"),
    ):
        text = (DEPLOY / "caddy" / name).read_text()
        assert "handle /api/v1/streaming*" in text and f"reverse_proxy {streaming}" in text, name
        assert web in text, name
        size = re.search(r"max_size (\d+)MB", text)
        assert size and int(size.group(1)) * 1_000_000 > int(DEFAULTS["ROSTRA_MEDIA_MAX_BYTES"] or 0), name


@pytest.mark.skipif(not shutil.which("caddy"), reason="caddy is not installed (apt-get install caddy)")
def test_caddy_adapts_the_caddyfiles() -> None:
    for name in ("Caddyfile", "Caddyfile.compose"):
        out = subprocess.run(
            ["caddy", "adapt", "--config", str(DEPLOY / "caddy" / name), "--adapter", "caddyfile"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env={"ROSTRA_DOMAIN": "social.example.org", "PATH": "/usr/bin:/bin"},
        )
        assert out.returncode == 0, (name, out.stderr)


def test_containerfile_is_slim_non_root_and_runs_rostra() -> None:
    text = (DEPLOY / "Containerfile").read_text()
    stages = re.findall(r"^FROM (\S+)", text, re.M)
    assert stages[-1] == "python:3.11-slim"
    final = text[text.rindex("FROM ") :]
    user = re.findall(r"^USER (\S+)", final, re.M)
    assert user and user[-1] not in ("root", "0")
    assert 'ENTRYPOINT ["rostra"]' in final
    cmd = re.search(r"^CMD (\[.*\])$", final, re.M)
    assert cmd
    accepted(["rostra", *yaml.safe_load(cmd.group(1))])
    env = dict(re.findall(r"(ROSTRA_[A-Z_]+)=(\S+)", final))
    assert set(env) <= SETTING_NAMES
    assert f"EXPOSE {web_port()} {STREAMING_PORT}" in final
    assert "pip install ." in final


def test_compose_file_lays_out_the_scale_out_processes() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    assert {"postgres", "redis", "migrate", "web", "worker", "streaming", "caddy"} <= set(services)
    commands = {}
    for name in ("migrate", "web", "worker", "streaming"):
        s = services[name]
        accepted(["rostra", *s["command"]])
        commands[name] = s["command"]
        env = s["environment"]
        assert set(env) <= SETTING_NAMES, set(env) - SETTING_NAMES
        assert env["DATABASE_URL"].startswith("postgres://") and env["REDIS_URL"].startswith("redis://redis:")
        assert "ROSTRA_SECRET_KEY" in env  # every process must share one key
        if name != "migrate":
            assert s["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert commands["web"][0] == "web" and option(commands["web"], "--port") == str(web_port())
    assert commands["streaming"][0] == "streaming" and option(commands["streaming"], "--port") == str(STREAMING_PORT)
    assert services["web"]["deploy"]["replicas"] >= 2
    # The proxy's fixed address is inside ROSTRA_TRUSTED_PROXIES.
    import ipaddress

    caddy_ip = ipaddress.ip_address(services["caddy"]["networks"]["default"]["ipv4_address"])
    trusted = parse_networks(services["web"]["environment"]["ROSTRA_TRUSTED_PROXIES"])
    assert any(caddy_ip in ipaddress.ip_network(n) for n in trusted)
    assert services["caddy"]["volumes"][0].startswith("./caddy/Caddyfile.compose:")
