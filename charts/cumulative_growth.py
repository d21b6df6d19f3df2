"""Chart 3: cumulative commits, lines changed and contributors over the whole range, projects
side by side (one line per project in each panel, so growth rates compare directly)."""

from __future__ import annotations

import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from charts.style import NO_DATA, finish, no_data_axes, no_data_figure, themed_figure
from charts.titles import TITLES

TITLE = TITLES["cumulative_growth"]
# column -> (panel title, y axis label)
METRICS = {
    "commits": ("Commits", "Commits (cumulative)"),
    "lines_changed": ("Lines changed", "Lines added + removed (cumulative)"),
    "contributors": ("Contributors", "Distinct commit authors (cumulative)"),
}


def _thousands(value: float, _pos: int) -> str:
    if abs(value) >= 1_000_000:
        return f"{value / 1_000_000:.1f}M"
    if abs(value) >= 10_000:
        return f"{value / 1_000:.0f}k"
    return f"{value:,.0f}"


def period_end(period_start: pd.Series, grain: str) -> pd.Series:
    """Last day of each period: a running total is "as of" the end of the period it closes."""
    starts = pd.to_datetime(period_start)
    offset = {
        "month": pd.DateOffset(months=1),
        "quarter": pd.DateOffset(months=3),
        "year": pd.DateOffset(years=1),
    }
    return starts + offset[grain] - pd.Timedelta(days=1)


def running_totals(person_activity: pd.DataFrame, grain: str = "month") -> pd.DataFrame:
    """Running totals per (project, period) from marts.person_activity rows at one grain
    (project, period_start, person_id, commits, lines_changed): commits and lines changed add up;
    contributors counts each commit author once, from the first period they committed in.
    Columns: project, period_start, as_of (the period's last day), commits, lines_changed,
    contributors."""
    columns = ["project", "period_start", "as_of", *METRICS]
    if person_activity.empty:
        return pd.DataFrame(columns=columns)
    df = person_activity.copy()
    df["period_start"] = pd.to_datetime(df["period_start"])
    # a missing count is none; an all-null column comes as object dtype, which cumsum refuses
    for column in ("commits", "lines_changed"):
        df[column] = pd.to_numeric(df[column], errors="coerce").fillna(0)
    totals = df.groupby(["project", "period_start"], as_index=False)[["commits", "lines_changed"]].sum()
    totals = totals.sort_values(["project", "period_start"])
    totals[["commits", "lines_changed"]] = totals.groupby("project")[["commits", "lines_changed"]].cumsum()
    first = (
        df[df["commits"].fillna(0) > 0]
        .groupby(["project", "person_id"], as_index=False)["period_start"]
        .min()
    )
    newcomers = first.groupby(["project", "period_start"]).size().rename("new").reset_index()
    totals = totals.merge(newcomers, on=["project", "period_start"], how="left")
    totals["contributors"] = totals["new"].fillna(0).astype(int).groupby(totals["project"]).cumsum()
    totals["as_of"] = period_end(totals["period_start"], grain)
    return totals[columns].reset_index(drop=True)


def cumulative_growth(cumulative: pd.DataFrame, caption: str = "", no_data_reason: str = NO_DATA) -> Figure:
    """`cumulative`: one row per (project, as_of) with running totals from the project's first act
    through the day `as_of`: commits, lines_changed, contributors (distinct commit authors so far,
    not a sum of per-period counts) -- marts.community_health at grain cumulative, or
    running_totals(). Without `as_of`, period_start is used. A missing metric column gets a
    "no data" panel of its own."""
    present = [m for m in METRICS if m in cumulative.columns]
    if cumulative.empty or not present:
        return no_data_figure(TITLE, no_data_reason, caption)
    df = cumulative.copy()
    df["as_of"] = pd.to_datetime(df["as_of"] if "as_of" in df.columns else df["period_start"])
    df = df.sort_values(["project", "as_of"])
    projects = sorted(df["project"].unique())
    # markers only where points are few enough to tell apart (yearly snapshots, not months)
    markers = df.groupby("project").size().max() <= 30
    # yearly snapshots (the mart's cumulative grain) read best against the year they close: a
    # point at 31 Dec 2019 would sit on the 2020 tick of a date axis
    yearly = bool((df["as_of"].dt.month.eq(12) & df["as_of"].dt.day.eq(31)).all())
    df["x"] = df["as_of"].dt.year if yearly else df["as_of"]
    xlabel = "Year (total at its end)" if yearly else "As of (end of period)"
    fig, axes = themed_figure(ncols=len(METRICS), panel=(4.6, 4.6))
    for ax, (column, (title, ylabel)) in zip(axes[0], METRICS.items(), strict=True):
        if column not in df.columns or df[column].isna().all():
            no_data_axes(ax, title, f"No {title.lower()} figures")
            continue
        sns.lineplot(
            data=df,
            x="x",
            y=column,
            hue="project",
            hue_order=projects,
            style="project" if markers else None,
            markers=bool(markers),
            dashes=False,
            ax=ax,
        )
        ax.set_title(title)
        ax.set_xlabel(xlabel)
        if yearly:
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(ylabel)
        ax.set_ylim(bottom=0)
        ax.yaxis.set_major_formatter(FuncFormatter(_thousands))
        ax.tick_params(axis="x", labelrotation=30)
        ax.legend(title="Project", fontsize=8, title_fontsize=9, loc="upper left")
    return finish(fig, TITLE, caption, "running totals from each project's first commit")
