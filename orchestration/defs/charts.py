"""Chart assets: read the marts read-only, draw with charts/, save a PNG under <output_dir>/charts/
and attach a preview to the materialization so the chart shows in the UI.

The assets are made from one table, CHART_SPECS: each chart's drawing function, the rows it reads,
the marts it depends on and its description. Each asset names the marts it reads as deps, so
lineage runs marts -> charts. A mart or column the
warehouse does not have yet (an older warehouse, or a model still to come) gives the chart's
"no data" figure naming what is missing, never a failed run.

Every Dagster run process loads these definitions, and most of them draw nothing: matplotlib,
seaborn and pandas (about 0.8 s of a load) are imported by the steps that draw, not here.
"""

import base64
import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import dagster as dg
import duckdb

from charts.titles import TITLES
from core.config import CommunitiesConfig
from orchestration.defs.resources import CommstatsConfig

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure

GROUP = "charts"
COMMUNITY_HEALTH = dg.AssetKey(["marts", "community_health"])
ORGANIZATION_ACTIVITY = dg.AssetKey(["marts", "organization_activity"])
PERSON_ACTIVITY = dg.AssetKey(["marts", "person_activity"])
REVIEW_EXCHANGE = dg.AssetKey(["marts", "review_exchange"])
# per-patch acts with the submitter's organization: the per-organization reply times until a mart
# carries them (see reply_times_by_organization)
ACTIVITY_EVENTS = dg.AssetKey(["intermediate", "int_activity_events"])

MISSING = (duckdb.CatalogException, duckdb.BinderException)


def chart_key(name: str) -> dg.AssetKey:
    return dg.AssetKey(["charts", name])


def chart_path(cfg: CommunitiesConfig, name: str) -> Path:
    return Path(cfg.output_dir) / "charts" / f"{name}.png"


def sources_text(cfg: CommunitiesConfig) -> str:
    """'mailing lists kvm, vmcore-devel; git minikernel (virt/, ...), vmcore' for the caption."""
    lists = sorted({m.name for p in cfg.projects.values() for m in p.mailing_lists})
    repos = sorted(
        {
            f"{r.name} ({', '.join(r.paths)})" if r.paths else r.name
            for p in cfg.projects.values()
            for r in p.repositories
        }
    )
    parts = []
    if lists:
        parts.append("mailing lists " + ", ".join(lists))
    if repos:
        parts.append("git " + ", ".join(repos))
    return "; ".join(parts) or "none configured"


