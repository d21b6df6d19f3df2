"""The dbt asset reports the row count of every table it builds, takes the warehouse from the
config without touching the process environment, and `commstats run` records the same counts in
its instance."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import dagster as dg
import duckdb

ROW_COUNT = "dagster/row_count"


def _counts(warehouse: Path, keys: list[dg.AssetKey]) -> dict[dg.AssetKey, int]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return {
            k: con.execute(f'select count(*) from "{k.path[0]}"."{k.path[1]}"').fetchone()[0] for k in keys
        }


def test_the_dbt_build_reports_each_tables_row_count(pipeline_run: dict, tmp_path: Path, monkeypatch):
    from orchestration.defs.resources import CommstatsConfig
    from orchestration.defs.transform import commstats_dbt_models
    from orchestration.project import dbt_cli

    monkeypatch.delenv("COMMSTATS_WAREHOUSE", raising=False)
    # same file name: the manifest names tables by the warehouse's file stem (DuckDB's catalog)
    warehouse = tmp_path / "copy" / "warehouse.duckdb"
    warehouse.parent.mkdir()
    shutil.copy(pipeline_run["warehouse"], warehouse)
    config = pipeline_run["sample"] / "communities.yaml"
    result = dg.materialize(
        [commstats_dbt_models],
        resources={
            "dbt": dbt_cli(),
            "commstats": CommstatsConfig(config_path=str(config), warehouse=str(warehouse)),
        },
        instance=dg.DagsterInstance.ephemeral(),
    )
    assert result.success
    assert "COMMSTATS_WAREHOUSE" not in os.environ  # the warehouse went to dbt as a var
    reported = {
        e.asset_key: e.materialization.metadata[ROW_COUNT].value
        for e in result.get_asset_materialization_events()
        if e.asset_key.path[0] in ("marts", "intermediate")
    }
    marts = [k for k in reported if k.path[0] == "marts"]
    assert dg.AssetKey(["marts", "community_health"]) in marts and len(marts) >= 4
    assert reported == _counts(warehouse, list(reported))
    assert reported[dg.AssetKey(["marts", "community_health"])] > 0


def test_commstats_run_records_the_row_counts_in_its_instance(pipeline_run: dict):
    warehouse = pipeline_run["warehouse"]
    key = dg.AssetKey(["marts", "community_health"])
    with dg.DagsterInstance.from_config(str(warehouse.parent / "dagster-home")) as instance:
        event = instance.get_latest_materialization_event(key)
    assert event is not None and event.asset_materialization is not None
    assert event.asset_materialization.metadata[ROW_COUNT].value == _counts(warehouse, [key])[key]
