"""The HTML report: built from frames and PNGs (pure), then loaded in headless Chromium."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from html.parser import HTMLParser

import pandas as pd
import pytest

from charts import correspondents_vs_submitters, organizational_diversity
from charts.report import ChartImage, ProjectInfo, build_report, top_rows
from tests.charts import frames as f
from tests.charts.browser import chromium_path, headless_page, probe

needs_chromium = pytest.mark.skipif(
    chromium_path() is None,
    reason="headless browser test needs Chromium (/usr/bin/chromium; `apt-get install chromium`, as .ci/run does)",
)


def png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=60)
    return buf.getvalue()


def people() -> pd.DataFrame:
    rows = []
    for year in f.YEARS:
        for i, name in enumerate(
            ["Doe, Jane", "<script>alert(1)</script>", "Zoë Lambert", "Maria de la Cruz"]
        ):
            rows.append(
                {
                    "project": "alpha",
                    "period_start": f.ts(year),
                    "person_id": f"p{i}@x.org",
                    "display_name": name,
                    "organization": "Oracle",
                    "commits": 10 - i,
                    "lines_changed": 100,
                    "patches_posted": 1,
                    "messages": 5,
                    "reviews_given": 0,
                    "acks_given": 0,
                }
            )
    return pd.DataFrame(rows)


def sample_report(quality: pd.DataFrame | None = None) -> str:
    charts = [
        ChartImage(
            "correspondents_vs_submitters",
            correspondents_vs_submitters.TITLE,
            png(correspondents_vs_submitters.correspondents_vs_submitters(f.health())),
            "who writes vs. who commits",
        ),
        ChartImage(
            "organizational_diversity",
            organizational_diversity.TITLE,
            png(organizational_diversity.organizational_diversity(f.health())),
        ),
    ]
    return build_report(
        projects=[
            ProjectInfo("alpha", "Alpha", ["list alpha-devel", "git alpha"]),
            ProjectInfo("beta", "Beta"),
        ],
        charts=charts,
        top_people=top_rows(people(), 3),
        top_organizations=top_rows(f.organization_activity(), 3),
        generated_at=datetime(2025, 1, 2, 3, 4, tzinfo=UTC),
        data_ranges={"alpha": "2021-01 to 2023-12"},
        data_quality=quality,
    )


class Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def test_top_rows_ranks_by_commits_then_name():
    top = top_rows(people(), 2)
    assert len(top) == 2 * len(f.YEARS)
    first = top[top.period_start == f.ts(2022)]
    assert first.display_name.tolist() == ["Doe, Jane", "<script>alert(1)</script>"]


def test_report_is_self_contained_and_escaped():
    html = sample_report()
    parser = Collect()
    parser.feed(html)
    images = [a for t, a in parser.tags if t == "img"]
    assert len(images) == 2 and all(a["src"].startswith("data:image/png;base64,") for a in images)
    # nothing to fetch: no external scripts, stylesheets or images
    assert not [a for t, a in parser.tags if t in ("script", "link")]
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Generated <time" in html and "2025-01-02 03:04 UTC" in html
    assert "2021-01 to 2023-12" in html and "list alpha-devel, git alpha" in html
    assert "No data-quality table in this warehouse" in html
    # latest year open, the earlier ones folded
    assert html.index("<details open><summary>2023") < html.index("<details><summary>2022")


def test_report_data_quality_table():
    quality = pd.DataFrame(
        [
            {
                "project": "alpha",
                "source": "mail",
                "check": "duplicate_message_id",
                "count": 3,
                "detail": "kept both",
            }
        ]
    )
    html = sample_report(quality)
    assert "duplicate_message_id" in html and '<td class="num">3</td>' in html


@needs_chromium
def test_report_renders_in_headless_chromium(tmp_path):
    page_file = tmp_path / "report.html"
    page_file.write_text(sample_report(), encoding="utf-8")
    with headless_page() as page:
        page.open(page_file.as_uri())
        seen = probe(page)
        shot = page.screenshot(tmp_path / "report.png")
    assert seen["title"] == "commstats report"
    assert len(seen["images"]) == 2
    assert all(i["complete"] and i["width"] > 0 and i["height"] > 0 for i in seen["images"]), seen["images"]
    assert seen["tables"] and all(rows > 0 for rows in seen["tables"]), seen["tables"]
    assert seen["headings"][:2] == ["Data range and sources", "Charts"]
    assert shot.stat().st_size > 10_000


@needs_chromium
def test_browser_probe_detects_a_broken_image(tmp_path):
    """The assertion above is only worth something if a broken image fails it."""
    page_file = tmp_path / "broken.html"
    page_file.write_text('<html><body><img alt="x" src="data:image/png;base64,AAAA"></body></html>')
    with headless_page() as page:
        page.open(page_file.as_uri())
        seen = probe(page)
    assert seen["images"][0]["width"] == 0
