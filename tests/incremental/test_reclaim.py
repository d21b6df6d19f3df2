"""Rewriting the warehouse without its free blocks: the same rows, views and schemas in a file no
larger than one written afresh, swapped in while the write lock is held."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb

from core.published import publish_copy, published_path
from core.warehouse import RECLAIM_FREE_SHARE, free_block_share, reclaim_free_blocks

SCHEMA = [
    "create schema raw",
    "create schema marts",
    "create table raw.messages as select range as id, 'subject ' || range as subject from range(200000)",
    "create view marts.recent as select * from raw.messages where id >= 199990",
]


def build(path: Path, with_replaced_table: bool) -> None:
    con = duckdb.connect(str(path))
    try:
        for sql in SCHEMA:
            con.execute(sql)
        if with_replaced_table:
            # what a refresh leaves behind: a large table written, then dropped
            con.execute(
                "create table marts.old as select range as id, md5(range::varchar) as h from range(400000)"
            )
            con.execute("checkpoint")
            con.execute("drop table marts.old")
        con.execute("checkpoint")
    finally:
        con.close()


def can_open(path: Path) -> bool:
    """Whether another process can open `path` (it cannot while this one holds the lock)."""
    code = f"import duckdb; duckdb.connect({str(path)!r}).close()"
    return subprocess.run([sys.executable, "-c", code], capture_output=True).returncode == 0


def test_free_blocks_are_reclaimed_and_rows_kept(tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    build(warehouse, with_replaced_table=True)
    fresh = tmp_path / "fresh.duckdb"
    build(fresh, with_replaced_table=False)
    bloated = warehouse.stat().st_size
    con = duckdb.connect(str(warehouse))
    assert free_block_share(con) > RECLAIM_FREE_SHARE
    con = reclaim_free_blocks(con, warehouse)
    try:
        # the connection returned holds the lock on the new file: no other process gets in
        assert not can_open(warehouse)
    finally:
        con.close()
    assert warehouse.stat().st_size < bloated
    assert warehouse.stat().st_size <= fresh.stat().st_size
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fresh.duckdb", "warehouse.duckdb"]
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        assert con.execute(
            "select count(*), sum(id), count(distinct subject) from raw.messages"
        ).fetchone() == (
            200000,
            sum(range(200000)),
            200000,
        )
        assert con.execute("select min(id), count(*) from marts.recent").fetchone() == (199990, 10)
        assert con.execute("select count(*) from duckdb_tables() where table_name = 'old'").fetchone() == (0,)
        assert free_block_share(con) <= RECLAIM_FREE_SHARE
    finally:
        con.close()


def test_a_compact_file_is_left_alone(tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    build(warehouse, with_replaced_table=False)
    inode, size = warehouse.stat().st_ino, warehouse.stat().st_size
    con = duckdb.connect(str(warehouse))
    try:
        assert free_block_share(con) <= RECLAIM_FREE_SHARE
        assert reclaim_free_blocks(con, warehouse) is con
    finally:
        con.close()
    assert (warehouse.stat().st_ino, warehouse.stat().st_size) == (inode, size)


def test_publishing_reports_the_free_share_and_the_rewrite(tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse.duckdb"
    build(warehouse, with_replaced_table=True)
    con = duckdb.connect(str(warehouse))
    try:
        share = free_block_share(con)
    finally:
        con.close()
    assert share > RECLAIM_FREE_SHARE
    published = publish_copy(warehouse)
    assert published.rewritten
    assert published.free_share == share
    assert published.path == published_path(warehouse)
    # published again with nothing dropped since: nothing is free, nothing rewritten
    again = publish_copy(warehouse)
    assert (again.rewritten, again.free_share) == (False, 0.0)
    con = duckdb.connect(str(again.path), read_only=True)
    try:
        assert con.execute("select count(*) from raw.messages").fetchone() == (200000,)
    finally:
        con.close()
