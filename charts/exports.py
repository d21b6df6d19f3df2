"""CSV exports for spreadsheet users: per period directory and per project, people.csv and
organizations.csv.

Encoding: UTF-8 *with* a byte-order mark. Excel opens a BOM-less CSV in the machine's legacy code
page and turns "Zoë" into "ZoÃ«"; with the BOM it reads UTF-8, and LibreOffice, Google Sheets,
pandas and Python's csv module (encoding="utf-8-sig") all accept it. Quoting is the csv module's
(RFC 4180: fields with a comma, quote or line break are quoted, quotes doubled, CRLF line ends).

A text cell starting with =, +, -, @, tab or carriage return is prefixed with a single quote:
spreadsheets run such a cell as a formula, and names and organizations come from public mail.
"""

from __future__ import annotations

import csv
import os
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path

import pandas as pd

from charts.style import data_range

ENCODING = "utf-8-sig"
# output column -> mart column
PEOPLE_COLUMNS: dict[str, str] = {
    "name": "display_name",
    "address": "person_id",
    "organization": "organization",
    "messages": "messages",
    "patches": "patches_posted",
    "commits": "commits",
    "lines_added": "lines_added",
    "lines_removed": "lines_removed",
    "acks_given": "acks_given",
    "acks_received": "acks_received",
    "reviews_given": "reviews_given",
    "reviews_received": "reviews_received",
}
ORGANIZATION_COLUMNS: dict[str, str] = {
    "organization": "organization",
    "people": "people",
    **{k: v for k, v in PEOPLE_COLUMNS.items() if k not in ("name", "address", "organization")},
}
TEXT_COLUMNS = {"name", "address", "organization"}
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
SORT = ["commits", "messages"]


def neutralize(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def period_name(period_start: object, grain: str) -> str:
    """Directory name of a period: 2024, 2024-Q1 or 2024-03."""
    return data_range([period_start], grain)


def csv_rows(frame: pd.DataFrame, columns: Mapping[str, str]) -> list[list[object]]:
    """The frame as rows in the order of `columns` (missing mart columns become empty cells, missing
    counts 0), most commits first, then most messages, then by name."""
    df = frame.copy()
    first = next(iter(columns.values()))
    sort = [c for c in SORT if c in df.columns]
    df = df.sort_values([*sort, first], ascending=[*[False] * len(sort), True], kind="stable")
    rows = []
    for record in df.to_dict("records"):
        row: list[object] = []
        for out, src in columns.items():
            value = record.get(src)
            if out in TEXT_COLUMNS:
                row.append(
                    ""
                    if value is None or (not isinstance(value, str) and pd.isna(value))
                    else neutralize(str(value))
                )
            else:
                row.append(0 if value is None or pd.isna(value) else int(value))
        rows.append(row)
    return rows


def write_csv(path: Path, frame: pd.DataFrame, columns: Mapping[str, str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    # newline="" hands line endings to the csv module, which writes CRLF as RFC 4180 asks
    with path.open("w", encoding=ENCODING, newline="") as f:
        writer = csv.writer(f, quoting=csv.QUOTE_MINIMAL)
        writer.writerow(list(columns))
        writer.writerows(csv_rows(frame, columns))
    return path


def by_period(frame: pd.DataFrame) -> dict[tuple[str, pd.Timestamp], pd.DataFrame]:
    """The frame's rows per (project, period_start), split in one pass; none for a frame without
    those columns (a mart the warehouse does not have yet comes as a frame with no columns)."""
    if frame.empty or not {"project", "period_start"} <= set(frame.columns):
        return {}
    starts = pd.to_datetime(frame["period_start"])
    return {(project, start): rows for (project, start), rows in frame.groupby([frame["project"], starts])}


def export_csvs(
    people: pd.DataFrame, organizations: pd.DataFrame, out_dir: Path, grains: Iterable[str] = ("year",)
) -> list[Path]:
    """Write <out_dir>/<period>/<project>/people.csv and organizations.csv for every period of the
    given grains found in marts.person_activity / marts.organization_activity rows, and replace
    out_dir as a whole: a period or project gone from the warehouse leaves no stale file behind,
    and a reader never sees half an export."""
    out_dir = Path(out_dir)
    staging = out_dir.with_name(f".{out_dir.name}.tmp-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    written: list[Path] = []
    for grain in grains:
        p = people[people["grain"] == grain] if "grain" in people.columns else people
        o = (
            organizations[organizations["grain"] == grain]
            if "grain" in organizations.columns
            else organizations
        )
        people_by, organizations_by = by_period(p), by_period(o)
        for project, start in sorted(people_by.keys() | organizations_by.keys()):
            folder = staging / period_name(start, grain) / project
            for name, groups, columns in (
                ("people.csv", people_by, PEOPLE_COLUMNS),
                ("organizations.csv", organizations_by, ORGANIZATION_COLUMNS),
            ):
                # a period one mart lacks gets the header alone
                rows = groups.get((project, start), pd.DataFrame(columns=list(columns.values())))
                written.append(write_csv(folder / name, rows, columns))
    old = out_dir.with_name(f".{out_dir.name}.old-{os.getpid()}")
    if out_dir.exists():
        out_dir.rename(old)
    staging.rename(out_dir)
    shutil.rmtree(old, ignore_errors=True)
    return [out_dir / path.relative_to(staging) for path in written]
