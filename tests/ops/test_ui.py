"""The real UI: `dagster dev` on a loopback port over a sample config, every asset materialized
through the GraphQL API the UI uses, and the asset graph and code location rendered in headless
Chromium. The refresh fan-out and the restart are in test_ui_refresh.py, on a server of their own
(so the two halves run on two test workers at once)."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.ops.ui_server import RUNS, WORKSPACE, Server, dagster_dev, tags, ui_env

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
TIMEOUT = 900  # seconds for a whole backfill on a busy two-core machine


@pytest.fixture(scope="module")
def env(sample_dir: Path, tmp_path_factory) -> dict:
    return ui_env(sample_dir, tmp_path_factory.mktemp("ui"))


@pytest.fixture(scope="module")
def server(env) -> Iterator[Server]:
    with dagster_dev(env) as srv:
        yield srv


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
