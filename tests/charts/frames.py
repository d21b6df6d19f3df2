"""Small hand-made mart frames for the chart tests: two projects, three years, known numbers."""

from __future__ import annotations

import pandas as pd

YEARS = [2021, 2022, 2023]
PROJECTS = ["alpha", "beta"]
ORGS = ["Red Hat", "IBM", "Intel", "SUSE", "(independent)"]


def ts(year: int, month: int = 1) -> pd.Timestamp:
    return pd.Timestamp(year=year, month=month, day=1)


def health() -> pd.DataFrame:
    rows = []
    for p, project in enumerate(PROJECTS):
        for y, year in enumerate(YEARS):
            correspondents = 40 + 10 * y + p
            submitters = 20 + 5 * y
            rows.append(
                {
                    "project": project,
                    "grain": "year",
                    "period_start": ts(year),
                    "correspondents": correspondents,
                    "submitters": submitters,
                    "submitter_to_correspondent_ratio": submitters / correspondents,
                    "elephant_factor": 1 + y + p,
                    "hhi": 0.40 - 0.1 * y + 0.01 * p,
                    "median_hours_to_first_reply": 10.0 + y + 5 * p,
                    "unanswered_patch_share": 0.1 * (y + 1) + 0.05 * p,
                }
            )
    return pd.DataFrame(rows)


def organization_activity(grain: str = "year") -> pd.DataFrame:
    """Commits per (project, year, org): org i has (5 - i) * 10 + year offset commits; the lines
    are 10x the commits; acks/reviews given = 2x / 3x the org's index + 1."""
    rows = []
    for project in PROJECTS:
        for y, year in enumerate(YEARS):
            for i, org in enumerate(ORGS):
                commits = (5 - i) * 10 + y
                rows.append(
                    {
                        "project": project,
                        "grain": grain,
                        "period_start": ts(year),
                        "organization": org,
                        "people": 5 - i,
                        "messages": 100 - 10 * i,
                        "patches_posted": 30 - i,
                        "commits": commits,
                        "lines_added": commits * 7,
                        "lines_removed": commits * 3,
                        "lines_changed": commits * 10,
                        "acks_given": 2 * (i + 1),
                        "acks_received": 5 - i,
                        "reviews_given": 3 * (i + 1),
                        "reviews_received": 2 * (5 - i),
                        "signoffs_non_author": 10 if org == "Red Hat" else 0,
                    }
                )
    return pd.DataFrame(rows)


def review_exchange() -> pd.DataFrame:
    rows = []
    for project in PROJECTS:
        for year in YEARS:
            for i, reviewer in enumerate(ORGS):
                for j, author in enumerate(ORGS):
                    rows.append(
                        {
                            "project": project,
                            "grain": "year",
                            "period_start": ts(year),
                            "reviewer_organization": reviewer,
                            "author_organization": author,
                            "acks": i + 1,
                            "reviews": j,
                        }
                    )
    return pd.DataFrame(rows)


def person_activity_months() -> pd.DataFrame:
    """Month rows: ann commits in Jan and Mar 2021, bob in Feb 2021 and Jan 2022, cy only mails."""
    rows = [
        ("alpha", ts(2021, 1), "ann@x.org", 2, 20),
        ("alpha", ts(2021, 2), "bob@y.org", 1, 5),
        ("alpha", ts(2021, 3), "ann@x.org", 3, 30),
        ("alpha", ts(2021, 3), "cy@z.org", 0, 0),
        ("alpha", ts(2022, 1), "bob@y.org", 4, 40),
    ]
    return pd.DataFrame(rows, columns=["project", "period_start", "person_id", "commits", "lines_changed"])
