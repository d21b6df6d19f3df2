"""The UI under test: `dagster dev` (or `commstats ui`) on a loopback port over a sample config,
driven through the GraphQL API the UI uses. Shared by the UI modules, each with its own server."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from core.config import REPO_ROOT, load_config
from orchestration.instance import ensure_instance
from tests.ops.conftest import write_config

DAGSTER = Path(sys.executable).with_name("dagster")

WORKSPACE = """{ workspaceOrError { __typename ... on Workspace { locationEntries { name loadStatus
  locationOrLoadError { __typename ... on PythonError { message } } } } ... on PythonError { message } } }"""
RUNS = """{ runsOrError { ... on Runs { results { runId status jobName startTime endTime
  tags { key value } } } } }"""
SENSOR_TICKS = """query($s: SensorSelector!) { sensorOrError(sensorSelector: $s) {
  ... on Sensor { sensorState { ticks(limit: 20) { status skipReason } } } } }"""
SCHEDULE = """query($s: ScheduleSelector!) { scheduleOrError(scheduleSelector: $s) {
  ... on Schedule { scheduleState { id selectorId status } } } }"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A process group serving the UI on a loopback port; stopped with the whole group."""

    def __init__(self, cmd: list[str], env: dict[str, str], port: int, log: Path) -> None:
        self.port = port
        self.log = log
        self._out = log.open("ab")
        self.proc = subprocess.Popen(
            cmd, env=env, cwd=REPO_ROOT, stdout=self._out, stderr=subprocess.STDOUT, start_new_session=True
        )

    def gql(self, query: str, variables: dict | None = None) -> dict:
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/graphql", data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(req, timeout=60) as resp:
            data = json.load(resp)
        assert "errors" not in data, data
        return data["data"]

    def wait_loaded(self, timeout: float = 300) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc.poll() is None, self.log.read_text()[-3000:]
            try:
                ws = self.gql(WORKSPACE)["workspaceOrError"]
                entries = ws.get("locationEntries", [])
                if entries and all(e["loadStatus"] == "LOADED" for e in entries):
                    return ws
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(1)
        raise AssertionError(
            "the UI did not load its code location in time:\n" + self.log.read_text()[-3000:]
        )

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            # the grace `commstats ui` gives its group (tests/ops/test_ui_stop.py holds that one
            # to its bound); the webserver sometimes waits out a browser's connection far longer
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=10)
        # run workers, the daemon and code servers share the group: none may outlive the test
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)
        self._out.close()


def ui_env(sample: Path, root: Path, **overrides) -> dict:
    """The sample config under `root`, its instance directory (the one `commstats ui` uses) and
    the environment `dagster dev` runs in, with the refresh sensor ticking every 2 seconds and the
    backfill daemon passing every 3 (daemon_clock/sitecustomize.py)."""
    config = write_config(sample, root, **overrides)
    home = ensure_instance(load_config(config))
    environ = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "COMMSTATS_CONFIG": str(config),
        "COMMSTATS_REFRESH_SENSOR_SECONDS": "2",
        "COMMSTATS_TEST_BACKFILL_SECONDS": "3",
        "PYTHONPATH": os.pathsep.join(
            p for p in (str(Path(__file__).with_name("daemon_clock")), os.environ.get("PYTHONPATH")) if p
        ),
    }
    environ.pop("COMMSTATS_WAREHOUSE", None)
    return {"root": root, "config": config, "home": home, "env": environ}


@contextlib.contextmanager
def servers_loaded(specs: Iterable[tuple[Callable[[int], list[str]], dict, Path]]) -> Iterator[list[Server]]:
    """A server per (command for a port, environment, log), started together (each start waits
    mostly on its code server), each with its code location loaded; all stopped on leaving."""
    servers: list[Server] = []
    try:
        for command, environ, log in specs:
            port = free_port()
            servers.append(Server(command(port), environ, port, log))
        for srv in servers:
            srv.wait_loaded()
        yield servers
    finally:
        for srv in servers:
            srv.stop()


def dagster_devs(*envs: dict) -> contextlib.AbstractContextManager[list[Server]]:
    """`dagster dev` over the workspace for each of `envs` (ui_env), see servers_loaded."""

    def command(port: int) -> list[str]:
        workspace = str(REPO_ROOT / "workspace.yaml")
        return [str(DAGSTER), "dev", "-w", workspace, "-h", "127.0.0.1", "-p", str(port)]

    return servers_loaded((command, env["env"], env["root"] / "dagster-dev.log") for env in envs)


def tags(run: dict) -> dict[str, str]:
    return {t["key"]: t["value"] for t in run["tags"]}


FINISHED = {"SUCCESS", "FAILURE", "CANCELED"}

RUN_ERRORS = """query($r: ID!) { runOrError(runId: $r) { ... on Run { eventConnection { events {
  __typename ... on MessageEvent { message stepKey } ... on ExecutionStepFailureEvent { error { message } }
  ... on EngineEvent { error { message } } } } } } }"""


def failed_runs(server: Server, runs: list[dict]) -> list[str]:
    """One line per run that did not succeed: its job, partition, status and the messages of its
    failure events, so an assertion on run statuses says what went wrong."""
    lines = []
    for run in runs:
        if run["status"] == "SUCCESS":
            continue
        events = server.gql(RUN_ERRORS, {"r": run["runId"]})["runOrError"]["eventConnection"]["events"]
        errors = [
            f"{e.get('stepKey') or ''}: {e.get('message')} {(e.get('error') or {}).get('message') or ''}"
            for e in events
            if e["__typename"] in ("ExecutionStepFailureEvent", "RunFailureEvent") or e.get("error")
        ]
        lines.append(
            f"{run['jobName']} {tags(run).get('dagster/partition', '')} {run['status']}: "
            + " | ".join(errors)[:3000]
        )
    return lines


def refresh_runs(runs: list[dict], refresh_id: str, job: str | None, statuses: set[str] | None) -> list[dict]:
    return [
        r
        for r in runs
        if tags(r).get("commstats/refresh") == refresh_id
        and (job is None or r["jobName"] == job)
        and (statuses is None or r["status"] in statuses)
    ]


def wait_for(server: Server, done, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if done(server.gql(RUNS)["runsOrError"]["results"]):
            return
        time.sleep(3)
    raise AssertionError(
        "timed out waiting for runs: " + str(server.gql(RUNS)["runsOrError"]["results"])[:2000]
    )


def launch(server: Server, job: str) -> str:
    launched = server.gql(
        """mutation($p: ExecutionParams!) { launchRun(executionParams: $p) { __typename
          ... on LaunchRunSuccess { run { runId } } ... on PythonError { message } } }""",
        {
            "p": {
                "selector": {
                    "repositoryLocationName": "commstats",
                    "repositoryName": "__repository__",
                    "jobName": job,
                },
                "runConfigData": {},
            }
        },
    )["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    return launched["run"]["runId"]
