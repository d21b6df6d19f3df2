"""The published read-only copy of the warehouse, refreshed after the dbt models are built."""

import dagster as dg

from core.lake_upkeep import tidy_lake
from core.published import publish_copy, publish_snapshot
from core.warehouse import lake_of
from orchestration.defs.resources import WAREHOUSE_POOL, CommstatsConfig
from orchestration.defs.transform import commstats_dbt_models


@dg.asset(
    key=dg.AssetKey(["warehouse", "published_copy"]),
    # after every model: a failed dbt build leaves the last good copy in place for readers
    deps=sorted(commstats_dbt_models.keys),
    group_name="publish",
    kinds={"duckdb"},
    pool=WAREHOUSE_POOL,
)
def published_copy(commstats: CommstatsConfig) -> dg.MaterializeResult:
    """A consistent copy of the warehouse that `commstats sql` reads while refreshes write (for a
    DuckLake, the snapshot they read)."""
    warehouse = commstats.load().warehouse
    if lake_of(warehouse) is not None:
        snapshot = publish_snapshot(warehouse)
        # then what --as-of no longer needs goes: the lake grows no further than its window
        upkeep = tidy_lake(warehouse)
        assert upkeep is not None
        return dg.MaterializeResult(
            metadata={
                "snapshot": snapshot,
                "snapshots expired": upkeep.expired,
                "snapshots kept": upkeep.kept,
                "files deleted": upkeep.deleted_files,
            }
        )
    published = publish_copy(warehouse)
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(published.path)),
            "bytes": published.path.stat().st_size,
            "free block share": round(published.free_share, 4),
            "rewritten": published.rewritten,
        }
    )


defs = dg.Definitions(assets=[published_copy])
