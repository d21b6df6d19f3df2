"""Build a small warehouse from handwritten raw rows and run the dbt project on it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import duckdb

from extractors.schema import RAW_TABLES, ensure_raw_tables

DBT_DIR = Path(__file__).resolve().parents[1] / "dbt_project"


def write_raw(warehouse: Path, rows: Mapping[str, Iterable[Mapping[str, Any]]]) -> None:
    con = duckdb.connect(str(warehouse))
    try:
        ensure_raw_tables(con)
        for table, items in rows.items():
            cols = [c for c, _ in RAW_TABLES[table]]
            for item in items:
                unknown = set(item) - set(cols)
                assert not unknown, f"{table}: {unknown}"
                names = list(item)
                con.execute(
                    f"insert into raw.{table} ({', '.join(chr(34) + n + chr(34) for n in names)}) "
                    f"values ({', '.join('?' for _ in names)})",
                    [item[n] for n in names],
                )
    finally:
        con.close()


def dbt_build(
    warehouse: Path, target: Path, dbt_vars: Mapping[str, Any] | None = None, command: str = "build"
) -> None:
    """`dbt build` (or `command`, e.g. "run" to skip the tests) of the project on `warehouse`."""
    env = {**os.environ, "COMMSTATS_WAREHOUSE": str(warehouse)}
    dbt = Path(sys.executable).with_name("dbt")
    cmd = [
        str(dbt),
        command,
        "--profiles-dir",
        str(DBT_DIR),
        "--project-dir",
        str(DBT_DIR),
        "--target-path",
        str(target),
        "--log-path",
        str(target / "logs"),
    ]
    if command == "build":  # as the pipeline builds: the unit tests run once, in tests/test_dbt_unit.py
        cmd += ["--exclude-resource-type", "unit_test"]
    if dbt_vars:
        cmd += ["--vars", json.dumps(dict(dbt_vars))]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-4000:]


def query(warehouse: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()
