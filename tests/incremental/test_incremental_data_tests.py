"""Data tests of the incremental period marts: a full build tests every row; a refresh tests the
rows of the periods it touched (every row of them), and a repeated key inside a touched period
still fails that test. A test run on its own tests every row again.

The raw rows are the sample's (the shared `commstats run` of the end-to-end tests)."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from tests.dbt_helpers import query, run_dbt
from tests.incremental.test_incremental_marts import change, copy_raw

pytestmark = [pytest.mark.xdist_group("e2e"), pytest.mark.slow]

GRAIN_TEST = "unique_combination_person_activity"
KEY = "project, grain, period_start, person_id"


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
    """The stored failures of person_activity's grain test: (grain, period_start, n)."""
    [(table,)] = query(
        warehouse,
        "select table_schema || '.' || table_name from information_schema.tables "
        # dbt cuts the table's name to 63 characters, ended by a hash
        "where starts_with(table_name, 'unique_combination_person_acti_')",
    )
    return query(warehouse, f"select grain, period_start::varchar, n from {table} order by all")


def failing_keys(warehouse: Path, test_sql: str) -> list[tuple]:
    """(grain, period_start, n) of what a test's compiled SQL finds in the warehouse now."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(
            f"select grain, period_start::varchar, n from ({test_sql}) order by all"
        ).fetchall()
    finally:
        con.close()


def test_a_refresh_tests_the_touched_periods(
    pipeline_run: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DBT_LOG_LEVEL_FILE", "debug")  # the hooks' SQL in dbt.log
    warehouse = tmp_path / "tested.duckdb"
    copy_raw(pipeline_run["warehouse"], warehouse)
    full_target = tmp_path / "target-full"
    build(warehouse, full_target)
    # the full build: the tests of every incremental mart read the whole mart
    for model in ("person_activity", "community_health"):
        tests = compiled_tests(full_target, model)
        assert len(tests) == 2, tests.keys()
        assert all("touched_periods" not in sql for sql in tests.values()), model
    rows = query(warehouse, "select count(*) from marts.person_activity")[0][0]

    # A repeated row of a person of 2019 in a month the refresh does not touch; and new messages of
    # March 2020, which touch March 2020, its quarter and year and the cumulative years from 2020 on
    person = (
        "project = 'vmcore' and grain = 'month' and period_start >= '2019-01-01' "
        f"and period_start < '2019-12-01' order by {KEY} limit 1"
    )
    change(
        warehouse,
        f"insert into marts.person_activity select * from marts.person_activity where {person}",
        """insert into raw.mail_messages
        select * replace (message_id || '.late' as message_id)
        from raw.mail_messages
        where project = 'vmcore' and sent_at >= '2020-03-01' and sent_at < '2020-04-01'
        order by message_id
        limit 5""",
    )
    assert query(warehouse, "select count(*) from marts.person_activity")[0][0] == rows + 1
    month, person_id = query(
        warehouse, f"select period_start::varchar, person_id from marts.person_activity where {person}"
    )[0]
    repeated = (
        f"project = 'vmcore' and grain = 'month' and period_start = '{month}' and person_id = '{person_id}'"
    )

    refresh_target = tmp_path / "target-refresh"
    build(warehouse, refresh_target)
    touched = query(
        warehouse,
        "select grain, period_start::varchar from incremental_state.touched_periods where project = 'vmcore'",
    )
    assert ("cumulative", "2024-01-01") in touched and ("month", month) not in touched
    # the repeated key is in no touched period: the refresh's test did not read it, and it is still there
    assert query(warehouse, f"select count(*) from marts.person_activity where {repeated}") == [(2,)]
    tests = compiled_tests(refresh_target, "person_activity")
    assert len(tests) == 2 and all("touched_periods" in sql for sql in tests.values())
    [grain_sql] = [sql for name, sql in tests.items() if GRAIN_TEST in name]
    assert failing_keys(warehouse, grain_sql) == []
    # a repeated key inside a touched period is what the refresh's test reads, and fails on
    change(
        warehouse,
        "insert into marts.person_activity select * from marts.person_activity "
        f"where project = 'vmcore' and grain = 'cumulative' and period_start = '2024-01-01' order by {KEY} limit 1",
    )
    assert failing_keys(warehouse, grain_sql) == [("cumulative", "2024-01-01", 2)]
    # person_activity dropped the temporary table of its new rows in its own run, not at dbt's
    # exit: its data tests run next on the same connection, within the same memory limit
    log = (refresh_target / "logs" / "dbt.log").read_text()
    assert 'drop table if exists temp.main."person_activity__dbt_tmp' in log
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
        "person_activity",
        "--store-failures",
        check=False,
    )
    assert proc.returncode != 0
    assert repeated_keys(warehouse) == [("cumulative", "2024-01-01", 2), ("month", month, 2)]
