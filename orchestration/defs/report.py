"""The HTML report asset: <output_dir>/report.html, rebuilt after the charts of every refresh."""

from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

from orchestration.defs.charts import (
    CHARTS,
    COMMUNITY_HEALTH,
    ORGANIZATION_ACTIVITY,
    PERSON_ACTIVITY,
    chart_key,
    chart_path,
    query,
)
from orchestration.defs.resources import CommstatsConfig

DATA_QUALITY = dg.AssetKey(["marts", "data_quality"])
UNAFFILIATED = dg.AssetKey(["marts", "unaffiliated_addresses"])
TOP_N = 10


def project_sources(project) -> list[str]:
    lists = [f"list {m.name}" for m in project.mailing_lists]
    repos = [f"git {r.name}" + (f" ({', '.join(r.paths)})" if r.paths else "") for r in project.repositories]
    return lists + repos


@dg.asset(
    key=dg.AssetKey(["report", "html"]),
    deps=[
        *(chart_key(name) for name in CHARTS),
        PERSON_ACTIVITY,
        ORGANIZATION_ACTIVITY,
        COMMUNITY_HEALTH,
        DATA_QUALITY,
        UNAFFILIATED,
    ],
    group_name="outputs",
    kinds={"html"},
    description="One self-contained HTML page: every chart, top people and organizations per year, "
    "data range, data quality (<output_dir>/report.html).",
)
def report_html(context: dg.AssetExecutionContext, commstats: CommstatsConfig):
    # imported here, not with the definitions: pandas and matplotlib (orchestration/defs/charts.py)
    from charts.report import ChartImage, ProjectInfo, build_report, top_rows
    from charts.style import data_range

    cfg = commstats.load()
    projects = list(cfg.projects)
    with commstats.read_only() as con:
        people, _ = query(con, "select * from marts.person_activity where grain = 'year'", [], projects)
        organizations, _ = query(
            con, "select * from marts.organization_activity where grain = 'year'", [], projects
        )
        ranges, _ = query(
            con,
            "select project, min(period_start) as first, max(period_start) as last "
            "from marts.community_health where grain = 'month' group by project",
            [],
            projects,
        )
        quality, quality_missing = query(con, "select * from marts.data_quality order by all", [], projects)
        unaffiliated, _ = query(
            con,
            "select * from marts.unaffiliated_addresses order by activity_rank limit 20",
            [],
            projects,
        )
    charts = []
    for name, (title, description) in CHARTS.items():
        path = chart_path(cfg, name)
        if path.exists():
            charts.append(ChartImage(key=name, title=title, png=path.read_bytes(), description=description))
        else:
            context.log.warning(f"chart {name} not drawn yet ({path}); left out of the report")
    html = build_report(
        projects=[ProjectInfo(key, p.title or key, project_sources(p)) for key, p in cfg.projects.items()],
        charts=charts,
        top_people=top_rows(people, TOP_N),
        top_organizations=top_rows(organizations, TOP_N),
        generated_at=datetime.now(UTC),
        data_ranges={r.project: data_range([r.first, r.last], "month") for r in ranges.itertuples()},
        data_quality=None if quality_missing else quality,
        unaffiliated=unaffiliated if not unaffiliated.empty else None,
        notes=[
            f"CSV exports: {Path(cfg.output_dir) / 'csv'}/<period>/<project>/people.csv, organizations.csv"
        ],
    )
    out = Path(cfg.output_dir) / "report.html"
    out.parent.mkdir(parents=True, exist_ok=True)
    # write then rename: a browser or a mail job never reads half a page
    tmp = out.with_suffix(".html.tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(out)
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(out)),
            "charts": len(charts),
            "bytes": len(html.encode()),
            "dagster/row_count": len(people) + len(organizations),
        }
    )


defs = dg.Definitions(assets=[report_html])
