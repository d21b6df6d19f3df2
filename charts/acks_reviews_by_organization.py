"""Chart 5: acks and reviews given vs. received per organization over the whole range.

Given minus received tells who carries the review load: an organization far right on "given" and
short on "received" reviews others' work; the reverse leans on others.
"""

from __future__ import annotations

import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from charts.style import NO_DATA, finish, no_data_axes, no_data_figure, themed_figure
from charts.titles import TITLES

TITLE = TITLES["acks_reviews_by_organization"]
KINDS = {"reviews": "Reviewed-by", "acks": "Acked-by"}
DIRECTIONS = {"given": "Given", "received": "Received"}
COLUMNS = [f"{kind}_{direction}" for kind in KINDS for direction in DIRECTIONS]
# mart column -> its kind and its direction label
KIND_OF = {f"{kind}_{direction}": kind for kind in KINDS for direction in DIRECTIONS}
DIRECTION_OF = {f"{kind}_{direction}": label for kind in KINDS for direction, label in DIRECTIONS.items()}


def review_totals(activity: pd.DataFrame, top_n: int) -> pd.DataFrame:
    """Long frame: project, organization, kind (reviews|acks), direction (Given|Received), count; the
    top N organizations of each project by everything given and received."""
    totals = activity.groupby(["project", "organization"], as_index=False)[COLUMNS].sum()
    totals["all"] = totals[COLUMNS].sum(axis=1)
    totals = totals[totals["all"] > 0].sort_values(
        ["project", "all", "organization"], ascending=[True, False, True]
    )
    totals = totals.groupby("project").head(top_n)
    long = totals.melt(id_vars=["project", "organization", "all"], value_vars=COLUMNS, value_name="count")
    # looked up per column name, not split with str.split(expand=True): on no rows (a project with
    # activity but not one ack or review) that gives no columns and the assignment fails
    long["kind"] = long["variable"].map(KIND_OF)
    long["direction"] = long["variable"].map(DIRECTION_OF)
    return long.drop(columns="variable")


def acks_reviews_by_organization(
    activity: pd.DataFrame, caption: str = "", top_n: int = 10, no_data_reason: str = NO_DATA
) -> Figure:
    """`activity`: marts.organization_activity rows at one grain (project, organization,
    acks_given, acks_received, reviews_given, reviews_received); summed over all periods given.
    Rows: projects; columns: reviews, acks; bars: given and received per organization."""
    long = review_totals(activity, top_n) if not activity.empty else activity
    if long.empty:
        return no_data_figure(TITLE, no_data_reason or "No acks or reviews", caption)
    projects = sorted(activity["project"].unique())
    fig, axes = themed_figure(ncols=len(KINDS), nrows=len(projects), panel=(5.2, 0.34 * top_n + 1.6))
    for row, project in enumerate(projects):
        sub = long[long["project"] == project]
        order = (
            sub.drop_duplicates("organization").sort_values("all", ascending=False)["organization"].tolist()
        )
        for col, (kind, trailer) in enumerate(KINDS.items()):
            ax = axes[row][col]
            data = sub[sub["kind"] == kind]
            if data.empty or not data["count"].any():
                no_data_axes(ax, f"{project}: {trailer}", f"No {trailer} lines")
                continue
            sns.barplot(
                data=data,
                y="organization",
                x="count",
                hue="direction",
                hue_order=list(DIRECTIONS.values()),
                order=order,
                orient="h",
                ax=ax,
            )
            ax.set_title(f"{project}: {trailer}")
            ax.set_xlabel(f"{trailer} lines (count)")
            ax.set_ylabel("Organization" if col == 0 else "")
            ax.legend(title=None, fontsize=8, loc="lower right")
    return finish(
        fig,
        TITLE,
        caption,
        f"top {top_n} organizations of each project; given = trailers naming the organization's people, "
        "received = trailers on its commits",
    )
