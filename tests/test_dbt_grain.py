"""Rules of the dbt project's YAML, so they hold for models added later: every model and seed has a
test of its grain (the columns that identify one row) with each key column tested never null, and
every unit test sits in the YAML of the folder of the model it tests.

A grain test is `unique` on one column or `unique_combination` on several. A column is tested never
null when the model's `not_null_columns` test lists it (or by dbt's `not_null` on the column). A key
column that may be
null by design (null = "since always") says so with `config: meta: nullable_key: true`; a model
without any grain (duplicates by design) says so with `config: meta: grain: none` and explains it
in its description. A view that only joins tested keys (each row one of `int_activity_events` in
one period of `int_periods`) names them with `config: meta: grain_from: [...]` instead: testing it
would expand every row it stands for, tens of millions at full size."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.dbt_helpers import query, run_dbt, write_raw

DBT_DIR = Path(__file__).resolve().parents[1] / "dbt_project"


def properties(folder: Path, kind: str) -> dict[str, tuple[Path, dict[str, Any]]]:
    """name -> (YAML file, entry) of every model or seed declared under `folder`."""
    found: dict[str, tuple[Path, dict[str, Any]]] = {}
    for path in sorted(folder.rglob("*.yml")):
        for entry in (yaml.safe_load(path.read_text()) or {}).get(kind) or []:
            assert entry["name"] not in found, f"{path}: {entry['name']} declared twice"
            found[entry["name"]] = (path, entry)
    return found


def name_of_test(test: str | dict[str, Any]) -> str:
    return test if isinstance(test, str) else next(iter(test))


def meta(entry: dict[str, Any]) -> dict[str, Any]:
    return {**(entry.get("meta") or {}), **((entry.get("config") or {}).get("meta") or {})}


def grain_problems(name: str, entry: dict[str, Any]) -> list[str]:
    """What is missing for `entry` (a model or seed) to have its grain tested; empty when nothing."""
    columns = {c["name"]: c for c in entry.get("columns") or []}
    keys: list[list[str]] = [
        [name] for name, c in columns.items() if "unique" in map(name_of_test, c.get("data_tests") or [])
    ]
    for test in entry.get("data_tests") or []:
        if name_of_test(test) == "unique_combination":
            args = test["unique_combination"].get("arguments", test["unique_combination"])
            keys.append([c.strip('"') for c in args["columns"]])
    grain_from = meta(entry).get("grain_from")
    if grain_from:
        declared = properties(DBT_DIR / "models", "models")
        sql = next((DBT_DIR / "models").rglob(f"{name}.sql"), None)
        problems = (
            [] if sql and "materialized='view'" in sql.read_text() else [f"{name}: grain_from on no view"]
        )
        for parent in grain_from:
            if parent not in declared:
                problems.append(f"{name}: grain_from names no model {parent}")
            else:
                problems += grain_problems(parent, declared[parent][1])
                if not any(
                    name_of_test(t) == "unique_combination"
                    for t in declared[parent][1].get("data_tests") or []
                ):
                    problems.append(f"{name}: grain_from {parent}, which has no unique_combination test")
        return problems
    if meta(entry).get("grain") == "none":
        description = entry.get("description", "").lower()
        return (
            [] if "no grain" in description else [f"{name}: grain none but no 'No grain' in its description"]
        )
    if not keys:
        return [f"{name}: no grain test (unique on a column or unique_combination)"]
    never_null = {
        column
        for test in entry.get("data_tests") or []
        if name_of_test(test) == "not_null_columns"
        for column in test["not_null_columns"]["arguments"]["columns"]
    }
    problems = []
    for column in sorted({c for key in keys for c in key}):
        spec = columns.get(column, {})
        tests = list(map(name_of_test, spec.get("data_tests") or []))
        if column not in never_null and "not_null" not in tests and not meta(spec).get("nullable_key"):
            problems.append(f"{name}: key column {column} is not tested never null (nor meta nullable_key)")
    return problems


def resources(folder: str, suffix: str) -> list[str]:
    return sorted(p.stem for p in (DBT_DIR / folder).rglob(f"*.{suffix}"))


def test_every_model_and_seed_has_a_yaml_entry():
    models, seeds = properties(DBT_DIR / "models", "models"), properties(DBT_DIR / "seeds", "seeds")
    assert [m for m in resources("models", "sql") if m not in models] == []
    assert [s for s in resources("seeds", "csv") if s not in seeds] == []


@pytest.mark.parametrize(
    "name", [*resources("models", "sql"), *resources("seeds", "csv")], ids=lambda name: name
)
def test_every_model_and_seed_has_a_grain_test(name):
    declared = {**properties(DBT_DIR / "models", "models"), **properties(DBT_DIR / "seeds", "seeds")}
    _, entry = declared[name]
    assert grain_problems(name, entry) == []


def test_the_rule_catches_a_missing_grain_or_not_null():
    combination = {"unique_combination": {"arguments": {"columns": ["project", "sha"]}}}
    bare = {"columns": [{"name": "project"}, {"name": "sha"}]}
    assert grain_problems("m", bare) == ["m: no grain test (unique on a column or unique_combination)"]
    never_null = {"not_null_columns": {"arguments": {"columns": ["project"]}}}
    half = {"data_tests": [combination, never_null], "columns": [{"name": "project"}, {"name": "sha"}]}
    assert grain_problems("m", half) == ["m: key column sha is not tested never null (nor meta nullable_key)"]
    nullable = {"name": "sha", "config": {"meta": {"nullable_key": True}}}
    assert grain_problems("m", {**half, "columns": [{"name": "project"}, nullable]}) == []
    # dbt's not_null on the column counts too
    column_level = {"name": "sha", "data_tests": ["not_null"]}
    assert grain_problems("m", {**half, "columns": [{"name": "project"}, column_level]}) == []
    assert grain_problems("m", {"columns": [{"name": "id", "data_tests": ["unique", "not_null"]}]}) == []
    undocumented = {"config": {"meta": {"grain": "none"}}, "description": "Events."}
    assert grain_problems("m", undocumented) == ["m: grain none but no 'No grain' in its description"]
    # a view's grain from tested keys: only on a view, from models that have one
    derived = {"config": {"meta": {"grain_from": ["int_activity_events", "int_periods"]}}}
    assert grain_problems("int_period_events", derived) == []
    assert grain_problems("person_activity", derived) == ["person_activity: grain_from on no view"]
    assert grain_problems("int_period_events", {"config": {"meta": {"grain_from": ["nothing"]}}}) == [
        "int_period_events: grain_from names no model nothing"
    ]


def test_mail_issues_is_the_one_model_without_a_grain():
    models = properties(DBT_DIR / "models", "models")
    assert [name for name, (_, entry) in models.items() if meta(entry).get("grain") == "none"] == [
        "stg_raw__mail_issues"
    ]


def test_unit_tests_sit_beside_the_model_they_test():
    models = properties(DBT_DIR / "models", "models")
    placed = {}
    for path in sorted((DBT_DIR / "models").rglob("*.yml")):
        for test in (yaml.safe_load(path.read_text()) or {}).get("unit_tests") or []:
            model_yaml, _ = models[test["model"]]
            assert path == model_yaml, f"{path}: unit test {test['name']} belongs in {model_yaml}"
            placed[test["name"]] = test["model"]
    assert not list((DBT_DIR / "models").rglob("_unit_tests.yml"))
    assert placed == {
        "reply_trailer_naming_someone_else": "int_mail_reply_trailers",
        "cover_letter_ack_applies_to_the_series": "int_review_acts",
        "two_acked_by_lines_in_one_commit": "int_review_acts",
        "reply_trailer_with_unarchived_parent": "int_mail_reply_trailers",
        "employer_change_mid_quarter": "int_activity_events",
        "elephant_factor_with_tied_organizations": "community_health",
        "independent_and_unknown_people_are_units": "community_health",
        "period_with_no_correspondents": "community_health",
    }


# one Acked-by trailer row of raw.git_trailers, for the two build-failure tests below
TRAILER = {
    "project": "p",
    "repository": "r",
    "sha": "c1",
    "kind": "acked-by",
    "name": "Bob",
    "address": "bob@b.org",
    "raw_value": "Bob <bob@b.org>",
    "position": 0,
}


def test_a_repeated_key_fails_the_build_naming_each_repeated_key(tmp_path):
    """The grain tests run in `dbt build`: two trailer rows at one position of one commit fail it,
    and the stored failures hold each repeated key once with its count, and no other key."""
    warehouse = tmp_path / "w.duckdb"
    rows = [
        TRAILER,
        {**TRAILER, "name": "Rob"},
        *({**TRAILER, "position": 1, "name": name} for name in ("Ann", "Bea", "Cy")),
        {**TRAILER, "position": 2},
        {**TRAILER, "sha": "c2"},
    ]
    write_raw(warehouse, {"git_trailers": rows})
    select = ("--select", "+stg_raw__git_trailers", "--store-failures")
    proc = run_dbt(warehouse, tmp_path / "target", "build", *select, check=False)
    assert proc.returncode != 0
    failed = [line for line in proc.stdout.splitlines() if "FAIL 2" in line]
    assert any("unique_combination_stg_raw__git_trailers" in line for line in failed), proc.stdout[-3000:]
    tables = query(
        warehouse,
        "select table_schema || '.' || table_name from information_schema.tables "
        "where table_name like 'unique_combination_stg_raw_%'",
    )
    assert tables, "no stored failures"
    [table] = [t for (t,) in tables if query(warehouse, f"select count(*) from {t}")[0][0]]
    assert sorted(query(warehouse, f"select project, repository, sha, position, n from {table}")) == [
        ("p", "r", "c1", 0, 2),
        ("p", "r", "c1", 1, 3),
    ]


def test_a_null_in_a_never_null_column_fails_the_build_naming_the_columns(tmp_path):
    """`not_null_columns` gives one failing row per column holding nulls, with their count."""
    warehouse = tmp_path / "w.duckdb"
    rows = [
        TRAILER,
        {**TRAILER, "sha": None, "position": 1},
        {**TRAILER, "sha": None, "position": 2},
        {**TRAILER, "sha": "c2", "position": None},
    ]
    write_raw(warehouse, {"git_trailers": rows})
    select = ("--select", "+stg_raw__git_trailers", "--store-failures")
    proc = run_dbt(warehouse, tmp_path / "target", "build", *select, check=False)
    assert proc.returncode != 0
    failed = [line for line in proc.stdout.splitlines() if "FAIL" in line and "not_null_columns" in line]
    assert len(failed) == 1 and "FAIL 2" in failed[0], proc.stdout[-3000:]
    # dbt names the stored failures after the test, cut to 63 characters and ended by a hash
    [(table,)] = query(
        warehouse,
        "select table_schema || '.' || table_name from information_schema.tables "
        "where table_name like 'not_null_columns_stg_raw__git__%'",
    )
    assert sorted(query(warehouse, f"select column_name, null_rows from {table}")) == [
        ("position", 1),
        ("sha", 2),
    ]
