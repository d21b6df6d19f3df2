"""Chart 8: elephant factor and HHI over time, projects side by side."""

from __future__ import annotations

import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from charts.style import NO_DATA, finish, no_data_axes, no_data_figure, themed_figure, years
from charts.titles import TITLES

TITLE = TITLES["organizational_diversity"]


def organizational_diversity(
    health: pd.DataFrame, caption: str = "", no_data_reason: str = NO_DATA
) -> Figure:
    """`health`: marts.community_health at year grain (project, period_start, elephant_factor, hhi).
    Left: elephant factor (higher = more organizations needed for half the commits = more diverse);
    right: HHI of commit shares (0 = spread thin, 1 = one organization)."""
    if health.empty:
        return no_data_figure(TITLE, no_data_reason, caption)
    df = health.copy()
    df["year"] = years(df["period_start"])
    projects = sorted(df["project"].unique())
    fig, axes = themed_figure(ncols=2)
    panels = [
        ("elephant_factor", "Elephant factor", "Organizations for 50 % of commits"),
        ("hhi", "Herfindahl-Hirschman index", "HHI of commit shares (0..1)"),
    ]
    for ax, (column, title, ylabel) in zip(axes[0], panels, strict=True):
        data = df.dropna(subset=[column])
        if data.empty:
            no_data_axes(ax, title, "No commits")
            continue
        sns.lineplot(
            data=data,
            x="year",
            y=column,
            hue="project",
            hue_order=projects,
            style="project",
            markers=True,
            dashes=False,
            ax=ax,
        )
        ax.set_title(title)
        ax.set_xlabel("Year")
        ax.set_ylabel(ylabel)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if column == "hhi":
            # 0.15 and 0.25 are the usual "moderately" and "highly concentrated" thresholds
            ax.set_ylim(0, max(0.3, float(data[column].max()) * 1.1))
            for level, label in ((0.15, "moderate"), (0.25, "high")):
                ax.axhline(level, color="#999999", linestyle=":", linewidth=1)
                ax.text(
                    ax.get_xlim()[0],
                    level,
                    f" {label} concentration",
                    fontsize=7,
                    color="#666666",
                    va="bottom",
                )
        else:
            ax.yaxis.set_major_locator(MaxNLocator(integer=True))
            ax.set_ylim(0, float(data[column].max()) + 1)
        ax.legend(title="Project", fontsize=8, title_fontsize=9)
    return finish(fig, TITLE, caption, "elephant factor: higher is more diverse; HHI: lower is more diverse")
