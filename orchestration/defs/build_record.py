"""The record that a full rebuild finished: the fingerprint a scheduled refresh compares against.

A scheduled refresh with nothing new must not rebuild every mart (the rebuild is most of a
refresh's cost). The last step of the `rebuild` job stores the fingerprint of what the build was
made from (raw rows, config and identity files, model and chart code; orchestration.buildstate), the
same record `commstats run` keeps; the refresh sensor requests a rebuild only when the fingerprint
has changed since. Only the `rebuild` job records it: a partial materialization from the UI does
not make every output current.
"""

import dagster as dg

from orchestration.buildstate import record_build
from orchestration.defs.charts import CHART_ASSETS
from orchestration.defs.exports import csv_exports
from orchestration.defs.publish import published_copy
from orchestration.defs.report import report_html
from orchestration.defs.resources import CommstatsConfig
from orchestration.instance import instance_dir

REBUILD_JOB = "rebuild"


@dg.asset(
    key=dg.AssetKey(["warehouse", "build_record"]),
    deps=[published_copy, report_html, csv_exports, *CHART_ASSETS],
    group_name="publish",
    kinds={"python"},
)
def build_record(context: dg.AssetExecutionContext, commstats: CommstatsConfig) -> dg.MaterializeResult:
    """Fingerprint of what the last full rebuild was made from (see orchestration.buildstate)."""
    cfg = commstats.load()
    if context.job_name != REBUILD_JOB:
        context.log.info(f"not recorded: only the '{REBUILD_JOB}' job rebuilds every output")
        return dg.MaterializeResult(metadata={"recorded": False})
    value = record_build(cfg, instance_dir(cfg))
    if value is None:
        return dg.MaterializeResult(metadata={"recorded": False})
    return dg.MaterializeResult(metadata={"recorded": True, "fingerprint": value})


defs = dg.Definitions(assets=[build_record])
