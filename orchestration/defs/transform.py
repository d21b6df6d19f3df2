"""The dbt project as Dagster assets: staging -> intermediate -> marts, dbt tests as asset checks."""

import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from core.config import CommunitiesConfig
from orchestration.defs.resources import WAREHOUSE_POOL, CommstatsConfig

DBT_PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"

# the dbt installed beside this Python, so a venv's dbt is used even when the venv is not on PATH
DBT_EXECUTABLE = str(Path(sys.executable).with_name("dbt"))

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


def ensure_manifest(project: DbtProject = dbt_project) -> Path:
    """Parse the dbt project when its manifest is missing or older than a model, macro or seed."""
    manifest = project.manifest_path
    newest = max(
        (
            p.stat().st_mtime
            for d in ("models", "macros", "seeds", "tests")
            for p in (project.project_dir / d).rglob("*")
            if p.is_file()
        ),
        default=0.0,
    )
    newest = max(newest, (project.project_dir / "dbt_project.yml").stat().st_mtime)
    if not manifest.exists() or manifest.stat().st_mtime < newest:
        dbt = DbtCliResource(project_dir=project, dbt_executable=DBT_EXECUTABLE)
        dbt.cli(["parse", "--quiet"], target_path=project.target_path).wait()
    return manifest


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
    return {"period_date": cfg.period_date, "committer_date_projects": committer_projects}


ensure_manifest()


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=CommstatsTranslator(),
    pool=WAREHOUSE_POOL,
)
def commstats_dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, commstats: CommstatsConfig):
    cfg = commstats.load()
    # profiles.yml reads the warehouse from the environment the dbt subprocess inherits
    os.environ["COMMSTATS_WAREHOUSE"] = str(cfg.warehouse)
    yield from dbt.cli(["build", "--vars", json.dumps(dbt_vars(cfg))], context=context).stream()


defs = dg.Definitions(
    assets=[commstats_dbt_models],
    resources={"dbt": DbtCliResource(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE)},
)
