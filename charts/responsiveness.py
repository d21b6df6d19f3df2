"""Chart 7: responsiveness to patches: time to first reply by the submitter's organization
(insiders vs. outsiders), and over time the median time to first reply and the unanswered share.

An *insider* organization employs at least one maintainer of the project, i.e. someone who signed
off commits somebody else authored (signoffs_non_author > 0) in the range shown; everyone else is
an outsider. Slow answers to outsiders are what drive new contributors away.
"""

from __future__ import annotations

import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from charts.style import NO_DATA, finish, no_data_axes, no_data_figure, themed_figure, years
from charts.titles import TITLES

TITLE = TITLES["responsiveness"]
INSIDER, OUTSIDER = "Insider (employs a maintainer)", "Outsider"


def insider_organizations(activity: pd.DataFrame) -> pd.DataFrame:
    """project, organization for every organization with a non-author signoff in the rows given
    (marts.organization_activity at one grain)."""
    if activity.empty or "signoffs_non_author" not in activity.columns:
        return pd.DataFrame(columns=["project", "organization"])
    sums = activity.groupby(["project", "organization"], as_index=False)["signoffs_non_author"].sum()
    return sums[sums["signoffs_non_author"] > 0][["project", "organization"]].reset_index(drop=True)


def label_insiders(by_organization: pd.DataFrame, insiders: pd.DataFrame) -> pd.DataFrame:
    keys = set(map(tuple, insiders[["project", "organization"]].to_numpy().tolist()))
    df = by_organization.copy()
    df["group"] = [
        INSIDER if (p, o) in keys else OUTSIDER
        for p, o in zip(df["project"], df["organization"], strict=True)
    ]
    return df


def responsiveness(
    health: pd.DataFrame,
    by_organization: pd.DataFrame | None = None,
    insiders: pd.DataFrame | None = None,
    caption: str = "",
    top_n: int = 12,
    no_data_reason: str = NO_DATA,
) -> Figure:
    """`health`: marts.community_health at year grain (project, period_start,
    median_hours_to_first_reply, unanswered_patch_share). `by_organization`: one row per (project,
    organization) with median_hours_to_first_reply and patches (the submitter's organization, over
    the whole range); `insiders`: project, organization (see insider_organizations).

    Top row: one panel per project, a bar per submitter organization (top N by patches), coloured
    insider/outsider. Bottom row: median hours to first reply and unanswered share per year,
    a line per project. A part without data gets its own "no data" panel."""
    by_org = by_organization if by_organization is not None else pd.DataFrame()
    trend_columns = [
        c for c in ("median_hours_to_first_reply", "unanswered_patch_share") if c in health.columns
    ]
    has_trend = not health.empty and any(health[c].notna().any() for c in trend_columns)
    has_org = not by_org.empty and by_org["median_hours_to_first_reply"].notna().any()
    if not has_trend and not has_org:
        return no_data_figure(TITLE, no_data_reason, caption)
    projects = sorted(
        set(health.get("project", pd.Series(dtype=str))) | set(by_org.get("project", pd.Series(dtype=str)))
    )
    ncols = max(len(projects), 2)
    fig, axes = themed_figure(ncols=ncols, nrows=2, panel=(5.2, 4.4))
    _by_organization_row(axes[0], projects, by_org, insiders, top_n)
    _trend_row(axes[1], health if has_trend else pd.DataFrame(), projects)
    for ax in list(axes[0][len(projects) :]) + list(axes[1][2:]):
        ax.set_visible(False)
    return finish(
        fig,
        TITLE,
        caption,
        "first reply: earliest message by someone else in the patch's thread; unanswered: no such reply within 14 days",
    )


def _by_organization_row(
    axes, projects: list[str], by_org: pd.DataFrame, insiders: pd.DataFrame | None, top_n: int
):
    labelled = (
        label_insiders(
            by_org, insiders if insiders is not None else pd.DataFrame(columns=["project", "organization"])
        )
        if not by_org.empty
        else by_org
    )
    for ax, project in zip(axes, projects, strict=False):
        title = f"{project}: median time to first reply"
        sub = (
            labelled[labelled["project"] == project].dropna(subset=["median_hours_to_first_reply"])
            if not labelled.empty
            else labelled
        )
        if sub.empty:
            no_data_axes(ax, title, "No reply times per organization")
            continue
        sort = ["patches", "organization"] if "patches" in sub.columns else ["organization"]
        sub = sub.sort_values(sort, ascending=[False, True][: len(sort)]).head(top_n)
        sub = sub.sort_values("median_hours_to_first_reply")
        sns.barplot(
            data=sub,
            y="organization",
            x="median_hours_to_first_reply",
            hue="group",
            hue_order=[INSIDER, OUTSIDER],
            palette={INSIDER: "#0173b2", OUTSIDER: "#de8f05"},
            dodge=False,
            orient="h",
            ax=ax,
        )
        ax.set_title(title, fontsize=11)
        ax.set_xlabel("Median hours to first reply (h)")
        ax.set_ylabel("Submitter organization")
        # bars grow downwards (sorted by time), so the top right corner stays free for the legend
        ax.legend(title=None, fontsize=8, loc="upper right")


def _trend_row(axes, health: pd.DataFrame, projects: list[str]) -> None:
    panels = [
        ("median_hours_to_first_reply", "Median time to first reply", "Median hours to first reply (h)"),
        ("unanswered_patch_share", "Unanswered patches", "Patches unanswered after 14 days (%)"),
    ]
    for ax, (column, title, ylabel) in zip(axes, panels, strict=False):
        data = health.dropna(subset=[column]) if column in health.columns else pd.DataFrame()
        if data.empty:
            no_data_axes(ax, title, "No patch reply figures")
            continue
        data = data.assign(year=years(data["period_start"]))
        if column == "unanswered_patch_share":
            data[column] = data[column] * 100
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
        ax.set_title(title, fontsize=11)
        ax.set_xlabel("Year")
        ax.set_ylabel(ylabel)
        ax.set_ylim(bottom=0, top=100 if column == "unanswered_patch_share" else None)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend(title="Project", fontsize=8, title_fontsize=9)
