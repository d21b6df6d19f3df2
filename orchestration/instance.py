"""The persistent Dagster instance kept in the data directory (run history, schedule state).

`dagster.yaml` is created with the settings commstats relies on and otherwise left to its owner:
a deployment adds its own storage, run launcher or run coordinator there (see the README's
"Beyond one machine"), and those keys are kept on every start.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from core.config import CommunitiesConfig
from core.warehouse import lake_of, local_home
from core.yamlfile import safe_load

# orchestration.defs.resources.WAREHOUSE_POOL; a DuckLake's instance also has EXTRACT_POOL ("extract")
POOLS = ("warehouse",)
# how many sources of a DuckLake warehouse load at once (their runs are in the extract pool)
LAKE_CONCURRENT_SOURCES = 4

# DuckDB allows one writer: every writing asset is in the "warehouse" pool, limited to one at a
# time. Run granularity lets the run queue enforce it before a run starts, so a crashed run can
# never leave a step slot claimed; writers also wait for DuckDB's file lock themselves.
DEFAULTS: dict[str, Any] = {
    "concurrency": {"pools": {"default_limit": 1, "granularity": "run"}},
    "telemetry": {"enabled": False},
}

# The run queue starts a run of the warehouse pool once the previous one has ended, and by default
# looks every 5 seconds: queued runs (a backfill, the refresh fan-out) waited 0.1 to 5 s after
# each other's end, 0.1 to 0.9 s with a pass every second. A pass is a query of the run storage.
# Dagster refuses `run_queue` beside a deployment's own `run_coordinator`, which then decides.
RUN_QUEUE: dict[str, Any] = {"dequeue_interval_seconds": 1}


def instance_dir(cfg: CommunitiesConfig) -> Path:
    return local_home(cfg.warehouse).parent / "dagster-home"


def merged_settings(current: dict[str, Any] | None) -> dict[str, Any]:
    """The defaults under whatever the file already says (its values win, key by key)."""

    def merge(default: Any, mine: Any) -> Any:
        if isinstance(default, dict) and isinstance(mine, dict):
            out = dict(default)
            for key, value in mine.items():
                out[key] = merge(default.get(key), value)
            return out
        return default if mine is None else mine

    defaults = DEFAULTS if "run_coordinator" in (current or {}) else {**DEFAULTS, "run_queue": RUN_QUEUE}
    return merge(defaults, current or {})


def ensure_instance(cfg: CommunitiesConfig) -> Path:
    home = instance_dir(cfg)
    home.mkdir(parents=True, exist_ok=True)
    settings = home / "dagster.yaml"
    try:
        current = safe_load(settings.read_text()) if settings.exists() else None
    except yaml.YAMLError:
        current = None  # an unreadable file would stop every run: start again from the defaults
    wanted = merged_settings(current if isinstance(current, dict) else None)
    if wanted != current:
        settings.write_text(yaml.safe_dump(wanted, sort_keys=False))
    ensure_pool_limits(home, {"extract": LAKE_CONCURRENT_SOURCES} if lake_of(cfg.warehouse) else {})
    return home


def ensure_pool_limits(home: Path, limits: dict[str, int] | None = None) -> None:
    """Give the pools their limits in the instance storage now, before any run is queued.

    The run queue creates a pool's default limit lazily, in the pass that first sees a run of the
    pool, and treats the pool as unlimited during that pass: on a fresh instance, the runs of a
    backfill or of a refresh's fan-out queued together would all start at once.
    """
    import dagster as dg

    instance = dg.DagsterInstance.from_config(str(home))
    try:
        storage = instance.event_log_storage
        known = storage.get_concurrency_keys()
        for pool in (*POOLS, *(limits or {})):
            if pool in known:
                continue  # a limit set before (by a deployment's owner too) is kept
            if pool in (limits or {}):
                storage.set_concurrency_slots(pool, limits[pool])  # type: ignore[index]
            else:
                storage.initialize_concurrency_limit_to_default(pool)
    finally:
        instance.dispose()
