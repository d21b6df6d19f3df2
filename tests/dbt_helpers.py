"""Build a small warehouse from handwritten raw rows and run the dbt project on it."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
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


# Where `run_dbt` keeps one parsed project per key (set per session by tests/conftest.py; None: no
# cache). dbt parses the whole project (about 3 s of CPU) unless the target folder holds the
# partial parse state of a run with the same vars, profile and project; every test has its own
# target folder, so the state of the first build of a key is handed to the later ones.
PARSE_CACHE: Path | None = None
PARTIAL_PARSE = "partial_parse.msgpack"


def parse_cache_key(project: Path, warehouse: Path, dbt_vars: Mapping[str, Any] | None) -> str:
    """What dbt's partial parse state depends on here: the project, the warehouse path as the
    profile renders it (the file name, see `run_dbt`) and the vars."""
    canonical = json.dumps([str(project.resolve()), warehouse.name, dict(dbt_vars or {})], sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()[:24]


def run_dbt(
    warehouse: Path,
    target: Path,
    *args: str,
    dbt_vars: Mapping[str, Any] | None = None,
    project: Path = DBT_DIR,
    check: bool = True,
) -> subprocess.CompletedProcess:
    """dbt `args` (e.g. "build", "--select", ...) of `project` on `warehouse`, its files in
    `target` (logs in `target/logs`). With `check`, a failing run fails the test with dbt's output.

    dbt runs in the warehouse's folder and is given the file name only (DuckDB opens it relative
    to the working directory): the profile, hence dbt's partial parse state, is then the same for
    every warehouse of one name, wherever it lies."""
    cmd = [str(Path(sys.executable).with_name("dbt")), *args]
    cmd += ["--profiles-dir", str(project), "--project-dir", str(project)]
    cmd += ["--target-path", str(target), "--log-path", str(target / "logs")]
    if dbt_vars is not None:
        cmd += ["--vars", json.dumps(dict(dbt_vars))]
    cache = PARSE_CACHE / f"{parse_cache_key(project, warehouse, dbt_vars)}.msgpack" if PARSE_CACHE else None
    state = target / PARTIAL_PARSE
    if cache is not None and cache.exists() and not state.exists():
        target.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(cache, state)
    env = {**os.environ, "COMMSTATS_WAREHOUSE": warehouse.name}
    proc = subprocess.run(cmd, env=env, cwd=warehouse.parent, capture_output=True, text=True)
    if check:
        assert proc.returncode == 0, proc.stdout[-4000:]
    if cache is not None and proc.returncode == 0 and state.exists() and not cache.exists():
        # xdist workers share the cache: a whole file or none under the final name
        fd, tmp = tempfile.mkstemp(dir=cache.parent, suffix=".part")
        os.close(fd)
        shutil.copyfile(state, tmp)
        os.replace(tmp, cache)
    return proc


def dbt_build(
    warehouse: Path, target: Path, dbt_vars: Mapping[str, Any] | None = None, command: str = "build"
) -> None:
    """`dbt build` (or `command`, e.g. "run" to skip the tests) of the project on `warehouse`."""
    args = [command]
    if command == "build":  # as the pipeline builds: the unit tests run once, in tests/test_dbt_unit.py
        args += ["--exclude-resource-type", "unit_test"]
    run_dbt(warehouse, target, *args, dbt_vars=dbt_vars or None)


def query(warehouse: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()
