"""Shared fixtures: the generated sample and the one `commstats run` over it (each built once per
session, whatever the number of xdist workers), the corpus location, and the order modules start in."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus"

# Modules that take longest, longest first (summed setup, call and teardown times of a run on two
# cores with the corpus). `make test` hands whole modules to the two workers (`--dist loadscope
# --no-loadscope-reorder`) in collection order, a worker taking its next module while its current
# one still has two tests to go; starting these first keeps one long module from running alone at
# the end. The UI module (two servers, whose daemons do most of its work) starts first.
SLOW_FIRST = (
    "tests/ops/test_ui.py",
    "tests/lake/test_lake_pipeline.py",
    "tests/ops/test_processes.py",
    "tests/incremental/test_incremental_marts.py",
    "tests/ops/test_failures.py",
    "tests/communities/test_defects.py",
    "tests/test_metrics_sample.py",
    "tests/ops/test_source_failures.py",
    "tests/test_marts_rules.py",
    "tests/ops/test_ui_stop.py",
    "tests/lake/test_lake_killed_load.py",
    "tests/test_seeds.py",
    "tests/communities/test_bridge_corpus.py",
    "tests/ops/test_dbt_project.py",
    "tests/test_identity_rules.py",
    "tests/communities/test_chart_without_reviews.py",
    "tests/mail/test_senders.py",
    "tests/test_mail_threading_corpus.py",
    "tests/test_mail_threading_rules.py",
    "tests/test_health_rules.py",
    "tests/test_sample.py",
    "tests/charts/test_empty_frames.py",
    "tests/ops/test_dbt_metadata.py",
    "tests/test_dbt_unit.py",
    "tests/test_dbt_helpers.py",
    "tests/test_end_to_end.py",
    "tests/mail/test_regenerated_archive.py",
    "tests/mail/test_corpus_senders.py",
    "tests/ops/test_sql_sandbox.py",
    "tests/ops/test_units.py",
    "tests/test_dbt_grain.py",
    "tests/incremental/test_sources_snapshot.py",
    "tests/mail/test_fuzz_driver.py",
    "tests/test_c_build.py",
    "tests/ops/test_warehouse_connect.py",
    "tests/charts/test_figures.py",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The slow modules first, in `SLOW_FIRST` order; every module keeps its own test order."""
    rank = {path: i for i, path in enumerate(SLOW_FIRST)}
    last = len(rank)
    items.sort(key=lambda item: rank.get(item.nodeid.split("::", 1)[0], last))


def session_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder every xdist worker of this session sees: the parent of the workers' own base
    temporary folders (the base folder itself without xdist)."""
    root = tmp_path_factory.getbasetemp()
    return root.parent if os.environ.get("PYTEST_XDIST_WORKER") else root


def built_once(root: Path, name: str, build: Callable[[Path], None]) -> Path:
    """The folder `root/name` after `build(folder)` ran in it once: the first caller to take the
    lock builds while the others wait. A build that raised is tried again by the next caller."""
    folder = root / name
    done = root / f"{name}.done"
    with (root / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            folder.mkdir(exist_ok=True)
            build(folder)
            done.touch()
    return folder


@pytest.fixture(scope="session", autouse=True)
def dbt_parse_cache(tmp_path_factory) -> Path:
    """One folder of dbt partial parse states for the session, shared by the xdist workers (see
    `tests.dbt_helpers.run_dbt`)."""
    from tests import dbt_helpers

    folder = session_root(tmp_path_factory) / "dbt-parse-cache"
    folder.mkdir(exist_ok=True)
    dbt_helpers.PARSE_CACHE = folder
    return folder


@pytest.fixture(scope="session")
def sample_dir(tmp_path_factory) -> Path:
    from commstats.sample import generate

    return built_once(session_root(tmp_path_factory), "sample", generate)


@pytest.fixture(scope="session")
def corpus() -> Path:
    if not (CORPUS / "mail").is_dir():
        pytest.skip(
            f"mail corpus not found at {CORPUS} (it sits beside the checkout on development machines)"
        )
    return CORPUS


@pytest.fixture(scope="session")
def pipeline_run(sample_dir: Path, tmp_path_factory) -> dict:
    """One `commstats run` of the whole asset graph on the sample, shared by the end-to-end modules
    (they open their own read-only connections to the warehouse it leaves)."""

    def run(tmp: Path) -> None:
        cli = Path(sys.executable).with_name("commstats")
        config = sample_dir / "communities.yaml"
        proc = subprocess.run(
            [str(cli), "run", "--config", str(config), "--warehouse", str(tmp / "warehouse.duckdb")],
            capture_output=True,
            text=True,
            timeout=900,
        )
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        (tmp / "stdout.json").write_text(json.dumps(proc.stdout))

    tmp = built_once(session_root(tmp_path_factory), "pipeline", run)
    return {
        "warehouse": tmp / "warehouse.duckdb",
        "stdout": json.loads((tmp / "stdout.json").read_text()),
        "sample": sample_dir,
        "out": sample_dir / "output",
        "tmp": tmp,
    }
