"""A source load into a DuckLake (catalogued in a real PostgreSQL server) killed at its commit, or
inside DuckLake's own write of the catalog, leaves the catalog as before that source, and the next
load of it completes."""

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
from tests.lake.postgres_server import PostgresServer, client_env
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
                go = flag.with_suffix(".go")
                deadline = time.monotonic() + 600
                while not go.exists() and time.monotonic() < deadline:  # until killed, or let go
                    time.sleep(0.05)
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


def test_a_load_killed_inside_ducklakes_catalog_commit_leaves_the_catalog_as_before(
    lake_db: PostgresServer, sample_dir: Path, tmp_path: Path
) -> None:
    """The load's COMMIT is let go while another session of the catalog database holds DuckLake's
    table of snapshot changes locked: DuckLake's write of the catalog waits on the lock inside PostgreSQL (seen
    in pg_stat_activity), and the load is killed there, in the middle of DuckLake's commit."""
    config = write_config(sample_dir, tmp_path, warehouse=lake_key(lake_db, tmp_path))
    cfg = load_config(config)
    from core.partitions import mailing_list
    from extractors.mail.ingest import ingest_mailing_list

    project, _, vmcore = mailing_list(cfg, "vmcore/vmcore-devel")
    ingest_mailing_list(cfg.warehouse, project, vmcore, cfg.cache_dir)
    before = _counts(cfg.warehouse)
    psql = [str(lake_db.psql), "-X", "-q", "-A", "-t", "-h", lake_db.host, "-p", str(lake_db.port)]
    psql += ["-U", lake_db.user, "-d", lake_db.dbname]
    waiting = (
        "select count(*) from pg_stat_activity where datname = current_database() "
        "and wait_event_type = 'Lock' and backend_type = 'client backend' and pid <> pg_backend_pid()"
    )
    flag = tmp_path / "committing"
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED_LOAD, str(config), "kernel-virt/kvm", str(flag)],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    locker = subprocess.Popen(
        psql, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=client_env()
    )  # fmt: skip
    assert locker.stdin is not None and locker.stdout is not None
    try:
        deadline = time.monotonic() + 300
        while not flag.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert flag.exists(), f"the load never reached its commit (exit {proc.poll()})"
        # a table DuckLake writes at commit and has not touched in the load's transaction: NOWAIT
        # fails at once if the load held it, instead of queueing behind it
        locker.stdin.write(
            "begin; lock table ducklake_snapshot_changes in access exclusive mode nowait; select 'locked';\n"
        )
        locker.stdin.flush()
        assert locker.stdout.readline().strip() == "locked"
        flag.with_suffix(".go").write_text("go")
        deadline = time.monotonic() + 120
        while lake_db.run_sql(waiting) == "0" and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert lake_db.run_sql(waiting) == "1" and proc.poll() is None, (
            "the commit never waited on the catalog"
        )
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
        locker.stdin.write("rollback;\n")
        locker.stdin.close()
        locker.wait(timeout=60)
    # the dead client's backend rolls back once the lock is gone: no snapshot, no row of the load
    deadline = time.monotonic() + 60
    while (
        lake_db.run_sql(waiting.replace("wait_event_type = 'Lock'", "true")) != "0"
        and time.monotonic() < deadline
    ):
        time.sleep(0.1)
    assert _counts(cfg.warehouse) == before
    # and the next load of the list lands whole: every message (as many as a load into a fresh
    # DuckDB file gives), in one more snapshot
    project, _, kvm = mailing_list(cfg, "kernel-virt/kvm")
    fresh = write_config(sample_dir, tmp_path / "fresh", warehouse=str(tmp_path / "fresh" / "w.duckdb"))
    complete = ingest_mailing_list(load_config(fresh).warehouse, project, kvm, load_config(fresh).cache_dir)
    again = ingest_mailing_list(cfg.warehouse, project, kvm, cfg.cache_dir)
    assert _counts(cfg.warehouse) == (before[0] + 1, complete["mail_messages"], before[2])
    assert again["mail_messages"] == complete["mail_messages"] > 1000
