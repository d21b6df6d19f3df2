"""Chart assets: read the marts read-only, draw with charts/, save a PNG under <output_dir>/charts/
and attach a preview to the materialization so the chart shows in the UI.

Each asset names the marts it reads as deps, so lineage runs marts -> charts. A mart or column the
warehouse does not have yet (an older warehouse, or a model still to come) gives the chart's
"no data" figure naming what is missing, never a failed run.
"""

import base64
from collections.abc import Callable, Sequence
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
from matplotlib.figure import Figure

from charts import (
    acks_reviews_by_organization,
    correspondents_vs_submitters,
    cumulative_growth,
    lines_by_organization,
    organization_commit_share,
    organizational_diversity,
    responsiveness,
    review_exchange,
)
from charts.style import caption_text, data_range, is_no_data, save_png
from core.config import CommunitiesConfig
from orchestration.defs.resources import CommstatsConfig

GROUP = "charts"
COMMUNITY_HEALTH = dg.AssetKey(["marts", "community_health"])
ORGANIZATION_ACTIVITY = dg.AssetKey(["marts", "organization_activity"])
PERSON_ACTIVITY = dg.AssetKey(["marts", "person_activity"])
REVIEW_EXCHANGE = dg.AssetKey(["marts", "review_exchange"])
# per-patch acts with the submitter's organization: the per-organization reply times until a mart
# carries them (see reply_times_by_organization)
ACTIVITY_EVENTS = dg.AssetKey(["intermediate", "int_activity_events"])

# chart name -> (title, what it shows): the report lists the charts in this order
CHARTS: dict[str, tuple[str, str]] = {
    "correspondents_vs_submitters": (
        correspondents_vs_submitters.TITLE,
        "People who wrote to the list vs. people who authored commits, per year, with their ratio.",
    ),
    "organization_commit_share": (
        organization_commit_share.TITLE,
        "Each organization's share of the year's commits: the top organizations and the rest.",
    ),
    "cumulative_growth": (
        cumulative_growth.TITLE,
        "Running totals of commits, lines changed and distinct commit authors, projects compared.",
    ),
    "lines_by_organization": (
        lines_by_organization.TITLE,
        "Lines added plus removed per quarter, stacked by organization.",
    ),
    "acks_reviews_by_organization": (
        acks_reviews_by_organization.TITLE,
        "Acked-by and Reviewed-by lines each organization gave and received over the whole range.",
    ),
    "review_exchange": (
        review_exchange.TITLE,
        "Which organizations review (ack) whose patches: reviewer organization x author organization.",
    ),
    "responsiveness": (
        responsiveness.TITLE,
        "How fast patches get a first reply, by the submitter's organization (insiders employ a "
        "maintainer), and the share of patches left unanswered, per year.",
    ),
    "organizational_diversity": (
        organizational_diversity.TITLE,
        "Elephant factor and Herfindahl-Hirschman index of commit shares per year.",
    ),
}

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
) -> tuple[pd.DataFrame, str | None]:
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
        return pd.DataFrame(), f"Not in this warehouse yet (rebuild the marts):\n{detail[:100]}"
    if "project" in df.columns:
        df = df[df["project"].isin(projects)].reset_index(drop=True)
    return df, None


def _preview(path: Path) -> dg.MetadataValue:
    data = base64.b64encode(path.read_bytes()).decode()
    return dg.MetadataValue.md(f"![{path.stem}](data:image/png;base64,{data})")


def render(
    context: dg.AssetExecutionContext,
    cfg: CommunitiesConfig,
    name: str,
    draw: Callable[[str], Figure],
    frame: pd.DataFrame,
    grain: str = "year",
) -> dg.MaterializeResult:
    """Draw (with the caption built from `frame`'s periods), save, and report path, preview, rows."""
    periods = frame["period_start"] if "period_start" in frame.columns else []
    caption = caption_text(data_range(periods, grain), sources_text(cfg))
    fig = draw(caption)
    empty = is_no_data(fig)
    out = save_png(fig, chart_path(cfg, name))
    if empty:
        context.log.info(f"{name}: no data, drew the 'no data' figure")
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(out)),
            "preview": _preview(out),
            "dagster/row_count": len(frame),
            "no_data": empty,
            "caption": caption,
        }
    )


def _chart_asset(name: str, deps: Sequence[dg.AssetKey]):
    title, description = CHARTS[name]
    return dg.asset(
        key=chart_key(name),
        deps=list(deps),
        group_name=GROUP,
        kinds={"seaborn"},
        description=f"{title} (PNG): {description}",
    )


HEALTH_SQL = "select * from marts.community_health where grain = ? order by project, period_start"
ORG_SQL = (
    "select * from marts.organization_activity where grain = ? order by project, period_start, organization"
)


@_chart_asset("correspondents_vs_submitters", [COMMUNITY_HEALTH])
def correspondents_vs_submitters_chart(context: dg.AssetExecutionContext, commstats: CommstatsConfig):
    cfg = commstats.load()
    with commstats.read_only() as con:
        health, reason = query(con, HEALTH_SQL, ["year"], list(cfg.projects))
    return render(
        context,
        cfg,
        "correspondents_vs_submitters",
        lambda cap: correspondents_vs_submitters.correspondents_vs_submitters(
            health, cap, reason or "No data"
        ),
        health,
    )


class CommitShareConfig(dg.Config):
    kind: str = "bar"  # "bar" (100 % stacked bar per year) or "pie" (one pie per year)
    top_n: int = 6


