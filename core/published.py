"""The published read-only copy of the warehouse, which `commstats sql` and other readers open.

DuckDB allows one writing process, and a process that holds the file open read-only blocks the
writer as much as a writer blocks readers. So readers never open the live warehouse: after each
successful build the warehouse is checkpointed (and rewritten without its free blocks when they
exceed a share: core.warehouse.reclaim_free_blocks) and copied, while its write lock is held so nothing
changes underneath, to a temporary file that then replaces the published copy atomically
(os.replace). A reader keeps the copy it opened; the next reader gets the new one.

A DuckLake needs no copy: its readers never block its writers, and every commit is a snapshot. A
build's models are committed one by one, though, so after a complete build the snapshot it ended
on is recorded in `meta.published`; readers attach the lake at that snapshot, as they would open
the copy.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import NamedTuple

import duckdb

from core.warehouse import Warehouse, connect, connect_for_write, free_block_share, reclaim_free_blocks

PUBLISHED_TABLE = "meta.published"


def published_path(warehouse: str | Path) -> Path:
    """`warehouse.duckdb` -> `warehouse.published.duckdb`, beside it."""
    warehouse = Path(warehouse)
    return warehouse.with_name(f"{warehouse.stem}.published{warehouse.suffix or '.duckdb'}")


def publish_snapshot(warehouse: Warehouse) -> int:
    """Record the DuckLake's current snapshot as the one readers read; returns its id."""
    con = connect_for_write(warehouse)
    try:
        snapshot = con.execute("select id from current_snapshot()").fetchone()[0]
        con.execute("create schema if not exists meta")
        con.execute(
            f"create table if not exists {PUBLISHED_TABLE} "
            "(snapshot_id bigint, published_at timestamp with time zone)"
        )
        con.execute(f"insert into {PUBLISHED_TABLE} values (?, now())", [snapshot])
        return snapshot
    finally:
        con.close()


def published_snapshot(warehouse: Warehouse) -> int | None:
    """The snapshot of the DuckLake's last complete build; None before the first."""
    con = connect(warehouse, read_only=True)
    try:
        return con.execute(f"select max(snapshot_id) from {PUBLISHED_TABLE}").fetchone()[0]
    except duckdb.CatalogException:
        return None
    finally:
        con.close()


class Published(NamedTuple):
    path: Path
    free_share: float  # of the warehouse's blocks, before any rewrite
    rewritten: bool  # whether the warehouse was rewritten without its free blocks


def publish_copy(warehouse: str | Path) -> Published:
    """Replace the published copy with the warehouse as it is now."""
    warehouse = Path(warehouse)
    target = published_path(warehouse)
    con = connect_for_write(warehouse)  # waits for a running writer, then keeps others out
    try:
        con.execute("CHECKPOINT")  # everything in the main file, nothing left in the WAL
        free_share = free_block_share(con)
        # blocks a build left free (few: dbt_project/macros/reuse_blocks.sql): rewritten past a share
        held = con
        con = reclaim_free_blocks(con, warehouse)
        rewritten = con is not held
        # leftovers of a publisher killed mid-copy (we hold the lock: no other publisher runs)
        for stale in target.parent.glob(f".{target.name}.*.tmp"):
            stale.unlink(missing_ok=True)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
        with open(warehouse, "rb") as src, open(tmp, "wb") as dst:
            shutil.copyfileobj(src, dst, 16 << 20)
            dst.flush()
            os.fsync(dst.fileno())
        os.replace(tmp, target)
    finally:
        con.close()
    return Published(target, free_share, rewritten)
