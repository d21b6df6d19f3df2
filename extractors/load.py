"""Streaming, atomic loading of extracted rows into the raw tables.

Extraction writes rows to Parquet spool files in bounded batches (no lock on the warehouse
while parsing, memory independent of archive size); publishing then replaces the rows a source
owns inside one DuckDB transaction, so a crash never leaves half a load visible.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from core.procs import temp_prefix
from core.warehouse import Warehouse, connect_for_write, retrying_conflicts
from extractors.schema import RAW_SCHEMA, RAW_TABLES, ensure_raw_tables

try:
    from extractors import _columns as _native
except ImportError:  # not built (no C compiler at install): pyarrow converts the columns
    _native = None

_ARROW_TYPES: dict[str, pa.DataType] = {
    "VARCHAR": pa.string(),
    "TIMESTAMP": pa.timestamp("us"),
    "DATE": pa.date32(),
    "INTEGER": pa.int32(),
    "BIGINT": pa.int64(),
    "BOOLEAN": pa.bool_(),
    "VARCHAR[]": pa.list_(pa.string()),
}


def arrow_schema(table: str) -> pa.Schema:
    return pa.schema([(name, _ARROW_TYPES[typ]) for name, typ in RAW_TABLES[table]])


# each column type's kind of Arrow buffers in the compiled column builder (extractors/_columns.c)
_KINDS = {
    "VARCHAR": "s",
    "TIMESTAMP": "t",
    "DATE": "d",
    "INTEGER": "i",
    "BIGINT": "q",
    "BOOLEAN": "b",
    "VARCHAR[]": "l",
}


def _unknown_columns(table: str, rows: list[Mapping[str, Any]], names: list[str]) -> None:
    """ValueError naming the keys of `rows` that are not columns of `table`, when any."""
    unknown = set().union(*(r.keys() for r in rows)) - set(names)
    if unknown:
        raise ValueError(f"raw.{table}: unknown column(s) {sorted(unknown)}")


def _columns(table: str, rows: list[Mapping[str, Any]], names: list[str]) -> list[list[Any]]:
    """The rows' values column by column, a missing key as null; a key outside `names` is an
    error naming it."""
    # rows holding exactly the table's columns (every git row, most mail rows) need no key check:
    # all names found and as many keys as names means no other key
    if _uniform(rows, names):
        try:
            return [[row[name] for row in rows] for name in names]
        except KeyError:
            pass
    _unknown_columns(table, rows, names)
    return [[row.get(name) for row in rows] for name in names]


def _uniform(rows: list[Mapping[str, Any]], names: list[str]) -> bool:
    return len(set(map(len, rows))) == 1 and len(rows[0]) == len(names)


def _built_arrays(table: str, rows: list[Mapping[str, Any]], schema: pa.Schema) -> list[pa.Array] | None:
    """The rows' columns as Arrow arrays built from buffers (extractors/_columns.c), without
    pa.array, which imports pandas; None where a value is not of its column's plain Python type
    (pyarrow then converts)."""
    if _native is None:
        return None
    names = schema.names
    uniform = _uniform(rows, names)
    if not uniform:
        _unknown_columns(table, rows, names)
    arrays = []
    for field, (_, typ) in zip(schema, RAW_TABLES[table], strict=True):
        got = _native.column(rows, field.name, _KINDS[typ])
        if got is None:
            return None
        missing, nulls, buffers, child = got
        if missing and uniform:
            # as many keys as columns, one of them missing: another key is not a column
            _unknown_columns(table, rows, names)
        children = None
        if child is not None:
            count, item_nulls, item_buffers = child
            children = [_from_buffers(field.type.value_type, count, item_buffers, item_nulls)]
        arrays.append(_from_buffers(field.type, len(rows), buffers, nulls, children))
    return arrays


def _from_buffers(
    typ: pa.DataType,
    length: int,
    buffers: tuple[bytes | None, ...],
    nulls: int,
    children: list[pa.Array] | None = None,
) -> pa.Array:
    wrapped = [None if b is None else pa.py_buffer(b) for b in buffers]
    return pa.Array.from_buffers(typ, length, wrapped, null_count=nulls, children=children)


class Spool:
    """Collects rows per raw table and writes them to Parquet every `batch_rows` rows."""

    # 20,000 rows: large enough for efficient Parquet row groups, small enough that the rows held
    # as Python dicts (a few KB each for messages) stay in the tens of MB
    def __init__(self, directory: Path | None = None, batch_rows: int = 20_000) -> None:
        self._own_dir = directory is None
        self.directory = Path(directory or tempfile.mkdtemp(prefix=temp_prefix("spool")))
        self.directory.mkdir(parents=True, exist_ok=True)
        self.batch_rows = batch_rows
        self._buffers: dict[str, list[Mapping[str, Any]]] = {}
        self._writers: dict[str, pq.ParquetWriter] = {}
        self.counts: dict[str, int] = {}

    def add(self, table: str, row: Mapping[str, Any]) -> None:
        buf = self._buffers.setdefault(table, [])
        buf.append(row)
        if len(buf) >= self.batch_rows:
            self._flush(table)

    def extend(self, rows: Iterable[tuple[str, Mapping[str, Any]]]) -> None:
        # `add` inlined: a git extraction spools ~6 rows per commit, and the method call per row
        # was a tenth of the spool's time
        buffers = self._buffers
        limit = self.batch_rows
        for table, row in rows:
            buf = buffers.get(table)
            if buf is None:
                buf = buffers[table] = []
            buf.append(row)
            if len(buf) >= limit:
                self._flush(table)

    def _flush(self, table: str) -> None:
        rows = self._buffers.get(table)
        if not rows:
            return
        schema = arrow_schema(table)
        columns = _built_arrays(table, rows, schema) or _columns(table, rows, schema.names)
        batch = pa.Table.from_arrays(columns, schema=schema)
        writer = self._writers.get(table)
        if writer is None:
            writer = pq.ParquetWriter(self.path(table), schema)
            self._writers[table] = writer
        writer.write_table(batch)
        self.counts[table] = self.counts.get(table, 0) + len(rows)
        self._buffers[table] = []

    def path(self, table: str) -> Path:
        return self.directory / f"{table}.parquet"

    def close(self) -> None:
        for table in list(self._buffers):
            self._flush(table)
        for writer in self._writers.values():
            writer.close()
        self._writers.clear()

    def cleanup(self) -> None:
        if self._own_dir:
            shutil.rmtree(self.directory, ignore_errors=True)


def publish(
    warehouse: Warehouse,
    spool: Spool,
    tables: Iterable[str],
    owner: Mapping[str, str],
    replace_keys: Mapping[str, tuple[str, ...]] | None = None,
    delete_by: Mapping[str, tuple[str, tuple[str, ...]]] | None = None,
) -> dict[str, int]:
    """Make the spooled rows the warehouse's rows for `owner`, in one transaction.

    Without `replace_keys` every row of `owner` in each table is replaced (a full load). With
    `replace_keys[table] = (col, ...)`, only rows of `owner` whose key matches a spooled row are
    replaced and the rest kept (an incremental load). With `delete_by[table] = (spooled_table,
    (col, ...))`, rows of `owner` in `table` whose key appears in the spooled `spooled_table` are
    then deleted (after the inserts, so a message added and removed in one run ends up removed):
    how an archive's deletions reach the warehouse. Returns the owner's row count per table.
    """
    spool.close()
    tables = list(tables)
    for attempt in retrying_conflicts():
        with attempt:
            return _publish_once(warehouse, spool, tables, owner, replace_keys, delete_by)
    raise AssertionError("unreachable: the retries re-raise")


def _publish_once(
    warehouse: Warehouse,
    spool: Spool,
    tables: list[str],
    owner: Mapping[str, str],
    replace_keys: Mapping[str, tuple[str, ...]] | None,
    delete_by: Mapping[str, tuple[str, tuple[str, ...]]] | None,
) -> dict[str, int]:
    con = connect_for_write(warehouse)
    try:
        ensure_raw_tables(con)
        con.execute("BEGIN TRANSACTION")
        # an empty owner means the tables belong wholly to this load
        where_owner = " AND ".join(f'"{k}" = ?' for k in owner) or "TRUE"
        params = list(owner.values())
        for table in tables:
            target = f"{RAW_SCHEMA}.{table}"
            spooled = spool.path(table)
            keys = (replace_keys or {}).get(table)
            if keys is None:
                con.execute(f"DELETE FROM {target} WHERE {where_owner}", params)
            elif spooled.exists():
                key_cols = ", ".join(f'"{k}"' for k in keys)
                con.execute(
                    f"DELETE FROM {target} WHERE {where_owner} AND ({key_cols}) IN "
                    f"(SELECT DISTINCT {key_cols} FROM read_parquet(?))",
                    [*params, str(spooled)],
                )
            if spooled.exists():
                cols = ", ".join(f'"{name}"' for name, _ in RAW_TABLES[table])
                con.execute(
                    f"INSERT INTO {target} ({cols}) SELECT {cols} FROM read_parquet(?)",
                    [str(spooled)],
                )
        for table, (spooled_table, keys) in (delete_by or {}).items():
            spooled = spool.path(spooled_table)
            if not spooled.exists():
                continue
            key_cols = ", ".join(f'"{k}"' for k in keys)
            con.execute(
                f"DELETE FROM {RAW_SCHEMA}.{table} WHERE {where_owner} AND ({key_cols}) IN "
                f"(SELECT DISTINCT {key_cols} FROM read_parquet(?))",
                [*params, str(spooled)],
            )
        con.execute("COMMIT")
        return {
            table: con.execute(
                f"SELECT count(*) FROM {RAW_SCHEMA}.{table} WHERE {where_owner}", params
            ).fetchone()[0]
            for table in tables
        }
    except BaseException:
        with contextlib.suppress(duckdb.Error):
            con.execute("ROLLBACK")
        raise
    finally:
        con.close()
