"""Raw ingestion assets: mail lists, git repositories, identity files -> raw.* tables.

The mail and git assets are partitioned per source ("<project>/<list>", "<project>/<repository>",
see partitions.py): a run loads one source, so the UI can re-run one source or backfill any set,
and a source that fails fails only its own partition with one line, leaving its previous rows and
every other source as they were (the extractors publish a source in one transaction).
"""

from collections.abc import Callable, Iterator
from typing import Any

import dagster as dg

from core.errors import CommstatsError, one_line
from core.procs import workers_sharing_cores
from core.progress import Progress
from core.warehouse import Warehouse, lake_of
from extractors.identities.build import ingest_identities
from extractors.schema import GIT_TABLES, IDENTITY_TABLES, MAIL_TABLES
from extractors.sources import ingest_source
from orchestration.defs.partitions import GIT_PARTITIONS, MAIL_PARTITIONS, SOURCE_POOL
from orchestration.defs.resources import WAREHOUSE_POOL, CommstatsConfig
from orchestration.instance import LAKE_CONCURRENT_SOURCES


def _raw_specs(
    tables: tuple[str, ...],
    group: str,
    deps: list[dg.AssetKey] | None = None,
    partitions_def: dg.PartitionsDefinition | None = None,
) -> list[dg.AssetSpec]:
    return [
        dg.AssetSpec(
            key=dg.AssetKey(["raw", table]),
            group_name=group,
            deps=deps or [],
            kinds={"duckdb", "python"},
            description=f"raw.{table}: loaded by the {group} extractors.",
            partitions_def=partitions_def,
        )
        for table in tables
    ]


def _load_source(
    context: dg.AssetExecutionContext,
    tables: tuple[str, ...],
    kind: str,
    unit: str,
    load: Callable[[str, Progress], dict[str, int]],
) -> Iterator[dg.MaterializeResult]:
    """Load the run's source(s), one materialization per raw table; a failure is one line."""
    totals: dict[str, int] = {}
    details: dict[str, Any] = {}
    for key in context.partition_keys:
        progress = Progress(key, unit, context.log.info)
        try:
            counts = load(key, progress)
        except CommstatsError as exc:
            # the source's own one-line error (unreachable, corrupt, unknown): the step fails with
            # that line alone; anything else is a bug and keeps its traceback
            raise dg.Failure(description=f"{kind} {key}: {one_line(str(exc))}", allow_retries=False) from None
        progress.finish()
        context.log.info(f"{key}: {counts}")
        details[key] = {**counts, "seconds": round(progress.elapsed(), 2)}
        for table in tables:
            totals[table] = totals.get(table, 0) + counts.get(table, 0)
    for table in tables:
        yield dg.MaterializeResult(
            asset_key=dg.AssetKey(["raw", table]),
            metadata={"dagster/row_count": totals.get(table, 0), "sources": dg.MetadataValue.json(details)},
        )


def source_workers(warehouse: Warehouse) -> int | None:
    """The worker processes of one source load: a DuckLake's sources load up to
    LAKE_CONCURRENT_SOURCES at once (the `extract` pool) and share the cores; a DuckDB file's
    one at a time, each with the extractors' own default (None)."""
    return workers_sharing_cores(LAKE_CONCURRENT_SOURCES) if lake_of(warehouse) is not None else None


@dg.multi_asset(
    specs=_raw_specs(MAIL_TABLES, "mail", partitions_def=MAIL_PARTITIONS),
    partitions_def=MAIL_PARTITIONS,
    pool=SOURCE_POOL,
    can_subset=False,
)
def mail_lists(context: dg.AssetExecutionContext, commstats: CommstatsConfig):
    """One mailing list (partition "<project>/<list>"), parsed and loaded, replacing its rows."""
    cfg = commstats.load()

    def load(key: str, progress: Progress) -> dict[str, int]:
        return ingest_source(cfg, "mail", key, progress=progress, workers=source_workers(cfg.warehouse))

    yield from _load_source(context, MAIL_TABLES, "mailing list", "messages", load)


@dg.multi_asset(
    specs=_raw_specs(GIT_TABLES, "git", partitions_def=GIT_PARTITIONS),
    partitions_def=GIT_PARTITIONS,
    pool=SOURCE_POOL,
    can_subset=False,
)
def git_repositories(context: dg.AssetExecutionContext, commstats: CommstatsConfig):
    """One repository (partition "<project>/<repository>"): only commits not yet loaded are read."""
    cfg = commstats.load()

    def load(key: str, progress: Progress) -> dict[str, int]:
        return ingest_source(cfg, "git", key, progress=progress, workers=source_workers(cfg.warehouse))

    yield from _load_source(context, GIT_TABLES, "repository", "commits", load)


@dg.multi_asset(
    specs=_raw_specs(
        IDENTITY_TABLES,
        "identities",
        deps=[
            dg.AssetKey(["raw", t]) for t in ("mail_messages", "mail_trailers", "git_commits", "git_trailers")
        ],
    ),
    pool=WAREHOUSE_POOL,
    can_subset=False,
)
def identities(context: dg.AssetExecutionContext, commstats: CommstatsConfig):
    """Aliases (.mailmap, alias files), explicit affiliations and the domain of every address seen."""
    cfg = commstats.load()
    ids = cfg.identities
    try:
        counts = ingest_identities(cfg.warehouse, ids.mailmap, ids.aliases, ids.affiliations, ids.gitdm_maps)
    except CommstatsError as exc:  # a malformed identity file: its one line, no traceback
        raise dg.Failure(description=f"identity files: {one_line(str(exc))}", allow_retries=False) from None
    for table in IDENTITY_TABLES:
        yield dg.MaterializeResult(
            asset_key=dg.AssetKey(["raw", table]), metadata={"dagster/row_count": counts.get(table, 0)}
        )


defs = dg.Definitions(assets=[mail_lists, git_repositories, identities])
