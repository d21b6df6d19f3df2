"""Chart 2: each organization's share of commits per year, top N plus "Other".

The default draws one 100 % stacked horizontal bar per year, so the years line up and a change of
share reads as a shift of a boundary; `kind="pie"` draws the classic one pie per year instead.
"""

from __future__ import annotations

from typing import Literal

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Patch

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
    years,
)
from charts.titles import TITLES

TITLE = TITLES["organization_commit_share"]
MAX_PIES = 6  # pies per project: more than this no longer fits across a page


def commit_shares(activity: pd.DataFrame, top_n: int = 6) -> pd.DataFrame:
    """project, year, organization (top N per project over the whole range, else "Other"),
    commits, share (0..1 of the project's commits that year)."""
    df = activity[activity["commits"].fillna(0) > 0].copy()
    df["year"] = years(df["period_start"])
    df = top_n_with_other(df, "organization", "commits", top_n, within=["project"])
    df = df.groupby(["project", "year", "organization"], as_index=False)["commits"].sum()
    df["share"] = df["commits"] / df.groupby(["project", "year"])["commits"].transform("sum")
    return df


def organization_commit_share(
    activity: pd.DataFrame,
    caption: str = "",
    top_n: int = 6,
    kind: Literal["bar", "pie"] = "bar",
    no_data_reason: str = NO_DATA,
    palette: Palette | None = None,
) -> Figure:
    """`activity`: marts.organization_activity at year grain (project, period_start, organization,
    commits). One panel (bar) or one row of pies (pie) per project. `palette`: the report's
    organization colours (charts.palette), by default built from `activity`."""
    shares = commit_shares(activity, top_n) if not activity.empty else activity
    if shares.empty:
        return no_data_figure(TITLE, no_data_reason or "No commits", caption)
    projects = sorted(activity["project"].unique())
    names = order_with_other_last(shares, "organization", "commits")
    colors = colors_for(palette if palette is not None else organization_palette(activity), names)
    if kind == "pie":
        return _pies(shares, projects, colors, caption, top_n)
    fig, axes = themed_figure(nrows=len(projects), panel=(10, 3.6))
    for ax, project in zip(axes[:, 0], projects, strict=True):
        sub = shares[shares["project"] == project]
        if sub.empty:
            no_data_axes(ax, project, "No commits")
            continue
        table = sub.pivot_table(
            index="year", columns="organization", values="share", aggfunc="sum", fill_value=0
        )
        order = [n for n in order_with_other_last(sub, "organization", "commits") if n in table.columns]
        table = table[order].sort_index(ascending=False)  # earliest year on top, read downwards
        left = pd.Series(0.0, index=table.index)
        for org in order:
            bars = ax.barh(
                [str(y) for y in table.index], table[org], left=left, color=colors[org], label=org, height=0.7
            )
            # label a segment only where the number fits inside it
            ax.bar_label(
                bars,
                labels=[f"{v:.0%}" if v >= 0.07 else "" for v in table[org]],
                label_type="center",
                fontsize=8,
            )
            left = left + table[org]
        ax.set_xlim(0, 1)
        ax.xaxis.set_major_formatter(lambda x, _pos: f"{x:.0%}")
        ax.set_xlabel("Share of the year's commits (%)")
        ax.set_ylabel("Year")
        ax.set_title(project)
        ax.grid(axis="y", visible=False)
        ax.legend(
            title="Organization", loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8, title_fontsize=9
        )
    return finish(
        fig, TITLE, caption, f"top {top_n} organizations of each project by commits, the rest as {OTHER}"
    )


def _pies(shares: pd.DataFrame, projects: list[str], colors: dict, caption: str, top_n: int) -> Figure:
    shown = sorted(shares["year"].unique())[-MAX_PIES:]
    fig, axes = themed_figure(ncols=len(shown), nrows=len(projects), panel=(2.6, 3.0))
    for row, project in enumerate(projects):
        for col, year in enumerate(shown):
            ax = axes[row][col]
            sub = shares[(shares["project"] == project) & (shares["year"] == year)]
            if sub.empty:
                no_data_axes(ax, f"{project} {year}", "No commits")
                continue
            order = [n for n in colors if n in set(sub["organization"])]
            sub = sub.set_index("organization").loc[order]
            ax.pie(
                sub["share"],
                labels=[n if s >= 0.07 else "" for n, s in zip(sub.index, sub["share"], strict=True)],
                colors=[colors[n] for n in sub.index],
                autopct=lambda p: f"{p:.0f}%" if p >= 7 else "",
                startangle=90,
                counterclock=False,
                textprops={"fontsize": 7},
                wedgeprops={"linewidth": 0.8, "edgecolor": "white"},
            )
            ax.set_title(f"{project} {year}", fontsize=10)
    handles = [Patch(color=c, label=n) for n, c in colors.items() if n in set(shares["organization"])]
    fig.legend(
        handles=handles, loc="lower center", ncol=min(len(handles), 7), fontsize=8, bbox_to_anchor=(0.5, 0.04)
    )
    fig.subplots_adjust(bottom=0.18)
    return finish(
        fig, TITLE, caption, f"top {top_n} organizations of each project by commits, the rest as {OTHER}"
    )
