"""The dbt build's materializations carry each table's row count (`dagster/row_count`): counted
after dbt has released the warehouse, in the file the run built (whatever its name), views left
uncounted; a failed build still reports what it built, an interrupted one stops at once."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from core.warehouse import table_row_counts
from orchestration.defs.dbt_row_counts import with_row_counts

ROW_COUNT = "dagster/row_count"
DBT_PROJECT_TARGET = Path(__file__).resolve().parents[2] / "dbt_project" / "target"
PEOPLE = dg.AssetKey(["marts", "people"])


def _dbt_keys() -> list[dg.AssetKey]:
    from orchestration.defs.transform import commstats_dbt_models

    return sorted(commstats_dbt_models.keys)


def _tables_and_views(warehouse: Path) -> tuple[dict[dg.AssetKey, int], set[dg.AssetKey]]:
    """Every base table's `count(*)` and every view, by asset key, read from the file on its own."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            "select table_schema, table_name, table_type from information_schema.tables"
        ).fetchall()
        tables = {
            dg.AssetKey([s, t]): con.execute(f'select count(*) from "{s}"."{t}"').fetchone()[0]
            for s, t, kind in rows
            if kind == "BASE TABLE"
        }
    views = {dg.AssetKey([s, t]) for s, t, kind in rows if kind == "VIEW"}
    return tables, views


def _recorded(instance: dg.DagsterInstance, keys: list[dg.AssetKey]) -> dict[dg.AssetKey, dict]:
    out = {}
    for key in keys:
        event = instance.get_latest_materialization_event(key)
        assert event is not None and event.asset_materialization is not None, key
        out[key] = event.asset_materialization.metadata
    return out


def _assert_counts_match(metadata: dict[dg.AssetKey, dict], warehouse: Path) -> None:
    tables, views = _tables_and_views(warehouse)
    counted = {k: m[ROW_COUNT].value for k, m in metadata.items() if ROW_COUNT in m}
    dbt_tables = {k: n for k, n in tables.items() if k in metadata}
    assert counted == dbt_tables
    # the marts (incremental ones too), intermediate tables and seeds are counted; no view is
    assert {k.path[0] for k in counted} == {"marts", "intermediate", "reference"}
    assert dg.AssetKey(["marts", "community_health"]) in counted  # incremental: its whole table
    assert counted[dg.AssetKey(["marts", "community_health"])] > 0
    staging = {k for k in metadata if k.path[0] == "staging"}
    assert staging and staging <= views and not staging & counted.keys()


def test_commstats_run_records_every_tables_row_count(pipeline_run: dict):
    """The instance `commstats run` keeps beside the warehouse: every dbt table's latest
    materialization has its `count(*)`, the same number the run's summary printed."""
    warehouse = pipeline_run["warehouse"]
    with dg.DagsterInstance.from_config(str(warehouse.parent / "dagster-home")) as instance:
        metadata = _recorded(instance, _dbt_keys())
    _assert_counts_match(metadata, warehouse)
    printed = {
        dg.AssetKey(["marts", name]): int(n.replace(",", ""))
        for name, n in re.findall(r"^  marts\.(\S+)\s+([\d,]+) rows$", pipeline_run["stdout"], re.M)
    }
    assert printed and {k: metadata[k][ROW_COUNT].value for k in printed} == printed


def test_the_counts_follow_the_warehouse_the_build_used(pipeline_run: dict, tmp_path: Path):
    """The dbt asset as a UI run materializes it, on a warehouse of another name than the one the
    manifest was parsed with (dbt-duckdb names its database after the file): counts of this file,
    and the warehouse free again once the step has ended."""
    from orchestration.defs.resources import CommstatsConfig
    from orchestration.defs.transform import commstats_dbt_models
    from orchestration.project import dbt_cli

    warehouse = tmp_path / "elsewhere" / "other-name.duckdb"
    warehouse.parent.mkdir()
    shutil.copy(pipeline_run["warehouse"], warehouse)
    with duckdb.connect(str(warehouse)) as con:  # dbt loads the seed again
        con.execute("delete from reference.webmail_domains")
    resources = {
        "dbt": dbt_cli(),
        "commstats": CommstatsConfig(
            config_path=str(pipeline_run["sample"] / "communities.yaml"), warehouse=str(warehouse)
        ),
    }
    per_build = set(DBT_PROJECT_TARGET.glob("commstats_dbt_models-*"))
    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize([commstats_dbt_models], resources=resources, instance=instance)
        assert result.success
        metadata = _recorded(instance, _dbt_keys())
        # a second build of the same warehouse (one mart here) parses only what changed: dbt
        # logs why it parses in full, once, for the first build
        again = dg.materialize(
            [commstats_dbt_models], resources=resources, instance=instance, selection=[PEOPLE]
        )
        assert again.success
    # dbt's files of this warehouse's builds sit beside it, none under the project
    target = tmp_path / "elsewhere" / "other-name.dbt"
    assert {"manifest.json", "run_results.json", "dbt.log", "partial_parse.msgpack"} <= {
        p.name for p in target.iterdir()
    }
    assert set(DBT_PROJECT_TARGET.glob("commstats_dbt_models-*")) <= per_build
    log = (target / "dbt.log").read_text()
    assert '"level": "info"' in log and '"level": "debug"' not in log  # dbt_project.yml's log_level_file
    builds = log.split("Running with dbt=")[1:]
    assert len(builds) == 2
    assert "Unable to do partial parsing" in builds[0] and "Unable to do partial parsing" not in builds[1]
    results = json.loads((target / "run_results.json").read_text())["results"]
    assert {r["unique_id"] for r in results if r["unique_id"].startswith("model.")} == {
        "model.commstats.people"
    }
    _assert_counts_match(metadata, warehouse)
    # the seed emptied before the build is counted as dbt left it: after the build, not before
    shared, _ = _tables_and_views(pipeline_run["warehouse"])
    key = dg.AssetKey(["reference", "webmail_domains"])
    assert metadata[key][ROW_COUNT].value == shared[key] > 0
    # nothing of the build still holds the file
    duckdb.connect(str(warehouse)).close()


