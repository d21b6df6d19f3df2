"""The refresh job (every asset) and its daily schedule, stopped until a user turns it on."""

import os

import dagster as dg

refresh_job = dg.define_asset_job(
    "refresh",
    selection=dg.AssetSelection.all(),
    description=("Extract what is new from every source, rebuild the marts, redraw the charts."),
)

refresh_schedule = dg.ScheduleDefinition(
    name="daily_refresh",
    job=refresh_job,
    cron_schedule=os.environ.get("COMMSTATS_REFRESH_CRON", "0 3 * * *"),
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.STOPPED,
)

defs = dg.Definitions(jobs=[refresh_job], schedules=[refresh_schedule])
