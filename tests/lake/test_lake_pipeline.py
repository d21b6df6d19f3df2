"""The whole pipeline into a DuckLake catalogued in a real PostgreSQL server: one config key moves
every part (extraction, dbt, charts, report, `commstats sql`), and the marts equal, row for row,
those of the same sample built into a DuckDB file (the shared `pipeline_run`)."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from core.config import load_config
from core.warehouse import connect
from tests.lake.conftest import extension_directory
from tests.lake.postgres_server import PostgresServer

pytestmark = pytest.mark.slow

COMMSTATS = Path(sys.executable).with_name("commstats")


def lake_config(sample: Path, tmp: Path, libpq: str) -> Path:
    """The sample's config with `warehouse:` switched to a DuckLake, everything else as it is."""
    data = yaml.safe_load((sample / "communities.yaml").read_text())
    data["warehouse"] = {"ducklake": {"catalog": f"postgres:{libpq}", "data_path": str(tmp / "lake")}}
    data["output_dir"] = str(tmp / "output")
    data["cache_dir"] = str(tmp / "cache")
    config = sample / f"lake-{tmp.name}.yaml"  # beside the sample: its relative paths still hold
    config.write_text(yaml.safe_dump(data, sort_keys=False))
    return config


def commstats(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(COMMSTATS), *args], capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module")
def lake_run(postgres: PostgresServer, sample_dir: Path, tmp_path_factory) -> dict:
    if isinstance(reason := extension_directory(), str):
        pytest.skip(reason)
    tmp = tmp_path_factory.mktemp("lake-run")
    dbname = postgres.create_database()
    config = lake_config(sample_dir, tmp, dataclasses.replace(postgres, dbname=dbname).libpq)
    proc = commstats("run", "--config", str(config))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    try:
        yield {"config": config, "tmp": tmp, "stdout": proc.stdout, "cfg": load_config(config)}
    finally:
        config.unlink(missing_ok=True)
        postgres.drop_database(dbname)


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
    out = lake_run["tmp"] / "output"
    lake_charts = sorted(p.name for p in (out / "charts").glob("*.png"))
    file_charts = sorted(p.name for p in (pipeline_run["out"] / "charts").glob("*.png"))
    assert lake_charts == file_charts and len(lake_charts) == 8
    assert (out / "report.html").stat().st_size > 10_000
    # the CSV exports hold the same rows as the file build's
    for csv in sorted((pipeline_run["out"] / "csv").glob("*.csv")):
        assert (out / "csv" / csv.name).read_text() == csv.read_text(), csv.name


def test_the_run_summary_names_the_lake(lake_run: dict) -> None:
    assert "warehouse: DuckLake postgres:dbname=" in lake_run["stdout"]
    assert "marts.community_health" in lake_run["stdout"]


def test_commstats_sql_reads_the_published_snapshot_and_as_of_an_earlier_one(lake_run: dict) -> None:
    config = str(lake_run["config"])
    query = "select count(*) from marts.community_health"
    con = connect(lake_run["cfg"].warehouse, read_only=True)
    try:
        expected = con.execute(query).fetchone()[0]
        published = con.execute("select max(snapshot_id) from meta.published").fetchone()[0]
        first_marts = con.execute(
            "select min(snapshot_id) from snapshots() where changes['tables_created'] is not null "
            "and list_contains(changes['tables_created'], 'marts.community_health')"
        ).fetchone()[0]
    finally:
        con.close()
    proc = commstats("sql", "--config", config, "--csv", query)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["count_star()", str(expected)]
    proc = commstats("sql", "--config", config, "--csv", "--as-of", str(published), query)
    assert proc.stdout.splitlines() == ["count_star()", str(expected)]
    # before the marts were built, the table did not exist: one line naming it
    proc = commstats("sql", "--config", config, "--as-of", str(first_marts - 1), query)
    assert proc.returncode == 1
    assert len(proc.stderr.strip().splitlines()) == 1 and "community_health" in proc.stderr


def test_commstats_sql_on_a_lake_is_read_only_and_sandboxed(lake_run: dict, tmp_path: Path) -> None:
    config = str(lake_run["config"])
    proc = commstats("sql", "--config", config, "create table marts.x as select 1")
    assert proc.returncode == 1 and "read-only" in proc.stderr
    outside = tmp_path / "secret.csv"
    outside.write_text("a\n1\n")
    proc = commstats("sql", "--config", config, f"select * from read_csv('{outside}')")
    assert proc.returncode == 1 and proc.stderr.startswith("commstats: refused:"), proc.stderr
    proc = commstats("sql", "--config", config, "set enable_external_access = true")
    assert proc.returncode == 1 and "refused" in proc.stderr


def test_as_of_on_a_duckdb_file_is_refused_in_one_line(pipeline_run: dict) -> None:
    proc = commstats("sql", "--warehouse", str(pipeline_run["warehouse"]), "--as-of", "3", "select 1")
    assert proc.returncode == 1
    assert proc.stderr.strip() == (
        f"commstats: {pipeline_run['warehouse']}: --as-of reads a DuckLake warehouse's snapshots; "
        "a DuckDB file has none"
    )
