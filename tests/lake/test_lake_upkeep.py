"""A DuckLake (catalogued in a real PostgreSQL server) after several builds: with expiry its data
directory holds only the files its kept snapshots read, without it grows with every build; the
kept snapshots answer `commstats sql --as-of`, an expired one gives one line."""

from __future__ import annotations

import dataclasses
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from commstats.sql import run_query
from core.config import DuckLakeConfig, WarehouseTarget
from core.lake_upkeep import snapshots_to_expire, tidy_lake
from core.published import publish_snapshot
from core.warehouse import connect, connect_for_write
from tests.lake.conftest import extension_directory
from tests.lake.postgres_server import PostgresServer

BUILDS = 5
ROWS = 2000
APPENDS = 3  # small inserts per build: the small files a refresh's incremental models leave


def test_snapshots_to_expire_keeps_the_published_ones_in_the_window_and_all_after_the_last() -> None:
    now = datetime(2026, 12, 5, tzinfo=UTC)
    published = {3: now - timedelta(days=100), 7: now - timedelta(days=10), 12: now - timedelta(days=1)}
    snapshots = list(range(16))
    assert snapshots_to_expire(snapshots, published, now - timedelta(days=90)) == [*range(7), *range(8, 12)]
    # a zero window keeps the last published snapshot and the writers' commits since
    assert snapshots_to_expire(snapshots, published, now) == list(range(12))
    assert snapshots_to_expire(snapshots, published, None) == []  # keep_snapshots: all
    assert snapshots_to_expire(snapshots, {}, now) == []  # no complete build yet


def test_keep_snapshots_is_a_duration_or_all() -> None:
    lake = {"catalog": "lake.ducklake", "data_path": "data/"}
    assert DuckLakeConfig(**lake).retention() == timedelta(days=90)
    assert DuckLakeConfig(**lake, keep_snapshots="2 weeks").retention() == timedelta(days=14)
    assert DuckLakeConfig(**lake, keep_snapshots="0 days").retention() == timedelta(0)
    assert DuckLakeConfig(**lake, keep_snapshots="all").retention() is None
    with pytest.raises(ValueError, match="must be a duration such as '90 days'"):
        DuckLakeConfig(**lake, keep_snapshots="last quarter")


def _files(folder: Path) -> set[Path]:
    return {Path(d, f) for d, _, files in os.walk(folder) for f in files}


def _read_by_kept_snapshots(target: WarehouseTarget) -> set[Path]:
    """The data and delete files any snapshot the lake still has reads, as its catalog lists them."""
    con = connect(target, read_only=True)
    try:
        tables = con.execute(
            "select schema_name, table_name from duckdb_tables() where database_name = 'lake'"
        ).fetchall()
        found: set[Path] = set()
        for (sid,) in con.execute("select snapshot_id from ducklake_snapshots('lake')").fetchall():
            for schema, table in tables:
                try:
                    rows = con.execute(
                        "select data_file, delete_file from ducklake_list_files('lake', ?, schema => ?, snapshot_version => ?)",
                        [table, schema, sid],
                    ).fetchall()
                except duckdb.Error:  # the table did not exist yet at that snapshot
                    continue
                found |= {Path(f) for row in rows for f in row if f is not None}
        return found
    finally:
        con.close()


def _build(target: WarehouseTarget, build: int) -> int:
    """One "build": a mart replaced whole, a few small appends, then published; its snapshot."""
    con = connect_for_write(target)
    try:
        con.execute("create schema if not exists marts")
        con.execute(
            f"create or replace table marts.m as select range as x, {build} as build from range({ROWS})"
        )
        for i in range(APPENDS):
            con.execute(f"insert into marts.m values ({-1 - i}, {build})")
    finally:
        con.close()
    return publish_snapshot(target)


def _snapshots(target: WarehouseTarget) -> list[int]:
    con = connect_for_write(target)  # the first one creates the lake
    try:
        return [
            r[0]
            for r in con.execute("select snapshot_id from ducklake_snapshots('lake') order by 1").fetchall()
        ]
    finally:
        con.close()


def _lake(postgres: PostgresServer, tmp_path: Path, name: str, keep: str) -> tuple[WarehouseTarget, str]:
    dbname = postgres.create_database()
    libpq = dataclasses.replace(postgres, dbname=dbname).libpq
    data = tmp_path / name
    target = WarehouseTarget(
        ducklake=DuckLakeConfig(
            catalog=f"postgres:{libpq}",
            data_path=f"{data}/",
            state_dir=tmp_path / "state",
            keep_snapshots=keep,
        )
    )
    return target, dbname


def test_expiry_bounds_the_data_directory_and_as_of_reads_the_kept_snapshots(
    postgres: PostgresServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if isinstance(reason := extension_directory(), str):
        pytest.skip(reason)
    kept, kept_db = _lake(postgres, tmp_path, "kept", "all")
    tidied, tidied_db = _lake(postgres, tmp_path, "tidied", "0 days")
    try:
        sizes: dict[str, list[tuple[int, int]]] = {"kept": [], "tidied": []}
        published = []
        for build in range(1, BUILDS + 1):
            _build(kept, build)
            assert tidy_lake(kept).expired == 0
            before = _snapshots(tidied)
            published.append(_build(tidied, build))
            upkeep = tidy_lake(tidied)
            # every snapshot before this build's publication goes: what the last upkeep kept (the
            # last publication and the commits after it: its meta.published row, the merge), this
            # build's creation of the mart and its appends but the last (the published one), the
            # first time the schema's too
            assert before[0] == (0 if build == 1 else published[-2])
            assert upkeep.expired == len(before) + 1 + (APPENDS - 1) + (build == 1)
            assert min(_snapshots(tidied)) == published[-1]
            for name, target in (("kept", kept), ("tidied", tidied)):
                on_disk = _files(tmp_path / name)
                # on disk exactly what the kept snapshots read: nothing left behind, nothing lost
                assert on_disk == _read_by_kept_snapshots(target), name
                sizes[name].append((len(on_disk), sum(p.stat().st_size for p in on_disk)))
        # without expiry every build adds its files (the mart's, its appends merged into one, and
        # its row of meta.published); with it, the files stay as many from the second build on
        assert [n for n, _ in sizes["kept"]] == [2 * b for b in range(1, BUILDS + 1)]
        assert [n for n, _ in sizes["tidied"]] == [2] + [4] * (BUILDS - 1)
        assert sizes["tidied"][-1][1] * (BUILDS - 1) < sizes["kept"][-1][1]

        query = "select build, count(*) from marts.m group by build"
        assert run_query(tidied, query, csv_out=True, as_of=published[-1]) == 0
        assert capsys.readouterr().out.splitlines() == ["build,count_star()", f"{BUILDS},{ROWS + APPENDS}"]
        assert run_query(tidied, query, csv_out=True, as_of=published[0]) == 1
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and f"no snapshot {published[0]}: it was expired" in err[0], err
        # the lake that keeps everything still answers for the first build
        con = connect(kept, read_only=True)
        try:
            first = con.execute("select min(snapshot_id) from meta.published").fetchone()[0]
        finally:
            con.close()
        assert run_query(kept, query, csv_out=True, as_of=first) == 0
        assert capsys.readouterr().out.splitlines() == ["build,count_star()", f"1,{ROWS + APPENDS}"]
    finally:
        postgres.drop_database(kept_db)
        postgres.drop_database(tidied_db)
