"""Read-only SQL on the warehouse for `commstats sql`.

Queries read the published copy (core/published.py), which a refresh replaces atomically when
it has built the marts: a query never waits for a refresh, and an open prompt never blocks one.
Before the first publish, or with `--live`, the warehouse itself is opened read-only.

The query connection reads the warehouse and nothing else (see SANDBOX, and commstats/sql_guard.py
for what DuckDB 1.4's settings let through): no other file, directory, extension or network
address, and its settings cannot be changed back by a query.
"""

from __future__ import annotations

import csv
import re
import sys
from datetime import datetime

import duckdb

from commstats.sql_guard import StatementGuard
from core.errors import CommstatsError, ConfigError
from core.published import published_path, published_snapshot
from core.warehouse import Warehouse, attach_lake, database_file_problem, describe, lake_config, lake_of

# Settings of the query connection. They are given when the database is opened, so no statement
# ever runs without them; DuckDB still opens the database file itself (it adds the file, its WAL
# and its temporary directory to `allowed_paths`/`allowed_directories`). `lock_configuration`
# makes every other setting final: `set enable_external_access = true` is refused; `schema` and
# `search_path` stay open on DuckDB 1.4 (what an analyst sets: `use marts`). What these settings
# let through on 1.4 is refused by StatementGuard.
SANDBOX: dict[str, object] = {
    # no COPY TO/FROM, EXPORT/IMPORT DATABASE, read_*/glob on files, ATTACH, INSTALL/LOAD, HTTP
    "enable_external_access": False,
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
    "allow_community_extensions": False,
    "allow_persistent_secrets": False,
    # a table name must not resolve to a Python object of this process
    "python_enable_replacements": False,
    "lock_configuration": True,
}


def source_file(warehouse: Warehouse, live: bool = False) -> Warehouse:
    """The file queries read: the published copy when there is one (and `live` is not asked); a
    DuckLake is read in place."""
    if lake_of(warehouse) is not None:
        return warehouse
    copy = published_path(warehouse)  # type: ignore[arg-type]
    return warehouse if live or not copy.exists() else copy


AsOf = int | datetime | None


def _sql_literal(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_sql_literal(v) for v in value) + "]"
    return "'" + str(value).replace("'", "''") + "'"


def _connect_lake(warehouse: Warehouse, live: bool, as_of: AsOf) -> StatementGuard:
    """The DuckLake at the snapshot asked for (`as_of`), else at the last complete build's (unless
    `live`), else its latest; then the same sandbox as a file's, set once the lake is attached
    (attaching reads the catalog and the extension)."""
    lake = lake_of(warehouse)
    assert lake is not None
    snapshot = as_of if isinstance(as_of, int) else None
    if as_of is None and not live:
        snapshot = published_snapshot(warehouse)
    con = duckdb.connect(config=lake_config())
    try:
        attach_lake(
            con, lake, read_only=True, snapshot=snapshot, as_of=as_of if isinstance(as_of, datetime) else None
        )
        # the Parquet files of the lake (a directory or an s3:// prefix), and nothing else
        con.execute(f"SET allowed_directories = {_sql_literal([lake.data_path])}")
        # attaching the catalog used the secret manager, whose settings DuckDB then keeps as they
        # are (allow_persistent_secrets among them): StatementGuard refuses CREATE SECRET instead
        settings = {
            k: v for k, v in SANDBOX.items() if k not in ("lock_configuration", "allow_persistent_secrets")
        }
        for key, value in settings.items():
            con.execute(f"SET {key} = {_sql_literal(value)}")
        con.execute("SET lock_configuration = true")
        return StatementGuard.of(con)
    except BaseException:
        con.close()
        raise


def _connect(warehouse: Warehouse, live: bool = False, as_of: AsOf = None) -> StatementGuard:
    if lake_of(warehouse) is not None:
        return _connect_lake(warehouse, live, as_of)
    if problem := database_file_problem(warehouse):  # type: ignore[arg-type]
        raise ConfigError(problem)
    try:
        return StatementGuard.of(duckdb.connect(str(warehouse), read_only=True, config=SANDBOX))
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise duckdb.IOException(
                "a refresh is writing the warehouse: retry when it ends (without --live, queries read the "
                "copy published by the last build)"
            ) from None
        raise


def _print(guard: StatementGuard, query: str, csv_out: bool) -> None:
    guard.check(query)
    rel = guard.con.sql(query)
    if rel is None:
        return
    if csv_out:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(rel.columns)
        for row in rel.fetchall():
            writer.writerow(row)
    else:
        rel.show(max_rows=200, max_width=200)


_LOCKED = re.compile(r'Cannot change configuration option "([^"]+)"')
_ERROR_KIND = re.compile(r"^[A-Z][A-Za-z ]* Error: ")


def _error_line(exc: duckdb.Error) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if isinstance(exc, duckdb.PermissionException):
        detail = _ERROR_KIND.sub("", text).removesuffix(
            " - file system operations are disabled by configuration"
        )
        return (
            "refused: commstats sql reads only the warehouse (no other file, directory, extension or "
            f"network access): {detail}"
        )
    if locked := _LOCKED.search(text):
        return f"refused: the settings of commstats sql cannot be changed ({locked.group(1)})"
    if "read-only" in text.lower():
        return "the warehouse is opened read-only: queries that write are refused"
    return text


def _opened(warehouse: Warehouse, live: bool, as_of: AsOf) -> StatementGuard | None:
    """The query connection, or None once the one line saying why there is none is printed."""
    try:
        return _connect(warehouse, live, as_of)
    except duckdb.Error as exc:
        print(f"commstats: {describe(warehouse)}: {_error_line(exc)}", file=sys.stderr)
    except ConfigError:
        raise  # the command line's one line and exit 2
    except CommstatsError as exc:  # a lake's catalog out of reach
        print(f"commstats: {exc}", file=sys.stderr)
    return None


def run_query(
    warehouse: Warehouse, query: str, csv_out: bool = False, live: bool = False, as_of: AsOf = None
) -> int:
    guard = _opened(source_file(warehouse, live), live, as_of)
    if guard is None:
        return 1
    try:
        _print(guard, query, csv_out)
        return 0
    except duckdb.Error as exc:
        print(f"commstats: {_error_line(exc)}", file=sys.stderr)
        return 1
    finally:
        guard.con.close()


def interactive(warehouse: Warehouse, csv_out: bool = False, live: bool = False, as_of: AsOf = None) -> int:
    """A prompt on stdin; exits 1 when any statement failed (so a piped script's failure shows)."""
    warehouse = source_file(warehouse, live)
    guard = _opened(warehouse, live, as_of)
    if guard is None:
        return 1
    print(
        f"commstats sql on {describe(warehouse)} (read-only). End a query with ';', quit with \\q or Ctrl-D."
    )
    buffer: list[str] = []
    failed = False
    try:
        while True:
            try:
                line = input("... " if buffer else "sql> ")
            except EOFError:
                print()
                break
            if not buffer and line.strip() in ("\\q", "quit", "exit"):
                break
            buffer.append(line)
            if line.rstrip().endswith(";"):
                try:
                    _print(guard, "\n".join(buffer), csv_out)
                except duckdb.Error as exc:
                    failed = True
                    print(f"commstats: {_error_line(exc)}", file=sys.stderr, flush=True)
                buffer = []
    finally:
        guard.con.close()
    return 1 if failed else 0
