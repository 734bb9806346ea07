"""A real `rostra serve` (gunicorn + the task worker + the streaming process) on 127.0.0.1, for browser
and real-client tests. ``live.streaming`` is the streaming process's ws:// base URL."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
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
    pid: int  # the `rostra serve` process; with new_session=True the leader of its own process group

    def rostra(self, *args: str, stdin: str | None = None) -> str:
        out = subprocess.run([RBIN, *args], env=self.env, input=stdin, capture_output=True, text=True, check=True)
        return out.stdout

    def kill9(self) -> None:
        """A crash, not a stop: SIGKILL to the whole group (gunicorn and its workers, the task worker,
        the streaming process) at once. Needs ``serve(..., new_session=True)``."""
        assert os.getpgid(self.pid) == self.pid, "serve(new_session=True) puts the server in its own process group"
        os.killpg(self.pid, signal.SIGKILL)


@contextmanager
def serve(
    data: Path, *, workers: int = 1, ready_path: str = "/", extra_env: dict[str, str] | None = None, args: Sequence[str] = (),
    new_session: bool = False, preexec_fn: Callable[[], None] | None = None,
) -> Iterator[LiveServer]:
    """Start `rostra serve` on a free port with its own data dir (and ``extra_env`` settings, extra ``args``
    such as --no-worker); stop it afterwards. ``new_session``: its own process group, for ``kill9``;
    ``preexec_fn`` runs in the child before exec (e.g. to set a resource limit)."""
    port = free_port()
    streaming_port = free_port()
    while streaming_port == port:
        streaming_port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ROSTRA_", "DJANGO_", "DATABASE_URL", "REDIS_URL"))}
    env.update(ROSTRA_DATA_DIR=str(data), ROSTRA_DOMAIN=f"127.0.0.1:{port}", ROSTRA_WEB_WORKERS=str(workers), ROSTRA_TASK_WORKERS=str(workers),
               ROSTRA_STREAMING_PORT=str(streaming_port))
    env.update(extra_env or {})
    log = open(data / "server.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([RBIN, "serve", "--port", str(port), *args], env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=new_session, preexec_fn=preexec_fn)  # noqa: PLW1509 - only tests pass one
    live = LiveServer(f"http://127.0.0.1:{port}")
    live.env = env
    live.streaming = f"ws://127.0.0.1:{streaming_port}"
    live.pid = proc.pid
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
