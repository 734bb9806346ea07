"""Connections opened at once are shared out among the web workers (rostra.config.web_worker):
one worker must not accept them all while another has free threads."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest

from rostra.config import web_worker
from tests.live import serve


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(entry.name))
    return out


def _socket_inodes(pid: int) -> set[int]:
    inodes = set()
    for fd in (Path("/proc") / str(pid) / "fd").iterdir():
        try:
            target = fd.readlink().as_posix()
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(int(target[8:-1]))
    return inodes


def _server_side_inodes(server_port: int, client_ports: set[int]) -> set[int]:
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote, inode = fields[1], fields[2], int(fields[9])
        if int(local.split(":")[1], 16) == server_port and int(remote.split(":")[1], 16) in client_ports:
            found.add(inode)
    return found


@pytest.mark.own_sqlite
def test_connections_opened_at_once_are_shared_among_the_workers(tmp_path: Path) -> None:
    with serve(tmp_path, workers=2, ready_path="/health") as live:
        port = int(live.rsplit(":", 1)[1])
        (web,) = [p for p in _children(live.pid) if Path(f"/proc/{p}/comm").read_text().strip() == "rostra-web"]
        deadline = time.monotonic() + 30
        while len(workers := _children(web)) < 2 and time.monotonic() < deadline:  # gunicorn's master's
            time.sleep(0.1)
        assert len(workers) == 2
        time.sleep(0.5)  # both in their accept loops
        threads = 4  # rostra.config.cli._gunicorn_argv
        # Connections that send nothing yet: each holds a worker's thread while it waits for the
        # request, as a busy client would. Twice as many as one worker has threads.
        clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(2 * threads)]
        try:
            wanted = {c.getsockname()[1] for c in clients}
            deadline = time.monotonic() + 3
            while True:
                inodes = _server_side_inodes(port, wanted)
                held = Counter({w: len(_socket_inodes(w) & inodes) for w in workers})
                if sum(held.values()) == len(clients) or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
            assert sum(held.values()) == len(clients), held
            assert sorted(held.values()) == [threads, threads], held
        finally:
            for c in clients:
                c.close()


def _a_finished_process() -> int:
    proc = subprocess.Popen(["true"])  # gone once waited for
    proc.wait()
    return proc.pid


def test_a_worker_leaves_new_connections_to_a_less_busy_one() -> None:
    worker = object.__new__(web_worker.AdmissionWorker)
    worker._slot, worker._defer_until = 0, None
    other = 1
    try:
        live = os.getpid()  # slots are believed only for processes that exist
        web_worker._PIDS[0], web_worker._PIDS[other] = live, live
        web_worker._BUSY[other] = 0
        worker._in_hand = 0
        assert worker._may_accept()  # nothing in hand: always
        worker._in_hand = 1
        assert not worker._may_accept()  # the other has nothing: leave it to the other
        assert worker._defer_until is not None
        worker._defer_until = time.monotonic() - 0.001
        assert worker._may_accept()  # not for ever: the other may be stuck
        web_worker._BUSY[other] = 3
        worker._in_hand = 3
        assert worker._may_accept() and worker._defer_until is None  # as busy as the other
        worker._in_hand = 4
        assert not worker._may_accept()  # busier than the other
        web_worker._PIDS[other] = 0
        worker._defer_until = None
        assert worker._may_accept()  # a slot without a worker does not count
        web_worker._PIDS[other] = _a_finished_process()
        assert worker._may_accept()  # nor one whose worker was killed outright
    finally:
        web_worker._PIDS[0] = web_worker._PIDS[other] = 0
        web_worker._BUSY[other] = 0
