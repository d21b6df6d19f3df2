"""The whole pipeline into a DuckLake catalogued in a real PostgreSQL server, through the Dagster
daemon as a scheduled refresh runs it: one config key moves every part (extraction, dbt, charts,
report, `commstats run`, `commstats sql`); the four sources load at the same time; and the marts
equal, row for row, those of the same sample built into a DuckDB file (the shared `pipeline_run`)."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.config import load_config
from core.warehouse import connect
from tests.lake.conftest import assert_same_csv_exports, extension_directory
from tests.lake.postgres_server import PostgresServer
from tests.ops.ui_server import RUNS, dagster_devs, launch, refresh_runs, tags, ui_env, wait_for

pytestmark = pytest.mark.slow

COMMSTATS = Path(sys.executable).with_name("commstats")
SOURCES = ["vmcore/vmcore-devel", "kernel-virt/kvm", "vmcore/vmcore", "kernel-virt/minikernel"]


def commstats(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("COMMSTATS_CONFIG", "COMMSTATS_WAREHOUSE")}
    return subprocess.run([str(COMMSTATS), *args], capture_output=True, text=True, timeout=900, env=env)


def _launched_to_ended(home: Path, run_ids: list[str]) -> list[tuple[float, float]]:
    """(launch, end) of each run, from the instance: when the queue let it go, when it ended."""
    import dagster as dg

    with dg.DagsterInstance.from_config(str(home)) as instance:
        stats = [instance.get_run_stats(run_id) for run_id in run_ids]
    assert all(s.launch_time and s.end_time for s in stats), stats
    return [(float(s.launch_time), float(s.end_time)) for s in stats]  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def lake_run(postgres: PostgresServer, sample_dir: Path, tmp_path_factory) -> dict:
    """The refresh job launched on `dagster dev` over the sample with a DuckLake warehouse: the
    daemon's sensor fans out one run per source, then the rebuild."""
    if isinstance(reason := extension_directory(), str):
        pytest.skip(reason)
    tmp = tmp_path_factory.mktemp("lake-run")
    dbname = postgres.create_database()
    libpq = dataclasses.replace(postgres, dbname=dbname).libpq
    lake = {"ducklake": {"catalog": f"postgres:{libpq}", "data_path": str(tmp / "lake")}}
    env = ui_env(sample_dir, tmp, warehouse=lake)
    try:
        with dagster_devs(env) as (server,):
            refresh_id = launch(server, "refresh")
            wait_for(server, lambda runs: refresh_runs(runs, refresh_id, "rebuild", {"SUCCESS", "FAILURE"}))
            runs = refresh_runs(server.gql(RUNS)["runsOrError"]["results"], refresh_id, None, None)
        yield {**env, "runs": runs, "cfg": load_config(env["config"]), "tmp": tmp}
    finally:
        postgres.drop_database(dbname)


def test_the_refresh_loads_the_four_sources_at_once_then_rebuilds(lake_run: dict) -> None:
    runs = lake_run["runs"]
    assert [r["status"] for r in runs if r["jobName"] == "rebuild"] == ["SUCCESS"], runs
    sources = [r for r in runs if r["jobName"] != "rebuild"]
    assert sorted(tags(r)["dagster/partition"] for r in sources) == sorted(SOURCES)
    assert {r["status"] for r in sources} == {"SUCCESS"}
    # none waited for another: the run queue launched each before the one launched before it had
    # ended (in the one pool of a DuckDB file, it launches each after the previous one's end)
    spans = sorted(_launched_to_ended(lake_run["home"], [r["runId"] for r in sources]))
    assert all(later[0] < earlier[1] for earlier, later in zip(spans, spans[1:], strict=False)), spans


def marts_tables(con) -> list[str]:
    return [
        t
        for (t,) in con.execute(
            "select table_name from information_schema.tables "
            "where table_catalog = current_database() and table_schema = 'marts' order by 1"
        ).fetchall()
    ]


def test_the_marts_equal_a_duckdb_file_build_row_for_row(lake_run: dict, pipeline_run: dict) -> None:
    con = connect(lake_run["cfg"].warehouse, read_only=True)
    try:
        con.execute(f"attach '{pipeline_run['warehouse']}' as file_build (read_only)")
        lake_tables = marts_tables(con)
        file_tables = [
            t
            for (t,) in con.execute(
                "select table_name from information_schema.tables "
                "where table_catalog = 'file_build' and table_schema = 'marts' order by 1"
            ).fetchall()
        ]
        assert lake_tables == file_tables and len(lake_tables) >= 9
        compared = {}
        for table in lake_tables:
            lake_only, file_only = (
                con.execute(
                    f"select count(*) from (from {a}.marts.{table} except all from {b}.marts.{table})"
                ).fetchone()[0]
                for a, b in (("lake", "file_build"), ("file_build", "lake"))
            )
            n = con.execute(f"select count(*) from lake.marts.{table}").fetchone()[0]
            compared[table] = (n, lake_only, file_only)
        assert all(lake_only == 0 and file_only == 0 for _, lake_only, file_only in compared.values()), (
            compared
        )
        # the marts are not empty: the comparison compared something
        assert compared["community_health"][0] > 0 and compared["person_activity"][0] > 0
    finally:
        con.close()


