"""CSV exports: tricky names survive a round trip through the csv module; layout per period and
project; spreadsheet-safe encoding; stale files removed."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd

from charts.exports import ORGANIZATION_COLUMNS, PEOPLE_COLUMNS, export_csvs, neutralize, period_name
from tests.charts.frames import organization_activity, ts

TRICKY = [
    ("Doe, Jane", "jane.doe@oracle.com", "Oracle"),
    ('Robert "Bob" O\'Neil', "bob@example.com", 'Acme, Inc. "R&D"'),
    ("Maria de la Cruz", "maria.delacruz@oracle.com", "Oracle"),
    ("Zoë Lambert-Øster", "zoe@arm.com", "Arm"),
    ("李雷", "lilei@huawei.com", "华为 Huawei"),
    ("Multi\nLine", "ml@example.com", "(independent)"),
]


def people_frame(grain: str = "year") -> pd.DataFrame:
    rows = []
    for i, (name, address, org) in enumerate(TRICKY):
        rows.append(
            {
                "project": "alpha",
                "grain": grain,
                "period_start": ts(2024),
                "person_id": address,
                "display_name": name,
                "organization": org,
                "messages": 10 + i,
                "patches_posted": i,
                "commits": 6 - i,
                "lines_added": 100 * i,
                "lines_removed": 7 * i,
                "acks_given": i,
                "acks_received": 2 * i,
                "reviews_given": 3 * i,
                "reviews_received": 4 * i,
            }
        )
    return pd.DataFrame(rows)


def read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def test_tricky_names_round_trip(tmp_path):
    files = export_csvs(people_frame(), organization_activity().iloc[0:0], tmp_path / "csv")
    people = tmp_path / "csv" / "2024" / "alpha" / "people.csv"
    assert people in files
    rows = read(people)
    assert list(rows[0]) == list(PEOPLE_COLUMNS)
    assert [(r["name"], r["address"], r["organization"]) for r in rows] == TRICKY  # most commits first
    bob = next(r for r in rows if r["address"] == "bob@example.com")
    assert bob["commits"] == "5" and bob["lines_added"] == "100" and bob["reviews_received"] == "4"


def test_file_is_utf8_with_bom_and_rfc4180_quoting(tmp_path):
    export_csvs(people_frame(), organization_activity().iloc[0:0], tmp_path / "csv")
    raw = (tmp_path / "csv" / "2024" / "alpha" / "people.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfname,address,organization,")  # BOM: Excel reads UTF-8
    assert b'"Doe, Jane",jane.doe@oracle.com,Oracle,' in raw
    assert b'"Robert ""Bob"" O\'Neil"' in raw
    assert "Zoë Lambert-Øster".encode() in raw
    assert raw.count(b"\r\n") == len(TRICKY) + 1  # CRLF rows; the embedded newline stays quoted


def test_formula_like_cells_are_neutralized(tmp_path):
    assert neutralize('=HYPERLINK("http://x")') == '\'=HYPERLINK("http://x")'
    assert neutralize("+1 555") == "'+1 555" and neutralize("@evil") == "'@evil"
    assert neutralize("Jane Doe") == "Jane Doe"
    frame = people_frame().head(1).assign(display_name="=cmd|'/C calc'!A0")
    export_csvs(frame, organization_activity().iloc[0:0], tmp_path / "csv")
    assert read(tmp_path / "csv" / "2024" / "alpha" / "people.csv")[0]["name"] == "'=cmd|'/C calc'!A0"


def test_layout_per_period_and_project_and_organizations(tmp_path):
    orgs = organization_activity()
    export_csvs(people_frame().iloc[0:0], orgs, tmp_path / "csv")
    dirs = sorted(str(p.relative_to(tmp_path / "csv")) for p in (tmp_path / "csv").glob("*/*"))
    assert dirs == [f"{y}/{p}" for y in (2021, 2022, 2023) for p in ("alpha", "beta")]
    rows = read(tmp_path / "csv" / "2022" / "beta" / "organizations.csv")
    assert list(rows[0]) == list(ORGANIZATION_COLUMNS)
    red_hat = next(r for r in rows if r["organization"] == "Red Hat")
    expected = orgs[
        (orgs.project == "beta") & (orgs.period_start == ts(2022)) & (orgs.organization == "Red Hat")
    ].iloc[0]
    assert red_hat["people"] == str(expected.people) and red_hat["commits"] == str(expected.commits)
    assert red_hat["lines_added"] == str(expected.lines_added) and red_hat["patches"] == str(
        expected.patches_posted
    )
    # a period with organizations but no people still gets its (header-only) people.csv
    assert read(tmp_path / "csv" / "2022" / "beta" / "people.csv") == []


def test_reexport_replaces_stale_periods(tmp_path):
    out = tmp_path / "csv"
    export_csvs(people_frame(), organization_activity(), out)
    assert (out / "2021").is_dir()
    export_csvs(people_frame(), organization_activity().iloc[0:0], out)
    assert sorted(p.name for p in out.iterdir()) == ["2024"]
    assert not list(tmp_path.glob(".csv.*"))  # no staging directory left behind


def test_quarter_and_month_directories(tmp_path):
    assert period_name(ts(2024, 4), "quarter") == "2024-Q2"
    assert period_name(ts(2024, 4), "month") == "2024-04"
    frame = pd.concat([people_frame("year"), people_frame("quarter").assign(period_start=ts(2024, 4))])
    export_csvs(frame, organization_activity().iloc[0:0], tmp_path / "csv", grains=["year", "quarter"])
    assert (tmp_path / "csv" / "2024-Q2" / "alpha" / "people.csv").exists()
    assert len(read(tmp_path / "csv" / "2024" / "alpha" / "people.csv")) == len(TRICKY)
