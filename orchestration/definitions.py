"""The one code location: every module of defs/ contributes its own `defs`."""

import dagster as dg

from orchestration.defs import (
    archives,
    automation,
    build_record,
    charts,
    checks,
    exports,
    ingest,
    publish,
    report,
    transform,
)
from orchestration.defs.resources import CommstatsConfig

defs = dg.Definitions.merge(
    ingest.defs,
    archives.defs,
    transform.defs,
    charts.defs,
    report.defs,
    exports.defs,
    checks.defs,
    automation.defs,
    publish.defs,
    build_record.defs,
    dg.Definitions(resources={"commstats": CommstatsConfig()}),
)
