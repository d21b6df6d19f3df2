"""Raw ingestion assets: mail lists, git repositories, identity files -> raw.* tables.

Each asset loops over the sources in communities.yaml; one failing source is reported on its own
line and the others still load (their data replaced atomically, the failed one left as it was).
"""

import time
from collections.abc import Callable

import dagster as dg
from extractors.git.ingest import ingest_repository
from extractors.mail.ingest import ingest_mailing_list

from extractors.identities.build import ingest_identities
from extractors.schema import GIT_TABLES, IDENTITY_TABLES, MAIL_TABLES
from orchestration.defs.resources import WAREHOUSE_POOL, CommstatsConfig


def _raw_specs(
    tables: tuple[str, ...], group: str, deps: list[dg.AssetKey] | None = None
) -> list[dg.AssetSpec]:
    return [
        dg.AssetSpec(
            key=dg.AssetKey(["raw", table]),
            group_name=group,
            deps=deps or [],
            kinds={"duckdb", "python"},
            description=f"raw.{table}: loaded by the {group} extractors.",
        )
        for table in tables
    ]


def _progress_logger(context: dg.AssetExecutionContext, label: str, every: int) -> Callable[[int], None]:
    start = time.monotonic()
    last = [0]

    def report(done: int) -> None:
        if done - last[0] >= every:
            last[0] = done
            rate = done / max(time.monotonic() - start, 1e-6)
            context.log.info(f"{label}: {done:,} done ({rate:,.0f}/s)")

    return report


class SourceFailures(Exception):
    """Raised after every source was tried: one line per failed source."""


def _finish(
    context: dg.AssetExecutionContext,
    tables: tuple[str, ...],
    totals: dict[str, int],
    failures: list[str],
    timings: dict[str, float],
):
    for table in tables:
        yield dg.MaterializeResult(
            asset_key=dg.AssetKey(["raw", table]),
            metadata={
                "dagster/row_count": totals.get(table, 0),
                "sources_seconds": dg.MetadataValue.json(timings),
                "failed_sources": dg.MetadataValue.json(failures),
            },
        )
    if failures:
        raise SourceFailures("\n".join(failures))


@dg.multi_asset(specs=_raw_specs(MAIL_TABLES, "mail"), pool=WAREHOUSE_POOL, can_subset=False)
def mail_lists(context: dg.AssetExecutionContext, commstats: CommstatsConfig):
    """Every mailing list of every project, parsed and loaded (replacing that list's rows)."""
    cfg = commstats.load()
    totals: dict[str, int] = {}
    failures: list[str] = []
    timings: dict[str, float] = {}
    for project_key, project in cfg.projects.items():
        for lst in project.mailing_lists:
            started = time.monotonic()
            label = f"{project_key}/{lst.name}"
            try:
                counts = ingest_mailing_list(
                    cfg.warehouse,
                    project_key,
                    lst,
                    cfg.cache_dir,
                    progress=_progress_logger(context, label, 50_000),
                )
            except Exception as exc:  # one source failing must not stop the others
                failures.append(f"mailing list {label}: {exc}")
                context.log.error(failures[-1])
                continue
            timings[label] = round(time.monotonic() - started, 2)
            context.log.info(f"{label}: {counts}")
            for table, n in counts.items():
                totals[table] = totals.get(table, 0) + n
    yield from _finish(context, MAIL_TABLES, totals, failures, timings)


@dg.multi_asset(specs=_raw_specs(GIT_TABLES, "git"), pool=WAREHOUSE_POOL, can_subset=False)
def git_repositories(context: dg.AssetExecutionContext, commstats: CommstatsConfig):
    """Every repository of every project: in-scope commits, files and trailers (incremental)."""
    cfg = commstats.load()
    totals: dict[str, int] = {}
    failures: list[str] = []
    timings: dict[str, float] = {}
    for project_key, project in cfg.projects.items():
        for repo in project.repositories:
            started = time.monotonic()
            label = f"{project_key}/{repo.name}"
            try:
                counts = ingest_repository(
                    cfg.warehouse,
                    project_key,
                    repo,
                    cfg.cache_dir,
                    since=project.since,
                    until=project.until,
                    progress=_progress_logger(context, label, 20_000),
                )
            except Exception as exc:
                failures.append(f"repository {label}: {exc}")
                context.log.error(failures[-1])
                continue
            timings[label] = round(time.monotonic() - started, 2)
            context.log.info(f"{label}: {counts}")
            for table, n in counts.items():
                if table in GIT_TABLES:
                    totals[table] = totals.get(table, 0) + n
    yield from _finish(context, GIT_TABLES, totals, failures, timings)


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
    counts = ingest_identities(cfg.warehouse, ids.mailmap, ids.aliases, ids.affiliations, ids.gitdm_maps)
    for table in IDENTITY_TABLES:
        yield dg.MaterializeResult(
            asset_key=dg.AssetKey(["raw", table]), metadata={"dagster/row_count": counts.get(table, 0)}
        )


defs = dg.Definitions(assets=[mail_lists, git_repositories, identities])
