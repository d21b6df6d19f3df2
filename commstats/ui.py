"""`commstats ui`: the Dagster webserver and daemon over this workspace, with a persistent instance.

`dagster dev` runs in a process group of its own, with its webserver, daemon, code servers and the
runs it launches. SIGTERM, SIGINT (Ctrl-C) or SIGHUP to `commstats ui` stops the whole group:
SIGTERM to the group (`dagster dev` and its services shut down in order), then SIGKILL to whatever
is left after STOP_GRACE_SECONDS. The exit status is then 0, a stop being what was asked for; if
`dagster dev` ends by itself, its own. Should `commstats ui` be killed outright, the kernel sends
`dagster dev` SIGTERM (a parent-death signal), which takes its services down too.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import FrameType

import psutil

from core.config import REPO_ROOT, CommunitiesConfig
from core.procs import set_parent_death_signal
from orchestration.instance import ensure_instance

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
STOP_GRACE_SECONDS = 10.0  # for `dagster dev` to stop its services (some 5 s, twice that under load)


def _group_alive(pgid: int) -> bool:
    """Whether a process of the group is left, zombies aside (an init that does not reap orphans
    would otherwise keep the group "alive" for ever)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # a member we may not signal: still there
        return True
    for proc in psutil.process_iter(["status"]):
        try:
            if os.getpgid(proc.pid) == pgid and proc.info["status"] != psutil.STATUS_ZOMBIE:
                return True
        except OSError:  # ended meanwhile
            continue
    return False


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, sig)


def _wait_group(pgid: int, timeout: float) -> bool:
    """True once no process of the group is left (zombies of `dagster dev`'s children included:
    the kernel hands them to init, which reaps them)."""
    deadline = time.monotonic() + timeout
    while _group_alive(pgid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.1)
    return True


def _child_setup() -> None:
    # in the child, before exec: SIGTERM reaches `dagster dev` if `commstats ui` dies first
    set_parent_death_signal(signal.SIGTERM)


def stop_group(proc: subprocess.Popen, grace: float = STOP_GRACE_SECONDS) -> bool:
    """Stop `proc`, a process group leader, and every process of its group (including services it
    did not wait for, and runs it launched): SIGTERM, then SIGKILL to what is left after `grace`
    seconds. True if nothing had to be killed."""
    deadline = time.monotonic() + grace
    _signal_group(proc.pid, signal.SIGTERM)
    while proc.poll() is None or _group_alive(proc.pid):
        if time.monotonic() >= deadline:
            _signal_group(proc.pid, signal.SIGKILL)
            proc.wait()
            _wait_group(proc.pid, 5.0)
            return False
        time.sleep(0.1)
    return True


def start_ui(cfg: CommunitiesConfig, cfg_file: Path, host: str = "127.0.0.1", port: int = 3000) -> int:
    home = ensure_instance(cfg)
    env = {**os.environ, "DAGSTER_HOME": str(home), "COMMSTATS_CONFIG": str(cfg_file)}
    dagster = Path(sys.executable).with_name("dagster")
    cmd = [str(dagster), "dev", "-w", str(REPO_ROOT / "workspace.yaml"), "-h", host, "-p", str(port)]
    print(f"commstats ui: http://{host}:{port}  (instance: {home}; stop with Ctrl-C)", flush=True)

    received: list[int] = []

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        received.append(signum)

    previous = {sig: signal.signal(sig, on_signal) for sig in STOP_SIGNALS}
    try:
        # a new session: its own process group (stopped as one), and no terminal to send it Ctrl-C
        # behind our back or stop it for writing from the background
        proc = subprocess.Popen(cmd, env=env, cwd=REPO_ROOT, start_new_session=True, preexec_fn=_child_setup)
        try:
            code = _wait(proc, received)
        finally:
            clean = stop_group(proc)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if code is not None:  # `dagster dev` ended by itself: its status (a signal's as a shell gives it)
        return code if code >= 0 else 128 - code
    if not clean:  # still a stop as asked: what was left of the shutdown (interpreters ending) is cut
        print(f"commstats ui: killed what was still running {STOP_GRACE_SECONDS:.0f} s after the stop signal")
    return 0  # stopped as asked


def _wait(proc: subprocess.Popen, received: list[int]) -> int | None:
    """The exit status of `proc` if it ends by itself, None once a stop signal has been received."""
    while not received:
        try:
            return proc.wait(timeout=0.2)
        except subprocess.TimeoutExpired:
            continue
    return None
