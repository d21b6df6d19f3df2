"""Writers that start together on a new DuckLake (catalogued in a real PostgreSQL server): the first
attaches race to create the catalog, the first loads to create the raw tables; every load lands."""

from __future__ import annotations

import dataclasses
import multiprocessing
from pathlib import Path

import pytest

from core.config import DuckLakeConfig, WarehouseTarget
from core.warehouse import connect
from tests.lake.conftest import extension_directory
from tests.lake.postgres_server import PostgresServer

WRITERS = 4
ROWS = 50


def _load(
    target: WarehouseTarget, owner: str, spool_dir: str, start: multiprocessing.synchronize.Barrier
) -> None:
    from extractors.load import Spool, publish

    spool = Spool(Path(spool_dir), batch_rows=10)
    for i in range(ROWS):
        spool.add(
            "list_addresses", {"project": owner, "list_name": "l", "address": f"a{i}@x.org", "kind": "list"}
        )
    start.wait(timeout=120)
    publish(target, spool, ["list_addresses"], {"project": owner})


def test_four_first_loads_at_once_into_a_new_lake_all_land(postgres: PostgresServer, tmp_path: Path) -> None:
    if isinstance(reason := extension_directory(), str):
        pytest.skip(reason)
    dbname = postgres.create_database()
    try:
        libpq = dataclasses.replace(postgres, dbname=dbname).libpq
        target = WarehouseTarget(
            ducklake=DuckLakeConfig(
                catalog=f"postgres:{libpq}", data_path=f"{tmp_path / 'lake'}/", state_dir=tmp_path / "state"
            )
        )
        spawn = multiprocessing.get_context("spawn")
        start = spawn.Barrier(WRITERS)
        owners = [f"p{i}" for i in range(WRITERS)]
        procs = [
            spawn.Process(target=_load, args=(target, owner, str(tmp_path / owner), start))
            for owner in owners
        ]
        for proc in procs:
            proc.start()
        for proc in procs:
            proc.join(timeout=300)
        assert [proc.exitcode for proc in procs] == [0] * WRITERS
        con = connect(target, read_only=True)
        try:
            rows = con.execute(
                "select project, count(*), count(distinct address) from raw.list_addresses group by 1 order by 1"
            ).fetchall()
        finally:
            con.close()
        assert rows == [(owner, ROWS, ROWS) for owner in owners]
    finally:
        postgres.drop_database(dbname)
