"""One colour per organization across the charts of a report, read back from the drawn artists.

The frames are built so that the charts rank organizations differently (Acme leads on commits,
Globex on lines changed): a palette made per chart would give them each other's colours."""

from __future__ import annotations

from collections import defaultdict

import pandas as pd
import pytest
from matplotlib.collections import PolyCollection
from matplotlib.colors import to_hex
from matplotlib.figure import Figure

from charts import lines_by_organization, organization_commit_share
from charts.palette import NEUTRALS, distinct_colors, organization_order, organization_palette
from charts.style import OTHER

PROJECTS = ["alpha", "beta"]
YEARS = [2021, 2022]
# organization -> (commits per quarter, lines per commit); beta has no Initech
ORGS = {
    "Acme": (12, 2),
    "Globex": (5, 40),
    "Initech": (4, 10),
    "Umbrella": (3, 9),
    "Hooli": (2, 8),
    "Stark": (1, 7),
    "(independent)": (6, 5),
    "(unknown)": (1, 3),
}


def quarter_rows() -> pd.DataFrame:
    rows = []
    for project in PROJECTS:
        for year in YEARS:
            for quarter in range(4):
                for org, (commits, lines_per_commit) in ORGS.items():
                    if project == "beta" and org == "Initech":
                        continue
                    n = commits + quarter % 2  # quarters differ, the yearly sums add them up
                    rows.append(
                        {
                            "project": project,
                            "grain": "quarter",
                            "period_start": pd.Timestamp(year=year, month=3 * quarter + 1, day=1),
                            "organization": org,
                            "commits": n,
                            "lines_changed": n * lines_per_commit,
                            "messages": 3 * n,
                        }
                    )
    return pd.DataFrame(rows)


def year_rows(quarters: pd.DataFrame) -> pd.DataFrame:
    years = quarters.assign(period_start=quarters["period_start"].dt.to_period("Y").dt.start_time)
    summed = years.groupby(["project", "period_start", "organization"], as_index=False)[
        ["commits", "lines_changed", "messages"]
    ].sum()
    return summed.assign(grain="year")


def drawn_colors(fig: Figure) -> dict[str, set[str]]:
    """label -> the colours it is drawn in: bar segments, stacked areas and every legend entry."""
    found: dict[str, set[str]] = defaultdict(set)

    def add(label: str, color) -> None:
        if label and not label.startswith("_"):
            found[label].add(to_hex(color, keep_alpha=False))

    legends = [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None] + list(fig.legends)
    for legend in legends:
        for handle, text in zip(legend.legend_handles, legend.get_texts(), strict=True):
            add(text.get_text(), handle.get_facecolor())
    for ax in fig.axes:
        for container in ax.containers:
            for bar in container:
                add(container.get_label(), bar.get_facecolor())
        for area in ax.collections:
            if isinstance(area, PolyCollection):
                add(area.get_label(), area.get_facecolor()[0])
    return found


@pytest.fixture(scope="module")
def report_charts() -> list[Figure]:
    quarters = quarter_rows()
    years = year_rows(quarters)
    return [
        organization_commit_share.organization_commit_share(years, top_n=4),
        organization_commit_share.organization_commit_share(years, top_n=4, kind="pie"),
        lines_by_organization.lines_by_organization(quarters, top_n=4),
    ]


def test_the_charts_rank_organizations_differently(report_charts):
    bars, _, lines = report_charts
    first = lambda fig: [t.get_text() for t in fig.axes[0].get_legend().get_texts()][0]  # noqa: E731
    assert first(bars) == "Acme" and first(lines) == "Globex"


def test_an_organization_has_one_colour_in_every_chart(report_charts):
    per_chart = [drawn_colors(fig) for fig in report_charts]
    colors: dict[str, set[str]] = defaultdict(set)
    for chart in per_chart:
        for label, seen in chart.items():
            colors[label] |= seen
    # each organization is drawn in more than one chart, and always in one colour
    assert {"Acme", "Globex", "(independent)", OTHER} <= {
        label for label in colors if sum(label in chart for chart in per_chart) == 3
    }
    assert {label: len(seen) for label, seen in colors.items()} == dict.fromkeys(colors, 1)
    # two organizations never share a colour
    flat = {label: next(iter(seen)) for label, seen in colors.items()}
    assert len(set(flat.values())) == len(flat)
    # the colours are the report's palette: the most active organization gets the first colour
    palette = organization_palette(year_rows(quarter_rows()))
    assert flat == {label: palette[label] for label in flat}
    assert flat["Acme"] == distinct_colors(1)[0]
    assert flat["(independent)"] == NEUTRALS["(independent)"] and flat[OTHER] == NEUTRALS[OTHER]


def test_the_palette_is_the_same_from_any_grain():
    quarters = quarter_rows()
    assert organization_palette(quarters) == organization_palette(year_rows(quarters))


def test_palette_order_is_activity_then_name_with_neutral_greys():
    activity = pd.DataFrame(
        {
            "organization": ["Zeta", "Alpha", "Beta", "(unknown)", "(independent)", "Gamma"],
            "commits": [5, 5, 9, 50, 40, 0],
            "lines_changed": [10, 10, 1, 0, 0, 0],
            "messages": [0, 0, 0, 0, 0, 7],
        }
    )
    # Beta most commits; Alpha and Zeta tie on everything and go by name; Gamma only mailed
    assert organization_order(activity) == ["Beta", "Alpha", "Zeta", "Gamma"]
    palette = organization_palette(activity)
    assert list(palette) == ["Beta", "Alpha", "Zeta", "Gamma", "(independent)", "(unknown)", OTHER]
    assert palette["(unknown)"] == NEUTRALS["(unknown)"]
    assert len(set(palette.values())) == len(palette)


def test_many_organizations_never_share_a_colour():
    activity = pd.DataFrame({"organization": [f"org{i:03d}" for i in range(150)], "commits": range(150)})
    palette = organization_palette(activity)
    assert len(palette) == 153
    assert len(set(palette.values())) == 153


def test_a_palette_without_the_charts_organization_is_one_clear_error():
    years = year_rows(quarter_rows())
    palette = organization_palette(years[years["organization"] != "Globex"])
    with pytest.raises(ValueError, match="no colour for 'Globex'"):
        organization_commit_share.organization_commit_share(years, top_n=4, palette=palette)
