"""The processes a benchmark run talks to: the Rostra server under test and the ceiling servers.

* ``RostraServer``: ``rostra serve --no-migrate`` (gunicorn WSGI web workers, the task worker and
  the streaming process) on a free port of 127.0.0.1, with the run's environment; started, waited
  for until it answers, and stopped cleanly (SIGTERM to ``rostra serve``, which stops its children).
* ``CeilingServer``: a bare Django view (no middleware, no database) answering every request with
  the bytes of one real home-timeline response, served by gunicorn with the same settings as
  ``rostra serve`` (gthread, 4 threads, the same number of workers) or, to measure what ASGI costs,
  by uvicorn with the same number of worker processes. Gunicorn and uvicorn import this module's
  ``ceiling_wsgi`` / ``ceiling_asgi``; Django is configured for them only then (module __getattr__).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parents[2]  # the checkout: bench/ must be importable by gunicorn and uvicorn
BODY_ENV = "ROSTRA_BENCH_CEILING_BODY"  # the file holding the JSON the bare view answers with


class ServerError(Exception):
    """A server did not start or did not answer (with the tail of its log)."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 60.0) -> None:
    """Poll ``url`` until it answers (any HTTP status); raise with the log's tail if the process dies or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServerError(f"the server exited with code {process.returncode} before answering:\n{_tail(log)}")
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - our own http://127.0.0.1 server
                return
        except urllib.error.HTTPError:
            return  # an HTTP answer, even 401/404, means it is up
        except OSError:
            time.sleep(0.2)
    raise ServerError(f"no answer from {url} within {timeout:.0f} s:\n{_tail(log)}")


def _tail(log: Path, lines: int = 30) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


class _Process:
    def __init__(self, argv: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        self._fh: IO[bytes] = log.open("ab")
        # A session of its own: stop() can reach every child even if the parent died badly.
        self.process = subprocess.Popen(
            argv, env=env, cwd=ROOT, stdout=self._fh, stderr=subprocess.STDOUT, start_new_session=True
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self, timeout: float = 30.0) -> None:
        p = self.process
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(p.pid, signal.SIGKILL)  # whatever is left of the tree (normally nothing)
        except ProcessLookupError:
            pass
        if p.poll() is None:
            p.wait(timeout=5)
        self._fh.close()


class RostraServer(_Process):
    """``rostra serve --no-migrate`` on 127.0.0.1:<port>, with the benchmark's environment."""

    def __init__(self, env: dict[str, str], log: Path, *, port: int, streaming_port: int, workers: int = 2) -> None:
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"
        argv = [
            sys.executable,
            "-m",
            "rostra.config.cli",
            "serve",
            "--no-migrate",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--streaming-port",
            str(streaming_port),
            "--workers",
            str(workers),
        ]
        super().__init__(argv, env, log)

    def wait(self, timeout: float = 90.0) -> None:
        wait_until_up(f"{self.base_url}/api/v1/instance", self.process, self.log, timeout)


class CeilingServer(_Process):
    """The bare view under gunicorn (``kind="wsgi"``, the same settings as ``rostra serve``) or uvicorn (``"asgi"``)."""

    def __init__(self, kind: str, body_file: Path, log: Path, *, port: int, workers: int = 2) -> None:
        if kind not in ("wsgi", "asgi"):
            raise ValueError(f"a ceiling server is wsgi or asgi, not {kind!r}")
        if not body_file.is_file():
            raise ValueError(f"the ceiling's response body {body_file} does not exist")
        self.kind = kind
        self.base_url = f"http://127.0.0.1:{port}"
        env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
        env[BODY_ENV] = str(body_file)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH", "")]))
        bind = f"127.0.0.1:{port}"
        if kind == "wsgi":
            argv = [
                sys.executable,
                "-m",
                "gunicorn",
                "bench.suite.servers:ceiling_wsgi",
                "--bind",
                bind,
                "--workers",
                str(workers),
                "--worker-class",
                "gthread",
                "--threads",
                "4",
                "--timeout",
                "60",
                "--graceful-timeout",
                "20",
            ]
        else:
            argv = [
                sys.executable,
                "-m",
                "uvicorn",
                "bench.suite.servers:ceiling_asgi",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                str(workers),
                "--lifespan",
                "off",
                "--log-level",
                "warning",
            ]
        super().__init__(argv, env, log)

    def wait(self, timeout: float = 30.0) -> None:
        wait_until_up(f"{self.base_url}/api/v1/timelines/home", self.process, self.log, timeout)


