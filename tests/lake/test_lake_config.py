"""`warehouse:` as a DuckLake: how the config reads it, and what each part derives from it."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from commstats.cli import _as_of
from core.config import ConfigError, DuckLakeConfig, load_config
from core.warehouse import dbt_target_path, describe, lake_of, local_home

PROJECTS = "projects:\n  a: {}\n"


def config(tmp_path: Path, warehouse: str) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "communities.yaml"
    path.write_text(f"cache_dir: cache\n{warehouse}{PROJECTS}")
    return path


def test_a_lake_with_a_local_catalog_resolves_its_paths_against_the_config(tmp_path: Path) -> None:
    cfg = load_config(
        config(
            tmp_path,
            "warehouse:\n  ducklake:\n    catalog: lake/catalog.ducklake\n    data_path: lake/files\n",
        )
    )
    lake = lake_of(cfg.warehouse)
    assert lake == DuckLakeConfig(
        catalog=str(tmp_path / "lake" / "catalog.ducklake"),
        data_path=f"{tmp_path / 'lake' / 'files'}/",
        state_dir=tmp_path / "cache" / "ducklake",
    )
    # this machine's files of the lake: dbt's folder and the Dagster instance, under state_dir
    assert local_home(cfg.warehouse) == tmp_path / "cache" / "ducklake" / "lake.ducklake"
    assert dbt_target_path(cfg.warehouse) == tmp_path / "cache" / "ducklake" / "lake.dbt"


def test_a_postgres_catalog_is_kept_as_written_and_its_password_never_shown(tmp_path: Path) -> None:
    libpq = "dbname=stats host=db.example.org port=5432 user=etl password=s3cret"
    cfg = load_config(
        config(
            tmp_path, f'warehouse:\n  ducklake:\n    catalog: "postgres:{libpq}"\n    data_path: /srv/lake/\n'
        )
    )
    assert lake_of(cfg.warehouse).catalog == f"postgres:{libpq}"
    assert describe(cfg.warehouse) == (
        "DuckLake postgres:dbname=stats host=db.example.org port=5432 user=etl password=*** (data /srv/lake/)"
    )
    # a file warehouse is described by its path, and is no lake
    file_cfg = load_config(config(tmp_path, "warehouse: w.duckdb\n"))
    assert lake_of(file_cfg.warehouse) is None and describe(file_cfg.warehouse) == str(tmp_path / "w.duckdb")


@pytest.mark.parametrize(
    ("warehouse", "message"),
    [
        (
            "warehouse:\n  ducklake:\n    catalog: c.ducklake\n    data_path: gs://bucket/lake/\n",
            "key 'warehouse.ducklake.data_path': must be a directory or an s3:// URL (S3 or an "
            "S3-compatible store: see warehouse.ducklake.s3.endpoint)",
        ),
        (
            "warehouse:\n  ducklake:\n    catalog: c.ducklake\n",
            "key 'warehouse.ducklake.data_path': Field required",
        ),
        (
            'warehouse:\n  ducklake:\n    catalog: "c\'; drop"\n    data_path: d/\n',
            "key 'warehouse.ducklake.catalog': must be one line without a single quote",
        ),
        (
            "warehouse:\n  ducklake:\n    catalog: c\n    data_path: d/\n    threads: 4\n",
            "key 'warehouse.ducklake.threads': unknown key",
        ),
    ],
)
def test_a_bad_lake_setting_fails_in_one_line_naming_the_key(
    tmp_path: Path, warehouse: str, message: str
) -> None:
    path = config(tmp_path, warehouse)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(err.value) == f"{path}: {message}"


def test_dbt_builds_a_lake_through_the_profiles_lake_target(tmp_path: Path) -> None:
    from orchestration.defs.transform import dbt_build_args

    cfg = load_config(
        config(
            tmp_path, 'warehouse:\n  ducklake:\n    catalog: "postgres:dbname=s host=h"\n    data_path: d\n'
        )
    )
    args = dbt_build_args(cfg)
    assert args[:4] == ["build", "--exclude-resource-type", "unit_test", "--target"] and args[4] == "lake"
    dbt_vars = json.loads(args[args.index("--vars") + 1])
    assert dbt_vars["ducklake_catalog"] == "postgres:dbname=s host=h"
    assert dbt_vars["ducklake_data_path"] == f"{tmp_path / 'd'}/"
    assert "warehouse" not in dbt_vars
    file_args = dbt_build_args(load_config(config(tmp_path, "warehouse: w.duckdb\n")))
    assert "--target" not in file_args
    assert json.loads(file_args[-1])["warehouse"] == str(tmp_path / "w.duckdb")


def test_as_of_takes_a_snapshot_id_or_a_utc_date_or_time() -> None:
    assert _as_of("42") == 42
    assert _as_of("2026-09-30") == datetime(2026, 9, 30, tzinfo=UTC)
    assert _as_of("2026-09-30 18:00") == datetime(2026, 9, 30, 18, 0, tzinfo=UTC)
    assert _as_of("2026-09-30T18:00+02:00") == datetime(2026, 9, 30, 16, 0, tzinfo=UTC)
    with pytest.raises(argparse.ArgumentTypeError) as err:
        _as_of("last quarter")
    assert str(err.value) == (
        "'last quarter' is neither a snapshot id nor a date or time (want 42, 2026-09-30 or '2026-09-30 18:00')"
    )


def _pool_limits(home: Path) -> dict[str, int]:
    import dagster as dg

    with dg.DagsterInstance.from_config(str(home)) as instance:
        storage = instance.event_log_storage
        return {
            pool: storage.get_concurrency_info(pool).slot_count for pool in storage.get_concurrency_keys()
        }


def test_the_sources_of_a_lake_get_a_pool_of_four_which_an_owner_may_raise(tmp_path: Path) -> None:
    import dagster as dg

    from orchestration.instance import ensure_instance

    lake = load_config(
        config(tmp_path, "warehouse:\n  ducklake:\n    catalog: c.ducklake\n    data_path: d\n")
    )
    home = ensure_instance(lake)
    assert home == tmp_path / "cache" / "ducklake" / "dagster-home"
    assert _pool_limits(home) == {"warehouse": 1, "extract": 4}
    with dg.DagsterInstance.from_config(str(home)) as instance:
        instance.event_log_storage.set_concurrency_slots("extract", 16)
    ensure_instance(lake)  # every start: the owner's limit stays
    assert _pool_limits(home) == {"warehouse": 1, "extract": 16}
    # a file warehouse's sources stay in the warehouse pool: no extract pool
    file_home = ensure_instance(load_config(config(tmp_path / "f", "warehouse: w.duckdb\n")))
    assert _pool_limits(file_home) == {"warehouse": 1}
