"""The real UI: `dagster dev` on a loopback port over a sample config, every asset materialized
through the GraphQL API the UI uses, the asset graph and code location rendered in headless
Chromium, the refresh fan-out driven by the daemon, and run history and schedule state kept across
a restart through `commstats ui`."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.config import REPO_ROOT, load_config
from orchestration.instance import ensure_instance
from tests.ops.conftest import COMMSTATS, write_config

pytestmark = pytest.mark.slow

DAGSTER = Path(sys.executable).with_name("dagster")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
TIMEOUT = 900  # seconds for a whole backfill on a busy two-core machine


def _free_port() -> int:
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
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=30)
        # run workers, the daemon and code servers share the group: none may outlive the test
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)
        self._out.close()


WORKSPACE = """{ workspaceOrError { __typename ... on Workspace { locationEntries { name loadStatus
  locationOrLoadError { __typename ... on PythonError { message } } } } ... on PythonError { message } } }"""
RUNS = """{ runsOrError { ... on Runs { results { runId status jobName startTime endTime
  tags { key value } } } } }"""
SENSOR_TICKS = """query($s: SensorSelector!) { sensorOrError(sensorSelector: $s) {
  ... on Sensor { sensorState { ticks(limit: 20) { status skipReason } } } } }"""
SCHEDULE = """query($s: ScheduleSelector!) { scheduleOrError(scheduleSelector: $s) {
  ... on Schedule { scheduleState { id selectorId status } } } }"""


@pytest.fixture(scope="module")
def env(sample_dir: Path, tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("ui")
    config = write_config(sample_dir, root)
    home = ensure_instance(load_config(config))  # the same directory `commstats ui` uses
    environ = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "COMMSTATS_CONFIG": str(config),
        "COMMSTATS_REFRESH_SENSOR_SECONDS": "5",
    }
    environ.pop("COMMSTATS_WAREHOUSE", None)
    return {"root": root, "config": config, "home": home, "env": environ}


@pytest.fixture(scope="module")
def server(env) -> Iterator[Server]:
    port = _free_port()
    cmd = [str(DAGSTER), "dev", "-w", str(REPO_ROOT / "workspace.yaml"), "-h", "127.0.0.1", "-p", str(port)]
    srv = Server(cmd, env["env"], port, env["root"] / "dagster-dev.log")
    try:
        srv.wait_loaded()
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def backfill(server: Server) -> dict:
    """Every asset, every partition: what the UI's "Materialize all" launches."""
    nodes = server.gql("{ assetNodes { assetKey { path } isMaterializable isPartitioned } }")["assetNodes"]
    keys = [n["assetKey"] for n in nodes if n["isMaterializable"]]
    launched = server.gql(
        """mutation($p: LaunchBackfillParams!) { launchPartitionBackfill(backfillParams: $p) {
          __typename ... on LaunchBackfillSuccess { backfillId } ... on PythonError { message } } }""",
        {"p": {"assetSelection": keys, "allPartitions": True}},
    )["launchPartitionBackfill"]
    assert launched["__typename"] == "LaunchBackfillSuccess", launched
    backfill_id = launched["backfillId"]
    deadline = time.monotonic() + TIMEOUT
    status = None
    while time.monotonic() < deadline:
        status = server.gql(
            "query($id: String!) { partitionBackfillOrError(backfillId: $id) { ... on PartitionBackfill { status } } }",
            {"id": backfill_id},
        )["partitionBackfillOrError"]["status"]
        if status not in ("REQUESTED", "CANCELING"):
            break
        time.sleep(3)
    runs = server.gql(RUNS)["runsOrError"]["results"]
    return {"status": status, "runs": runs, "keys": keys, "nodes": nodes}


def _tags(run: dict) -> dict[str, str]:
    return {t["key"]: t["value"] for t in run["tags"]}


def test_code_location_loads_without_errors(server: Server):
    ws = server.gql(WORKSPACE)["workspaceOrError"]
    assert ws["__typename"] == "Workspace"
    [entry] = ws["locationEntries"]
    assert (entry["name"], entry["loadStatus"], entry["locationOrLoadError"]["__typename"]) == (
        "commstats",
        "LOADED",
        "RepositoryLocation",
    )


def test_materialize_all_succeeds_with_one_run_per_source(backfill, env):
    assert backfill["status"] == "COMPLETED_SUCCESS", backfill["runs"]
    assert all(r["status"] == "SUCCESS" for r in backfill["runs"])
    # the extraction fanned out: one run per source partition, launched by the instance's launcher
    partitions = sorted(_tags(r).get("dagster/partition", "") for r in backfill["runs"])
    assert [p for p in partitions if p] == sorted(
        ["vmcore/vmcore-devel", "kernel-virt/kvm", "vmcore/vmcore", "kernel-virt/minikernel"]
    )
    # every run writes the warehouse, so the `warehouse` pool (limit 1, run granularity) lets the
    # daemon's queue start one only after the previous one ended
    spans = sorted((r["startTime"], r["endTime"]) for r in backfill["runs"])
    overlaps = [(a, b) for a, b in zip(spans, spans[1:], strict=False) if b[0] < a[1]]
    assert not overlaps, overlaps
    partitioned = sorted("/".join(n["assetKey"]["path"]) for n in backfill["nodes"] if n["isPartitioned"])
    assert partitioned == sorted(
        f"raw/{t}"
        for t in ("mail_messages", "mail_trailers", "mail_quarantine", "mail_issues", "list_addresses")
        + ("git_commits", "git_file_changes", "git_trailers", "git_quarantine")
    )
    import duckdb

    con = duckdb.connect(str(env["root"] / "warehouse.published.duckdb"), read_only=True)
    try:
        assert con.execute("select count(*) from raw.mail_messages").fetchone()[0] == 8365
        assert con.execute("select count(*) from raw.git_commits").fetchone()[0] == 2080
        assert con.execute("select count(distinct project) from marts.community_health").fetchone()[0] == 2
    finally:
        con.close()


