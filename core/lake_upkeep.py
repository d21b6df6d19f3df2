"""Keeping a DuckLake from growing without bound: after each complete build, expire the snapshots
`commstats sql --as-of` no longer needs, merge small adjacent files and delete the files no kept
snapshot reads.

Every commit of a DuckLake is a snapshot, and a snapshot keeps the Parquet files it read: a build
commits once per source and once per model, and replaces every table it rebuilds, so without
expiry each refresh adds a copy of the marts. What is kept is what readers can ask for: the
snapshots that complete builds published (`meta.published`) within `keep_snapshots` of now, and
always the last one published and every snapshot after it (other writers' commits since). The
snapshots in between (a build half done) are expired at once: `--as-of` a time within a build
reads the build published before it, as it would have then.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb

from core.published import PUBLISHED_TABLE
from core.warehouse import LAKE_ALIAS, Warehouse, connect_for_write, lake_of


@dataclass(frozen=True)
class Upkeep:
    """What one upkeep did: snapshots expired and kept (of those before it), files deleted."""

    expired: int
    kept: int
    deleted_files: int


def snapshots_to_expire(
    snapshots: list[int], published: dict[int, datetime], cutoff: datetime | None
) -> list[int]:
    """The snapshots of `snapshots` to expire: every one before the last published, except the
    published ones at or after `cutoff` (none when `cutoff` is None: nothing expires)."""
    if cutoff is None or not published:
        return []
    last = max(published)
    keep = {sid for sid, at in published.items() if at >= cutoff} | {last}
    return [sid for sid in snapshots if sid < last and sid not in keep]


def tidy_lake(warehouse: Warehouse, now: datetime | None = None) -> Upkeep | None:
    """Expire, merge and clean up the DuckLake `warehouse` (None for a DuckDB file)."""
    lake = lake_of(warehouse)
    if lake is None:
        return None
    retention = lake.retention()
    now = now or datetime.now(UTC)
    con = connect_for_write(warehouse)
    try:
        snapshots = [
            row[0]
            for row in con.execute(
                f"SELECT snapshot_id FROM ducklake_snapshots('{LAKE_ALIAS}') ORDER BY snapshot_id"
            ).fetchall()
        ]
        try:
            published = dict(
                con.execute(f"SELECT snapshot_id, published_at FROM {PUBLISHED_TABLE}").fetchall()
            )
        except duckdb.CatalogException:  # no complete build yet: nothing to measure a window from
            published = {}
        # a refresh's small files (incremental models' appends, each source's commit) into larger
        # ones; the kept snapshots still read them as they were
        # (fetchall: the merge commits when its result is read to the end, and gives no rows)
        con.execute(f"CALL ducklake_merge_adjacent_files('{LAKE_ALIAS}')").fetchall()
        expire = snapshots_to_expire(snapshots, published, None if retention is None else now - retention)
        if expire:
            con.execute(f"CALL ducklake_expire_snapshots('{LAKE_ALIAS}', versions => ?)", [expire]).fetchall()
        if any(sid in published for sid in expire):
            # their rows name snapshots no reader can open any more; rewritten whole, the table
            # stays one small file (its appends, one per build, are not merged once expired)
            con.execute(
                f"CREATE OR REPLACE TABLE {PUBLISHED_TABLE} AS SELECT * FROM {PUBLISHED_TABLE} "
                f"WHERE snapshot_id IN (SELECT snapshot_id FROM ducklake_snapshots('{LAKE_ALIAS}'))"
            )
        # the files only expired snapshots read, and those the merge replaced
        deleted = con.execute(
            f"CALL ducklake_cleanup_old_files('{LAKE_ALIAS}', cleanup_all => true)"
        ).fetchall()
        return Upkeep(expired=len(expire), kept=len(snapshots) - len(expire), deleted_files=len(deleted))
    finally:
        con.close()
