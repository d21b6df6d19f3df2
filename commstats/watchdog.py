"""A watchdog that ends what a `commstats run` leaves behind when it dies.

The run's forked workers die with it on their own (core.procs), but not every descendant is
ours to set up: dbt is started by dagster-dbt, and a `kill -9` of the run would leave it building
the warehouse. The watchdog, a small process in a session of its own (Ctrl-C and the terminal's
hang-up do not reach it), keeps a list of the run's descendants, polled every POLL_SECONDS; once
the run has ended, it terminates those still running, and kills any left GRACE_SECONDS later.

A poll misses a process started just before the run died, and an orphan is no longer the run's
descendant. So the run also marks its environment with a token of its own (MARK), which every
descendant inherits: once the run has ended, the watchdog ends the processes that carry it too.
psutil tells a process from a later one that reuses its pid, and the token is the run's alone, so
nothing else is ever signalled. Then it removes the temporary files and folders named with the
token (core.procs.temp_prefix): the Parquet spools of the sources a killed run was loading.

Usage: `python -m commstats.watchdog PID [TOKEN]`; `start()` does it for the calling process.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
import sys
import time

import psutil

from core.procs import RUN_TOKEN, remove_run_temp

POLL_SECONDS = 0.5
GRACE_SECONDS = 3.0
MARK = RUN_TOKEN


def start() -> subprocess.Popen | None:
    """Watch this process; None where the watchdog cannot be started (the run goes on without).
    Marks this process's environment, inherited by every process it starts from now on."""
    token = secrets.token_hex(16)
    env = {k: v for k, v in os.environ.items() if k != MARK}
    try:
        watcher = subprocess.Popen(
            [sys.executable, "-m", "commstats.watchdog", str(psutil.Process().pid), token],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            start_new_session=True,
            env=env,
        )
    except OSError:
        return None
    os.environ[MARK] = token
    return watcher


def _running(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def marked(token: str) -> list[psutil.Process]:
    """Running processes whose environment carries `token` (those this user may read)."""
    out = []
    for proc in psutil.process_iter():
        with contextlib.suppress(psutil.Error):
            if proc.environ().get(MARK) == token and _running(proc):
                out.append(proc)
    return out


def watch(
    pid: int, token: str | None = None, poll: float = POLL_SECONDS, grace: float = GRACE_SECONDS
) -> list[int]:
    """Wait for `pid` to end, then end its descendants seen while it ran and the processes that
    carry the run's `token`, and remove the run's temporary files; the pids ended."""
    me = psutil.Process().pid
    try:
        target = psutil.Process(pid)
    except psutil.NoSuchProcess:
        return []
    seen: dict[int, psutil.Process] = {}
    while _running(target):
        try:
            for child in target.children(recursive=True):
                if child.pid != me:
                    seen.setdefault(child.pid, child)
        except psutil.Error:  # the run ended during the scan
            pass
        seen = {p: proc for p, proc in seen.items() if _running(proc)}
        time.sleep(poll)
    if token:
        for proc in marked(token):
            if proc.pid != me:
                seen.setdefault(proc.pid, proc)
    left = [proc for proc in seen.values() if _running(proc)]
    for proc in left:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.terminate()
    _, alive = psutil.wait_procs(left, timeout=grace)
    for proc in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.kill()
    # SIGKILL takes effect when the kernel next schedules the process: return once it has
    psutil.wait_procs(alive, timeout=grace)
    if token:  # nothing of the run writes them any more
        remove_run_temp(token)
    return sorted(proc.pid for proc in left)


if __name__ == "__main__":
    watch(int(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else None)
