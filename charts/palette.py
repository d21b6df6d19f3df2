"""One colour per organization for a whole report, so an organization reads the same in every chart.

The palette is a function of the report's organizations only (marts.organization_activity rows at
any one grain: the activity totals of an organization are the same summed over months, quarters
or years), so charts drawn apart, each from its own frame, still agree without passing it around.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd
import seaborn as sns
from matplotlib.colors import to_hex

from charts.style import OTHER, OTHER_COLOR, PALETTE

INDEPENDENT = "(independent)"
UNKNOWN = "(unknown)"
# not employers, and "Other" is the rest folded together: fixed neutral greys, never a hue that
# would pass for one more organization
NEUTRALS: dict[str, str] = {INDEPENDENT: "#707070", UNKNOWN: "#d8d8d8", OTHER: OTHER_COLOR}
# activity that ranks organizations: the measures the organization charts draw first (commits,
# lines), then every act done; columns missing from a frame count as 0
RANKING = ("commits", "lines_changed")
ACTS = (
    "messages",
    "patches_posted",
    "acks_given",
    "reviews_given",
    "tests_given",
    "reports_given",
    "signoffs_non_author",
)

Palette = Mapping[str, str]


def organization_order(activity: pd.DataFrame) -> list[str]:
    """The report's organizations (neutral labels left out), most active first: by commits, then
    lines changed, then all other acts done, then by name, so the order is the same every time."""
    if activity.empty or "organization" not in activity.columns:
        return []
    present = [c for c in (*RANKING, *ACTS) if c in activity.columns]
    totals = activity.groupby("organization")[present].sum(numeric_only=True)
    for column in (*RANKING, *ACTS):
        if column not in totals.columns:
            totals[column] = 0
    totals["acts"] = totals[list(ACTS)].sum(axis=1)
    totals = totals.reset_index()
    totals = totals[~totals["organization"].isin(NEUTRALS)]
    ranked = totals.sort_values(
        [*RANKING, "acts", "organization"], ascending=[False] * (len(RANKING) + 1) + [True]
    )
    return ranked["organization"].astype(str).tolist()


def distinct_colors(n: int) -> list[str]:
    """n different colours, none of them grey: the colorblind-safe palette first (its own grey, the
    8th colour, left out), then the other seaborn qualitative palettes, then evenly spaced hues."""
    found: list[str] = []
    for name in (PALETTE, "dark", "muted", "pastel"):
        for i, color in enumerate(sns.color_palette(name, n_colors=10)):
            hexed = to_hex(color)
            if i != 7 and hexed not in found and hexed not in NEUTRALS.values():
                found.append(hexed)
    if n > len(found):
        # beyond ~36 organizations: evenly spaced hues, skipping any that repeats an earlier colour
        for color in sns.color_palette("husl", n_colors=2 * n):
            hexed = to_hex(color)
            if hexed not in found and hexed not in NEUTRALS.values():
                found.append(hexed)
    return found[:n]


def organization_palette(activity: pd.DataFrame) -> dict[str, str]:
    """Organization -> colour (hex) for every organization of `activity`, and the fixed greys of
    (independent), (unknown) and Other. Two organizations never share a colour."""
    names = organization_order(activity)
    palette = dict(zip(names, distinct_colors(len(names)), strict=True))
    palette.update(NEUTRALS)
    return palette


def colors_for(palette: Palette, names: Sequence[str]) -> dict[str, str]:
    """The colours of `names` from a palette given by the caller; one clear error for a name the
    palette lacks (it was built from other organizations than the chart's)."""
    missing = [n for n in names if n not in palette]
    if missing:
        raise ValueError(
            f"organization palette has no colour for {missing[0]!r}: build it from the report's rows"
        )
    return {n: palette[n] for n in names}
