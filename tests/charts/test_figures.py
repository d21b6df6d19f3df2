"""Chart content read back from the matplotlib figures: titles, axis labels, series, number of
bars/lines/areas, and the values drawn for one known period, compared to the input frame."""

from __future__ import annotations

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PolyCollection, QuadMesh

from charts import (
    acks_reviews_by_organization,
    correspondents_vs_submitters,
    cumulative_growth,
    lines_by_organization,
    organization_commit_share,
    organizational_diversity,
    responsiveness,
    review_exchange,
)
from charts.style import OTHER, is_no_data, save_png
from tests.charts import frames as f


def at(df: pd.DataFrame, project: str, year: int) -> pd.DataFrame:
    return df[(df["project"] == project) & (df["period_start"] == f.ts(year))]


def legend_texts(ax) -> list[str]:
    return [t.get_text() for t in ax.get_legend().get_texts()]


def suptitle(fig) -> str:
    return fig._suptitle.get_text()


def panel(fig, title: str):
    return next(ax for ax in fig.axes if ax.get_title() == title)


def all_text(fig) -> str:
    return " ".join(t.get_text() for t in fig.findobj(lambda o: hasattr(o, "get_text")))


# --- chart 1 -------------------------------------------------------------------------------------


def test_correspondents_vs_submitters_bars_and_ratio():
    health = f.health()
    fig = correspondents_vs_submitters.correspondents_vs_submitters(health, "Data: 2021-2023. Sources: test")
    assert suptitle(fig).startswith(correspondents_vs_submitters.TITLE)
    assert [ax.get_title() for ax in fig.axes] == ["alpha", "beta"]
    alpha = panel(fig, "alpha")
    assert alpha.get_xlabel() == "Year" and alpha.get_ylabel() == "People (distinct)"
    assert [t.get_text() for t in alpha.get_xticklabels()] == ["2021", "2022", "2023"]
    assert legend_texts(alpha) == ["List correspondents", "Code submitters"]
    # one container per series, one bar per year; 2022 is the second bar
    correspondents, submitters = alpha.containers
    assert len(correspondents) == len(submitters) == 3
    row = health[(health.project == "alpha") & (health.period_start == f.ts(2022))].iloc[0]
    assert correspondents[1].get_height() == row.correspondents == 50
    assert submitters[1].get_height() == row.submitters == 25
    assert f"{row.submitter_to_correspondent_ratio:.2f}" in [t.get_text() for t in alpha.texts]
    assert "Data: 2021-2023. Sources: test" in all_text(fig)


# --- chart 2 -------------------------------------------------------------------------------------


def test_organization_commit_share_top_n_and_other():
    activity = f.organization_activity()
    fig = organization_commit_share.organization_commit_share(activity, top_n=3)
    alpha = panel(fig, "alpha")
    assert alpha.get_xlabel() == "Share of the year's commits (%)" and alpha.get_ylabel() == "Year"
    assert legend_texts(alpha) == ["Red Hat", "IBM", "Intel", OTHER]
    containers = {c.get_label(): c for c in alpha.containers}
    assert set(containers) == {"Red Hat", "IBM", "Intel", OTHER}
    years = [t.get_text() for t in alpha.get_yticklabels()]
    assert years == ["2023", "2022", "2021"]  # earliest year on top
    year_2022 = f.organization_activity().pipe(at, "alpha", 2022)
    total = year_2022.commits.sum()
    red_hat = year_2022[year_2022.organization == "Red Hat"].commits.sum() / total
    other = year_2022[year_2022.organization.isin(["SUSE", "(independent)"])].commits.sum() / total
    assert containers["Red Hat"][years.index("2022")].get_width() == pytest.approx(red_hat)
    assert containers[OTHER][years.index("2022")].get_width() == pytest.approx(other)
    # every year's bar adds up to 100 %
    for i in range(3):
        assert sum(c[i].get_width() for c in alpha.containers) == pytest.approx(1.0)


