"""The period marts read int_period_events (tens of millions of rows at full size) without DuckDB
copying it into a temporary result: a CTE read more than once is materialized by default, every
column of every row, which made community_health 18 times and person_activity 7 times slower at
full size (docs/scale.md). Checked on the plans of the SQL the sample's build ran."""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import pytest

from core.warehouse import dbt_target_path

# the marts whose events CTE is read more than once
MARTS = ["community_health", "person_activity", "review_exchange"]


@pytest.fixture(scope="module")
def compiled(pipeline_run: dict) -> dict[str, str]:
    """model -> the SQL the sample's full build ran for it."""
    results = json.loads((dbt_target_path(pipeline_run["warehouse"]) / "run_results.json").read_text())
    return {
        r["unique_id"].removeprefix("model.commstats."): r["compiled_code"]
        for r in results["results"]
        if r["unique_id"].startswith("model.commstats.")
    }


def _materialized_ctes(warehouse: Path, sql: str) -> list[str]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        plan = "\n".join(row[1] for row in con.execute("explain " + sql).fetchall())
    return re.findall(r"CTE Name: (\w+)", plan)


@pytest.mark.parametrize("model", MARTS)
def test_the_events_are_read_in_place(model: str, compiled: dict[str, str], pipeline_run: dict):
    sql = compiled[model]
    assert "events as not materialized (" in sql
    assert _materialized_ctes(pipeline_run["warehouse"], sql) == []
    # the same SQL without the keyword: the copy this guards against
    assert _materialized_ctes(pipeline_run["warehouse"], sql.replace(" not materialized (", " (")) == [
        "events"
    ]
