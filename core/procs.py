"""Forked worker processes that end with their parent, and on SIGTERM.

Git extraction and mail parsing fork workers from whatever process runs the step: `commstats run`
itself (Dagster's in-process executor) or a step process of a run launched from the UI. A fork
inherits that process's signal handlers, and Dagster's turn SIGTERM into an exception inside the
step: a worker then caught it and blocked reporting it to a parent that no longer read, so a
killed run left its workers behind with the repository's pack open. `init_worker`, called first
thing in every worker, undoes that and ties the worker's life to its parent's.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>

# The variable commstats.watchdog.start() sets to the run's own token, inherited by everything the
# run starts. The run's temporary files carry it in their names, so once a killed run is gone the
# watchdog can remove what it left (a spool holds a source's rows as Parquet: hundreds of MB).
RUN_TOKEN = "COMMSTATS_RUN_TOKEN"
TEMP_KINDS = ("spool", "mail")


def workers_sharing_cores(runs: int, cores: int | None = None) -> int:
    """Processes (the caller's own included) for each of `runs` source loads that run at once on
    this machine: when the loads alone keep every core busy, forked workers add nothing but the
    pickling of the rows they send back (about a third of a mail list's parse CPU)."""
    return max(1, (cores or os.cpu_count() or 1) // max(1, runs))


def temp_prefix(kind: str) -> str:
    """`commstats-<kind>-<run token>-` inside a watched run, `commstats-<kind>-` outside one."""
    token = os.environ.get(RUN_TOKEN)
    return f"commstats-{kind}-{token}-" if token else f"commstats-{kind}-"


def remove_run_temp(token: str) -> list[Path]:
    """Remove the temporary files and folders of the run `token`; the paths removed."""
    removed = []
    for kind in TEMP_KINDS:
        for path in sorted(Path(tempfile.gettempdir()).glob(f"commstats-{kind}-{token}-*")):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
            removed.append(path)
    return removed


PARENT_POLL_SECONDS = 0.5  # the fallback's delay in noticing a dead parent


def set_parent_death_signal(sig: int) -> bool:
    """Have the kernel send `sig` to this process when its parent exits (Linux's PR_SET_PDEATHSIG);
    False where that is not available.

    Strictly, the signal comes when the *thread* that forked this process ends: a pool must be
    started from a thread that outlives it (the workers here are started and ended by the same
    generator, in the step's thread). The setting survives exec, so it also serves a subprocess
    started with it as preexec_fn."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return False
    return prctl(ctypes.c_int(PR_SET_PDEATHSIG), ctypes.c_ulong(sig), *(ctypes.c_ulong(0),) * 3) == 0


def _watch_parent(parent_pid: int) -> None:
    """Without PR_SET_PDEATHSIG: a thread that ends the process once it has been re-parented."""

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(PARENT_POLL_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="commstats-parent-watch", daemon=True).start()


def init_worker(parent_pid: int) -> None:
    """First thing in a forked worker: SIGTERM ends it, Ctrl-C is left to the parent, and it dies
    with `parent_pid` (its parent's pid, read in the parent before forking)."""
    # whatever the parent had installed (Dagster: an exception raised in the step; a caller: SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    # Ctrl-C reaches the terminal's whole process group: the parent ends its workers itself, and a
    # worker dying first would turn the interruption into a "worker exited" failure
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # SIGKILL: a worker holds nothing that needs cleaning up once its parent, the only reader of
    # its results, is gone
    if not set_parent_death_signal(signal.SIGKILL):
        _watch_parent(parent_pid)
    # the parent may have died between the fork and the request, which then never fires
    if os.getppid() != parent_pid:
        os._exit(1)
