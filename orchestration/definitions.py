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
    # a run's steps execute in the run's own process, as `commstats run` executes them: the default
    # executor starts a Python process per step, each importing these definitions again (seconds of
    # CPU apiece, more than most steps take), and a refresh's rebuild alone has a dozen steps
    dg.Definitions(resources={"commstats": CommstatsConfig()}, executor=dg.in_process_executor),
)
