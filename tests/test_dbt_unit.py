"""dbt's unit tests run here, not in the pipeline: the pipeline's `dbt build` leaves them out (they
check the project's SQL, not the data), and this module runs every one the YAML defines.

The project is first built `--empty` (every model created with no rows, as the unit tests need the
relations they read) with the pipeline's own build arguments, which shows what the pipeline runs."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
import yaml

from orchestration.defs.transform import DBT_BUILD_ARGS
from tests.dbt_helpers import DBT_DIR, run_dbt, write_raw


def defined_unit_tests() -> set[str]:
    """The unit tests the project's YAML files define, read from the files themselves."""
    names: set[str] = set()
    for folder in ("models", "tests"):
        for path in sorted((DBT_DIR / folder).rglob("*.yml")):
            for test in (yaml.safe_load(path.read_text()) or {}).get("unit_tests") or []:
                names.add(f"{test['model']}.{test['name']}")
    return names


def dbt(warehouse: Path, target: Path, *args: str) -> list[dict]:
    """Run dbt with `args` on `warehouse`; the results of its run_results.json."""
    run_dbt(warehouse, target, *args)
    return json.loads((target / "run_results.json").read_text())["results"]


def kinds(results: list[dict]) -> Counter:
    """(resource type, status) -> count; the type is the first part of a node's unique id."""
    return Counter((r["unique_id"].split(".")[0], r["status"]) for r in results)


@pytest.fixture(scope="module")
def empty_build(tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("dbt-unit")
    warehouse = tmp / "warehouse.duckdb"
    write_raw(warehouse, {})
    results = dbt(warehouse, tmp / "target-build", *DBT_BUILD_ARGS, "--empty")
    return {"warehouse": warehouse, "tmp": tmp, "results": results}


def test_defined_unit_tests_are_found() -> None:
    # a guard on the counting below: the project defines unit tests in its models' YAML
    assert len(defined_unit_tests()) >= 8


def test_pipeline_build_runs_models_and_data_tests_but_no_unit_test(empty_build: dict) -> None:
    counted = kinds(empty_build["results"])
    assert {kind for kind, _ in counted} == {"model", "seed", "test", "operation"}
    assert all(status in ("success", "pass") for _, status in counted)
    assert counted[("model", "success")] > 0
    assert counted[("test", "pass")] > 0


def test_every_unit_test_passes(empty_build: dict) -> None:
    results = dbt(
        empty_build["warehouse"], empty_build["tmp"] / "target-unit", "test", "--select", "test_type:unit"
    )
    unit = [r for r in results if r["unique_id"].startswith("unit_test.")]
    # unique ids are unit_test.<project>.<model>.<name>
    ran = {".".join(r["unique_id"].split(".")[2:]) for r in unit}
    assert ran == defined_unit_tests()
    assert [r["unique_id"] for r in unit if r["status"] != "pass"] == []
    assert len(unit) == len(defined_unit_tests())
