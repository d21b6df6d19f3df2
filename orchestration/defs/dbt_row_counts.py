"""Row counts (`dagster/row_count`) on the materializations of the tables a dbt build made.

dbt-duckdb holds the warehouse read-write until dbt exits, and DuckDB lets no other process in
meanwhile, so the build's events are held until dbt has finished; the tables are then counted in
one query on a short read-only connection of our own (dagster-dbt's `fetch_row_counts()` would
open dbt's adapter, and read dbt's events in a worker thread, out of reach of a SIGTERM).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb

from core.errors import CommstatsError
from core.warehouse import connect, table_row_counts

# what dagster-dbt's stream yields in an asset
DbtEvent = (
    dg.Output | dg.AssetMaterialization | dg.AssetObservation | dg.AssetCheckResult | dg.AssetCheckEvaluation
)

# Dagster's standard key for a table's size (its TableMetadataSet.row_count), shown by the UI
ROW_COUNT = "dagster/row_count"

# the build has just released the file: a wait beyond this means another process writes it, and
# the build is reported without counts rather than held up
COUNT_LOCK_TIMEOUT_S = 60.0


def relation_of(manifest: Mapping[str, Any], event: object) -> tuple[str, str] | None:
    """(schema, table) a dbt model, seed or snapshot materialization event stands for; None for
    any other event.

    The manifest's relation name also names the database, which dbt-duckdb takes from the
    warehouse file's name: the schema and identifier name the table in whichever file was built.
    """
    if not isinstance(event, dg.Output | dg.AssetMaterialization):
        return None
    unique_id = event.metadata.get("unique_id")
    node = manifest.get("nodes", {}).get(getattr(unique_id, "value", None))
    if node is None:
        return None
    return node["schema"], node.get("alias") or node["name"]


def count_tables(warehouse: Path, relations: list[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """Exact row counts of those of `relations` that are tables of `warehouse`."""
    if not relations:
        return {}
    con = connect(warehouse, read_only=True, timeout_s=COUNT_LOCK_TIMEOUT_S)
    try:
        return table_row_counts(con, relations)
    finally:
        con.close()


def with_row_counts(
    events: Iterator[DbtEvent],
    manifest: Mapping[str, Any],
    warehouse: Path,
    log: logging.Logger | dg.DagsterLogManager,
) -> Iterator[DbtEvent]:
    """`events` of a dbt build, yielded once dbt has ended, each table's with its row count.

    A failed build (dbt's error, an Exception) still reports what it built, then raises; an
    interruption (SIGTERM, Ctrl-C: BaseExceptions) goes straight through, as dbt is stopped.
    """
    held: list[DbtEvent] = []
    failure: Exception | None = None
    try:
        held.extend(events)
    except Exception as exc:
        failure = exc
    relations = [relation_of(manifest, event) for event in held]
    try:
        counts = count_tables(warehouse, sorted({r for r in relations if r is not None}))
    except (CommstatsError, duckdb.Error) as exc:
        # the counts are metadata: without them the build still stands
        log.warning(f"{warehouse}: row counts of the dbt tables not recorded: {exc}")
        counts = {}
    for event, relation in zip(held, relations, strict=True):
        count = counts.get(relation) if relation is not None else None
        if count is not None and isinstance(event, dg.Output | dg.AssetMaterialization):
            event = event.with_metadata({**event.metadata, ROW_COUNT: dg.MetadataValue.int(count)})
        yield event
    if failure is not None:
        raise failure
