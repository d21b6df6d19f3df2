"""One `commstats run` per test module over a community built by tests/communities/builder.py,
and the fixtures every module reads it through."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import pytest

from tests.communities.builder import Built


def run_commstats(built: Built) -> dict:
    """`commstats run` on the built config through the installed command line; the exit code and
    output are kept for the tests to judge, not asserted here."""
    warehouse = built.root / "warehouse.duckdb"
    cli = Path(sys.executable).with_name("commstats")
    proc = subprocess.run(
        [str(cli), "run", "--config", str(built.config), "--warehouse", str(warehouse)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    return {
        "built": built,
        "returncode": proc.returncode,
        "stdout": proc.stdout,
        "stderr": proc.stderr,
        "warehouse": warehouse,
        "charts": built.root / "output" / "charts",
    }


def failure_tail(run: dict) -> str:
    """The last lines of the run's output, naming why it failed."""
    lines = [ln for ln in (run["stdout"] + run["stderr"]).splitlines() if ln.strip()]
    return "\n".join(lines[-8:])


@pytest.fixture(scope="module")
def community_run(request) -> Iterator[dict]:
    """The run for the module's `BUILD` function, with a read-only connection to its warehouse
    (None, with the reason in `error`, when the run left no warehouse). A module marked `corpus`
    skips before building when the corpus is absent."""
    if request.node.get_closest_marker("corpus") is not None:
        request.getfixturevalue("corpus")
    build: Callable[[Path], Built] = request.module.BUILD
    root = request.getfixturevalue("tmp_path_factory").mktemp(request.module.__name__.rsplit(".", 1)[-1])
    run = run_commstats(build(root / "community"))
    run["con"] = None
    if run["warehouse"].exists():
        run["con"] = duckdb.connect(str(run["warehouse"]), read_only=True)
    yield run
    if run["con"] is not None:
        run["con"].close()


@pytest.fixture(scope="module")
def run(community_run: dict) -> dict:
    """The module's run, failing every test that reads it when the run left no warehouse."""
    if community_run["con"] is None:
        pytest.fail(
            f"commstats run left no warehouse (exit {community_run['returncode']}):\n{failure_tail(community_run)}"
        )
    return community_run


@pytest.fixture(scope="module")
def con(run: dict) -> duckdb.DuckDBPyConnection:
    return run["con"]


@pytest.fixture(scope="module")
def built(community_run: dict) -> Built:
    return community_run["built"]