@_chart_asset("organization_commit_share", [ORGANIZATION_ACTIVITY])
def organization_commit_share_chart(
    context: dg.AssetExecutionContext, config: CommitShareConfig, commstats: CommstatsConfig
):
    cfg = commstats.load()
    with commstats.read_only() as con:
        activity, reason = query(con, ORG_SQL, ["year"], list(cfg.projects))
    kind = "pie" if config.kind == "pie" else "bar"
    return render(
        context,
        cfg,
        "organization_commit_share",
        lambda cap: organization_commit_share.organization_commit_share(
            activity, cap, top_n=config.top_n, kind=kind, no_data_reason=reason or "No commits"
        ),
        activity,
    )


def cumulative_frame(
    con: duckdb.DuckDBPyConnection, projects: Sequence[str]
) -> tuple[pd.DataFrame, str | None, str]:
    """Running totals per project: the `cumulative` grain of marts.community_health (one row per
    year, covering everything from the project's first act through the end of that year) when the
    warehouse has it, else summed from marts.person_activity at month grain with the same
    definitions (commits and lines add up, contributors are the distinct commit authors so far).
    Returns the frame, the reason when there is nothing, and the grain of its rows."""
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


@_chart_asset("cumulative_growth", [COMMUNITY_HEALTH, PERSON_ACTIVITY])
def cumulative_growth_chart(context: dg.AssetExecutionContext, commstats: CommstatsConfig):
    cfg = commstats.load()
    with commstats.read_only() as con:
        frame, reason, grain = cumulative_frame(con, list(cfg.projects))
    return render(
        context,
        cfg,
        "cumulative_growth",
        lambda cap: cumulative_growth.cumulative_growth(frame, cap, reason or "No commits"),
        frame,
        grain=grain,
    )


@_chart_asset("lines_by_organization", [ORGANIZATION_ACTIVITY])
def lines_by_organization_chart(context: dg.AssetExecutionContext, commstats: CommstatsConfig):
    cfg = commstats.load()
    with commstats.read_only() as con:
        activity, reason = query(con, ORG_SQL, ["quarter"], list(cfg.projects))
    return render(
        context,
        cfg,
        "lines_by_organization",
        lambda cap: lines_by_organization.lines_by_organization(
            activity, cap, period="quarter", no_data_reason=reason or "No lines changed"
        ),
        activity,
        grain="quarter",
    )


@_chart_asset("acks_reviews_by_organization", [ORGANIZATION_ACTIVITY])
def acks_reviews_by_organization_chart(context: dg.AssetExecutionContext, commstats: CommstatsConfig):
    cfg = commstats.load()
    with commstats.read_only() as con:
        activity, reason = query(con, ORG_SQL, ["year"], list(cfg.projects))
    return render(
        context,
        cfg,
        "acks_reviews_by_organization",
        lambda cap: acks_reviews_by_organization.acks_reviews_by_organization(
            activity, cap, no_data_reason=reason or "No acks or reviews"
        ),
        activity,
    )


@_chart_asset("review_exchange", [REVIEW_EXCHANGE])
def review_exchange_chart(context: dg.AssetExecutionContext, commstats: CommstatsConfig):
    cfg = commstats.load()
    with commstats.read_only() as con:
        exchange, reason = query(
            con,
            "select * from marts.review_exchange where grain = ? order by project, period_start",
            ["year"],
            list(cfg.projects),
        )
    return render(
        context,
        cfg,
        "review_exchange",
        lambda cap: review_exchange.review_exchange(
            exchange, cap, no_data_reason=reason or "No acks or reviews"
        ),
        exchange,
    )


def reply_times_by_organization(
    con: duckdb.DuckDBPyConnection, projects: Sequence[str]
) -> tuple[pd.DataFrame, str | None]:
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


@_chart_asset("responsiveness", [COMMUNITY_HEALTH, ORGANIZATION_ACTIVITY, ACTIVITY_EVENTS])
def responsiveness_chart(context: dg.AssetExecutionContext, commstats: CommstatsConfig):
    cfg = commstats.load()
    projects = list(cfg.projects)
    with commstats.read_only() as con:
        health, reason = query(con, HEALTH_SQL, ["year"], projects)
        activity, _ = query(con, ORG_SQL, ["year"], projects)
        by_org, org_reason = reply_times_by_organization(con, projects)
    if org_reason:
        context.log.info(org_reason)
    insiders = responsiveness.insider_organizations(activity)
    return render(
        context,
        cfg,
        "responsiveness",
        lambda cap: responsiveness.responsiveness(
            health, by_org, insiders, cap, no_data_reason=reason or "No patch reply figures in the marts yet"
        ),
        health,
    )


@_chart_asset("organizational_diversity", [COMMUNITY_HEALTH])
def organizational_diversity_chart(context: dg.AssetExecutionContext, commstats: CommstatsConfig):
    cfg = commstats.load()
    with commstats.read_only() as con:
        health, reason = query(con, HEALTH_SQL, ["year"], list(cfg.projects))
    return render(
        context,
        cfg,
        "organizational_diversity",
        lambda cap: organizational_diversity.organizational_diversity(health, cap, reason or "No commits"),
        health,
    )


CHART_ASSETS = [
    correspondents_vs_submitters_chart,
    organization_commit_share_chart,
    cumulative_growth_chart,
    lines_by_organization_chart,
    acks_reviews_by_organization_chart,
    review_exchange_chart,
    responsiveness_chart,
    organizational_diversity_chart,
]

defs = dg.Definitions(assets=CHART_ASSETS)
