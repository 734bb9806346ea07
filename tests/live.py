"""A real `rostra serve` (gunicorn + the task worker + the streaming process) on 127.0.0.1, for browser
and real-client tests. ``live.streaming`` is the streaming process's ws:// base URL."""

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
    streaming: str  # ws://127.0.0.1:<port>, as the instance document advertises it

    def rostra(self, *args: str, stdin: str | None = None) -> str:
        out = subprocess.run([RBIN, *args], env=self.env, input=stdin, capture_output=True, text=True, check=True)
        return out.stdout


@contextmanager
def serve(data: Path, *, workers: int = 1, ready_path: str = "/", extra_env: dict[str, str] | None = None) -> Iterator[LiveServer]:
    """Start `rostra serve` on a free port with its own data dir (and ``extra_env`` settings); stop it afterwards."""
    port = free_port()
    streaming_port = free_port()
    while streaming_port == port:
        streaming_port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ROSTRA_", "DJANGO_", "DATABASE_URL", "REDIS_URL"))}
    env.update(ROSTRA_DATA_DIR=str(data), ROSTRA_DOMAIN=f"127.0.0.1:{port}", ROSTRA_WEB_WORKERS=str(workers), ROSTRA_TASK_WORKERS=str(workers),
               ROSTRA_STREAMING_PORT=str(streaming_port))
    env.update(extra_env or {})
    log = open(data / "server.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([RBIN, "serve", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT)
    live = LiveServer(f"http://127.0.0.1:{port}")
    live.env = env
    live.streaming = f"ws://127.0.0.1:{streaming_port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(live + ready_path, timeout=2).close()
                urllib.request.urlopen(f"http://127.0.0.1:{streaming_port}/api/v1/streaming/health", timeout=2).close()
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
