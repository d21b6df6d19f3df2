"""The HTML report: one self-contained page (charts embedded as base64 PNG, no script, no external
file) with the key tables, so it can be mailed, archived or opened from a file share as is."""

from __future__ import annotations

import base64
import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd

from charts.style import data_range

PEOPLE_RANKING = ["commits", "lines_changed", "reviews_given", "acks_given", "messages"]
# columns shown in the top tables, with their headings
PEOPLE_COLUMNS = {
    "display_name": "Name",
    "organization": "Organization",
    "commits": "Commits",
    "lines_changed": "Lines changed",
    "patches_posted": "Patches",
    "messages": "Messages",
    "reviews_given": "Reviews given",
    "acks_given": "Acks given",
}
ORGANIZATION_COLUMNS = {
    "organization": "Organization",
    "people": "People",
    "commits": "Commits",
    "lines_changed": "Lines changed",
    "patches_posted": "Patches",
    "messages": "Messages",
    "reviews_given": "Reviews given",
    "acks_given": "Acks given",
}
UNAFFILIATED_COLUMNS = {
    "address": "Address",
    "domain": "Domain",
    "messages": "Messages",
    "commits": "Commits",
    "first_seen": "First seen",
    "last_seen": "Last seen",
}
QUALITY_COLUMNS = {
    "project": "Project",
    "source": "Source",
    "check": "Check",
    "count": "Count",
    "share": "Share",
    "detail": "Detail",
}

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0 auto; max-width: 1200px;
       padding: 1rem 2rem; color: #222; line-height: 1.4; }
