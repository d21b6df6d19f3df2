"""Incremental period models: after each refresh, every mart and the incremental intermediates are
identical, row for row, to a full build of the same raw rows; a refresh that touches a few periods
recomputes only those, and a change to the identities rebuilds in full.

The raw rows are the sample's (the shared `commstats run` of the end-to-end tests); the refreshes
change them in place and run dbt again on the same warehouse, as a daily refresh does."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from core.warehouse import RECLAIM_FREE_SHARE, connect_for_write, free_block_share, reclaim_free_blocks
from extractors.schema import RAW_TABLES
from tests.dbt_helpers import query, run_dbt

pytestmark = [pytest.mark.xdist_group("e2e"), pytest.mark.slow]

INCREMENTAL = [
    "marts.person_activity",
    "marts.organization_activity",
    "marts.community_health",
    "marts.review_exchange",
]
COMPARED = [
    *INCREMENTAL,
    "intermediate.int_mail_messages_threaded",
    "intermediate.int_mail_message_ancestors",
    "intermediate.int_activity_events",
    "intermediate.int_periods",
    "marts.people",
    "marts.affiliations",
    "marts.data_quality",
    "marts.trailer_mismatches",
    "marts.unaffiliated_addresses",
]


def dbt_run(warehouse: Path, target: Path, dbt_vars: dict | None = None) -> str:
    """`dbt run` of the project on `warehouse`; its output (the log lines)."""
    return run_dbt(warehouse, target, "run", dbt_vars=dbt_vars).stdout


def copy_raw(source: Path, dest: Path) -> None:
    """A new warehouse holding only the raw tables and the seeds of `source`."""
    dest.unlink(missing_ok=True)
    con = duckdb.connect(str(dest))
    try:
        con.execute(f"attach '{source}' as src (read_only)")
        con.execute("create schema raw")
        for table in RAW_TABLES:
            con.execute(f"create table raw.{table} as select * from src.raw.{table}")
        con.execute("create schema reference")
        for (table,) in con.execute(
            "select table_name from duckdb_tables() where database_name = 'src' and schema_name = 'reference'"
        ).fetchall():
            con.execute(f"create table reference.{table} as select * from src.reference.{table}")
    finally:
        con.close()


def differences(incremental: Path, full: Path) -> dict[str, tuple[int, int]]:
    """Per compared table, the rows only in the incremental build and only in the full build."""
    con = duckdb.connect()
    try:
        con.execute(f"attach '{incremental}' as inc (read_only)")
        con.execute(f"attach '{full}' as ful (read_only)")
        out = {}
        for table in COMPARED:
            only_inc = con.execute(
                f"select count(*) from (select * from inc.{table} except all select * from ful.{table})"
            ).fetchone()[0]
            only_full = con.execute(
                f"select count(*) from (select * from ful.{table} except all select * from inc.{table})"
            ).fetchone()[0]
            if only_inc or only_full:
                out[table] = (only_inc, only_full)
        return out
    finally:
        con.close()


def built_whole_once(source: Path, warehouse: Path) -> Path:
    """`warehouse`, holding the raw rows of `source` and built whole once by dbt (its files in
    `target` beside it)."""
    copy_raw(source, warehouse)
    dbt_run(warehouse, warehouse.parent / "target")
    return warehouse


def full_build_differences(warehouse: Path, target: Path) -> dict[str, tuple[int, int]]:
    """`differences` between `warehouse` and a full build of its raw rows, made in `full/` beside
    it (same file name, and one `target` folder for every full build: dbt's partial parse state
    carries over from build to build) and deleted after."""
    full = warehouse.parent / "full" / warehouse.name
    full.parent.mkdir(exist_ok=True)
    copy_raw(warehouse, full)
    dbt_run(full, target)
    try:
        return differences(warehouse, full)
    finally:
        full.unlink()


def change(warehouse: Path, *statements: str) -> None:
    con = duckdb.connect(str(warehouse))
    try:
        for sql in statements:
            con.execute(sql)
    finally:
        con.close()


@pytest.fixture(scope="module")
def refreshed(pipeline_run: dict, tmp_path_factory) -> dict:
    """A warehouse built whole once from the sample's raw rows, then refreshed by the tests."""
    tmp = tmp_path_factory.mktemp("incremental")
    warehouse = tmp / "incremental.duckdb"
    copy_raw(pipeline_run["warehouse"], warehouse)
    first = dbt_run(warehouse, tmp / "target-incremental")
    return {"warehouse": warehouse, "tmp": tmp, "first": first, "step": 0}


