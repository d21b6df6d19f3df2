"""A watchdog that ends what a `commstats run` leaves behind when it dies.

The run's forked workers die with it on their own (core.procs), but not every descendant is
ours to set up: dbt is started by dagster-dbt, and a `kill -9` of the run would leave it building
the warehouse. The watchdog, a small process in a session of its own (Ctrl-C and the terminal's
hang-up do not reach it), keeps a list of the run's descendants, polled every POLL_SECONDS; once
the run has ended, it terminates those still running, and kills any left GRACE_SECONDS later.
psutil tells a process from a later one that reuses its pid, so nothing else is ever signalled.

Usage: `python -m commstats.watchdog PID`; `start()` does it for the calling process.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time

import psutil

POLL_SECONDS = 0.5
GRACE_SECONDS = 3.0


def start() -> subprocess.Popen | None:
    """Watch this process; None where the watchdog cannot be started (the run goes on without)."""
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "commstats.watchdog", str(psutil.Process().pid)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            start_new_session=True,
        )
    except OSError:
        return None


def _running(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def watch(pid: int, poll: float = POLL_SECONDS, grace: float = GRACE_SECONDS) -> list[int]:
    """Wait for `pid` to end, then end its descendants seen while it ran; their pids."""
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
    return [proc.pid for proc in left]


if __name__ == "__main__":
    watch(int(sys.argv[1]))
