"""Failures lose nothing: a run killed with SIGKILL while loading, then a clean run, gives exactly
the counts of a clean run; an unreachable source fails alone, with one line, its rows intact."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import duckdb
import pytest

from tests.ops.conftest import COMMSTATS, commstats, table_counts, write_config

pytestmark = pytest.mark.slow


def _own_repos(sample: Path, root: Path) -> dict:
    """Copies of the sample repositories, so a test can make one unreachable."""
    repos = {}
    for name in ("vmcore.git", "minikernel.git"):
        repos[name] = root / "repos" / name
        shutil.copytree(sample / "repos" / name, repos[name])
    return repos


def _config(sample: Path, root: Path) -> Path:
    repos = _own_repos(sample, root)
    path = write_config(sample, root)
    text = path.read_text()
    for name, copy in repos.items():
        text = text.replace(str(sample / "repos" / name), str(copy))
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def fresh(pipeline_run: dict) -> dict[str, int]:
    """The counts of a clean run over the same sample sources: the session's shared run."""
    return table_counts(pipeline_run["warehouse"])


@pytest.fixture(scope="module")
def recovered(sample_dir: Path, tmp_path_factory, fresh) -> Path:
    """A warehouse whose first run was killed with SIGKILL in the middle of loading, then rerun."""
    root = tmp_path_factory.mktemp("killed")
    config = _config(sample_dir, root)
    spools = root / "tmp"
    spools.mkdir()
    env = {**os.environ, "TMPDIR": str(spools)}
    env.pop("COMMSTATS_CONFIG", None)
    env.pop("COMMSTATS_WAREHOUSE", None)
    proc = subprocess.Popen(
        [str(COMMSTATS), "run", "--quiet", "--config", str(config)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: the kill reaches every child
    )
    # Each source spools its rows to Parquet in its own temporary directory, then publishes them
    # in one transaction (DuckDB's WAL file exists while it writes). Kill once a second source is
    # under way and either its Parquet is written or the warehouse is being written: the first
    # source is loaded, the second is loading.
    warehouse = root / "warehouse.duckdb"
    wal = root / "warehouse.duckdb.wal"
    seen: set[str] = set()
    deadline = time.monotonic() + 300
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            dirs = list(spools.glob("commstats-spool-*"))
            seen.update(d.name for d in dirs)
            if len(seen) >= 2 and (any(any(d.glob("*.parquet")) for d in dirs) or wal.exists()):
                break
            time.sleep(0.002)
        assert proc.poll() is None, "the run ended before it could be killed"
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    # the watchdog removes the spools of the sources the killed run was loading
    deadline = time.monotonic() + 30
    while list(spools.glob("commstats-spool-*")) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert seen and list(spools.iterdir()) == []
    # what the killed run left: some sources, never half of one
    partial = table_counts(warehouse) if warehouse.exists() else {}
    assert partial.get("raw.mail_messages", 0) < fresh["raw.mail_messages"] or not partial.get(
        "raw.git_commits"
    )
    rerun = commstats("run", "--quiet", "--config", str(config))
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    return config


def test_rerun_after_sigkill_gives_the_counts_of_a_clean_run(recovered, fresh):
    counts = table_counts(recovered.parent / "warehouse.duckdb")
    assert counts == fresh
    assert counts["raw.mail_messages"] == 8365 and counts["raw.git_commits"] == 2080
    assert counts["marts.people"] > 0


def test_unreachable_source_fails_alone_with_one_line(recovered, fresh):
    root = recovered.parent
    warehouse = root / "warehouse.duckdb"

    def per_source() -> dict:
        con = duckdb.connect(str(warehouse), read_only=True)
        try:
            return dict(
                con.execute(
                    "select project || '/' || repository, count(*) from raw.git_commits group by 1 "
                    "union all select project || '/' || list_name, count(*) from raw.mail_messages group by 1"
                ).fetchall()
            )
        finally:
            con.close()

    before = per_source()
    repo = root / "repos" / "minikernel.git"
    repo.rename(root / "repos" / "moved-away.git")
    try:
        proc = commstats("run", "--quiet", "--config", str(recovered))
    finally:
        (root / "repos" / "moved-away.git").rename(repo)
    assert proc.returncode == 1
    errors = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(errors) == 1, proc.stderr
    assert errors[0].startswith("commstats: repository kernel-virt/minikernel: ")
    assert str(repo) in errors[0] and "Traceback" not in proc.stderr
    # the other sources loaded, the failed one kept its rows, the marts and the copy are there
    assert per_source() == before
    assert before["kernel-virt/minikernel"] > 0
    assert table_counts(warehouse) == fresh
    assert (root / "warehouse.published.duckdb").exists()
