"""What `commstats --help` and `commstats sql` import: no Dagster, dbt or pandas (each costs a
second or more of start-up on a busy machine), and for `--help` not even pydantic or YAML."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

HEAVY = re.compile(r"^(dagster|dbt|pandas)(\.|_|$)")


def imported_modules(*argv: str, cwd: Path) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Runs `python -X importtime -m commstats.cli ARGV`; the modules it imported, by name."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "commstats.cli", *argv],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
    # "import time:   self [us] | cumulative | imported package", one line a module
    modules = {
        line.rsplit("|", 1)[1].strip()
        for line in done.stderr.splitlines()
        if line.startswith("import time:") and line.count("|") == 2
    }
    return done, modules


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create table answers as select 42 as answer")
    (tmp_path / "communities.yaml").write_text("warehouse: warehouse.duckdb\nprojects:\n  p:\n    title: P\n")
    return path


def test_help_imports_no_dagster_dbt_pandas_pydantic_or_yaml(tmp_path: Path) -> None:
    done, modules = imported_modules("--help", cwd=tmp_path)
    assert done.returncode == 0
    assert "usage: commstats" in done.stdout
    assert "core.errors" in modules  # the measure sees what cli.py imports
    assert sorted(m for m in modules if HEAVY.match(m)) == []
    assert sorted(m for m in modules if m.split(".")[0] in {"pydantic", "yaml", "duckdb"}) == []


def test_sql_with_a_warehouse_imports_no_dagster_dbt_or_pandas(warehouse: Path) -> None:
    done, modules = imported_modules(
        "sql", "select answer from answers", "--csv", "--warehouse", str(warehouse), cwd=warehouse.parent
    )
    assert (done.returncode, done.stdout.split()) == (0, ["answer", "42"]), done.stderr
    assert "duckdb" in modules
    assert sorted(m for m in modules if HEAVY.match(m)) == []
    # the warehouse was given: the config is not read
    assert "pydantic" not in modules


def test_sql_reading_the_config_imports_no_dagster_dbt_or_pandas(warehouse: Path) -> None:
    done, modules = imported_modules(
        "sql", "select answer + 1 from answers", "--csv", "--config", "communities.yaml", cwd=warehouse.parent
    )
    assert (done.returncode, done.stdout.split()[-1]) == (0, "43"), done.stderr
    assert "core.config" in modules
    assert sorted(m for m in modules if HEAVY.match(m)) == []


@pytest.mark.parametrize("command", ["run", "sql", "ui", "sample"])
def test_subcommand_help_imports_no_dagster_dbt_or_pandas(tmp_path: Path, command: str) -> None:
    done, modules = imported_modules(command, "--help", cwd=tmp_path)
    assert done.returncode == 0
    assert f"usage: commstats {command}" in done.stdout
    assert sorted(m for m in modules if HEAVY.match(m)) == []


def test_the_definitions_load_without_pandas_matplotlib_or_seaborn(tmp_path: Path) -> None:
    # every Dagster run process loads them, and only the chart, report and export steps draw or
    # build frames: those three libraries were about 0.8 s of each load
    done = subprocess.run(
        [
            sys.executable,
            "-X",
            "importtime",
            "-c",
            "import orchestration.definitions as d; print(sum(len(a.keys) for a in d.defs.assets))",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert int(done.stdout) > 50  # the definitions were built: raw, dbt, chart and output assets
    modules = {
        line.rsplit("|", 1)[1].strip()
        for line in done.stderr.splitlines()
        if line.startswith("import time:") and line.count("|") == 2
    }
    assert "dagster_dbt" in modules and "charts.titles" in modules
    assert sorted(m for m in modules if m.split(".")[0] in {"pandas", "matplotlib", "seaborn"}) == []