def columns_of(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> set[str]:
    rows = con.execute(
        "select column_name from information_schema.columns where table_schema = ? and table_name = ?",
        [schema, table],
    ).fetchall()
    return {r[0] for r in rows}


def query(
    con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[object], projects: Sequence[str]
) -> "tuple[pd.DataFrame, str | None]":
    """The rows of `sql` for the configured projects, or an empty frame and the reason when the
    warehouse lacks the table or a column (e.g. a mart from a newer model version)."""
    # without this DuckDB resolves a missing table by a Python variable of the same name in the
    # calling frames (a "replacement scan"), e.g. the module charts.review_exchange
    con.execute("set python_enable_replacements = false")
    try:
        df = con.execute(sql, list(params)).df()
    except MISSING as exc:
        # DuckDB's first line names the table or column, e.g. "Catalog Error: Table with name
        # review_exchange does not exist!"; the figure shows it as the reason
        detail = str(exc).splitlines()[0].split(": ", 1)[-1]
        import pandas as pd

        return pd.DataFrame(), f"Not in this warehouse yet (rebuild the marts):\n{detail[:100]}"
    if "project" in df.columns:
        df = df[df["project"].isin(projects)].reset_index(drop=True)
    return df, None


def _preview(path: Path) -> dg.MetadataValue:
    data = base64.b64encode(path.read_bytes()).decode()
    return dg.MetadataValue.md(f"![{path.stem}](data:image/png;base64,{data})")


HEALTH_SQL = "select * from marts.community_health where grain = ? order by project, period_start"
ORG_SQL = (
    "select * from marts.organization_activity where grain = ? order by project, period_start, organization"
)
EXCHANGE_SQL = "select * from marts.review_exchange where grain = ? order by project, period_start"


@dataclass(frozen=True)
class Rows:
    """What a chart draws: its frame (whose periods make the caption and whose length is the row
    count), why it is empty, the grain of its periods, and what else its drawing function takes."""

    frame: "pd.DataFrame"
    reason: str | None = None
    grain: str = "year"
    extra: dict[str, Any] = field(default_factory=dict)
    note: str | None = None  # logged: e.g. which table a figure fell back on


Reader = Callable[[duckdb.DuckDBPyConnection, list[str]], Rows]


def rows(sql: str, grain: str = "year") -> Reader:
    """A reader of one query whose one parameter is the grain."""

    def read(con: duckdb.DuckDBPyConnection, projects: list[str]) -> Rows:
        frame, reason = query(con, sql, [grain], projects)
        return Rows(frame, reason, grain)

    return read


def cumulative_frame(
    con: duckdb.DuckDBPyConnection, projects: Sequence[str]
) -> "tuple[pd.DataFrame, str | None, str]":
    """Running totals per project: the `cumulative` grain of marts.community_health (one row per
    year, covering everything from the project's first act through the end of that year) when the
    warehouse has it, else summed from marts.person_activity at month grain with the same
    definitions (commits and lines add up, contributors are the distinct commit authors so far).
    Returns the frame, the reason when there is nothing, and the grain of its rows."""
    from charts import cumulative_growth

    health, reason = query(
        con,
        "select project, period_start, commits, lines_changed, submitters as contributors "
        "from marts.community_health where grain = 'cumulative' order by project, period_start",
        [],
        projects,
    )
    if not health.empty:
        health["as_of"] = cumulative_growth.period_end(health["period_start"], "year")
        return health, None, "year"
    activity, reason = query(
        con,
        "select project, period_start, person_id, commits, lines_changed from marts.person_activity "
        "where grain = 'month'",
        [],
        projects,
    )
    return cumulative_growth.running_totals(activity, "month"), reason, "month"


def cumulative_rows(con: duckdb.DuckDBPyConnection, projects: list[str]) -> Rows:
    frame, reason, grain = cumulative_frame(con, projects)
    return Rows(frame, reason, grain)


def reply_times_by_organization(
    con: duckdb.DuckDBPyConnection, projects: Sequence[str]
) -> "tuple[pd.DataFrame, str | None]":
    """Median hours to first reply per (project, submitter organization) over all periods: the
    all-time (latest `cumulative`) row of marts.organization_activity when that mart carries the
    column, else the median over the patch_posted acts of intermediate.int_activity_events (each
    patch with the organization of its sender on the day it was posted -- the acts the marts
    compute their own medians from)."""
    if "median_hours_to_first_reply" in columns_of(con, "marts", "organization_activity"):
        return query(
            con,
            "select project, organization, median_hours_to_first_reply, patches_posted as patches "
            "from marts.organization_activity where grain = 'cumulative' "
            "qualify period_start = max(period_start) over (partition by project)",
            [],
            projects,
        )
    return query(
        con,
        "select project, organization, median(hours_to_first_reply) as median_hours_to_first_reply, "
        "count(*) as patches from intermediate.int_activity_events "
        "where event = 'patch_posted' and not is_bot group by project, organization",
        [],
        projects,
    )


def responsiveness_rows(con: duckdb.DuckDBPyConnection, projects: list[str]) -> Rows:
    health, reason = query(con, HEALTH_SQL, ["year"], projects)
    activity, _ = query(con, ORG_SQL, ["year"], projects)
    by_org, org_reason = reply_times_by_organization(con, projects)
    from charts import responsiveness

    insiders = responsiveness.insider_organizations(activity)
    return Rows(health, reason, extra={"by_organization": by_org, "insiders": insiders}, note=org_reason)


class ChartConfig(dg.Config):
    """Launch-time options of a chart (none unless a chart's spec names a subclass)."""

    def draw_options(self) -> dict[str, Any]:
        return {}


class CommitShareConfig(ChartConfig):
    kind: str = "bar"  # "bar" (100 % stacked bar per year) or "pie" (one pie per year)
    top_n: int = 6

    def draw_options(self) -> dict[str, Any]:
        return {"kind": "pie" if self.kind == "pie" else "bar", "top_n": self.top_n}


@dataclass(frozen=True)
class ChartSpec:
    """One chart asset: `draw(frame, caption=..., no_data_reason=..., **options, **extra)` is the
    function `name` of the module charts/<name>.py, `read` the rows it draws from the marts listed
    in `deps`."""

    name: str
    read: Reader
    deps: tuple[dg.AssetKey, ...]
    no_data: str  # the "no data" figure's text when the marts have no rows for it
    description: str
    options: dict[str, Any] = field(default_factory=dict)
    config: type[ChartConfig] = ChartConfig

    @property
    def title(self) -> str:
        return TITLES[self.name]

    @property
    def draw(self) -> "Callable[..., Figure]":
        return getattr(importlib.import_module(f"charts.{self.name}"), self.name)


# the report lists the charts in this order
CHART_SPECS: list[ChartSpec] = [
    ChartSpec(
        "correspondents_vs_submitters",
        rows(HEALTH_SQL),
        (COMMUNITY_HEALTH,),
        "No data",
        "People who wrote to the list vs. people who authored commits, per year, with their ratio.",
    ),
    ChartSpec(
        "organization_commit_share",
        rows(ORG_SQL),
        (ORGANIZATION_ACTIVITY,),
        "No commits",
        "Each organization's share of the year's commits: the top organizations and the rest.",
        config=CommitShareConfig,
    ),
    ChartSpec(
        "cumulative_growth",
        cumulative_rows,
        (COMMUNITY_HEALTH, PERSON_ACTIVITY),
        "No commits",
        "Running totals of commits, lines changed and distinct commit authors, projects compared.",
    ),
    ChartSpec(
        "lines_by_organization",
        rows(ORG_SQL, "quarter"),
        (ORGANIZATION_ACTIVITY,),
        "No lines changed",
        "Lines added plus removed per quarter, stacked by organization.",
        options={"period": "quarter"},
    ),
    ChartSpec(
        "acks_reviews_by_organization",
        rows(ORG_SQL),
        (ORGANIZATION_ACTIVITY,),
        "No acks or reviews",
        "Acked-by and Reviewed-by lines each organization gave and received over the whole range.",
    ),
    ChartSpec(
        "review_exchange",
        rows(EXCHANGE_SQL),
        (REVIEW_EXCHANGE,),
        "No acks or reviews",
        "Which organizations review (ack) whose patches: reviewer organization x author organization.",
    ),
    ChartSpec(
        "responsiveness",
        responsiveness_rows,
        (COMMUNITY_HEALTH, ORGANIZATION_ACTIVITY, ACTIVITY_EVENTS),
        "No patch reply figures in the marts yet",
        "How fast patches get a first reply, by the submitter's organization (insiders employ a "
        "maintainer), and the share of patches left unanswered, per year.",
    ),
    ChartSpec(
        "organizational_diversity",
        rows(HEALTH_SQL),
        (COMMUNITY_HEALTH,),
        "No commits",
        "Elephant factor and Herfindahl-Hirschman index of commit shares per year.",
    ),
]

# chart name -> (title, what it shows), in the report's order
CHARTS: dict[str, tuple[str, str]] = {s.name: (s.title, s.description) for s in CHART_SPECS}


def draw_chart(spec: ChartSpec, got: Rows, caption: str, config: ChartConfig | None = None) -> "Figure":
    options = {**spec.options, **(config or spec.config()).draw_options(), **got.extra}
    return spec.draw(got.frame, caption=caption, no_data_reason=got.reason or spec.no_data, **options)


def chart_asset(spec: ChartSpec) -> dg.AssetsDefinition:
    """The asset of one chart: read its rows, draw with the caption built from their periods, save
    the PNG, and report path, preview and row count."""

    @dg.asset(
        key=chart_key(spec.name),
        deps=list(spec.deps),
        group_name=GROUP,
        kinds={"seaborn"},
        description=f"{spec.title} (PNG): {spec.description}",
    )
    def chart(
        context: dg.AssetExecutionContext, config: spec.config, commstats: CommstatsConfig
    ) -> dg.MaterializeResult:
        cfg = commstats.load()
        with commstats.read_only() as con:
            got = spec.read(con, list(cfg.projects))
        if got.note:
            context.log.info(got.note)
        periods = got.frame["period_start"] if "period_start" in got.frame.columns else []
        from charts.style import caption_text, data_range, is_no_data, save_png

        caption = caption_text(data_range(periods, got.grain), sources_text(cfg))
        fig = draw_chart(spec, got, caption, config)
        empty = is_no_data(fig)
        out = save_png(fig, chart_path(cfg, spec.name))
        if empty:
            context.log.info(f"{spec.name}: no data, drew the 'no data' figure")
        return dg.MaterializeResult(
            metadata={
                "path": dg.MetadataValue.path(str(out)),
                "preview": _preview(out),
                "dagster/row_count": len(got.frame),
                "no_data": empty,
                "caption": caption,
            }
        )

    return chart


CHART_ASSETS = [chart_asset(spec) for spec in CHART_SPECS]

defs = dg.Definitions(assets=CHART_ASSETS)
