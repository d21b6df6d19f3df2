"""`run_dbt` hands dbt's partial parse state of one build to the next build of a warehouse of the
same name, wherever it lies: the second build skips the full parse and builds the same tables."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb
import pytest

from extractors.identities.build import ingest_identities
from tests import dbt_helpers
from tests.dbt_helpers import query, run_dbt, write_raw
from tests.test_marts_rules import commit, message

FULL_PARSE = "Unable to do partial parsing"
MODEL_SCHEMAS = ("staging", "intermediate", "marts")
NO_TESTS = ("--exclude-resource-type", "test", "--exclude-resource-type", "unit_test")


D = datetime
ROWS = {
    "git_commits": [
        commit("c1", "a@de.ibm.com", D(2021, 3, 1)),
        commit("c2", "b@intel.com", D(2021, 5, 1)),
        commit("c3", "a@de.ibm.com", D(2022, 2, 1)),
    ],
    "mail_messages": [
        message("m1", "a@de.ibm.com", D(2021, 4, 1), subject="[PATCH] x", is_patch=True),
        message("m2", "b@intel.com", D(2021, 4, 2), reply_to="m1", subject="Re: [PATCH] x"),
    ],
}


def build(folder: Path) -> Path:
    """The rows above in `folder`/warehouse.duckdb, its seeds and models built by dbt with its
    target in `folder` (the parse is the point here: the data tests run everywhere else)."""
    folder.mkdir(parents=True)
    wh = folder / "warehouse.duckdb"
    write_raw(wh, ROWS)
    ingest_identities(wh)
    run_dbt(wh, folder / "target", "build", *NO_TESTS)
    return wh


def model_rows(warehouse: Path) -> dict[str, list[tuple]]:
    """Every row of every model table and view of `warehouse`, sorted, per schema.name."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            f"where table_schema in {MODEL_SCHEMAS} order by all"
        ).fetchall()
        return {
            f"{s}.{t}": sorted(con.execute(f'select * from "{s}"."{t}"').fetchall(), key=repr)
            for s, t in tables
        }
    finally:
        con.close()


def test_a_second_warehouse_elsewhere_is_built_from_the_cached_parse(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a cache of this test's own: the session's may already hold a state for this key
    cache = tmp_path / "cache"
    cache.mkdir()
    monkeypatch.setattr(dbt_helpers, "PARSE_CACHE", cache)
    first = build(tmp_path / "one")
    assert len(list(cache.glob("*.msgpack"))) == 1
    second = build(tmp_path / "elsewhere" / "two")

    first_log = (tmp_path / "one" / "target" / "logs" / "dbt.log").read_text()
    second_log = (tmp_path / "elsewhere" / "two" / "target" / "logs" / "dbt.log").read_text()
    assert FULL_PARSE in first_log
    assert FULL_PARSE not in second_log
    # the cached parse builds what the full one built, row for row, in every model table
    rows = model_rows(first)
    assert rows == model_rows(second)
    assert {"staging.stg_raw__git_commits", "marts.people", "marts.person_activity"} <= set(rows)
    assert len(rows["staging.stg_raw__git_commits"]) == len(ROWS["git_commits"])
    assert len(rows["staging.stg_raw__mail_messages"]) == len(ROWS["mail_messages"])
    # a@de.ibm.com, b@intel.com and the committer maint@redhat.com
    assert query(second, "select count(*) from marts.people") == [(3,)]
