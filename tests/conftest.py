"""Shared fixtures: the generated sample (once per test process) and the corpus location."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus"


@pytest.fixture(scope="session")
def sample_dir(tmp_path_factory) -> Path:
    from commstats.sample import generate

    out = tmp_path_factory.mktemp("sample")
    generate(out)
    return out


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
    import subprocess
    import sys

    tmp = tmp_path_factory.mktemp("pipeline")
    warehouse = tmp / "warehouse.duckdb"
    cli = Path(sys.executable).with_name("commstats")
    proc = subprocess.run(
        [str(cli), "run", "--config", str(sample_dir / "communities.yaml"), "--warehouse", str(warehouse)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return {
        "warehouse": warehouse,
        "stdout": proc.stdout,
        "sample": sample_dir,
        "out": sample_dir / "output",
        "tmp": tmp,
    }
