"""Checks on the warehouse file before anything opens it.

DuckDB's own error for a file that is not a database comes late (after Dagster has started, from
each asset and again from the summary, with a traceback), so the command line checks the file
first and stops with one line naming it.
"""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import duckdb

# A DuckDB database file starts with its main header: an 8-byte checksum, then the magic bytes.
_MAGIC = b"DUCK"
_MAGIC_AT = 8
_WHERE = "check `warehouse:` in the config, --warehouse or $COMMSTATS_WAREHOUSE"


def database_file_problem(path: Path) -> str | None:
    """One line naming `path` when it exists and cannot be the warehouse; None when it can.

    A path that does not exist is fine here: `commstats run` creates it.
    """
    try:
        mode = path.stat().st_mode
        if stat.S_ISDIR(mode):
            return f"{path}: is a directory, not a DuckDB database ({_WHERE})"
        if not stat.S_ISREG(mode):  # a FIFO would block the read below, a device never end
            return f"{path}: is not a regular file, not a DuckDB database ({_WHERE})"
        with open(path, "rb") as f:
            head = f.read(_MAGIC_AT + len(_MAGIC))
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"{path}: cannot read the warehouse: {exc.strerror or exc}"
    if head[_MAGIC_AT:] != _MAGIC:
        return f"{path}: not a DuckDB database ({_WHERE})"
    return None


LOAD_MEMORY_LIMIT = os.environ.get("COMMSTATS_LOAD_MEMORY_LIMIT", "512MB")


def connect_for_write(path: str | Path, timeout_s: float = 600.0) -> duckdb.DuckDBPyConnection:
    """Open the warehouse read-write, waiting while another process holds DuckDB's single writer lock."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + timeout_s
    delay = 0.2
    while True:
        try:
            con = duckdb.connect(str(path))
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 5.0)
            continue
        # DuckDB's default is 80 % of the machine's memory; a load spills to disk instead
        con.execute(f"SET memory_limit = '{LOAD_MEMORY_LIMIT}'")
        return con
