"""The one way commstats opens the warehouse: it waits while another process holds DuckDB's lock,
and gives up after its timeout with one line naming the file."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from core.warehouse import WarehouseLocked, connect, connect_for_write

HOLD = "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('held', flush=True); time.sleep(float(sys.argv[2]))"


def _hold(path: Path, seconds: float) -> subprocess.Popen:
    """Another process with the warehouse open read-write for `seconds`."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(path), str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("create table t as select 42 as answer")
    return path


def test_gives_up_with_one_line_naming_the_file(warehouse: Path):
    holder = _hold(warehouse, 60)
    try:
        started = time.monotonic()
        with pytest.raises(WarehouseLocked) as err:
            connect(warehouse, read_only=True, timeout_s=1.0)
        assert 1.0 <= time.monotonic() - started < 10
    finally:
        holder.kill()
        holder.wait()
    message = str(err.value)
    assert message.startswith(f"{warehouse}: the warehouse is still locked by another process after 1 s")
    assert "\n" not in message


def test_waits_for_the_writer_then_connects(warehouse: Path):
    holder = _hold(warehouse, 2)
    try:
        started = time.monotonic()
        con = connect_for_write(warehouse, timeout_s=60)
        waited = time.monotonic() - started
    finally:
        holder.wait()
    try:
        assert waited >= 1.0  # it did wait for the other process
        assert con.execute("select answer from t").fetchone() == (42,)
    finally:
        con.close()


def test_other_errors_are_not_retried(tmp_path: Path):
    not_a_db = tmp_path / "notes.duckdb"
    not_a_db.write_text("not a database")
    started = time.monotonic()
    with pytest.raises(duckdb.Error):
        connect(not_a_db, read_only=True, timeout_s=60)
    assert time.monotonic() - started < 5