def test_the_ui_runs_record_each_dbt_tables_row_count(backfill, env):
    """The dbt build of a run the daemon launched: every table's `count(*)` as `dagster/row_count`."""
    import dagster as dg

    from core.warehouse import connect

    keys = [dg.AssetKey(n["assetKey"]["path"]) for n in backfill["nodes"]]
    keys = [k for k in keys if k.path[0] in ("intermediate", "marts", "reference")]
    with dg.DagsterInstance.from_config(str(env["home"])) as instance:
        recorded = {k: instance.get_latest_materialization_event(k) for k in keys}
    con = connect(env["root"] / "warehouse.duckdb", read_only=True)
    try:
        counts = {
            k: con.execute(f'select count(*) from "{k.path[0]}"."{k.path[1]}"').fetchone()[0] for k in keys
        }
    finally:
        con.close()
    assert len(keys) > 20 and counts[dg.AssetKey(["marts", "community_health"])] > 0
    assert {
        k: e.asset_materialization.metadata["dagster/row_count"].value for k, e in recorded.items()
    } == counts


def _dom(url: str, tmp: Path) -> str:
    profile = tmp / "chromium-profile"
    profile.mkdir(exist_ok=True)
    out = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-quic",
            "--no-first-run",
            f"--user-data-dir={profile}",
            "--virtual-time-budget=20000",  # let the single-page app fetch and render its data
            "--dump-dom",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    html = re.sub(r"<script.*?</script>|<style.*?</style>", " ", out.stdout, flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_asset_graph_renders_in_chromium(server: Server, backfill, env):
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (install Debian's chromium package to run this test)")
    graph = _dom(f"http://127.0.0.1:{server.port}/asset-groups", env["root"])
    assert "Global asset lineage" in graph, graph[:2000]
    for group in ("mail", "git", "identities", "staging", "marts", "charts", "publish"):
        assert re.search(rf"\b{group}\b", graph), (group, graph[:2000])
    assert "Materialize all" in graph
    locations = _dom(f"http://127.0.0.1:{server.port}/deployment/locations", env["root"])
    assert re.search(r"commstats .*orchestration\.definitions.* Loaded", locations), locations[:2000]
    for bad in ("Error loading", "Failed to load", "PythonError"):
        assert bad not in graph and bad not in locations


FINISHED = {"SUCCESS", "FAILURE", "CANCELED"}


def _refresh_runs(
    runs: list[dict], refresh_id: str, job: str | None, statuses: set[str] | None
) -> list[dict]:
    return [
        r
        for r in runs
        if _tags(r).get("commstats/refresh") == refresh_id
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


def test_refresh_fans_out_then_state_survives_a_restart(server: Server, backfill, env):
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
    launched = server.gql(
        """mutation($p: ExecutionParams!) { launchRun(executionParams: $p) { __typename
          ... on LaunchRunSuccess { run { runId } } ... on PythonError { message } } }""",
        {
            "p": {
                "selector": {
                    "repositoryLocationName": "commstats",
                    "repositoryName": "__repository__",
                    "jobName": "refresh",
                },
                "runConfigData": {},
            }
        },
    )["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    refresh_id = launched["run"]["runId"]
    deadline = time.monotonic() + 300
    fanned: list[dict] = []
    while time.monotonic() < deadline and len(fanned) < 4:
        runs = server.gql(RUNS)["runsOrError"]["results"]
        fanned = [r for r in runs if _tags(r).get("commstats/refresh") == refresh_id]
        time.sleep(2)
    assert sorted((r["jobName"], _tags(r)["dagster/partition"]) for r in fanned) == sorted(
        [
            ("ingest_mail", "vmcore/vmcore-devel"),
            ("ingest_mail", "kernel-virt/kvm"),
            ("ingest_git", "vmcore/vmcore"),
            ("ingest_git", "kernel-virt/minikernel"),
        ]
    )
    # the first refresh after the backfill rebuilds (no full rebuild was recorded yet) ...
    _wait_for(server, lambda runs: _refresh_runs(runs, refresh_id, "rebuild", {"SUCCESS", "FAILURE"}))
    assert _refresh_runs(server.gql(RUNS)["runsOrError"]["results"], refresh_id, "rebuild", {"SUCCESS"})
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
    before = {r["runId"] for r in server.gql(RUNS)["runsOrError"]["results"]}
    server.stop()

    # `commstats ui` over the same config: the same instance directory, so the same history
    port = _free_port()
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
        assert {r["runId"] for r in backfill["runs"]} <= after
        state = again.gql(SCHEDULE, {"s": selector})["scheduleOrError"]["scheduleState"]
        assert state["status"] == "RUNNING"
    finally:
        again.stop()
