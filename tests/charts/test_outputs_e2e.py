"""Charts, report and CSV exports from a real pipeline run on the generated sample: every chart
drawn from the marts, the report loaded in headless Chromium, the CSV figures equal to the marts."""

from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import pytest

from charts import lines_by_organization, organization_commit_share
from orchestration.defs.charts import CHARTS, ORG_SQL
from tests.charts.browser import chromium_path, headless_page, probe
from tests.charts.test_organization_colors import drawn_colors

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def run(pipeline_run: dict) -> dict:
    con = duckdb.connect(str(pipeline_run["warehouse"]), read_only=True)
    yield {**pipeline_run, "con": con}
    con.close()


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def test_every_chart_is_drawn_with_data(run):
    for name in CHARTS:
        png = run["out"] / "charts" / f"{name}.png"
        assert png.exists(), name
        # a "no data" figure is a title and one line of text: well under 40 kB
        assert png.stat().st_size > 40_000, f"{name} looks empty ({png.stat().st_size} bytes)"


def test_people_csv_equals_the_mart(run):
    con = run["con"]
    project, year = "vmcore", 2023
    rows = read_csv(run["out"] / "csv" / str(year) / project / "people.csv")
    expected = con.execute(
        "select display_name, person_id, organization, messages, patches_posted, commits, lines_added, "
        "lines_removed, acks_given, acks_received, reviews_given, reviews_received "
        "from marts.person_activity where project = ? and grain = 'year' and year(period_start) = ?",
        [project, year],
    ).fetchall()
    assert len(rows) == len(expected) > 0
    by_address = {r["address"]: r for r in rows}
    for name, address, org, *numbers in expected:
        row = by_address[address]
        assert (row["name"], row["organization"]) == (name, org)
        assert [int(v) for v in list(row.values())[3:]] == [int(n or 0) for n in numbers]
    # the sample's "Doe, Jane" keeps her comma
    assert any(
        r["name"] == "Doe, Jane" for r in read_csv(run["out"] / "csv" / "2024" / "kernel-virt" / "people.csv")
    )


def test_organizations_csv_equals_the_mart(run):
    rows = read_csv(run["out"] / "csv" / "2024" / "kernel-virt" / "organizations.csv")
    people, commits = (
        run["con"]
        .execute(
            "select people, commits from marts.organization_activity where project = 'kernel-virt' and grain = 'year' "
            "and period_start = date '2024-01-01' and organization = 'Red Hat'"
        )
        .fetchone()
    )
    red_hat = next(r for r in rows if r["organization"] == "Red Hat")
    assert (int(red_hat["people"]), int(red_hat["commits"])) == (people, commits)


def test_organizations_keep_their_colour_across_the_sample_charts(run):
    # the organization charts read the mart at their own grains, as their assets do
    years, quarters = (run["con"].execute(ORG_SQL, [grain]).df() for grain in ("year", "quarter"))
    figures = [
        organization_commit_share.organization_commit_share(years),
        organization_commit_share.organization_commit_share(years, kind="pie"),
        lines_by_organization.lines_by_organization(quarters, period="quarter"),
    ]
    colors: dict[str, set[str]] = {}
    for fig in figures:
        for label, seen in drawn_colors(fig).items():
            colors.setdefault(label, set()).update(seen)
    assert "Red Hat" in colors and len(colors) > 3
    assert all(len(seen) == 1 for seen in colors.values()), colors
    assert len({next(iter(seen)) for seen in colors.values()}) == len(colors)


@pytest.mark.skipif(
    chromium_path() is None,
    reason="headless browser test needs Chromium (/usr/bin/chromium; `apt-get install chromium`, as .ci/run does)",
)
def test_report_renders_in_headless_chromium(run):
    report = run["out"] / "report.html"
    assert report.exists()
    with headless_page() as page:
        page.open(report.as_uri())
        seen = probe(page)
        # kept as a test artifact beside the run's warehouse
        shot = page.screenshot(run["tmp"] / "report.png")
    assert [i["alt"] for i in seen["images"]] == [title for title, _ in CHARTS.values()]
    assert all(i["complete"] and i["width"] > 0 and i["height"] > 0 for i in seen["images"]), seen["images"]
    assert seen["tables"] and all(rows > 0 for rows in seen["tables"]), seen["tables"]
    assert "Data quality" in seen["headings"]
    assert shot.stat().st_size > 100_000
