"""Each chart's title, by chart name (its module and drawing function in charts/).

Kept apart from the drawing modules so the chart assets can be defined, with their titles, without
importing matplotlib, seaborn and pandas: every Dagster run process loads the definitions, and
those imports were about 0.8 s of each load; only the processes that draw import them.
"""

TITLES: dict[str, str] = {
    "acks_reviews_by_organization": "Reviews and acks given vs. received per organization",
    "correspondents_vs_submitters": "List correspondents vs. code submitters per year",
    "cumulative_growth": "Cumulative growth",
    "lines_by_organization": "Lines changed by organization",
    "organization_commit_share": "Organization share of commits per year",
    "organizational_diversity": "Organizational diversity: elephant factor and HHI",
    "responsiveness": "Responsiveness to patches",
    "review_exchange": "Review exchange between organizations",
}