def refresh_and_compare(state: dict) -> tuple[str, int, int]:
    """Refresh the incremental warehouse, build its raw rows whole in a fresh one, compare.

    Returns the refresh's dbt output, the number of touched periods and of all periods."""
    state["step"] += 1
    tmp: Path = state["tmp"]
    output = dbt_run(state["warehouse"], tmp / "target-incremental")
    assert full_build_differences(state["warehouse"], tmp / "target-full") == {}
    touched = query(state["warehouse"], "select count(*) from incremental_state.touched_periods")[0][0]
    periods = query(state["warehouse"], "select count(*) from intermediate.int_periods")[0][0]
    return output, touched, periods


def test_first_build_is_whole(refreshed: dict) -> None:
    # no state yet: every period is touched, and the state of a complete build is stored
    touched = query(refreshed["warehouse"], "select count(*) from incremental_state.touched_periods")[0][0]
    periods = query(refreshed["warehouse"], "select count(*) from intermediate.int_periods")[0][0]
    assert touched == periods > 0
    # the inputs each incremental model was built from: one hash for the seven of them
    stored = query(refreshed["warehouse"], "select model, inputs_hash from incremental_state.model_inputs")
    assert sorted(m.split(".")[-1] for m, _ in stored) == sorted(
        [t.split(".")[1] for t in INCREMENTAL]
        + ["int_mail_messages_threaded", "int_mail_message_ancestors", "int_activity_events"]
    )
    assert len({h for _, h in stored}) == 1


