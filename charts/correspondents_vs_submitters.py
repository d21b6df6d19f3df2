"""Chart 1: list correspondents vs. code submitters per project per year, with their ratio."""

from __future__ import annotations

import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from charts.style import NO_DATA, finish, no_data_axes, no_data_figure, themed_figure, years
from charts.titles import TITLES

TITLE = TITLES["correspondents_vs_submitters"]
SERIES = {"correspondents": "List correspondents", "submitters": "Code submitters"}


def correspondents_vs_submitters(
    health: pd.DataFrame, caption: str = "", no_data_reason: str = NO_DATA
) -> Figure:
    """`health`: marts.community_health rows at year grain (project, period_start, correspondents,
    submitters, submitter_to_correspondent_ratio). One panel per project, bars per year, the ratio
    written above each year's bars."""
    if health.empty:
        return no_data_figure(TITLE, no_data_reason, caption)
    df = health.copy()
    df["year"] = years(df["period_start"])
    long = df.melt(id_vars=["project", "year"], value_vars=list(SERIES), var_name="who", value_name="people")
    long["who"] = long["who"].map(SERIES)
    long["people"] = long["people"].fillna(0)
    projects = sorted(df["project"].unique())
    fig, axes = themed_figure(ncols=len(projects), sharey=True)
    top = float(long["people"].max() or 1)
    legend_drawn = False  # one legend, in the first panel with bars
    for ax, project in zip(axes[0], projects, strict=True):
        sub = long[long["project"] == project]
        if not sub["people"].any():
            no_data_axes(ax, project, "No mail and no commits")
            continue
        sns.barplot(data=sub, x="year", y="people", hue="who", ax=ax, hue_order=list(SERIES.values()))
        ax.set_title(project)
        ax.set_xlabel("Year")
        ax.set_ylabel("People (distinct)")
        # categorical x: the i-th tick is the i-th year in sorted order, as barplot draws them
        ratios = df[df["project"] == project].sort_values("year")
        for i, (_, row) in enumerate(ratios.iterrows()):
            ratio = row["submitter_to_correspondent_ratio"]
            if pd.notna(ratio):
                height = max(row["correspondents"], row["submitters"])
                ax.text(i, height + top * 0.015, f"{ratio:.2f}", ha="center", va="bottom", fontsize=8)
        # headroom for the ratio labels and, in the first panel, the legend
        ax.set_ylim(0, top * 1.3)
        if not legend_drawn:
            ax.legend(title=None, loc="upper left", fontsize=8, ncol=2)
            legend_drawn = True
        else:
            ax.get_legend().remove()
    return finish(fig, TITLE, caption, "number above the bars: submitters / correspondents")
