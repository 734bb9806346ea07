"""A real `rostra serve` (gunicorn + the task worker) on 127.0.0.1, for browser and real-client tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

RBIN = str(Path(sys.executable).parent / "rostra")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer(str):
    """The server's base URL, carrying the environment to run `rostra` commands against it."""

    env: dict[str, str]

    def rostra(self, *args: str, stdin: str | None = None) -> str:
        out = subprocess.run([RBIN, *args], env=self.env, input=stdin, capture_output=True, text=True, check=True)
        return out.stdout


@contextmanager
def serve(data: Path, *, workers: int = 1, ready_path: str = "/") -> Iterator[LiveServer]:
    """Start `rostra serve` on a free port with its own data dir; stop it afterwards."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ROSTRA_", "DJANGO_", "DATABASE_URL", "REDIS_URL"))}
    env.update(ROSTRA_DATA_DIR=str(data), ROSTRA_DOMAIN=f"127.0.0.1:{port}", ROSTRA_WEB_WORKERS=str(workers), ROSTRA_TASK_WORKERS=str(workers))
    log = open(data / "server.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([RBIN, "serve", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT)
    live = LiveServer(f"http://127.0.0.1:{port}")
    live.env = env
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(live + ready_path, timeout=2).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("rostra serve did not start:\n" + (data / "server.log").read_text()) from None
                time.sleep(0.3)
        yield live
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