def test_organization_commit_share_pie_option():
    fig = organization_commit_share.organization_commit_share(f.organization_activity(), top_n=2, kind="pie")
    pies = [ax for ax in fig.axes if ax.get_title()]
    assert [ax.get_title() for ax in pies] == [f"{p} {y}" for p in f.PROJECTS for y in f.YEARS]
    wedges = [p for p in pies[0].patches]
    assert len(wedges) == 3  # Red Hat, IBM, Other
    assert sorted(t.get_text() for t in fig.legends[0].get_texts()) == sorted(["Red Hat", "IBM", OTHER])


# --- chart 3 -------------------------------------------------------------------------------------


def test_running_totals_count_each_contributor_once():
    totals = cumulative_growth.running_totals(f.person_activity_months())
    assert totals["commits"].tolist() == [2, 3, 6, 10]
    assert totals["lines_changed"].tolist() == [20, 25, 55, 95]
    # ann (Jan), bob (Feb); cy never commits; bob's 2022 commits add nobody
    assert totals["contributors"].tolist() == [1, 2, 2, 2]
    assert totals["as_of"].dt.strftime("%Y-%m-%d").tolist() == [
        "2021-01-31",
        "2021-02-28",
        "2021-03-31",
        "2022-01-31",
    ]


def test_cumulative_growth_lines_per_project():
    totals = cumulative_growth.running_totals(f.person_activity_months())
    both = pd.concat([totals, totals.assign(project="beta", commits=totals.commits * 2)])
    fig = cumulative_growth.cumulative_growth(both)
    assert [ax.get_title() for ax in fig.axes] == ["Commits", "Lines changed", "Contributors"]
    commits = panel(fig, "Commits")
    assert commits.get_ylabel() == "Commits (cumulative)"
    assert commits.get_xlabel() == "As of (end of period)"
    assert legend_texts(commits) == ["alpha", "beta"]
    lines = [line for line in commits.get_lines() if len(line.get_xdata()) > 1]
    assert len(lines) == 2
    alpha = lines[0].get_xydata()
    assert list(alpha[:, 1]) == [2, 3, 6, 10]
    assert mdates.num2date(alpha[2, 0]).strftime("%Y-%m-%d") == "2021-03-31"
    assert list(lines[1].get_xydata()[:, 1]) == [4, 6, 12, 20]


def test_cumulative_growth_from_yearly_snapshots_uses_years():
    # the mart's cumulative grain: one row per year, totals through its last day
    snapshots = pd.DataFrame(
        {
            "project": ["alpha"] * 3,
            "period_start": [f.ts(y) for y in f.YEARS],
            "commits": [10, 25, 45],
            "lines_changed": [100, 250, 450],
            "contributors": [3, 5, 6],
        }
    )
    snapshots["as_of"] = cumulative_growth.period_end(snapshots["period_start"], "year")
    fig = cumulative_growth.cumulative_growth(snapshots)
    contributors = panel(fig, "Contributors")
    assert contributors.get_xlabel() == "Year (total at its end)"
    line = next(line for line in contributors.get_lines() if len(line.get_xdata()) == 3)
    assert list(line.get_xdata()) == f.YEARS and list(line.get_ydata()) == [3, 5, 6]


def test_cumulative_growth_missing_metric_gets_its_own_empty_panel():
    totals = cumulative_growth.running_totals(f.person_activity_months()).drop(columns="contributors")
    fig = cumulative_growth.cumulative_growth(totals)
    assert not panel(fig, "Contributors").axison
    assert panel(fig, "Commits").axison


# --- chart 4 -------------------------------------------------------------------------------------


def test_lines_by_organization_stacked_areas():
    activity = f.organization_activity("quarter")
    fig = lines_by_organization.lines_by_organization(activity, top_n=2)
    alpha = panel(fig, "alpha")
    assert alpha.get_ylabel() == "Lines added + removed per quarter"
    assert alpha.get_xlabel() == "Period start"
    assert legend_texts(alpha) == ["Red Hat", "IBM", OTHER]
    areas = [c for c in alpha.collections if isinstance(c, PolyCollection)]
    assert len(areas) == 3
    # the top of the stack at 2022 is the project's lines changed in 2022
    x = mdates.date2num(f.ts(2022))
    top = areas[-1].get_paths()[0].vertices
    heights = top[np.isclose(top[:, 0], x)][:, 1]
    expected = activity.pipe(at, "alpha", 2022).lines_changed.sum()
    assert heights.max() == pytest.approx(expected)


