"""A refresh writes its rebuilt tables and its re-inserted rows into the blocks it freed, so the
warehouse file does not grow by them (macros/reuse_blocks.sql); and a refresh that fails after
int_period_events deleted its touched rows (committed on their own) is rebuilt whole next time."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from tests.dbt_helpers import query, run_dbt
from tests.incremental.test_incremental_marts import INCREMENTAL, change, copy_raw, dbt_run, differences

pytestmark = [pytest.mark.xdist_group("e2e"), pytest.mark.slow]


def blocks(warehouse: Path) -> tuple[int, int]:
    """(total, free) blocks of the file, after a checkpoint."""
    con = duckdb.connect(str(warehouse))
    try:
        con.execute("checkpoint")
        return con.execute(
            "select total_blocks, free_blocks from pragma_database_size() where database_name = current_database()"
        ).fetchone()
    finally:
        con.close()


def blocks_rebuilt_whole(warehouse: Path) -> int:
    """Blocks of the models' tables that every run rebuilds whole (all but the incremental ones)."""
    tables = query(
        warehouse,
        "select schema_name || '.' || table_name from duckdb_tables() "
        "where schema_name in ('intermediate', 'marts') order by all",
    )
    rebuilt = [table for (table,) in tables if table not in INCREMENTAL]
    sql = "select count(distinct block_id) from pragma_storage_info('{}') where persistent"
    return sum(query(warehouse, sql.format(table))[0][0] for table in rebuilt)


@pytest.fixture(scope="module")
def built(pipeline_run: dict, tmp_path_factory) -> Path:
    warehouse = tmp_path_factory.mktemp("reuse") / "reuse.duckdb"
    copy_raw(pipeline_run["warehouse"], warehouse)
    dbt_run(warehouse, warehouse.parent / "target")
    return warehouse


def test_rebuilt_tables_take_the_blocks_of_the_tables_they_replace(built: Path) -> None:
    total, _ = blocks(built)
    assert blocks_rebuilt_whole(built) >= 25  # what the file grew by on every refresh before (35)
    dbt_run(built, built.parent / "target")
    after, free = blocks(built)
    # what may still move: the incremental state tables the hooks replace, a block or two each
    assert after - total <= 10, (total, after)
    assert free <= 10, free


def test_rows_deleted_by_a_refresh_free_their_blocks_for_the_new_ones(built: Path) -> None:
    # a message of every month of every list posted again (late replies across the history):
    # every month is touched, so int_period_events deletes and inserts again most of its rows
    total, _ = blocks(built)
    rows = query(built, "select count(*) from intermediate.int_period_events")[0][0]
    change(
        built,
        """insert into raw.mail_messages
        select * replace (message_id || '.late' as message_id)
        from raw.mail_messages
        qualify row_number() over (partition by project, date_trunc('month', sent_at) order by message_id) = 1""",
    )
    output = dbt_run(built, built.parent / "target")
    assert "full rebuild" not in output
    placed_again = query(
        built,
        "select count(*) from intermediate.int_period_events "
        "where (project, date_trunc('month', occurred_at)::date) in "
        "(select (project, month) from incremental_state.touched_months)",
    )[0][0]
    assert placed_again > 0.8 * rows, (placed_again, rows)
    after, free = blocks(built)
    # the rows placed again fill about 25 blocks, which the file grew by without the checkpoint
    # after the delete; a row group the delete leaves partly filled keeps its blocks
    assert after - total <= 16, (total, after)
    assert free <= 16, free


def test_a_refresh_failing_after_the_delete_is_rebuilt_whole_next(built: Path) -> None:
    change(
        built,
        """insert into raw.mail_messages
        select * replace (message_id || '.again' as message_id)
        from raw.mail_messages
        where project = 'vmcore' and sent_at >= '2021-05-01' and sent_at < '2021-06-01'
        order by message_id
        limit 3""",
        # the new rows no longer fit the table (on_schema_change='fail'): the model fails after
        # its pre-hooks deleted the touched rows
        "alter table intermediate.int_period_events add column stray integer",
    )
    failed = run_dbt(built, built.parent / "target", "run", check=False)
    assert failed.returncode != 0
    assert "int_period_events" in failed.stdout
    assert query(
        built,
        "select count(*) from duckdb_tables() where schema_name = 'incremental_state' and table_name = 'build_inputs'",
    ) == [(0,)]
    output = dbt_run(built, built.parent / "target")
    assert "full rebuild of int_period_events" in output
    full = built.parent / "full" / built.name
    full.parent.mkdir(exist_ok=True)
    copy_raw(built, full)
    dbt_run(full, built.parent / "target-full")
    assert differences(built, full) == {}
