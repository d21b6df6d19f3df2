"""`commstats ui` stops `dagster dev` and everything it started (webserver, daemon, code server) on
SIGTERM and on SIGINT, within seconds, and exits 0; the port is closed afterwards. Killed outright,
it leaves `dagster dev` a SIGTERM (its parent-death signal), which takes the rest down too."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest

from commstats.ui import stop_group
from tests.ops.conftest import COMMSTATS, write_config
from tests.ops.ui_server import Server, servers_loaded

GONE_WITHIN = 15.0  # seconds from the signal to the last process gone
# kill -9: `dagster dev` shuts its services down at its own pace (its own grace is 60 s a service)
GONE_AFTER_KILL_WITHIN = 60.0


def _alive(procs: list[psutil.Process]) -> list[psutil.Process]:
    out = []
    for p in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                out.append(p)
    return out


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


SIGNALS = {"sigterm": signal.SIGTERM, "sigint": signal.SIGINT, "kill-9": signal.SIGKILL}


@pytest.fixture(scope="module")
def servers(sample_dir: Path, tmp_path_factory) -> Iterator[dict[str, Server]]:
    """One `commstats ui` per signal, each over a config of its own, started together (each spends
    most of its start waiting on its code server, so three starts take little longer than one)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DAGSTER_HOME", "COMMSTATS_CONFIG", "COMMSTATS_WAREHOUSE")
    }

    def spec(name: str) -> tuple[Callable[[int], list[str]], dict, Path]:
        root = tmp_path_factory.mktemp(f"ui-stop-{name}")
        config = write_config(sample_dir, root)
        return (
            lambda port: [str(COMMSTATS), "ui", "--config", str(config), "--port", str(port)],
            env,
            root / "ui.log",
        )

    with servers_loaded(spec(name) for name in SIGNALS) as started:
        yield dict(zip(SIGNALS, started, strict=True))


@pytest.mark.slow
@pytest.mark.parametrize("name", list(SIGNALS))
def test_ui_stops_with_everything_it_started(name: str, servers: dict[str, Server]):
    sig = SIGNALS[name]
    srv = servers[name]
    port = srv.port
    seen: list[psutil.Process] = []
    try:
        ui = psutil.Process(srv.proc.pid)
        seen = ui.children(recursive=True)
        commands = [" ".join(p.cmdline()) for p in seen]
        # what there is to stop: dagster dev, its webserver and daemon, and a code server
        for part in (" dev ", "dagster_webserver", "dagster._daemon", "grpc"):
            assert any(part in c for c in commands), (part, commands)
        assert _port_open(port)

        os.kill(srv.proc.pid, sig)
        sent = time.monotonic()
        while (srv.proc.poll() is None or _alive(seen) or _port_open(port)) and time.monotonic() - sent < 90:
            time.sleep(0.1)
        took = time.monotonic() - sent

        left = [(p.pid, p.cmdline()[:4]) for p in _alive(seen)]
        assert not left, left
        assert not _port_open(port)
        if sig == signal.SIGKILL:
            assert srv.proc.poll() == -signal.SIGKILL
            assert took < GONE_AFTER_KILL_WITHIN, took
        else:
            assert srv.proc.poll() == 0, (took, srv.log.read_text()[-3000:])  # a stop as asked
            assert took < GONE_WITHIN, took
    finally:
        for p in _alive(seen):  # nothing may outlive the test, whatever it asserts
            p.kill()
        srv.stop()


# ---- stop_group on its own: a leader whose child lives on, and one that ignores SIGTERM ----------

_LEADER = """
import os, signal, subprocess, sys, time
if sys.argv[1] == "stubborn":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
print(child.pid, flush=True)
time.sleep(120)
"""


@pytest.mark.parametrize(("mode", "clean"), [("polite", True), ("stubborn", False)])
def test_stop_group_ends_the_leader_and_its_children(mode: str, clean: bool):
    proc = subprocess.Popen(
        [sys.executable, "-c", _LEADER, mode], stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    child = psutil.Process(int(proc.stdout.readline()))
    started = time.monotonic()
    try:
        assert stop_group(proc, grace=3.0) is clean
        took = time.monotonic() - started
        assert not _alive([child])
        assert proc.returncode == (-signal.SIGTERM if clean else -signal.SIGKILL)
        # SIGTERM ends the polite group at once; the stubborn leader is killed at the end of the grace
        assert took < 2.0 if clean else 3.0 <= took < 6.0, took
    finally:
        for p in _alive([child]):
            p.kill()
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        proc.stdout.close()