# --- chart 5 -------------------------------------------------------------------------------------


def test_acks_reviews_given_vs_received():
    activity = f.organization_activity()
    fig = acks_reviews_by_organization.acks_reviews_by_organization(activity, top_n=4)
    assert [ax.get_title() for ax in fig.axes] == [
        "alpha: Reviewed-by",
        "alpha: Acked-by",
        "beta: Reviewed-by",
        "beta: Acked-by",
    ]
    reviews = panel(fig, "alpha: Reviewed-by")
    assert reviews.get_xlabel() == "Reviewed-by lines (count)"
    assert legend_texts(reviews) == ["Given", "Received"]
    orgs = [t.get_text() for t in reviews.get_yticklabels()]
    assert len(orgs) == 4 and "Red Hat" not in orgs  # Red Hat gives and receives least here
    given, received = reviews.containers
    sums = (
        activity[activity.project == "alpha"]
        .groupby("organization")[["reviews_given", "reviews_received"]]
        .sum()
    )
    assert [b.get_width() for b in given] == [sums.loc[o, "reviews_given"] for o in orgs]
    assert [b.get_width() for b in received] == [sums.loc[o, "reviews_received"] for o in orgs]


# --- chart 6 -------------------------------------------------------------------------------------


def test_review_exchange_heatmap_cells():
    exchange = f.review_exchange()
    fig = review_exchange.review_exchange(exchange, top_n=3)
    alpha = panel(fig, "alpha")
    assert alpha.get_xlabel() == "Author organization (received)"
    assert alpha.get_ylabel() == "Reviewer organization (gave)"
    rows = [t.get_text() for t in alpha.get_yticklabels()]
    cols = [t.get_text() for t in alpha.get_xticklabels()]
    assert rows == cols and len(rows) == 4 and rows[-1] == OTHER
    mesh = next(c for c in alpha.collections if isinstance(c, QuadMesh))
    values = np.asarray(mesh.get_array()).reshape(4, 4)
    sub = exchange[exchange.project == "alpha"]
    # reviewer organization i gives i + 1 acks and receives j reviews per pair and year, so the
    # top three by trailers given plus received are (independent), SUSE and Intel
    assert rows[:3] == ["(independent)", "SUSE", "Intel"]
    i, j = rows.index("SUSE"), cols.index("Intel")
    cell = sub[(sub.reviewer_organization == "SUSE") & (sub.author_organization == "Intel")]
    assert values[i, j] == (cell.acks + cell.reviews).sum()
    assert values.sum() == (sub.acks + sub.reviews).sum()  # "Other" keeps everything else
    assert str(int(values[i, j])) in [t.get_text() for t in alpha.texts]
    assert any(ax.get_ylabel() == "Acked-by + Reviewed-by lines (count)" for ax in fig.axes)


# --- chart 7 -------------------------------------------------------------------------------------


def test_responsiveness_insiders_outsiders_and_trends():
    health = f.health()
    activity = f.organization_activity()
    by_org = pd.DataFrame(
        {
            "project": ["alpha"] * 3,
            "organization": ["Red Hat", "IBM", "Intel"],
            "median_hours_to_first_reply": [5.0, 30.0, 12.0],
            "patches": [50, 20, 10],
        }
    )
    insiders = responsiveness.insider_organizations(activity)
    assert set(insiders.organization) == {"Red Hat"}
    fig = responsiveness.responsiveness(health, by_org, insiders)
    alpha = panel(fig, "alpha: median time to first reply")
    assert alpha.get_xlabel() == "Median hours to first reply (h)"
    assert legend_texts(alpha) == [responsiveness.INSIDER, responsiveness.OUTSIDER]
    orgs = [t.get_text() for t in alpha.get_yticklabels()]
    assert orgs == ["Red Hat", "Intel", "IBM"]  # fastest first
    # one container per group (insider, outsider); a bar's row is its y position
    widths = {orgs[round(b.get_y() + b.get_height() / 2)]: b.get_width() for c in alpha.containers for b in c}
    assert widths == {"Red Hat": 5.0, "Intel": 12.0, "IBM": 30.0}
    # beta has no per-organization figures: its panel says so
    assert not panel(fig, "beta: median time to first reply").axison
    unanswered = panel(fig, "Unanswered patches")
    assert unanswered.get_ylabel() == "Patches unanswered after 14 days (%)"
    lines = [line for line in unanswered.get_lines() if len(line.get_xdata()) == 3]
    assert len(lines) == 2
    expected = health[health.project == "alpha"].sort_values("period_start").unanswered_patch_share * 100
    assert lines[0].get_ydata() == pytest.approx(expected.tolist())


