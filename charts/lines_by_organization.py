"""Chart 4: lines changed by organization over time, stacked area, one panel per project."""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from charts.palette import Palette, colors_for, organization_palette
from charts.style import (
    NO_DATA,
    OTHER,
    finish,
    no_data_axes,
    no_data_figure,
    order_with_other_last,
    themed_figure,
    top_n_with_other,
)
from charts.titles import TITLES

TITLE = TITLES["lines_by_organization"]


def lines_by_organization(
    activity: pd.DataFrame,
    caption: str = "",
    top_n: int = 6,
    period: str = "quarter",
    no_data_reason: str = NO_DATA,
    palette: Palette | None = None,
) -> Figure:
    """`activity`: marts.organization_activity at one grain (project, period_start, organization,
    lines_changed). Areas stack the top N organizations of each project (by lines over the whole
    range) and "Other"; a period where an organization changed nothing counts as 0, not a gap.
    `palette`: the report's organization colours (charts.palette), by default built from `activity`."""
    df = activity[activity["lines_changed"].fillna(0) > 0] if not activity.empty else activity
    if df.empty:
        return no_data_figure(TITLE, no_data_reason or "No lines changed", caption)
    df = top_n_with_other(df, "organization", "lines_changed", top_n, within=["project"])
    df["period_start"] = pd.to_datetime(df["period_start"])
    projects = sorted(activity["project"].unique())
    colors = colors_for(
        palette if palette is not None else organization_palette(activity),
        order_with_other_last(df, "organization", "lines_changed"),
    )
    fig, axes = themed_figure(nrows=len(projects), panel=(10, 3.8))
    for ax, project in zip(axes[:, 0], projects, strict=True):
        sub = df[df["project"] == project]
        if sub.empty:
            no_data_axes(ax, project, "No lines changed")
            continue
        table = sub.pivot_table(
            index="period_start", columns="organization", values="lines_changed", aggfunc="sum", fill_value=0
        ).sort_index()
        order = [n for n in order_with_other_last(sub, "organization", "lines_changed") if n in table.columns]
        # largest organization at the bottom, where its band has a flat baseline and reads best
        ax.stackplot(
            table.index,
            *[table[o] for o in order],
            labels=order,
            colors=[colors[o] for o in order],
            alpha=0.9,
        )
        ax.set_title(project)
        ax.set_xlabel("Period start")
        ax.set_ylabel(f"Lines added + removed per {period}")
        if len(table.index) > 1:  # a single period has no span to fill
            ax.set_xlim(table.index.min(), table.index.max())
        ax.set_ylim(bottom=0)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:,.0f}"))
        handles, labels = ax.get_legend_handles_labels()
        ax.legend(
            handles,
            labels,
            title="Organization",
            loc="center left",
            bbox_to_anchor=(1.01, 0.5),
            fontsize=8,
            title_fontsize=9,
        )
    return finish(
        fig,
        TITLE,
        caption,
        f"top {top_n} organizations of each project by lines changed, the rest as {OTHER}",
    )