# ---- the helpers on their own --------------------------------------------------------------------


@pytest.fixture
def small_warehouse(tmp_path: Path) -> Path:
    path = tmp_path / "small.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts")
        con.execute("create table marts.kept as select range as i from range(1000)")
        con.execute("delete from marts.kept where i < 300")  # as an incremental model's pre-hook
        con.execute('create table marts."odd ""name""" as select 1 as i')
        con.execute("create view marts.a_view as select * from marts.kept")
    return path


def test_table_row_counts_are_exact_and_leave_views_out(small_warehouse: Path):
    with duckdb.connect(str(small_warehouse), read_only=True) as con:
        counts = table_row_counts(
            con, [("marts", "kept"), ("marts", 'odd "name"'), ("marts", "a_view"), ("marts", "missing")]
        )
        assert table_row_counts(con, []) == {}
    assert counts == {("marts", "kept"): 700, ("marts", 'odd "name"'): 1}


MANIFEST = {
    "nodes": {
        "model.commstats.kept": {"schema": "marts", "alias": "kept", "name": "kept"},
        "model.commstats.a_view": {"schema": "marts", "alias": "a_view", "name": "a_view"},
    }
}


def _output(name: str) -> dg.Output:
    return dg.Output(None, output_name=name, metadata={"unique_id": f"model.commstats.{name}"})


def test_a_failed_build_reports_what_it_built_then_fails(small_warehouse: Path):
    check = dg.AssetCheckResult(asset_key="marts/kept", check_name="unique", passed=True)

    def events() -> Iterator:
        yield _output("kept")
        yield check
        yield _output("a_view")
        raise RuntimeError("dbt failed")

    got = []
    with pytest.raises(RuntimeError, match="dbt failed"):
        for event in with_row_counts(events(), MANIFEST, small_warehouse, dg.get_dagster_logger()):
            got.append(event)
    assert [type(e) for e in got] == [dg.Output, dg.AssetCheckResult, dg.Output]
    assert got[0].metadata[ROW_COUNT].value == 700
    assert got[1] is check and ROW_COUNT not in got[2].metadata


def test_an_interrupted_build_stops_without_counting(small_warehouse: Path, monkeypatch):
    """A SIGTERM reaches the step as a BaseException: it goes straight through, nothing is
    yielded, and the warehouse is neither opened nor waited for."""
    from orchestration.defs import dbt_row_counts

    opened: list[Path] = []
    monkeypatch.setattr(dbt_row_counts, "count_tables", lambda path, relations: opened.append(path) or {})

    def events() -> Iterator:
        yield _output("kept")
        raise KeyboardInterrupt

    got = []
    with pytest.raises(KeyboardInterrupt):
        for event in with_row_counts(events(), MANIFEST, small_warehouse, dg.get_dagster_logger()):
            got.append(event)
    assert got == [] and opened == []
    # the same events without the interruption are counted: the stub above is the one called
    assert (
        len(
            list(with_row_counts(iter([_output("kept")]), MANIFEST, small_warehouse, dg.get_dagster_logger()))
        )
        == 1
    )
    assert opened == [small_warehouse]


def test_a_warehouse_that_cannot_be_read_leaves_the_counts_out(tmp_path: Path, caplog):
    not_a_database = tmp_path / "warehouse.duckdb"
    not_a_database.write_text("not a database\n")
    got = list(with_row_counts(iter([_output("kept")]), MANIFEST, not_a_database, dg.get_dagster_logger()))
    assert len(got) == 1 and ROW_COUNT not in got[0].metadata
    assert any(str(not_a_database) in r.getMessage() for r in caplog.records)
