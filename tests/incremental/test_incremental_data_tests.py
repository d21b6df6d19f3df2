"""Data tests of the incremental period models: a full build tests every row; a refresh tests the
rows of the periods it touched (every row of them, old or new), and still fails on a repeated key
inside a touched period. A test run on its own tests every row again.

The raw rows are the sample's (the shared `commstats run` of the end-to-end tests)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.dbt_helpers import query, run_dbt
from tests.incremental.test_incremental_marts import change, copy_raw

pytestmark = [pytest.mark.xdist_group("e2e"), pytest.mark.slow]

GRAIN_TEST = "unique_combination_int_period_events"
INCREMENTAL = [
    "int_period_events",
    "person_activity",
    "organization_activity",
    "community_health",
    "review_exchange",
]
KEY = "project, event, ref_id, person_id, grain, period_start"


def compiled_tests(target: Path, model: str) -> dict[str, str]:
    """test name -> the SQL dbt ran, of the grain and never-null tests of `model` in the last run
    into `target` (from its run_results.json)."""
    results = json.loads((target / "run_results.json").read_text())["results"]
    return {
        r["unique_id"]: r["compiled_code"]
        for r in results
        if r["unique_id"].startswith(
            (f"test.commstats.unique_combination_{model}_", f"test.commstats.not_null_columns_{model}_")
        )
    }


def build(warehouse: Path, target: Path, *args: str, check: bool = True):
    return run_dbt(
        warehouse,
        target,
        "build",
        "--exclude-resource-type",
        "unit_test",
        "--store-failures",
        *args,
        check=check,
    )


def repeated_keys(warehouse: Path) -> list[tuple]:
    """The stored failures of int_period_events' grain test: (grain, period_start, n)."""
    [(table,)] = query(
        warehouse,
        "select table_schema || '.' || table_name from information_schema.tables "
        # dbt cuts the table's name to 63 characters, ended by a hash
        "where starts_with(table_name, 'unique_combination_int_period__')",
    )
    return query(warehouse, f"select grain, period_start::varchar, n from {table} order by all")


def test_a_refresh_tests_the_touched_periods(
    pipeline_run: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DBT_LOG_LEVEL_FILE", "debug")  # the hooks' SQL in dbt.log
    warehouse = tmp_path / "tested.duckdb"
    copy_raw(pipeline_run["warehouse"], warehouse)
    full_target = tmp_path / "target-full"
    build(warehouse, full_target)
    # the full build: the tests of every incremental model read the whole model
    for model in ("int_period_events", "person_activity", "community_health"):
        tests = compiled_tests(full_target, model)
        assert len(tests) == 2, tests.keys()
        assert all("touched_periods" not in sql for sql in tests.values()), model
    rows = query(warehouse, "select count(*) from intermediate.int_period_events")[0][0]

    # Two repeated rows of acts of 2019 (a month the refresh does not touch): one in the cumulative
    # period of 2024, which the refresh touches (new messages of March 2020 touch the cumulative
    # years from 2020 on) but whose acts of 2019 it keeps; one in the month of the act, untouched.
    act = (
        "project = 'vmcore' and occurred_at >= '2019-01-01' and occurred_at < '2019-12-01' "
        f"order by {KEY}, occurred_at limit 1"
    )
    change(
        warehouse,
        "insert into intermediate.int_period_events select * from intermediate.int_period_events "
        f"where grain = 'cumulative' and period_start = '2024-01-01' and {act}",
        "insert into intermediate.int_period_events select * from intermediate.int_period_events "
        f"where grain = 'month' and {act}",
        """insert into raw.mail_messages
        select * replace (message_id || '.late' as message_id)
        from raw.mail_messages
        where project = 'vmcore' and sent_at >= '2020-03-01' and sent_at < '2020-04-01'
        order by message_id
        limit 5""",
    )
    assert query(warehouse, "select count(*) from intermediate.int_period_events")[0][0] == rows + 2
    month = query(
        warehouse,
        f"select period_start::varchar from intermediate.int_period_events where grain = 'month' and {act}",
    )[0][0]
    assert month < "2020-01-01"

    refresh_target = tmp_path / "target-refresh"
    proc = build(warehouse, refresh_target, check=False)
    assert proc.returncode != 0
    failed = [line for line in proc.stdout.splitlines() if GRAIN_TEST in line and "FAIL" in line]
    assert len(failed) == 1 and "FAIL 1" in failed[0], proc.stdout[-3000:]
    # the repeated key of the touched period fails the refresh; the other one is in no touched period
    assert repeated_keys(warehouse) == [("cumulative", "2024-01-01", 2)]
    assert ("vmcore", "month", month) not in query(
        warehouse, "select project, grain, period_start::varchar from incremental_state.touched_periods"
    )
    tests = compiled_tests(refresh_target, "int_period_events")
    assert len(tests) == 2 and all("touched_periods" in sql for sql in tests.values())
    # int_period_events dropped the temporary table of its new rows in its own run, not at dbt's
    # exit: its data tests run next on the same connection, within the same memory limit (the
    # marts did not run: the failing test skips them; tests/incremental/test_incremental_marts.py)
    log = (refresh_target / "logs" / "dbt.log").read_text()
    assert 'drop table if exists temp.main."int_period_events__dbt_tmp' in log
    assert 'drop table if exists temp.main."' not in (full_target / "logs" / "dbt.log").read_text()
    # int_activity_events is rebuilt whole: its tests read the whole model
    assert all(
        "touched_periods" not in sql for sql in compiled_tests(refresh_target, "int_activity_events").values()
    )

    # the test run on its own (another dbt invocation) reads every row: both repeated keys
    proc = run_dbt(
        warehouse,
        tmp_path / "target-test",
        "test",
        "--select",
        "int_period_events",
        "--store-failures",
        check=False,
    )
    assert proc.returncode != 0
    assert repeated_keys(warehouse) == [("cumulative", "2024-01-01", 2), ("month", month, 2)]
