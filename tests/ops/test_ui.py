"""The real UI: `dagster dev` on loopback ports over sample configs, driven through the GraphQL API
the UI uses. Two servers, each over a config and instance of its own, started together:

- on the first, every asset is materialized by a backfill (the UI's "Materialize all"), and the
  asset graph and code location are rendered in headless Chromium;
- on the second, the refresh: the schedule's job fans out one run per source, the rebuild follows
  when they are done, a second refresh with nothing new skips the rebuild (the sensor says so), a
  rebuild terminated from the UI ends with its dbt build, and run history and schedule state are
  kept across a restart through `commstats ui`. Its first refresh loads every source into an empty
  warehouse.

The backfill is launched first and its daemon works through it while the refresh runs on the
second server; the backfill's tests then wait for it to end. One test worker holds both."""

from __future__ import annotations

import contextlib
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from tests.ops.conftest import COMMSTATS
from tests.ops.ui_server import (
    FINISHED,
    RUNS,
    SCHEDULE,
    SENSOR_TICKS,
    WORKSPACE,
    Server,
    dagster_devs,
    failed_runs,
    free_port,
    launch,
    refresh_runs,
    tags,
    ui_env,
    wait_for,
)

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
TIMEOUT = 900  # seconds for a whole backfill on a busy two-core machine


@pytest.fixture(scope="module")
def env(sample_dir: Path, tmp_path_factory) -> dict:
    return ui_env(sample_dir, tmp_path_factory.mktemp("ui"))


@pytest.fixture(scope="module")
def refresh_env(sample_dir: Path, tmp_path_factory) -> dict:
    return ui_env(sample_dir, tmp_path_factory.mktemp("ui-refresh"))


@pytest.fixture(scope="module")
def servers(env, refresh_env) -> Iterator[list[Server]]:
    with dagster_devs(env, refresh_env) as both:
        yield both


@pytest.fixture(scope="module")
def server(servers: list[Server]) -> Server:
    return servers[0]


@pytest.fixture(scope="module")
def refresh_server(servers: list[Server]) -> Server:
    return servers[1]


@pytest.fixture(scope="module")
def launched(server: Server) -> dict:
    """Every asset, every partition: what the UI's "Materialize all" launches (not waited for)."""
    nodes = server.gql("{ assetNodes { assetKey { path } isMaterializable isPartitioned } }")["assetNodes"]
    keys = [n["assetKey"] for n in nodes if n["isMaterializable"]]
    started = server.gql(
        """mutation($p: LaunchBackfillParams!) { launchPartitionBackfill(backfillParams: $p) {
          __typename ... on LaunchBackfillSuccess { backfillId } ... on PythonError { message } } }""",
        {"p": {"assetSelection": keys, "allPartitions": True}},
    )["launchPartitionBackfill"]
    assert started["__typename"] == "LaunchBackfillSuccess", started
    return {"id": started["backfillId"], "keys": keys, "nodes": nodes}


@pytest.fixture(scope="module")
def backfill(server: Server, launched: dict) -> dict:
    """The backfill once it has ended: its status and runs."""
    deadline = time.monotonic() + TIMEOUT
    status = None
    while time.monotonic() < deadline:
        status = server.gql(
            "query($id: String!) { partitionBackfillOrError(backfillId: $id) { ... on PartitionBackfill { status } } }",
            {"id": launched["id"]},
        )["partitionBackfillOrError"]["status"]
        if status not in ("REQUESTED", "CANCELING"):
            break
        time.sleep(3)
    runs = server.gql(RUNS)["runsOrError"]["results"]
    return {"status": status, "runs": runs, "keys": launched["keys"], "nodes": launched["nodes"]}


def test_code_location_loads_without_errors(server: Server, launched):
    ws = server.gql(WORKSPACE)["workspaceOrError"]
    assert ws["__typename"] == "Workspace"
    [entry] = ws["locationEntries"]
    assert (entry["name"], entry["loadStatus"], entry["locationOrLoadError"]["__typename"]) == (
        "commstats",
        "LOADED",
        "RepositoryLocation",
    )


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
    run_id = launch(server, "rebuild")
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


