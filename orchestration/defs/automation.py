"""Scheduled refresh: the `daily_refresh` schedule, the jobs it leads to, and the sensor between them.

A refresh is several runs, not one: one run per source partition of `ingest_mail` and `ingest_git`
(the two have different partitions, so no single job holds both), then one run of `rebuild`
(identities, dbt models, charts, published copy) once every source has finished. A Dagster schedule
launches runs of one job only, so the schedule launches the small `refresh` job and the
`refresh_stages` sensor takes it from there:

1. a successful `refresh` run -> one ingest run per source, tagged with the refresh run's id;
2. when all of them have finished (failed sources included: their previous rows are intact) ->
   one `rebuild` run, unless nothing the build reads has changed since the last full build
   (orchestration.buildstate: the fingerprint stored by `commstats run` or the rebuild's
   `build_record` step); the refresh then ends there and the sensor says so in its tick.

Run keys make each request happen once, however often the sensor ticks. Sources only extract what
is new (git by reachable SHAs, public-inbox/nntp by cursors, closed HTTP-archive months cached).
"""

import json
import os

import dagster as dg

from core.config import load_config
from orchestration.buildstate import nothing_new
from orchestration.defs.archives import ASSET_KEY as ARCHIVE_MONTHS
from orchestration.defs.ingest import git_repositories, mail_lists
from orchestration.defs.partitions import GIT_PARTITIONS, MAIL_PARTITIONS
from orchestration.instance import instance_dir
from orchestration.refresh import REFRESH_TAG, RefreshRuns, plan_requests

ingest_mail_job = dg.define_asset_job(
    "ingest_mail",
    selection=dg.AssetSelection.assets(mail_lists),
    partitions_def=MAIL_PARTITIONS,
    description="Load one mailing list (partition <project>/<list>).",
)
ingest_git_job = dg.define_asset_job(
    "ingest_git",
    selection=dg.AssetSelection.assets(git_repositories),
    partitions_def=GIT_PARTITIONS,
    description="Load what is new in one repository (partition <project>/<repository>).",
)
rebuild_job = dg.define_asset_job(
    "rebuild",
    # http_archive_months (when the config has HTTP archives) is left out: it is per month, for
    # re-running or backfilling months by hand
    selection=dg.AssetSelection.all()
    - dg.AssetSelection.assets(mail_lists, git_repositories)
    - dg.AssetSelection.key_prefixes(ARCHIVE_MONTHS.path),
    description="Identities, dbt models and tests, charts and the published read-only copy.",
)


@dg.op(description="Start a refresh: the refresh_stages sensor launches one ingest run per source.")
def start_refresh(context: dg.OpExecutionContext) -> None:
    sources = [*MAIL_PARTITIONS.get_partition_keys(), *GIT_PARTITIONS.get_partition_keys()]
    context.log.info(f"refresh {context.run_id}: {len(sources)} sources: {', '.join(sources)}")


@dg.job(
    name="refresh",
    description="Extract what is new from every source, then rebuild the marts and charts.",
)
def refresh_job() -> None:
    start_refresh()


daily_refresh = dg.ScheduleDefinition(
    name="daily_refresh",
    job=refresh_job,
    cron_schedule=os.environ.get("COMMSTATS_REFRESH_CRON", "0 3 * * *"),
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.STOPPED,
)


@dg.sensor(
    name="refresh_stages",
    jobs=[ingest_mail_job, ingest_git_job, rebuild_job],
    minimum_interval_seconds=int(os.environ.get("COMMSTATS_REFRESH_SENSOR_SECONDS", "30")),
    # it only acts on runs of the `refresh` job, so running by default costs nothing
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Fans a refresh run out into one run per source, then one rebuild run.",
)
def refresh_stages(context: dg.SensorEvaluationContext):
    instance = context.instance
    kickoffs = instance.get_runs(
        filters=dg.RunsFilter(job_name="refresh", statuses=[dg.DagsterRunStatus.SUCCESS]), limit=5
    )
    refreshes = []
    for kickoff in kickoffs:
        stages = instance.get_runs(filters=dg.RunsFilter(tags={REFRESH_TAG: kickoff.run_id}))
        refreshes.append(
            RefreshRuns(
                refresh_id=kickoff.run_id,
                stage_keys={(r.job_name, r.tags.get("dagster/partition", "")) for r in stages},
                unfinished=sum(1 for r in stages if not r.is_finished),
            )
        )
    finished: list[str] = json.loads(context.cursor) if context.cursor else []
    requests = plan_requests(
        refreshes, MAIL_PARTITIONS.get_partition_keys(), GIT_PARTITIONS.get_partition_keys(), finished
    )
    skipped = []
    if any(r.job == "rebuild" for r in requests) and _nothing_new():
        skipped = [r.tags[REFRESH_TAG] for r in requests if r.job == "rebuild"]
        requests = [r for r in requests if r.job != "rebuild"]
        context.update_cursor(json.dumps((finished + skipped)[-50:]))
    if not requests:
        if skipped:
            return dg.SkipReason(
                f"refresh {', '.join(skipped)}: nothing new since the last build, rebuild skipped"
            )
        return dg.SkipReason("no refresh waiting for its next stage")
    return [
        dg.RunRequest(run_key=r.run_key, job_name=r.job, partition_key=r.partition, tags=r.tags)
        for r in requests
    ]


def _nothing_new() -> bool:
    cfg = load_config()
    return nothing_new(cfg, instance_dir(cfg))


defs = dg.Definitions(
    jobs=[ingest_mail_job, ingest_git_job, rebuild_job, refresh_job],
    schedules=[daily_refresh],
    sensors=[refresh_stages],
)
