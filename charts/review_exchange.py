"""Chart 6: who reviews whom, as a heatmap of reviewer organization x author organization."""

from __future__ import annotations

import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from charts.style import NO_DATA, OTHER, finish, no_data_axes, no_data_figure, themed_figure
from charts.titles import TITLES

TITLE = TITLES["review_exchange"]


def exchange_matrix(exchange: pd.DataFrame, project: str, top_n: int) -> pd.DataFrame:
    """Reviewer organization (rows) x author organization (columns), acks + reviews summed over
    all periods; organizations beyond the top N (by trailers given plus received) fold into "Other"."""
    sub = exchange[exchange["project"] == project].copy()
    sub["trailers"] = sub["acks"].fillna(0) + sub["reviews"].fillna(0)
    sub = sub[sub["trailers"] > 0]
    weight = (
        pd.concat(
            [
                sub.groupby("reviewer_organization")["trailers"].sum(),
                sub.groupby("author_organization")["trailers"].sum(),
            ]
        )
        .groupby(level=0)
        .sum()
    )
    ranked = sorted(weight.index, key=lambda o: (-weight[o], o))
    top = ranked[:top_n]
    for column in ("reviewer_organization", "author_organization"):
        sub[column] = sub[column].where(sub[column].isin(top), OTHER)
    labels = top + ([OTHER] if len(ranked) > top_n else [])
    matrix = sub.pivot_table(
        index="reviewer_organization",
        columns="author_organization",
        values="trailers",
        aggfunc="sum",
        fill_value=0,
    )
    return matrix.reindex(index=labels, columns=labels, fill_value=0).astype(int)


def review_exchange(
    exchange: pd.DataFrame, caption: str = "", top_n: int = 8, no_data_reason: str = NO_DATA
) -> Figure:
    """`exchange`: marts.review_exchange rows at one grain (project, reviewer_organization,
    author_organization, acks, reviews). One heatmap per project; the diagonal is review inside an
    organization, everything off it review across organizations."""
    if exchange.empty:
        return no_data_figure(TITLE, no_data_reason, caption)
    projects = sorted(exchange["project"].unique())
    fig, axes = themed_figure(ncols=len(projects), panel=(6.2, 5.4))
    for ax, project in zip(axes[0], projects, strict=True):
        matrix = exchange_matrix(exchange, project, top_n)
        if matrix.empty or not matrix.to_numpy().any():
            no_data_axes(ax, project, "No acks or reviews")
            continue
        # scale the colours on the named organizations: the "Other" row and column add up many
        # organizations and would otherwise wash every other cell out
        named = matrix.drop(index=OTHER, columns=OTHER, errors="ignore")
        vmax = max(int(named.to_numpy().max()) if named.size else 0, 1)
        sns.heatmap(
            matrix,
            vmin=0,
            vmax=vmax,
            annot=True,
            fmt="d",
            cmap="Blues",
            linewidths=0.5,
            linecolor="white",
            square=True,
            cbar_kws={"label": "Acked-by + Reviewed-by lines (count)", "shrink": 0.7, "extend": "max"},
            annot_kws={"fontsize": 8},
            ax=ax,
        )
        ax.set_title(project)
        ax.set_xlabel("Author organization (received)")
        ax.set_ylabel("Reviewer organization (gave)")
        ax.tick_params(axis="x", labelrotation=45, labelsize=8)
        ax.tick_params(axis="y", labelrotation=0, labelsize=8)
        for label in ax.get_xticklabels():
            label.set_horizontalalignment("right")
    return finish(
        fig, TITLE, caption, f"Acked-by and Reviewed-by lines; top {top_n} organizations, the rest as {OTHER}"
    )
