"""The refresh through the real UI's daemon: the schedule's job fans out one run per source, the
rebuild follows when they are done, a second refresh with nothing new skips the rebuild (the sensor
says so), a rebuild terminated from the UI ends with its dbt build, and run history and schedule state are
kept across a restart through `commstats ui`.
A server of its own, beside test_ui.py's (the two run on two test workers at once): its first
refresh loads every source into an empty warehouse, as the first one after a backfill re-reads them."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from tests.ops.conftest import COMMSTATS
from tests.ops.ui_server import RUNS, SCHEDULE, SENSOR_TICKS, Server, dagster_dev, free_port, tags, ui_env

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def env(sample_dir: Path, tmp_path_factory) -> dict:
    return ui_env(sample_dir, tmp_path_factory.mktemp("ui-refresh"))


@pytest.fixture(scope="module")
def server(env) -> Iterator[Server]:
    with dagster_dev(env) as srv:
        yield srv


FINISHED = {"SUCCESS", "FAILURE", "CANCELED"}


def _refresh_runs(
    runs: list[dict], refresh_id: str, job: str | None, statuses: set[str] | None
) -> list[dict]:
    return [
        r
        for r in runs
        if tags(r).get("commstats/refresh") == refresh_id
        and (job is None or r["jobName"] == job)
        and (statuses is None or r["status"] in statuses)
    ]


def _wait_for(server: Server, done, timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if done(server.gql(RUNS)["runsOrError"]["results"]):
            return
        time.sleep(3)
    raise AssertionError(
        "timed out waiting for runs: " + str(server.gql(RUNS)["runsOrError"]["results"])[:2000]
    )


def _launch(server: Server, job: str) -> str:
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


def _dbt_of(home: Path) -> psutil.Process | None:
    """The `dbt build` a run of the instance in `home` started (not another test's)."""
    for proc in psutil.process_iter(["cmdline"]):
        with contextlib.suppress(psutil.Error):
            cmd = proc.info["cmdline"] or []
            dbt_build = "build" in cmd and any(c.endswith("/dbt") for c in cmd)
            if dbt_build and proc.environ().get("DAGSTER_HOME") == str(home):
                return proc
    return None


def _cancel_a_rebuild_while_dbt_builds(server: Server, env) -> None:
    """Terminating a run from the UI interrupts its step in the run's process: the run ends
    CANCELED and its dbt build with it."""
    run_id = _launch(server, "rebuild")
    deadline = time.monotonic() + 300
    while (dbt := _dbt_of(env["home"])) is None:
        assert time.monotonic() < deadline, "the rebuild never started dbt"
        time.sleep(0.2)
    ended = server.gql(
        """mutation($r: String!) { terminateRun(runId: $r) { __typename
          ... on PythonError { message } } }""",
        {"r": run_id},
    )["terminateRun"]
    assert ended["__typename"] == "TerminateRunSuccess", ended
    deadline = time.monotonic() + 30
    status = None
    while time.monotonic() < deadline:
        status = next(r["status"] for r in server.gql(RUNS)["runsOrError"]["results"] if r["runId"] == run_id)
        if status == "CANCELED" and not psutil.pid_exists(dbt.pid):
            break
        time.sleep(0.5)
    assert status == "CANCELED", status
    assert not dbt.is_running() or dbt.status() == psutil.STATUS_ZOMBIE


def test_refresh_fans_out_then_state_survives_a_restart(server: Server, env):
    selector = {
        "repositoryLocationName": "commstats",
        "repositoryName": "__repository__",
        "scheduleName": "daily_refresh",
    }
    state = server.gql(SCHEDULE, {"s": selector})["scheduleOrError"]["scheduleState"]
    assert state["status"] == "STOPPED"  # until a user starts it
    started = server.gql(
        """mutation($s: ScheduleSelector!) { startSchedule(scheduleSelector: $s) {
          __typename ... on ScheduleStateResult { scheduleState { status } } } }""",
        {"s": selector},
    )["startSchedule"]
    assert started["scheduleState"]["status"] == "RUNNING"
    # what the schedule launches at 03:00: the refresh job; the sensor fans it out per source
    refresh_id = _launch(server, "refresh")
    deadline = time.monotonic() + 300
    fanned: list[dict] = []
    while time.monotonic() < deadline and len(fanned) < 4:
        runs = server.gql(RUNS)["runsOrError"]["results"]
        fanned = [r for r in runs if tags(r).get("commstats/refresh") == refresh_id]
        time.sleep(2)
    assert sorted((r["jobName"], tags(r)["dagster/partition"]) for r in fanned) == sorted(
        [
            ("ingest_mail", "vmcore/vmcore-devel"),
            ("ingest_mail", "kernel-virt/kvm"),
            ("ingest_git", "vmcore/vmcore"),
            ("ingest_git", "kernel-virt/minikernel"),
        ]
    )
    # the first refresh rebuilds (no full rebuild was recorded yet) ...
    _wait_for(server, lambda runs: _refresh_runs(runs, refresh_id, "rebuild", {"SUCCESS", "FAILURE"}))
    runs = server.gql(RUNS)["runsOrError"]["results"]
    assert _refresh_runs(runs, refresh_id, "rebuild", {"SUCCESS"})
    first = {refresh_id} | {r["runId"] for r in _refresh_runs(runs, refresh_id, None, None)}
    # ... a second one finds nothing new: its sources run, the rebuild is skipped, the sensor says so
    second = _launch(server, "refresh")
    _wait_for(server, lambda runs: len(_refresh_runs(runs, second, None, FINISHED)) == 4)
    sensor = {
        "repositoryLocationName": "commstats",
        "repositoryName": "__repository__",
        "sensorName": "refresh_stages",
    }
    reason = f"refresh {second}: nothing new since the last build, rebuild skipped"
    deadline = time.monotonic() + 120
    reasons: list[str] = []
    while time.monotonic() < deadline and reason not in reasons:
        ticks = server.gql(SENSOR_TICKS, {"s": sensor})["sensorOrError"]["sensorState"]["ticks"]
        reasons = [t["skipReason"] for t in ticks if t["skipReason"]]
        time.sleep(2)
    assert reason in reasons, reasons
    assert not _refresh_runs(server.gql(RUNS)["runsOrError"]["results"], second, "rebuild", None)
    _cancel_a_rebuild_while_dbt_builds(server, env)
    before = {r["runId"] for r in server.gql(RUNS)["runsOrError"]["results"]}
    server.stop()

    # `commstats ui` over the same config: the same instance directory, so the same history
    port = free_port()
    ui_env = {k: v for k, v in env["env"].items() if k not in ("DAGSTER_HOME", "COMMSTATS_CONFIG")}
    again = Server(
        [str(COMMSTATS), "ui", "--config", str(env["config"]), "--port", str(port)],
        ui_env,
        port,
        env["root"] / "commstats-ui.log",
    )
    try:
        again.wait_loaded()
        after = {r["runId"] for r in again.gql(RUNS)["runsOrError"]["results"]}
        assert before <= after
        assert first <= after
        state = again.gql(SCHEDULE, {"s": selector})["scheduleOrError"]["scheduleState"]
        assert state["status"] == "RUNNING"
    finally:
        again.stop()