def test_the_raw_rows_are_the_file_builds(lake_run: dict, pipeline_run: dict) -> None:
    con = connect(lake_run["cfg"].warehouse, read_only=True)
    try:
        con.execute(f"attach '{pipeline_run['warehouse']}' as file_build (read_only)")
        for table, key in (("mail_messages", "message_id"), ("git_commits", "sha")):
            lake, file = (
                con.execute(f"select count(*), count(distinct {key}) from {db}.raw.{table}").fetchone()
                for db in ("lake", "file_build")
            )
            assert lake == file and lake[0] > 1000
    finally:
        con.close()


def test_charts_and_report_are_drawn_from_the_lake(lake_run: dict, pipeline_run: dict) -> None:
    out = Path(lake_run["cfg"].output_dir)
    lake_charts = sorted(p.name for p in (out / "charts").glob("*.png"))
    file_charts = sorted(p.name for p in (pipeline_run["out"] / "charts").glob("*.png"))
    assert lake_charts == file_charts and len(lake_charts) == 8
    assert (out / "report.html").stat().st_size > 10_000
    # the CSV exports (<year>/<project>/<table>.csv) are the file build's, byte for byte
    assert_same_csv_exports(out / "csv", pipeline_run["out"] / "csv")


def test_commstats_run_on_the_built_lake_loads_nothing_new_and_names_the_lake(lake_run: dict) -> None:
    proc = commstats("run", "--config", str(lake_run["config"]))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "nothing new since the last build" in proc.stdout
    assert "warehouse: DuckLake postgres:dbname=" in proc.stdout
    counts = dict(
        line.split()[:2] for line in proc.stdout.splitlines() if line.strip().startswith(("raw.", "marts."))
    )
    con = connect(lake_run["cfg"].warehouse, read_only=True)
    try:
        messages = con.execute("select count(*) from raw.mail_messages").fetchone()[0]
    finally:
        con.close()
    assert counts["raw.mail_messages"] == f"{messages:,}" and messages > 1000


def test_commstats_sql_reads_the_published_snapshot_and_as_of_an_earlier_one(lake_run: dict) -> None:
    config = str(lake_run["config"])
    query = "select count(*) from marts.community_health"
    con = connect(lake_run["cfg"].warehouse, read_only=True)
    try:
        expected = con.execute(query).fetchone()[0]
        published = con.execute("select max(snapshot_id) from meta.published").fetchone()[0]
        kept = [r[0] for r in con.execute("select snapshot_id from snapshots() order by 1").fetchall()]
    finally:
        con.close()
    proc = commstats("sql", "--config", config, "--csv", query)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["count_star()", str(expected)]
    proc = commstats("sql", "--config", config, "--csv", "--as-of", str(published), query)
    assert proc.stdout.splitlines() == ["count_star()", str(expected)]
    # the snapshots the build made on its way (each source's load, each model) were expired
    # after it (keep_snapshots: 90 days keeps the published ones): one line says so
    assert published in kept and published - 1 not in kept
    proc = commstats("sql", "--config", config, "--as-of", str(published - 1), query)
    assert proc.returncode == 1
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert f"no snapshot {published - 1}: it was expired" in proc.stderr
    # a table the snapshot does not hold: one line naming it
    proc = commstats("sql", "--config", config, "--as-of", str(published), "select * from marts.no_such_mart")
    assert proc.returncode == 1
    assert len(proc.stderr.strip().splitlines()) == 1 and "no_such_mart" in proc.stderr


def test_commstats_sql_on_a_lake_is_read_only_and_sandboxed(lake_run: dict, tmp_path: Path) -> None:
    config = str(lake_run["config"])
    # commstats' own connections load the packaged extensions without hashing them again (they sit
    # beside DuckDB itself); the one that runs a user's SQL verifies their signatures
    setting = "select current_setting('allow_unsigned_extensions') as unsigned"
    con = connect(lake_run["cfg"].warehouse, read_only=True)
    try:
        assert con.execute(setting).fetchone() == (True,)
    finally:
        con.close()
    proc = commstats("sql", "--config", config, "--csv", setting)
    assert proc.returncode == 0 and proc.stdout.splitlines() == ["unsigned", "False"], proc.stderr
    proc = commstats("sql", "--config", config, "create table marts.x as select 1")
    assert proc.returncode == 1 and "read-only" in proc.stderr
    outside = tmp_path / "secret.csv"
    outside.write_text("a\n1\n")
    proc = commstats("sql", "--config", config, f"select * from read_csv('{outside}')")
    assert proc.returncode == 1 and proc.stderr.startswith("commstats: refused:"), proc.stderr
    proc = commstats("sql", "--config", config, "set enable_external_access = true")
    assert proc.returncode == 1 and "refused" in proc.stderr
    # a persistent secret would be a file under HOME: refused before DuckDB runs it
    home = tmp_path / "home"
    home.mkdir()
    proc = subprocess.run(
        [str(COMMSTATS), "sql", "--config", config, "create persistent secret s (type postgres, host 'h')"],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "HOME": str(home)},
    )
    assert proc.returncode == 1 and proc.stderr.strip().endswith(
        "CREATE and DROP SECRET (secrets are kept outside the warehouse)"
    ), proc.stderr
    assert list(home.rglob("*")) == []


def test_as_of_on_a_duckdb_file_is_refused_in_one_line(pipeline_run: dict) -> None:
    proc = commstats("sql", "--warehouse", str(pipeline_run["warehouse"]), "--as-of", "3", "select 1")
    assert proc.returncode == 1
    assert proc.stderr.strip() == (
        f"commstats: {pipeline_run['warehouse']}: --as-of reads a DuckLake warehouse's snapshots; "
        "a DuckDB file has none"
    )
