"""The persistent Dagster instance kept in the data directory (run history, schedule state)."""

from __future__ import annotations

from pathlib import Path

from commstats.config import CommunitiesConfig

# DuckDB allows one writer: every writing asset is in the "warehouse" pool, limited to one at a
# time. Run granularity lets the run queue enforce it before a run starts, so a crashed run can
# never leave a step slot claimed; writers also wait for DuckDB's file lock themselves.
DAGSTER_YAML = """\
concurrency:
  pools:
    default_limit: 1
    granularity: run
telemetry:
  enabled: false
"""


def instance_dir(cfg: CommunitiesConfig) -> Path:
    return Path(cfg.warehouse).parent / "dagster-home"


def ensure_instance(cfg: CommunitiesConfig) -> Path:
    home = instance_dir(cfg)
    home.mkdir(parents=True, exist_ok=True)
    settings = home / "dagster.yaml"
    if not settings.exists() or settings.read_text() != DAGSTER_YAML:
        settings.write_text(DAGSTER_YAML)
    return home
