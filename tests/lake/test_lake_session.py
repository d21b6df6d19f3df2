"""A source load's one attach of the lake (core.warehouse.lake_session), the raw tables checked
in one query, and the workers of loads that share the cores."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import duckdb
import pytest

from core.config import DuckLakeConfig, WarehouseTarget
from core.procs import workers_sharing_cores
from core.warehouse import connect, connect_for_write, lake_session, reset_lake_sessions
from extractors.schema import RAW_SCHEMA, RAW_TABLES, ensure_raw_tables
from orchestration.defs.ingest import source_workers
from orchestration.instance import LAKE_CONCURRENT_SOURCES
from tests.lake.conftest import extension_directory
from tests.lake.postgres_server import PostgresServer


def test_workers_are_the_cores_shared_by_the_loads_at_once() -> None:
    assert workers_sharing_cores(4, cores=2) == 1
    assert workers_sharing_cores(4, cores=8) == 2
    assert workers_sharing_cores(4, cores=16) == 4
    assert workers_sharing_cores(1, cores=2) == 2
    assert workers_sharing_cores(0, cores=2) == 2  # no pool limit read as one load


def test_a_lakes_loads_get_their_share_a_files_the_extractors_default(tmp_path: Path) -> None:
    lake = WarehouseTarget(ducklake=DuckLakeConfig(catalog="lake.ducklake", data_path=f"{tmp_path}/"))
    assert LAKE_CONCURRENT_SOURCES == 4
    assert source_workers(lake) == workers_sharing_cores(4)
    assert source_workers(tmp_path / "warehouse.duckdb") is None


def test_raw_tables_gain_missing_columns_and_tables(tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    try:
        con.execute(f"create schema {RAW_SCHEMA}")
        first, *rest = RAW_TABLES["git_commits"]
        con.execute(f'create table {RAW_SCHEMA}.git_commits ("{first[0]}" {first[1]})')
        ensure_raw_tables(con)
        columns = con.execute(
            "select column_name from duckdb_columns() where schema_name = ? and table_name = 'git_commits' "
            "order by column_index",
            [RAW_SCHEMA],
        ).fetchall()
        assert [c for (c,) in columns] == [name for name, _ in RAW_TABLES["git_commits"]]
        tables = con.execute(
            "select count(*) from duckdb_tables() where schema_name = ?", [RAW_SCHEMA]
        ).fetchone()
        assert tables[0] == len(RAW_TABLES)
    finally:
        con.close()


@pytest.fixture
def lake(postgres: PostgresServer, tmp_path: Path):
    if isinstance(reason := extension_directory(), str):
        pytest.skip(reason)
    dbname = postgres.create_database()
    libpq = dataclasses.replace(postgres, dbname=dbname).libpq
    try:
        yield WarehouseTarget(
            ducklake=DuckLakeConfig(
                catalog=f"postgres:{libpq}", data_path=f"{tmp_path / 'lake'}/", state_dir=tmp_path / "state"
            )
        )
    finally:
        postgres.drop_database(dbname)


def _threads(con: duckdb.DuckDBPyConnection) -> int:
    return int(con.execute("select current_setting('threads')").fetchone()[0])


def test_a_session_shares_one_attached_instance_and_its_commits_are_seen_outside(
    lake: WarehouseTarget,
) -> None:
    con = connect_for_write(lake)
    default_threads = _threads(con)
    con.execute("create table t (x integer)")
    con.close()
    with lake_session(lake):
        first = connect_for_write(lake)
        # a global setting of one connection is the other's: the same DuckDB instance
        first.execute(f"set global threads = {default_threads + 3}")
        second = connect(lake, read_only=True)
        assert _threads(second) == default_threads + 3
        assert second.execute("select current_database()").fetchone()[0] == "lake"
        first.execute("begin transaction")
        first.execute("insert into t values (1), (2)")
        first.execute("commit")
        first.close()
        assert second.execute("select count(*) from t").fetchone()[0] == 2
        second.close()
        # after a conflicting commit the retry attaches again: a new instance, default settings
        reset_lake_sessions()
        third = connect(lake)
        assert _threads(third) == default_threads
        third.close()
    outside = connect(lake, read_only=True)
    try:
        assert _threads(outside) == default_threads  # its own instance
        assert outside.execute("select count(*) from t").fetchone()[0] == 2
    finally:
        outside.close()
