"""The dbt project as Dagster assets: staging -> intermediate -> marts, dbt tests as asset checks."""

import json
from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, dbt_assets

from core.config import CommunitiesConfig
from core.warehouse import dbt_target_path, extension_directory, lake_of, object_store_settings
from orchestration.defs.dbt_row_counts import with_row_counts
from orchestration.defs.resources import WAREHOUSE_POOL, CommstatsConfig
from orchestration.project import dbt_cli, dbt_project


class CommstatsTranslator(DagsterDbtTranslator):
    """Models are keyed by their schema (staging/..., marts/...), sources by raw/<table>."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] in ("model", "seed", "snapshot"):
            schema = dbt_resource_props.get("config", {}).get("schema") or "main"
            return dg.AssetKey([schema, dbt_resource_props["name"]])
        return super().get_asset_key(dbt_resource_props)

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["resource_type"] in ("model", "seed", "snapshot"):
            return dbt_resource_props.get("config", {}).get("schema") or "dbt"
        return super().get_group_name(dbt_resource_props)


def dbt_vars(cfg: CommunitiesConfig) -> dict[str, Any]:
    """The dbt --vars a config implies (kept pure so it is unit-tested)."""
    committer_projects = sorted(
        key for key, p in cfg.projects.items() if (p.period_date or cfg.period_date) == "committer"
    )
    common = {"period_date": cfg.period_date, "committer_date_projects": committer_projects}
    lake = lake_of(cfg.warehouse)
    if lake is not None:
        # profiles.yml's `lake` target attaches it
        return {
            "ducklake_catalog": lake.catalog,
            "ducklake_data_path": lake.data_path,
            # an s3:// data path: the store's settings (the credentials stay in the environment)
            "ducklake_s3": object_store_settings(lake),
            "duckdb_extensions": extension_directory(),
            **common,
        }
    # profiles.yml opens this file (falling back on $COMMSTATS_WAREHOUSE for dbt run by hand)
    return {"warehouse": str(cfg.warehouse), **common}


# dbt's unit tests check the project's SQL against fixed rows, not the data: the same result on
# every refresh (3-8 s each), so the pipeline leaves them to the test suite (tests/test_dbt_unit.py)
DBT_BUILD_ARGS = ["build", "--exclude-resource-type", "unit_test"]


def dbt_build_args(cfg: CommunitiesConfig) -> list[str]:
    """The pipeline's `dbt build` command line (without the selection Dagster adds)."""
    target = ["--target", "lake"] if lake_of(cfg.warehouse) is not None else []
    return [*DBT_BUILD_ARGS, *target, "--vars", json.dumps(dbt_vars(cfg))]


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=CommstatsTranslator(),
    pool=WAREHOUSE_POOL,
)
def commstats_dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, commstats: CommstatsConfig):
    cfg = commstats.load()
    build = dbt.cli(dbt_build_args(cfg), context=context, target_path=dbt_target_path(cfg.warehouse))
    # counted in the warehouse dbt was given (the `warehouse` var), once dbt has released it
    yield from with_row_counts(build.stream(), build.manifest, cfg.warehouse, context.log)


defs = dg.Definitions(
    assets=[commstats_dbt_models],
    resources={"dbt": dbt_cli()},
)
