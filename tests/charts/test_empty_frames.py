"""Every chart, the CSV export and the report on frames with no rows, with nothing to draw (all
zeros) and with one row: a "no data" figure or a drawing, never an exception. Then the chart,
report and export assets on a warehouse built by dbt for a project with activity but not one ack
or review: every asset succeeds and the acks/reviews chart is its "no data" figure."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import dagster as dg
import pandas as pd
import pytest
from matplotlib.figure import Figure

from charts import (
    acks_reviews_by_organization,
    correspondents_vs_submitters,
    cumulative_growth,
    lines_by_organization,
    organization_commit_share,
    review_exchange,
)
from charts.exports import ORGANIZATION_COLUMNS, PEOPLE_COLUMNS, export_csvs
from charts.report import ProjectInfo, build_report, top_rows
from charts.style import is_no_data, save_png
from extractors.identities.build import ingest_identities
from orchestration.defs.charts import CHART_ASSETS, CHART_SPECS, ChartSpec, Rows, chart_path, draw_chart
from orchestration.defs.exports import csv_exports
from orchestration.defs.report import report_html
from orchestration.defs.resources import CommstatsConfig
from tests.charts import frames as f
from tests.dbt_helpers import dbt_build, write_raw
from tests.test_marts_rules import commit, message

ACK_COLUMNS = ["acks_given", "acks_received", "reviews_given", "reviews_received"]


def text_of(fig: Figure) -> str:
    return " ".join(t.get_text() for t in fig.findobj(lambda o: hasattr(o, "get_text")))


def no_acks() -> pd.DataFrame:
    """organization_activity rows with commits and mail but not one ack or review."""
    return f.organization_activity().assign(**{c: 0 for c in ACK_COLUMNS})


def cumulative() -> pd.DataFrame:
    return cumulative_growth.running_totals(f.person_activity_months())


# the rows each chart of CHART_SPECS is tried on: a frame of the mart it reads
FRAMES: dict[str, Callable[[], pd.DataFrame]] = {
    "correspondents_vs_submitters": f.health,
    "organization_commit_share": f.organization_activity,
    "cumulative_growth": cumulative,
    "lines_by_organization": f.organization_activity,
    "acks_reviews_by_organization": f.organization_activity,
    "review_exchange": f.review_exchange,
    "responsiveness": f.health,
    "organizational_diversity": f.health,
}


def _drawn(spec: ChartSpec) -> Callable[[pd.DataFrame], Figure]:
    return lambda frame: draw_chart(spec, Rows(frame), "")


# chart -> (draw from one frame, the frame of the mart it reads): every chart asset's drawing, and
# two variants (the pie option, the growth lines summed from months)
CHARTS: dict[str, tuple[Callable[[pd.DataFrame], Figure], Callable[[], pd.DataFrame]]] = {
    **{spec.name: (_drawn(spec), FRAMES[spec.name]) for spec in CHART_SPECS},
    "organization_commit_share_pie": (
        lambda d: organization_commit_share.organization_commit_share(d, kind="pie"),
        f.organization_activity,
    ),
    "cumulative_growth_from_months": (
        lambda d: cumulative_growth.cumulative_growth(cumulative_growth.running_totals(d)),
        f.person_activity_months,
    ),
}


def test_every_chart_asset_is_tried_on_frames():
    assert list(FRAMES) == [spec.name for spec in CHART_SPECS] == [a.key.path[1] for a in CHART_ASSETS]


def test_acks_reviews_chart_without_any_ack_or_review_is_its_no_data_figure(tmp_path):
    # the shape that crashed: rows (commits, mail) for two projects, every ack and review 0
    activity = no_acks()
    assert len(activity) == 30
    long = acks_reviews_by_organization.review_totals(activity, top_n=10)
    assert long.empty
    assert {"project", "organization", "count", "kind", "direction"} <= set(long.columns)
    fig = acks_reviews_by_organization.acks_reviews_by_organization(
        activity, "Data: 2021-2023", no_data_reason="No acks or reviews"
    )
    assert is_no_data(fig)
    assert "No acks or reviews" in text_of(fig) and "Data: 2021-2023" in text_of(fig)
    assert save_png(fig, tmp_path / "acks.png").stat().st_size > 1000


def test_acks_reviews_chart_one_project_with_acks_only():
    # one organization with 2 acks given, nothing else: the acks panel has its bars, the reviews
    # panel is an empty panel of its own
    one = no_acks().head(1).assign(acks_given=2)
    long = acks_reviews_by_organization.review_totals(one, top_n=10)
    assert sorted(zip(long["kind"], long["direction"], long["count"], strict=True)) == [
        ("acks", "Given", 2),
        ("acks", "Received", 0),
        ("reviews", "Given", 0),
        ("reviews", "Received", 0),
    ]
    fig = acks_reviews_by_organization.acks_reviews_by_organization(one)
    assert not is_no_data(fig)
    acks = next(ax for ax in fig.axes if ax.get_title() == "alpha: Acked-by")
    reviews = next(ax for ax in fig.axes if ax.get_title() == "alpha: Reviewed-by")
    assert acks.axison and not reviews.axison
    assert [round(bar.get_width()) for bar in acks.patches if bar.get_width() > 0] == [2]


@pytest.mark.parametrize("name", list(CHARTS))
def test_no_rows_with_the_mart_columns_gives_no_data(name, tmp_path):
    draw, frame = CHARTS[name]
    empty = frame().iloc[:0]
    assert list(empty.columns) and empty.empty
    fig = draw(empty)
    assert is_no_data(fig)
    assert save_png(fig, tmp_path / f"{name}.png").stat().st_size > 1000


@pytest.mark.parametrize("name", list(CHARTS))
def test_one_row_is_drawn(name, tmp_path):
    draw, frame = CHARTS[name]
    one = frame().head(1)
    assert len(one) == 1
    fig = draw(one)
    assert not is_no_data(fig)
    # the one project of the row names a panel (or, for the growth lines, the legend)
    assert one["project"].iloc[0] in text_of(fig)
    assert save_png(fig, tmp_path / f"{name}.png").stat().st_size > 1000


@pytest.mark.parametrize("name", list(CHARTS))
def test_all_zero_or_missing_values_never_raise(name, tmp_path):
    draw, frame = CHARTS[name]
    df = frame()
    numbers = [c for c in df.columns if df[c].dtype.kind in "if"]
    for blank in (0, None):
        fig = draw(df.assign(**{c: blank for c in numbers}))
        assert save_png(fig, tmp_path / f"{name}-{blank}.png").stat().st_size > 1000


def test_charts_that_count_things_have_nothing_to_draw_from_zeros():
    zeros = f.organization_activity().assign(commits=0, lines_changed=0, **{c: 0 for c in ACK_COLUMNS})
    assert is_no_data(organization_commit_share.organization_commit_share(zeros))
    assert is_no_data(lines_by_organization.lines_by_organization(zeros))
    assert is_no_data(acks_reviews_by_organization.acks_reviews_by_organization(zeros))
    quiet = f.health().assign(correspondents=0, submitters=0)
    assert is_no_data(correspondents_vs_submitters.correspondents_vs_submitters(quiet))
    assert is_no_data(review_exchange.review_exchange(f.review_exchange().assign(acks=0, reviews=0)))


def test_export_with_a_missing_mart_writes_headers_only(tmp_path):
    # person_activity missing from the warehouse (a frame with no columns), one organization row
    orgs = f.organization_activity().head(1)
    files = export_csvs(pd.DataFrame(), orgs, tmp_path / "csv")
    assert sorted(p.relative_to(tmp_path / "csv").as_posix() for p in files) == [
        "2021/alpha/organizations.csv",
        "2021/alpha/people.csv",
    ]
    people = (tmp_path / "csv/2021/alpha/people.csv").read_text(encoding="utf-8-sig").splitlines()
    assert people == [",".join(PEOPLE_COLUMNS)]
    organizations = (
        (tmp_path / "csv/2021/alpha/organizations.csv").read_text(encoding="utf-8-sig").splitlines()
    )
    assert organizations[0] == ",".join(ORGANIZATION_COLUMNS)
    assert organizations[1].startswith("Red Hat,5,100,30,50,")
    # nothing at all: an empty export directory
    assert export_csvs(pd.DataFrame(), pd.DataFrame(), tmp_path / "none") == []
    assert list((tmp_path / "none").iterdir()) == []


def test_report_with_no_rows():
    people = pd.DataFrame(columns=["project", "grain", "period_start", "display_name", "commits"])
    page = build_report(
        projects=[ProjectInfo("alpha", "Alpha", ["git alpha"])],
        charts=[],
        top_people=top_rows(people),
        top_organizations=top_rows(pd.DataFrame()),
        generated_at=datetime(2024, 1, 1, tzinfo=UTC),
        data_ranges={},
        data_quality=pd.DataFrame(),
    )
    assert "<p>No activity.</p>" in page
    assert "No data-quality findings." in page
    assert "<td>no data</td>" in page


# -- the assets on a warehouse dbt built from a project without acks or reviews -------------------


def test_chart_report_and_export_assets_without_acks_or_reviews(tmp_path, monkeypatch):

    wh = tmp_path / "w.duckdb"
    write_raw(
        wh,
        {
            "git_commits": [
                commit(
                    "c1",
                    "ann@corp-a.example",
                    datetime(2023, 3, 1),
                    committer="ann@corp-a.example",
                    project="q",
                ),
                commit(
                    "c2",
                    "bob@corp-b.example",
                    datetime(2023, 4, 1),
                    committer="ann@corp-a.example",
                    project="q",
                ),
            ],
            "mail_messages": [
                {
                    **message(
                        "m1", "bob@corp-b.example", datetime(2023, 3, 20), subject="[PATCH] q: x", project="q"
                    ),
                    "is_patch": True,
                },
                message("m2", "ann@corp-a.example", datetime(2023, 3, 21), reply_to="m1", project="q"),
            ],
        },
    )
    ingest_identities(wh)
    dbt_build(wh, tmp_path / "target")
    out = tmp_path / "out"
    config = tmp_path / "communities.yaml"
    config.write_text(
        f"warehouse: {wh}\noutput_dir: {out}\ncache_dir: {tmp_path / 'cache'}\n"
        "projects:\n  q:\n    title: Q\n    repositories:\n      - name: r\n"
        f"        path: {tmp_path / 'r.git'}\n"
    )
    monkeypatch.delenv("COMMSTATS_WAREHOUSE", raising=False)
    result = dg.materialize(
        [*CHART_ASSETS, report_html, csv_exports],
        resources={"commstats": CommstatsConfig(config_path=str(config))},
        instance=dg.DagsterInstance.ephemeral(),
    )
    assert result.success
    no_data = {
        event.asset_key.path[-1]: event.step_materialization_data.materialization.metadata["no_data"].value
        for event in result.get_asset_materialization_events()
        if event.asset_key.path[0] == "charts"
    }
    assert no_data["acks_reviews_by_organization"] is True
    assert no_data["review_exchange"] is True
    assert no_data["correspondents_vs_submitters"] is False
    assert no_data["organization_commit_share"] is False
    assert len(no_data) == 8
    cfg = CommstatsConfig(config_path=str(config)).load()
    assert all(chart_path(cfg, name).stat().st_size > 1000 for name in no_data)
    assert "Reviews and acks given vs. received" in (out / "report.html").read_text()
    assert sorted(p.name for p in (out / "csv" / "2023" / "q").iterdir()) == [
        "organizations.csv",
        "people.csv",
    ]