h1 { margin-bottom: 0.2rem; } .meta { color: #555; margin-top: 0; }
nav a { margin-right: 1rem; }
figure { margin: 1.5rem 0; } figure img { max-width: 100%; height: auto; border: 1px solid #ddd; }
figcaption { color: #555; font-size: 0.9rem; }
table { border-collapse: collapse; margin: 0.5rem 0 1rem; font-size: 0.9rem; }
th, td { border: 1px solid #ddd; padding: 0.25rem 0.6rem; } th { background: #f3f3f3; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
details { margin: 0.3rem 0; } summary { cursor: pointer; font-weight: 600; }
.pair { display: flex; flex-wrap: wrap; gap: 2rem; } .pair > div { flex: 1 1 420px; }
"""


@dataclass
class ChartImage:
    key: str
    title: str
    png: bytes
    description: str = ""


@dataclass
class ProjectInfo:
    key: str
    title: str
    sources: list[str] = field(default_factory=list)


def top_rows(activity: pd.DataFrame, n: int = 10, ranking: Sequence[str] = PEOPLE_RANKING) -> pd.DataFrame:
    """The n most active rows of each (project, period_start): by commits, then lines changed,
    reviews, acks and messages, then by name, so ties come out the same way every time."""
    if activity.empty:
        return activity
    name = "display_name" if "display_name" in activity.columns else "organization"
    keys = [c for c in ranking if c in activity.columns]
    df = activity.sort_values(
        ["project", "period_start", *keys, name], ascending=[True, True, *[False] * len(keys), True]
    )
    return df.groupby(["project", "period_start"], sort=False).head(n)


def _cell(value: object) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "<td></td>"
    if isinstance(value, bool):
        return f"<td>{'yes' if value else 'no'}</td>"
    if isinstance(value, int | float) or hasattr(value, "dtype"):
        number = float(value)
        text = f"{int(number):,}" if number.is_integer() else f"{number:,.2f}"
        return f'<td class="num">{text}</td>'
    return f"<td>{html.escape(str(value))}</td>"


def html_table(frame: pd.DataFrame, columns: dict[str, str], caption: str = "") -> str:
    present = {c: h for c, h in columns.items() if c in frame.columns}
    head = "".join(f"<th>{html.escape(h)}</th>" for h in present.values())
    rows = "".join(
        "<tr>" + "".join(_cell(v) for v in row) + "</tr>"
        for row in frame[list(present)].itertuples(index=False)
    )
    cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def _period_label(period_start: object, grain: str) -> str:
    return data_range([period_start], grain)


def _top_tables(people: pd.DataFrame, organizations: pd.DataFrame, project: str, grain: str) -> str:
    people = people[people["project"] == project] if not people.empty else people
    organizations = (
        organizations[organizations["project"] == project] if not organizations.empty else organizations
    )
    periods = sorted(
        set(pd.to_datetime(people.get("period_start", pd.Series(dtype="datetime64[ns]"))))
        | set(pd.to_datetime(organizations.get("period_start", pd.Series(dtype="datetime64[ns]")))),
        reverse=True,
    )
    if not periods:
        return "<p>No activity.</p>"
    parts = []
    for i, period in enumerate(periods):
        p = people[pd.to_datetime(people["period_start"]) == period] if not people.empty else people
        o = (
            organizations[pd.to_datetime(organizations["period_start"]) == period]
            if not organizations.empty
            else organizations
        )
        # the latest period open, earlier ones one click away: the page stays short
        opened = " open" if i == 0 else ""
        parts.append(
            f'<details{opened}><summary>{html.escape(_period_label(period, grain))}</summary><div class="pair">'
            f"<div><h4>Top people</h4>{html_table(p, PEOPLE_COLUMNS) if not p.empty else '<p>None.</p>'}</div>"
            f"<div><h4>Top organizations</h4>{html_table(o, ORGANIZATION_COLUMNS) if not o.empty else '<p>None.</p>'}</div>"
            "</div></details>"
        )
    return "".join(parts)


def build_report(
    *,
    projects: Sequence[ProjectInfo],
    charts: Sequence[ChartImage],
    top_people: pd.DataFrame,
    top_organizations: pd.DataFrame,
    generated_at: datetime,
    data_ranges: dict[str, str],
    data_quality: pd.DataFrame | None = None,
    unaffiliated: pd.DataFrame | None = None,
    grain: str = "year",
    title: str = "commstats report",
    notes: Sequence[str] = (),
) -> str:
    """The whole page as a string. `top_people` / `top_organizations`: rows of
    marts.person_activity / marts.organization_activity already cut to the top N per project and
    period (see top_rows); `data_ranges`: project -> its data range text; `data_quality`:
    marts.data_quality rows, or None when the warehouse has no such table; `unaffiliated`: the most
    active rows of marts.unaffiliated_addresses (the worklist for the affiliation files), or None."""
    esc = html.escape
    nav = "".join(f'<a href="#{esc(c.key)}">{esc(c.title)}</a>' for c in charts)
    source_rows = pd.DataFrame(
        [
            {
                "project": p.title,
                "key": p.key,
                "range": data_ranges.get(p.key, "no data"),
                "sources": ", ".join(p.sources),
            }
            for p in projects
        ]
    )
    source_table = (
        html_table(
            source_rows, {"project": "Project", "key": "Key", "range": "Data range", "sources": "Sources"}
        )
        if not source_rows.empty
        else "<p>No projects configured.</p>"
    )
    figures = "".join(
        f'<figure id="{esc(c.key)}"><h3>{esc(c.title)}</h3>'
        f'<img alt="{esc(c.title)}" src="data:image/png;base64,{base64.b64encode(c.png).decode()}">'
        f"<figcaption>{esc(c.description)}</figcaption></figure>"
        for c in charts
    )
    tables = "".join(
        f'<section id="top-{esc(p.key)}"><h3>{esc(p.title)}</h3>'
        f"{_top_tables(top_people, top_organizations, p.key, grain)}</section>"
        for p in projects
    )
    if data_quality is None:
        quality = "<p>No data-quality table in this warehouse (marts.data_quality).</p>"
    elif data_quality.empty:
        quality = "<p>No data-quality findings.</p>"
    else:
        shown = data_quality.copy()
        if "share" in shown.columns:  # a share reads as a percentage, not as 0.05
            shown["share"] = [None if pd.isna(v) else f"{float(v):.1%}" for v in shown["share"]]
        quality = html_table(shown, QUALITY_COLUMNS)
    if unaffiliated is not None and not unaffiliated.empty:
        quality += "<h3>Most active unaffiliated addresses</h3>" + html_table(
            unaffiliated, UNAFFILIATED_COLUMNS
        )
    note_html = "".join(f'<p class="meta">{esc(n)}</p>' for n in notes)
    stamp = f"{generated_at:%Y-%m-%d %H:%M} UTC"
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="commstats">
<title>{esc(title)}</title>
<style>{CSS}</style>
</head>
<body>
<header>
<h1>{esc(title)}</h1>
<p class="meta">Generated <time datetime="{generated_at.isoformat()}">{stamp}</time></p>
{note_html}
<nav>{nav}</nav>
</header>
<section id="data"><h2>Data range and sources</h2>{source_table}</section>
<section id="charts"><h2>Charts</h2>{figures}</section>
<section id="top"><h2>Top people and organizations per {esc(grain)}</h2>{tables}</section>
<section id="quality"><h2>Data quality</h2>{quality}</section>
</body>
</html>
"""
