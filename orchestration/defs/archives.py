"""Monthly partitions for HTTP-archive lists: re-run one month, or backfill a range, from the UI.

`http_archive_months` is partitioned by list x month ("list" = "<project>/<list>" of every
http-archive list in the config, "month" = monthly from the earliest `since`). Materializing a
partition downloads that month again, even when it is closed and cached (an archive corrected after
the fact, a month whose download failed), then loads the list, so the month's messages are in
raw.mail_* when the run ends. A backfill of a range is one run (BackfillPolicy.single_run): every
month of the range is downloaded first, then each list touched is loaded once.

Rows stay owned per list: the load reads every cached month of the list and replaces the list's
rows in one transaction, exactly as the list's own `mail_lists` partition does, so the two assets
never disagree about a list's rows. A scheduled refresh does not need this asset (the list's
partition fetches the open month and any month not cached yet); it is for people at the UI.
"""

from datetime import date
from typing import Any

import dagster as dg

from core.config import CommunitiesConfig, load_config
from core.partitions import mailing_list
from core.progress import Progress
from extractors.mail.http_archive import Month, refetch_month
from extractors.mail.ingest import ingest_mailing_list
from orchestration.defs.resources import WAREHOUSE_POOL, CommstatsConfig

ASSET_KEY = dg.AssetKey(["http_archive_months"])


def http_list_keys(cfg: CommunitiesConfig) -> list[str]:
    return [
        f"{key}/{lst.name}"
        for key, project in cfg.projects.items()
        for lst in project.mailing_lists
        if lst.kind == "http-archive"
    ]


def month_partitions(cfg: CommunitiesConfig) -> dg.MultiPartitionsDefinition | None:
    """list x month over the config's http-archive lists; None when it has none."""
    keys = http_list_keys(cfg)
    if not keys:
        return None
    starts = [
        lst.since
        for project in cfg.projects.values()
        for lst in project.mailing_lists
        if lst.kind == "http-archive" and lst.since is not None
    ]
    first = min(starts, default=date.today()).replace(day=1)
    return dg.MultiPartitionsDefinition(
        {
            "list": dg.StaticPartitionsDefinition(keys),
            # end_offset=1: the month in progress is a partition too
            "month": dg.MonthlyPartitionsDefinition(start_date=first.isoformat(), end_offset=1),
        }
    )


def _dimensions(key: str) -> tuple[str, str]:
    if isinstance(key, dg.MultiPartitionKey):
        dims = key.keys_by_dimension
        return dims["list"], dims["month"]
    list_key, month_key = key.split("|")  # dimensions in name order: list, month
    return list_key, month_key


def _month(key: str) -> Month:
    day = date.fromisoformat(key)
    return Month(day.year, day.month)


def build_http_archive_months(cfg: CommunitiesConfig) -> dg.AssetsDefinition | None:
    partitions = month_partitions(cfg)
    if partitions is None:
        return None

    @dg.asset(
        key=ASSET_KEY,
        partitions_def=partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        pool=WAREHOUSE_POOL,
        group_name="mail",
        kinds={"python", "duckdb"},
    )
    def http_archive_months(
        context: dg.AssetExecutionContext, commstats: CommstatsConfig
    ) -> dg.MaterializeResult:
        """One month of one HTTP-archive list, downloaded again and loaded with the rest of the list."""
        live = commstats.load()
        months_by_list: dict[str, list[str]] = {}
        for key in context.partition_keys:
            list_key, month_key = _dimensions(key)
            months_by_list.setdefault(list_key, []).append(month_key)
        downloads: dict[str, Any] = {}
        loads: dict[str, Any] = {}
        for list_key, month_keys in sorted(months_by_list.items()):
            project_key, _, lst = mailing_list(live, list_key)
            for month_key in sorted(month_keys):
                try:
                    got = refetch_month(lst, live.cache_dir, _month(month_key))
                except Exception as exc:  # the month's own one-line error (range, HTTP, disk)
                    raise dg.Failure(
                        description=f"http archive {list_key}: {exc}", allow_retries=False
                    ) from None
                label = got.month.label
                size = got.path.stat().st_size if got.path else 0
                downloads[f"{list_key} {label}"] = {"bytes": size, "status": 200 if got.path else 404}
                context.log.info(
                    f"{list_key} {label}: " + (f"{size:,} bytes" if got.path else "no archive (404)")
                )
            progress = Progress(list_key, "messages", context.log.info)
            try:
                counts = ingest_mailing_list(
                    live.warehouse, project_key, lst, live.cache_dir, progress=progress
                )
            except Exception as exc:
                raise dg.Failure(description=f"mailing list {list_key}: {exc}", allow_retries=False) from None
            progress.finish()
            loads[list_key] = counts
            context.log.info(f"{list_key}: {counts}")
        return dg.MaterializeResult(
            metadata={
                "months": dg.MetadataValue.json(downloads),
                "loaded": dg.MetadataValue.json(loads),
                "dagster/row_count": sum(c.get("mail_messages", 0) for c in loads.values()),
            }
        )

    return http_archive_months


# A bad config fails the code location with the config's own one-line message (see partitions.py).
_asset = build_http_archive_months(load_config())
defs = dg.Definitions(assets=[_asset] if _asset is not None else [])
