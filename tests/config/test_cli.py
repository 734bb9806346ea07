"""The `rostra` command line, called as a person would call it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from rostra.accounts.models import Account, User
from rostra.config.cli import main

RBIN = str(Path(sys.executable).parent / "rostra")


def test_users_create_makes_a_user_and_account(db, capsys):
    assert main(["users", "create", "zed", "--email", "zed@example.org", "--password", "a-long-enough-passphrase", "--admin"]) == 0
    user = User.objects.get(username="zed")
    assert user.role == "admin" and Account.objects.filter(user=user).exists()
    assert "created @zed (admin)" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("username", "email", "password", "message"),
    [
        ("bad name", "x@example.org", "a-long-enough-passphrase", "username"),
        ("admin", "x@example.org", "a-long-enough-passphrase", "reserved"),
        ("okname", "not-an-email", "a-long-enough-passphrase", "email"),
        ("okname", "x@example.org", "short", "password"),
    ],
)
def test_users_create_refuses_bad_input_and_writes_nothing(db, capsys, username, email, password, message):
    assert main(["users", "create", username, "--email", email, "--password", password]) == 2
    assert message in capsys.readouterr().err
    assert not User.objects.exists() and not Account.objects.exists()


def test_check_reports_a_healthy_instance(db, capsys):
    assert main(["check"]) == 0
    out = capsys.readouterr().out
    for line in ("settings", "database", "migrations", "media store", "task queue"):
        assert line in out


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ROSTRA_", "DJANGO_", "DATABASE_URL", "REDIS_URL"))}
    env.update(ROSTRA_DATA_DIR=str(tmp_path / "data"), **extra)
    return env


def test_an_invalid_setting_stops_start_up_naming_it(tmp_path):
    proc = subprocess.run([RBIN, "check"], check=False, env=_env(tmp_path, ROSTRA_MAX_POST_CHARS="lots"), capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "ROSTRA_MAX_POST_CHARS" in proc.stderr and "Traceback" not in proc.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.live
def test_serve_runs_web_and_worker_and_stops_cleanly(tmp_path):
    port = _free_port()
    env = _env(tmp_path, ROSTRA_DOMAIN=f"127.0.0.1:{port}", ROSTRA_WEB_WORKERS="1", ROSTRA_TASK_WORKERS="1")
    proc = subprocess.Popen([RBIN, "serve", "--port", str(port)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        body = ""
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as resp:
                    assert resp.status == 200
                    body = resp.read().decode()
                    break
            except OSError:
                time.sleep(0.3)
        assert "Rostra" in body
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/static/vendor/htmx.min.js", timeout=5) as resp:
            assert resp.status == 200
        assert (tmp_path / "data" / "rostra.sqlite3").exists()
        assert (tmp_path / "data" / "tasks.sqlite3").exists()  # the worker opened the queue
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=40)
    assert proc.returncode == 0, out


def test_deployment_checks_pass_behind_tls_and_name_what_is_missing_without_it(tmp_path):
    """`rostra check --deploy` is clean in production settings (ROSTRA_HTTPS=true behind a proxy)
    and, on plain http, names the protections that are off."""
    prod = _env(tmp_path, ROSTRA_DOMAIN="social.example", ROSTRA_HTTPS="true")
    subprocess.run([RBIN, "migrate"], check=True, env=prod, capture_output=True, timeout=120)
    proc = subprocess.run([RBIN, "check", "--deploy"], check=False, env=prod, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "ok   deployment checks" in proc.stdout
    plain = _env(tmp_path, ROSTRA_DOMAIN="social.example")
    proc = subprocess.run([RBIN, "check", "--deploy"], check=False, env=plain, capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    for missing in ("SECURE_HSTS_SECONDS", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE"):
        assert missing in proc.stdout + proc.stderr


def test_behind_tls_plain_http_is_redirected_and_https_gets_hsts(tmp_path):
    code = (
        "import django; django.setup()\n"
        "from django.test import Client\n"
        "c = Client(HTTP_HOST='social.example')\n"
        "r = c.get('/about')\n"
        "print(r.status_code, r.headers.get('Location'))\n"
        "r = c.get('/about', headers={'X-Forwarded-Proto': 'https'})\n"
        "print(r.status_code, r.headers.get('Strict-Transport-Security'), r.cookies.get('csrftoken') and r.cookies['csrftoken']['secure'])\n"
    )
    env = _env(tmp_path, ROSTRA_DOMAIN="social.example", ROSTRA_HTTPS="true", DJANGO_SETTINGS_MODULE="rostra.config.settings")
    subprocess.run([RBIN, "migrate"], check=True, env=env, capture_output=True, timeout=120)
    proc = subprocess.run([sys.executable, "-c", code], check=True, env=env, capture_output=True, text=True, timeout=60)
    redirect, secure = proc.stdout.splitlines()
    assert redirect == "301 https://social.example/about"
    assert secure.startswith("200 max-age=63072000; includeSubDomains")
    assert "preload" not in secure
