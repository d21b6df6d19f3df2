"""Read-only SQL on the warehouse for `commstats sql`.

Queries read the published copy (commstats/published.py), which a refresh replaces atomically when
it has built the marts: a query never waits for a refresh, and an open prompt never blocks one.
Before the first publish, or with `--live`, the warehouse itself is opened read-only.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import duckdb

from commstats.published import published_path


def source_file(warehouse: Path, live: bool = False) -> Path:
    """The file queries read: the published copy when there is one (and `live` is not asked)."""
    copy = published_path(warehouse)
    return warehouse if live or not copy.exists() else copy


def _connect(warehouse: Path) -> duckdb.DuckDBPyConnection:
    try:
        return duckdb.connect(str(warehouse), read_only=True)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise duckdb.IOException(
                "a refresh is writing the warehouse: retry when it ends (without --live, queries read the "
                "copy published by the last build)"
            ) from None
        raise


def _print(con: duckdb.DuckDBPyConnection, query: str, csv_out: bool) -> None:
    rel = con.sql(query)
    if rel is None:
        return
    if csv_out:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(rel.columns)
        for row in rel.fetchall():
            writer.writerow(row)
    else:
        rel.show(max_rows=200, max_width=200)


def _error_line(exc: duckdb.Error) -> str:
    text = str(exc).strip().splitlines()[0]
    if "read-only" in text.lower():
        return "the warehouse is opened read-only: queries that write are refused"
    return text


def run_query(warehouse: Path, query: str, csv_out: bool = False, live: bool = False) -> int:
    warehouse = source_file(warehouse, live)
    try:
        con = _connect(warehouse)
    except duckdb.Error as exc:
        print(f"commstats: {warehouse}: {_error_line(exc)}", file=sys.stderr)
        return 1
    try:
        _print(con, query, csv_out)
        return 0
    except duckdb.Error as exc:
        print(f"commstats: {_error_line(exc)}", file=sys.stderr)
        return 1
    finally:
        con.close()


def interactive(warehouse: Path, csv_out: bool = False, live: bool = False) -> int:
    warehouse = source_file(warehouse, live)
    try:
        con = _connect(warehouse)
    except duckdb.Error as exc:
        print(f"commstats: {warehouse}: {_error_line(exc)}", file=sys.stderr)
        return 1
    print(f"commstats sql on {warehouse} (read-only). End a query with ';', quit with \\q or Ctrl-D.")
    buffer: list[str] = []
    try:
        while True:
            try:
                line = input("... " if buffer else "sql> ")
            except EOFError:
                print()
                return 0
            if not buffer and line.strip() in ("\\q", "quit", "exit"):
                return 0
            buffer.append(line)
            if line.rstrip().endswith(";"):
                try:
                    _print(con, "\n".join(buffer), csv_out)
                except duckdb.Error as exc:
                    print(f"error: {_error_line(exc)}")
                buffer = []
    finally:
        con.close()
