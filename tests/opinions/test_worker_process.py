"""The map's worker process ends with the web process that started it, even when that one is killed outright."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from citoyen.opinions import tasks

# A stand-in for the web process: it starts the worker as the app does (spawn, the same initializer's watchdog),
# gives it a computation that would run for ten minutes, says the worker's pid, then waits to be killed.
PARENT = """
import os, sys, time
from concurrent.futures import ProcessPoolExecutor
import multiprocessing
from citoyen.opinions.tasks import exit_with_parent

if __name__ == "__main__":
    spawn = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(max_workers=1, mp_context=spawn, initializer=exit_with_parent)
    worker = pool.submit(os.getpid).result()
    pool.submit(time.sleep, 600)
    print(worker, flush=True)
    time.sleep(600)
"""


def _alive(pid: int) -> bool:
    status = Path(f"/proc/{pid}/status")
    try:
        state = next(line for line in status.read_text().splitlines() if line.startswith("State:"))
    except FileNotFoundError:
        return False
    return "zombie" not in state


def test_a_worker_ends_when_its_web_process_is_killed(tmp_path: Path) -> None:
    script = tmp_path / "parent.py"
    script.write_text(PARENT)
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)  # noqa: S603 - our own script
    worker = 0
    try:
        assert parent.stdout is not None
        worker = int(parent.stdout.readline())
        assert _alive(worker)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait()
        deadline = time.monotonic() + 30  # the watchdog looks twice a second; the margin is for a loaded machine
        while _alive(worker) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(worker), "the worker outlived its killed parent"
    finally:
        if parent.poll() is None:
            parent.kill()
        if worker and _alive(worker):
            os.kill(worker, signal.SIGKILL)


def test_a_worker_whose_web_process_died_before_it_started_ends(monkeypatch: pytest.MonkeyPatch) -> None:
    """The web process's pid is given to the worker: one orphaned before its watchdog started does not wait for a
    parent that is already gone (it took its new parent, init, for its own). Here the pid given is not this
    process's parent: the watchdog ends it at its first look (`os._exit`, replaced to be seen)."""
    ended = threading.Event()
    monkeypatch.setattr(os, "_exit", lambda _code: ended.set())
    tasks.exit_with_parent(os.getpid())  # a process is never its own parent
    assert ended.wait(30)
