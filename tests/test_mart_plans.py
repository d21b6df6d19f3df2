"""The period marts read int_period_events (a view standing for tens of millions of rows at full
size) without DuckDB copying it into a temporary result: a materialized CTE holds every column of
every row, which made community_health 18 times and person_activity 7 times slower at full size
(docs/scale.md). Checked on the plans of the SQL the sample's build ran."""

from __future__ import annotations

import json
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
    """The names of the CTEs DuckDB's plan of `sql` materializes, those of the views it reads too."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        [(_, plan)] = con.execute("explain (format json) " + sql).fetchall()
    found: list[str] = []

    def walk(node: dict) -> None:
        if node.get("name") == "CTE":
            found.append(node["extra_info"]["CTE Name"])
        for child in node.get("children", []):
            walk(child)

    for node in json.loads(plan):
        walk(node)
    return found


@pytest.mark.parametrize("model", MARTS)
def test_the_events_are_read_in_place(model: str, compiled: dict[str, str], pipeline_run: dict):
    sql = compiled[model]
    assert "events as not materialized (" in sql
    # only the view's few periods are materialized, once per read of the view
    assert set(_materialized_ctes(pipeline_run["warehouse"], sql)) == {"periods"}
    # the same SQL with the mart's CTE materialized: the copy this guards against, seen in the plan
    copied = _materialized_ctes(
        pipeline_run["warehouse"], sql.replace(" not materialized (", " materialized (")
    )
    assert "events" in copied


def test_the_view_of_period_events_reads_the_acts_in_place(pipeline_run: dict):
    """Each of its CTEs is read by four branches: the acts materialized would be copied once per
    read of the view; only the periods, a few rows, are."""
    warehouse = pipeline_run["warehouse"]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        [(view,)] = con.execute(
            "select sql from duckdb_views() where schema_name = 'intermediate' and view_name = 'int_period_events'"
        ).fetchall()
    assert _materialized_ctes(warehouse, "select count(*) from intermediate.int_period_events") == ["periods"]
    query = view.split(" AS ", 1)[1].rstrip(";")
    assert "events AS NOT MATERIALIZED (" in query, query[:300]
    assert _materialized_ctes(
        warehouse, query.replace("events AS NOT MATERIALIZED (", "events AS MATERIALIZED (")
    ) == [
        "events",
        "periods",
    ]