def test_refresh_fans_out_then_state_survives_a_restart(refresh_server: Server, refresh_env, launched):
    """On the second server, while the first one's daemon runs the backfill launched above."""
    server, env = refresh_server, refresh_env
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
    refresh_id = launch(server, "refresh")
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
    wait_for(server, lambda runs: refresh_runs(runs, refresh_id, "rebuild", {"SUCCESS", "FAILURE"}))
    runs = server.gql(RUNS)["runsOrError"]["results"]
    assert refresh_runs(runs, refresh_id, "rebuild", {"SUCCESS"})
    first = {refresh_id} | {r["runId"] for r in refresh_runs(runs, refresh_id, None, None)}
    # ... a second one finds nothing new: its sources run, the rebuild is skipped, the sensor says so
    second = launch(server, "refresh")
    wait_for(server, lambda runs: len(refresh_runs(runs, second, None, FINISHED)) == 4)
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
    assert not refresh_runs(server.gql(RUNS)["runsOrError"]["results"], second, "rebuild", None)
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


def test_materialize_all_succeeds_with_one_run_per_source(backfill, env, server: Server):
    assert backfill["status"] == "COMPLETED_SUCCESS", backfill["runs"]
    assert not failed_runs(server, backfill["runs"]), failed_runs(server, backfill["runs"])
    # the extraction fanned out: one run per source partition, launched by the instance's launcher
    partitions = sorted(tags(r).get("dagster/partition", "") for r in backfill["runs"])
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
    """The dbt build of a run the daemon launched: every table's `count(*)` as `dagster/row_count`
    (a view, such as intermediate.int_period_events, is not counted: that would expand it)."""
    import dagster as dg

    from core.warehouse import connect

    keys = [dg.AssetKey(n["assetKey"]["path"]) for n in backfill["nodes"]]
    keys = [k for k in keys if k.path[0] in ("intermediate", "marts", "reference")]
    con = connect(env["root"] / "warehouse.duckdb", read_only=True)
    try:
        tables = set(con.execute("select schema_name, table_name from duckdb_tables()").fetchall())
        assert ("intermediate", "int_period_events") not in tables
        keys = [k for k in keys if (k.path[0], k.path[1]) in tables]
        counts = {
            k: con.execute(f'select count(*) from "{k.path[0]}"."{k.path[1]}"').fetchone()[0] for k in keys
        }
    finally:
        con.close()
    with dg.DagsterInstance.from_config(str(env["home"])) as instance:
        recorded = {k: instance.get_latest_materialization_event(k) for k in keys}
    assert len(keys) > 20 and counts[dg.AssetKey(["marts", "community_health"])] > 0
    assert {
        k: e.asset_materialization.metadata["dagster/row_count"].value for k, e in recorded.items()
    } == counts


def test_the_ui_runs_execute_their_steps_in_the_runs_own_process(backfill, env):
    """As `commstats run` does: no Python process started per step (each would import the
    definitions again). The rebuild run has a dozen steps, all in the process that started the run."""
    import dagster as dg

    with dg.DagsterInstance.from_config(str(env["home"])) as instance:
        pids = {}
        for run in backfill["runs"]:
            events = [e.dagster_event for e in instance.all_logs(run["runId"]) if e.is_dagster_event]
            started = {e.pid for e in events if e.event_type_value == "PIPELINE_START"}
            steps = [e for e in events if e.event_type_value == "STEP_START"]
            pids[run["runId"]] = (started, {e.pid for e in steps}, len(steps))
    assert all(len(s) == 1 and steps == s and n >= 1 for s, steps, n in pids.values()), pids
    assert max(n for _, _, n in pids.values()) >= 10  # the rebuild's steps


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
