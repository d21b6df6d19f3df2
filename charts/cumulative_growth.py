"""Chart 3: cumulative commits, lines changed and contributors over the whole range, projects
side by side (one line per project in each panel, so growth rates compare directly)."""

from __future__ import annotations

import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from charts.style import NO_DATA, finish, no_data_axes, no_data_figure, themed_figure

TITLE = "Cumulative growth"
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


def cumulative_growth(cumulative: pd.DataFrame, caption: str = "", no_data_reason: str = NO_DATA) -> Figure:
    """`cumulative`: one row per (project, period_start) with running totals since the project's
    first period: commits, lines_changed, contributors (distinct people so far, not a sum of
    per-period counts). A missing metric column gets a "no data" panel of its own."""
    present = [m for m in METRICS if m in cumulative.columns]
    if cumulative.empty or not present:
        return no_data_figure(TITLE, no_data_reason, caption)
    df = cumulative.copy()
    df["period_start"] = pd.to_datetime(df["period_start"])
    df = df.sort_values(["project", "period_start"])
    projects = sorted(df["project"].unique())
    fig, axes = themed_figure(ncols=len(METRICS), panel=(4.6, 4.6))
    for ax, (column, (title, ylabel)) in zip(axes[0], METRICS.items(), strict=True):
        if column not in df.columns or df[column].isna().all():
            no_data_axes(ax, title, f"No {title.lower()} figures")
            continue
        sns.lineplot(
            data=df,
            x="period_start",
            y=column,
            hue="project",
            hue_order=projects,
            ax=ax,
            drawstyle="steps-post",
        )
        ax.set_title(title)
        ax.set_xlabel("Period start")
        ax.set_ylabel(ylabel)
        ax.set_ylim(bottom=0)
        ax.yaxis.set_major_formatter(FuncFormatter(_thousands))
        ax.tick_params(axis="x", labelrotation=30)
        ax.legend(title="Project", fontsize=8, title_fontsize=9, loc="upper left")
    return finish(fig, TITLE, caption, "running totals since each project's first period")
