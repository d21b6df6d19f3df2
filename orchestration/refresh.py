"""The stages of a scheduled refresh, as a pure function the refresh sensor calls each tick."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field

REFRESH_TAG = "commstats/refresh"  # on every run a refresh launched: the id of its `refresh` run


@dataclass(frozen=True)
class RefreshRuns:
    """What exists of one refresh: its runs as (job, partition) and how many are unfinished."""

    refresh_id: str
    stage_keys: set[tuple[str, str]] = field(default_factory=set)
    unfinished: int = 0


@dataclass(frozen=True)
class Request:
    job: str
    partition: str | None
    run_key: str
    tags: dict[str, str]


def plan_requests(
    refreshes: Iterable[RefreshRuns],
    mail_keys: Sequence[str],
    git_keys: Sequence[str],
    finished: Collection[str] = (),
) -> list[Request]:
    """The runs to request now: missing ingest runs, or the rebuild once every ingest run finished.

    `finished` holds refreshes that ended without a rebuild (nothing new since the last one).
    """
    wanted = [("ingest_mail", k) for k in mail_keys] + [("ingest_git", k) for k in git_keys]
    requests: list[Request] = []
    for refresh in refreshes:
        if ("rebuild", "") in refresh.stage_keys or refresh.refresh_id in finished:
            continue  # done (or rebuilding): a source added to the config since waits for the next one
        tags = {REFRESH_TAG: refresh.refresh_id}
        missing = [(job, key) for job, key in wanted if (job, key) not in refresh.stage_keys]
        if missing:
            requests += [Request(job, key, f"{refresh.refresh_id}:{job}:{key}", tags) for job, key in missing]
        elif refresh.unfinished == 0:
            requests.append(Request("rebuild", None, f"{refresh.refresh_id}:rebuild", tags))
    return requests
