"""CSV export asset: per period and per project, people.csv and organizations.csv under
<output_dir>/csv/ (see charts/exports.py for the format)."""

from pathlib import Path

import dagster as dg

from orchestration.defs.charts import ORGANIZATION_ACTIVITY, PERSON_ACTIVITY, query
from orchestration.defs.resources import CommstatsConfig

GRAINS = ("year", "quarter", "month")


class CsvExportConfig(dg.Config):
    # years by default: one directory per year is what a spreadsheet user browses; quarter and
    # month directories (2024-Q1, 2024-03) on request
    grains: list[str] = ["year"]


@dg.asset(
    key=dg.AssetKey(["exports", "csv"]),
    deps=[PERSON_ACTIVITY, ORGANIZATION_ACTIVITY],
    group_name="outputs",
    kinds={"csv"},
    description="people.csv and organizations.csv per period (<output_dir>/csv/<period>/<project>/).",
)
def csv_exports(context: dg.AssetExecutionContext, config: CsvExportConfig, commstats: CommstatsConfig):
    # imported here, not with the definitions: pandas (orchestration/defs/charts.py)
    from charts.exports import export_csvs

    cfg = commstats.load()
    grains = [g for g in config.grains if g in GRAINS]
    if unknown := sorted(set(config.grains) - set(GRAINS)):
        raise dg.Failure(f"csv export: unknown grain(s) {', '.join(unknown)}; expected {', '.join(GRAINS)}")
    projects = list(cfg.projects)
    marks = ", ".join("?" for _ in grains)
    with commstats.read_only() as con:
        people, _ = query(
            con, f"select * from marts.person_activity where grain in ({marks})", grains, projects
        )
        organizations, _ = query(
            con, f"select * from marts.organization_activity where grain in ({marks})", grains, projects
        )
    out = Path(cfg.output_dir) / "csv"
    files = export_csvs(people, organizations, out, grains)
    context.log.info(f"wrote {len(files)} CSV files under {out}")
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(out)),
            "files": len(files),
            "periods": len({f.parent.parent.name for f in files}),
            "dagster/row_count": len(people) + len(organizations),
        }
    )


defs = dg.Definitions(assets=[csv_exports])