def test_responsiveness_without_reply_columns_is_no_data():
    health = f.health().drop(columns=["median_hours_to_first_reply", "unanswered_patch_share"])
    fig = responsiveness.responsiveness(health, None, None, no_data_reason="not built yet")
    assert is_no_data(fig)
    assert "not built yet" in all_text(fig)


# --- chart 8 -------------------------------------------------------------------------------------


def test_organizational_diversity_lines():
    health = f.health()
    fig = organizational_diversity.organizational_diversity(health)
    elephant = panel(fig, "Elephant factor")
    hhi = panel(fig, "Herfindahl-Hirschman index")
    assert elephant.get_ylabel() == "Organizations for 50 % of commits"
    assert hhi.get_ylabel() == "HHI of commit shares (0..1)"
    assert legend_texts(hhi) == ["alpha", "beta"]
    series = [line for line in hhi.get_lines() if len(line.get_xdata()) == 3]
    assert len(series) == 2
    alpha = dict(zip(series[0].get_xdata(), series[0].get_ydata(), strict=True))
    assert alpha[2022] == pytest.approx(health.pipe(at, "alpha", 2022).hhi.iloc[0])


# --- empty input -----------------------------------------------------------------------------------

EMPTY_CASES = [
    (
        "correspondents_vs_submitters",
        lambda: correspondents_vs_submitters.correspondents_vs_submitters(pd.DataFrame()),
    ),
    (
        "organization_commit_share",
        lambda: organization_commit_share.organization_commit_share(pd.DataFrame()),
    ),
    (
        "cumulative_growth",
        lambda: cumulative_growth.cumulative_growth(cumulative_growth.running_totals(pd.DataFrame())),
    ),
    ("lines_by_organization", lambda: lines_by_organization.lines_by_organization(pd.DataFrame())),
    ("acks_reviews", lambda: acks_reviews_by_organization.acks_reviews_by_organization(pd.DataFrame())),
    ("review_exchange", lambda: review_exchange.review_exchange(pd.DataFrame())),
    ("responsiveness", lambda: responsiveness.responsiveness(pd.DataFrame())),
    ("organizational_diversity", lambda: organizational_diversity.organizational_diversity(pd.DataFrame())),
]


@pytest.mark.parametrize("name,draw", EMPTY_CASES, ids=[c[0] for c in EMPTY_CASES])
def test_empty_input_gives_a_no_data_figure(name, draw, tmp_path):
    fig = draw()
    assert is_no_data(fig)
    assert "No data" in all_text(fig) or "No " in all_text(fig)
    assert save_png(fig, tmp_path / f"{name}.png").stat().st_size > 1000


def test_project_without_mail_gets_an_empty_panel_not_a_crash():
    health = f.health()
    quiet = health.assign(correspondents=0, submitters=0, submitter_to_correspondent_ratio=None)
    quiet = quiet[quiet.project == "beta"]
    fig = correspondents_vs_submitters.correspondents_vs_submitters(
        pd.concat([health[health.project == "alpha"], quiet])
    )
    assert panel(fig, "alpha").axison and not panel(fig, "beta").axison


def test_tiny_data_one_row_per_chart(tmp_path):
    one = f.organization_activity().head(1)
    for fig in (
        organization_commit_share.organization_commit_share(one),
        lines_by_organization.lines_by_organization(one),
        acks_reviews_by_organization.acks_reviews_by_organization(one),
        organizational_diversity.organizational_diversity(f.health().head(1)),
        review_exchange.review_exchange(f.review_exchange().head(1)),
    ):
        assert not is_no_data(fig)
        save_png(fig, tmp_path / "one.png")
