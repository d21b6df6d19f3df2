"""List correspondents vs. code submitters per project per year, with their ratio."""

from __future__ import annotations

import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from charts.style import add_caption, no_data_figure, themed_figure

TITLE = "List correspondents vs. code submitters per year"


def correspondents_vs_submitters(health: pd.DataFrame, caption: str = "") -> Figure:
    """`health`: marts.community_health rows at year grain (project, period_start, correspondents,
    submitters, submitter_to_correspondent_ratio). One panel per project, bars per year, the ratio
    written above each year's bars."""
    if health.empty:
        return no_data_figure(TITLE)
    df = health.copy()
    df["year"] = pd.to_datetime(df["period_start"]).dt.year.astype(int)
    long = df.melt(
        id_vars=["project", "year"],
        value_vars=["correspondents", "submitters"],
        var_name="who",
        value_name="people",
    )
    long["who"] = long["who"].map({"correspondents": "List correspondents", "submitters": "Code submitters"})
    projects = sorted(df["project"].unique())
    fig, axes = themed_figure(ncols=len(projects), sharey=True)
    for ax, project in zip(axes[0], projects, strict=True):
        sub = long[long["project"] == project]
        sns.barplot(
            data=sub,
            x="year",
            y="people",
            hue="who",
            ax=ax,
            hue_order=["List correspondents", "Code submitters"],
        )
        ax.set_title(project)
        ax.set_xlabel("Year")
        ax.set_ylabel("People (distinct)")
        ratios = df[df["project"] == project].sort_values("year")
        for i, (_, row) in enumerate(ratios.iterrows()):
            ratio = row["submitter_to_correspondent_ratio"]
            if pd.notna(ratio):
                top = max(row["correspondents"], row["submitters"])
                ax.text(i, top * 1.02, f"{ratio:.2f}", ha="center", va="bottom", fontsize=8)
        ax.legend(title=None, loc="upper left", fontsize=8)
    fig.suptitle(f"{TITLE}\n(number above the bars: submitters / correspondents)", fontsize=12)
    if caption:
        add_caption(fig, caption)
    return fig
