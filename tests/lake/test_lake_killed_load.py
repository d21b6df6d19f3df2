"""A source load into a DuckLake (catalogued in a real PostgreSQL server) killed at its commit
leaves the catalog as before that source, and the next load of it completes."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import datetime
from pathlib import Path

import pytest

from core.config import load_config
from core.warehouse import connect
from tests.lake.conftest import extension_directory
from tests.lake.postgres_server import PostgresServer
from tests.ops.conftest import write_config

pytestmark = pytest.mark.slow


@pytest.fixture
def lake_db(postgres: PostgresServer) -> PostgresServer:
    if isinstance(reason := extension_directory(), str):
        pytest.skip(reason)
    name = postgres.create_database()
    try:
        yield dataclasses.replace(postgres, dbname=name)
    finally:
        postgres.drop_database(name)


def lake_key(db: PostgresServer, root: Path) -> dict:
    return {"ducklake": {"catalog": f"postgres:{db.libpq}", "data_path": str(root / "lake")}}


# A load of one source in its own process, whose COMMIT waits until the test kills it: the
# connection is wrapped so that COMMIT first announces itself, then sleeps.
KILLED_LOAD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path

    import extractors.load as load
    from core.config import load_config
    from core.partitions import mailing_list
    from extractors.mail.ingest import ingest_mailing_list

    config, key, flag = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    opened = load.connect_for_write

    class PausedCommit:
        def __init__(self, con):
            self.con = con

        def execute(self, sql, *args):
            if sql.strip().upper() == "COMMIT":
                flag.write_text("committing")
                time.sleep(600)
            return self.con.execute(sql, *args)

        def __getattr__(self, name):
            return getattr(self.con, name)

    load.connect_for_write = lambda warehouse: PausedCommit(opened(warehouse))
    cfg = load_config(config)
    project, _, lst = mailing_list(cfg, key)
    ingest_mailing_list(cfg.warehouse, project, lst, cfg.cache_dir)
    """
)


def _counts(warehouse) -> tuple[int, int, int]:
    con = connect(warehouse, read_only=True)
    try:
        snapshot = con.execute("select id from current_snapshot()").fetchone()[0]
        kvm, vmcore = (
            con.execute("select count(*) from raw.mail_messages where list_name = ?", [name]).fetchone()[0]
            for name in ("kvm", "vmcore-devel")
        )
        return snapshot, kvm, vmcore
    finally:
        con.close()


def test_a_load_killed_mid_commit_leaves_the_catalog_as_before_and_the_next_load_completes(
    lake_db: PostgresServer, sample_dir: Path, tmp_path: Path
) -> None:
    config = write_config(sample_dir, tmp_path, warehouse=lake_key(lake_db, tmp_path))
    cfg = load_config(config)
    from core.partitions import mailing_list
    from extractors.mail.ingest import ingest_mailing_list

    project, _, vmcore = mailing_list(cfg, "vmcore/vmcore-devel")
    loaded = ingest_mailing_list(cfg.warehouse, project, vmcore, cfg.cache_dir)
    before = _counts(cfg.warehouse)
    assert before[1:] == (0, loaded["mail_messages"]) and loaded["mail_messages"] > 1000

    flag = tmp_path / "committing"
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED_LOAD, str(config), "kernel-virt/kvm", str(flag)],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    try:
        deadline = time.monotonic() + 300
        while not flag.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert flag.exists(), f"the load never reached its commit (exit {proc.poll()})"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    # nothing of the killed load: the same snapshot, the same rows
    assert _counts(cfg.warehouse) == before

    project, _, kvm = mailing_list(cfg, "kernel-virt/kvm")
    again = ingest_mailing_list(cfg.warehouse, project, kvm, cfg.cache_dir)
    after = _counts(cfg.warehouse)
    assert after[0] > before[0]
    assert after[1:] == (again["mail_messages"], before[2]) and again["mail_messages"] > 1000
    con = connect(cfg.warehouse, read_only=True)
    try:
        committed = con.execute(
            "select count(*) from snapshots() where snapshot_time > ?", [datetime.fromtimestamp(0)]
        ).fetchone()[0]
    finally:
        con.close()
    assert committed == after[0] + 1  # snapshots are numbered from 0, none lost or half-made