def _process_tree(pid: int) -> list[int]:
    """A process and all its descendants (Linux /proc), parents before their children."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    tree, todo = [], [pid]
    while todo:
        p = todo.pop(0)
        tree.append(p)
        todo.extend(sorted(children.get(p, [])))
    return tree


def process_tree_rss_mb(pid: int) -> float:
    """The summed resident memory of a process and all its descendants (Linux /proc), in MB."""
    total_kb = 0
    for p in _process_tree(pid):
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kb += int(line.split()[1])
        except OSError:
            continue
    return total_kb / 1024


@dataclass(frozen=True)
class ProcessMemory:
    """One process's memory in MB (Linux /proc/<pid>/smaps_rollup). ``rss``: every page it has resident,
    shared ones included; ``pss``: each shared page divided by the number of processes sharing it (the
    PSS of a tree adds up to what it really occupies); ``uss``: the pages only it has (what ending it frees)."""

    pid: int
    role: str
    rss_mb: float
    pss_mb: float
    uss_mb: float


def _role(pid: int, parent_role: str | None) -> str:
    """What a process of a `rostra serve` tree is: by the name `rostra serve` gives its forked
    children (/proc/<pid>/comm), else by its command line (separately started processes)."""
    try:
        comm = Path(f"/proc/{pid}/comm").read_text().strip()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return "gone"
    if parent_role is None:
        return "supervisor"
    if parent_role in {"web master", "web worker"}:
        return "web worker"
    if comm == "rostra-web" or "gunicorn" in cmdline:
        return "web master"
    if comm == "rostra-worker" or " worker" in cmdline:
        return "task worker"
    if comm == "rostra-stream" or " streaming" in cmdline:
        return "streaming"
    return comm or "other"


def process_tree_memory(pid: int) -> list[ProcessMemory]:
    """RSS, PSS and USS of a process and each of its descendants (processes that end meanwhile are left out)."""
    out: list[ProcessMemory] = []
    roles: dict[int, str] = {}
    for p in _process_tree(pid):
        try:
            ppid = int(Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()[1])
            fields = {}
            for line in Path(f"/proc/{p}/smaps_rollup").read_text().splitlines()[1:]:
                key, value = line.split(":", 1)
                fields[key] = int(value.split()[0])
        except (OSError, ValueError, IndexError):
            continue
        roles[p] = _role(p, None if p == pid else roles.get(ppid, "other"))
        uss_kb = fields.get("Private_Clean", 0) + fields.get("Private_Dirty", 0)
        out.append(ProcessMemory(p, roles[p], fields.get("Rss", 0) / 1024, fields.get("Pss", 0) / 1024, uss_kb / 1024))
    return out


# --- the bare view, for gunicorn and uvicorn ----------------------------------------------------------------------

_configured = False


def _configure() -> None:
    global _configured
    if _configured:
        return
    from django.conf import settings

    settings.configure(
        DEBUG=False,
        SECRET_KEY="rostra-bench-ceiling",  # noqa: S106 - signs nothing
        ALLOWED_HOSTS=["*"],
        ROOT_URLCONF=__name__,
        MIDDLEWARE=[],
        INSTALLED_APPS=[],
        USE_TZ=True,
        DATABASES={},
        LOGGING_CONFIG=None,
    )
    import django

    django.setup()
    _configured = True


def _urlpatterns() -> list[Any]:
    from django.http import HttpRequest, HttpResponse
    from django.urls import re_path

    body = Path(os.environ[BODY_ENV]).read_bytes()

    def home(request: HttpRequest) -> HttpResponse:
        return HttpResponse(body, content_type="application/json; charset=utf-8")

    return [re_path(r"^", home)]


def __getattr__(name: str) -> Any:
    if name == "ceiling_wsgi":
        _configure()
        from django.core.wsgi import get_wsgi_application

        return get_wsgi_application()
    if name == "ceiling_asgi":
        _configure()
        from django.core.asgi import get_asgi_application

        return get_asgi_application()
    if name == "urlpatterns":
        patterns = _urlpatterns()
        globals()["urlpatterns"] = patterns
        return patterns
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