def test_refresh_with_nothing_new(refreshed: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DBT_LOG_LEVEL_FILE", "debug")  # the hooks' SQL in dbt.log
    output, touched, _ = refresh_and_compare(refreshed)
    assert "full rebuild" not in output
    assert touched == 0
    assert "incremental model marts.person_activity" in output
    # each incremental model dropped the temporary table of its new rows in its own run
    log = (refreshed["tmp"] / "target-incremental" / "logs" / "dbt.log").read_text()
    for table in INCREMENTAL:
        assert f'drop table if exists temp.main."{table.split(".")[1]}__dbt_tmp' in log, table


def test_new_messages_in_an_old_month(refreshed: dict) -> None:
    # five messages of March 2020 posted again under new Message-IDs (a late-imported archive)
    change(
        refreshed["warehouse"],
        """insert into raw.mail_messages
        select * replace (message_id || '.late' as message_id)
        from raw.mail_messages
        where project = 'vmcore' and sent_at >= '2020-03-01' and sent_at < '2020-04-01'
        order by message_id
        limit 5""",
    )
    output, touched, periods = refresh_and_compare(refreshed)
    assert "full rebuild" not in output
    touched_rows = query(
        refreshed["warehouse"],
        "select grain, period_start::varchar from incremental_state.touched_periods "
        "where project = 'vmcore' order by all",
    )
    # March 2020, its quarter and year, and the cumulative years 2020-2024 (period_end after it)
    assert ("month", "2020-03-01") in touched_rows
    assert ("quarter", "2020-01-01") in touched_rows
    assert ("year", "2020-01-01") in touched_rows
    cumulative = sorted(p for g, p in touched_rows if g == "cumulative")
    assert cumulative == ["2020-01-01", "2021-01-01", "2022-01-01", "2023-01-01", "2024-01-01"]
    assert not query(
        refreshed["warehouse"],
        "select * from incremental_state.touched_periods where project <> 'vmcore'",
    )
    assert 0 < touched < periods / 4
    # only the acts of March 2020 changed: no period changed bounds
    assert query(
        refreshed["warehouse"], "select project, month::varchar from incremental_state.touched_months"
    ) == [("vmcore", "2020-03-01")]
    assert query(refreshed["warehouse"], "select count(*) from incremental_state.changed_periods") == [(0,)]


def test_force_pushed_branch_removes_commits(refreshed: dict) -> None:
    # the last 20 commits of kernel-virt's branch are gone after a force push
    gone = """(select sha from raw.git_commits where project = 'kernel-virt'
               order by committed_at desc, sha limit 20)"""
    change(
        refreshed["warehouse"],
        f"delete from raw.git_trailers where project = 'kernel-virt' and sha in {gone}",
        f"delete from raw.git_file_changes where project = 'kernel-virt' and sha in {gone}",
        f"delete from raw.git_commits where project = 'kernel-virt' and sha in {gone}",
    )
    output, touched, periods = refresh_and_compare(refreshed)
    assert "full rebuild" not in output
    projects = query(refreshed["warehouse"], "select distinct project from incremental_state.touched_periods")
    assert projects == [("kernel-virt",)]
    assert 0 < touched < periods / 4


def table_rows_differ(a: Path, b: Path) -> list[str]:
    """Tables (every schema) whose rows differ between two warehouses, or that only one holds."""
    con = duckdb.connect()
    try:
        con.execute(f"attach '{a}' as a (read_only)")
        con.execute(f"attach '{b}' as b (read_only)")
        listed = "select schema_name || '.' || table_name from duckdb_tables() where database_name = ?"
        tables_a = {t for (t,) in con.execute(listed, ["a"]).fetchall()}
        tables_b = {t for (t,) in con.execute(listed, ["b"]).fetchall()}
        out = sorted(tables_a ^ tables_b)
        for table in sorted(tables_a & tables_b):
            for x, y in (("a", "b"), ("b", "a")):
                sql = f"select count(*) from (select * from {x}.{table} except all select * from {y}.{table})"
                if con.execute(sql).fetchone()[0]:
                    out.append(table)
                    break
        return out
    finally:
        con.close()


def reclaim(warehouse: Path, max_free_share: float = RECLAIM_FREE_SHARE) -> None:
    con = reclaim_free_blocks(connect_for_write(warehouse), warehouse, max_free_share)
    con.close()


def test_refreshed_warehouse_is_as_small_as_a_fresh_build(refreshed: dict) -> None:
    # the refreshes above replaced tables and deleted rows: their blocks are free in the file (a few
    # percent, below the share a published copy is rewritten at: the rewrite is forced here)
    warehouse: Path = refreshed["warehouse"]
    tmp: Path = refreshed["tmp"]
    con = duckdb.connect(str(warehouse))
    try:
        con.execute("checkpoint")
        assert free_block_share(con) > 0
    finally:
        con.close()
    before = tmp / "before-reclaim.duckdb"
    shutil.copyfile(warehouse, before)
    reclaim(warehouse, max_free_share=0.0)
    # every row of every schema (raw, models, incremental state) is the same after the rewrite
    assert table_rows_differ(before, warehouse) == []
    assert query(warehouse, "select count(*) from staging.stg_raw__mail_messages") == query(
        before, "select count(*) from raw.mail_messages"
    )
    con = duckdb.connect(str(warehouse))
    try:
        assert free_block_share(con) <= RECLAIM_FREE_SHARE
    finally:
        con.close()
    # a fresh build of the same raw rows, reclaimed as every build is when it is published
    fresh = tmp / "fresh" / warehouse.name
    fresh.parent.mkdir(exist_ok=True)
    copy_raw(warehouse, fresh)
    dbt_run(fresh, tmp / "target-full")
    fresh_unreclaimed = fresh.stat().st_size
    reclaim(fresh)
    # within 5 %, or a few blocks on a file this small: the rewrite packs each table into whole
    # 256 KiB blocks, and two copies of the same rows can differ by a block per table
    assert warehouse.stat().st_size <= max(1.05 * fresh.stat().st_size, fresh.stat().st_size + 8 * 256 * 1024)
    assert warehouse.stat().st_size < before.stat().st_size
    assert fresh.stat().st_size <= fresh_unreclaimed
    # below the share, the file is left as it is (same inode, same connection back)
    inode = warehouse.stat().st_ino
    con = connect_for_write(warehouse)
    assert reclaim_free_blocks(con, warehouse) is con
    con.close()
    assert warehouse.stat().st_ino == inode
    before.unlink()
    fresh.unlink()
    # the next refreshes build on the rewritten file (the tests below)


def test_messages_in_a_new_year_extend_the_calendar(refreshed: dict) -> None:
    # three messages of February 2025, after a month (January) with no act: new month, quarter,
    # year and cumulative periods, and every earlier act placed in the new cumulative year
    change(
        refreshed["warehouse"],
        """insert into raw.mail_messages
        select * replace (message_id || '.2025' as message_id, sent_at + interval 2 month as sent_at)
        from raw.mail_messages
        where project = 'kernel-virt' and sent_at >= '2024-12-01'
        order by message_id
        limit 3""",
    )
    output, _, _ = refresh_and_compare(refreshed)
    assert "full rebuild" not in output
    changed = query(
        refreshed["warehouse"],
        "select grain, period_start::varchar from incremental_state.changed_periods order by all",
    )
    assert changed == [
        ("cumulative", "2025-01-01"),
        ("month", "2025-01-01"),
        ("month", "2025-02-01"),
        ("quarter", "2025-01-01"),
        ("year", "2025-01-01"),
    ]
    # the empty January is a row of zeros in community_health
    assert query(
        refreshed["warehouse"],
        "select messages, commits from marts.community_health "
        "where project = 'kernel-virt' and grain = 'month' and period_start = '2025-01-01'",
    ) == [(0, 0)]


def test_new_affiliation_rebuilds_whole(refreshed: dict) -> None:
    change(
        refreshed["warehouse"],
        """insert into raw.identity_affiliations values
        ('zoe.lambert@outlook.com', null, 'Linaro', '2023-01-01', null, 'affiliations.yaml#9')""",
    )
    output, touched, periods = refresh_and_compare(refreshed)
    for table in INCREMENTAL:
        assert f"full rebuild of {table.split('.')[1]}" in output
    assert touched == periods
