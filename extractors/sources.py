"""One source of the config, by its partition key, loaded into the config's warehouse: what a
Dagster ingest run does, and what the benchmarks replay without Dagster."""

from __future__ import annotations

from typing import Literal

from core.config import CommunitiesConfig
from core.partitions import mailing_list, repository
from core.progress import Progress
from extractors.git.ingest import ingest_repository
from extractors.mail.ingest import ingest_mailing_list


def ingest_source(
    cfg: CommunitiesConfig,
    kind: Literal["mail", "git"],
    key: str,
    *,
    progress: Progress | None = None,
    workers: int | None = None,
) -> dict[str, int]:
    """Load the list or repository `key` ("<project>/<name>"); the rows written per raw table.
    `workers`: None lets the extractors choose (what one load at a time gets)."""
    if kind == "mail":
        project_key, _, lst = mailing_list(cfg, key)
        return ingest_mailing_list(
            cfg.warehouse, project_key, lst, cfg.cache_dir, progress=progress, workers=workers
        )
    project_key, project, repo = repository(cfg, key)
    return ingest_repository(
        cfg.warehouse,
        project_key,
        repo,
        cfg.cache_dir,
        since=project.since,
        until=project.until,
        progress=progress,
        workers=workers,
    )
