"""One look for every chart: seaborn theme, sizes, captions, legends, and the "no data" figure."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # charts are rendered headless, by scheduled runs and tests

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

FIGSIZE = (10, 5.5)
DPI = 110
OTHER = "Other"
# colorblind-safe; "Other" is always grey so it never reads as one more organization
PALETTE = "colorblind"
OTHER_COLOR = "#b0b0b0"
NO_DATA = "No data for this chart yet"


def themed_figure(
    ncols: int = 1,
    nrows: int = 1,
    sharey: bool = False,
    sharex: bool = False,
    panel: tuple[float, float] | None = None,
) -> tuple[Figure, np.ndarray]:
    """A figure of nrows x ncols panels (always a 2-D array of axes). `panel` sizes one panel; by
    default the whole figure is FIGSIZE wide so that side-by-side panels stay on one screen."""
    sns.set_theme(style="whitegrid", context="notebook", palette=PALETTE)
    if panel is None:
        size = (FIGSIZE[0], FIGSIZE[1] * nrows)
    else:
        size = (max(FIGSIZE[0], panel[0] * ncols), panel[1] * nrows + 1.2)
    fig, axes = plt.subplots(nrows, ncols, figsize=size, sharey=sharey, sharex=sharex, squeeze=False)
    return fig, axes


def add_caption(fig: Figure, caption: str) -> None:
    fig.text(0.01, 0.005, caption, fontsize=8, color="#555555", ha="left", va="bottom", wrap=True)


def finish(fig: Figure, title: str, caption: str = "", subtitle: str = "") -> Figure:
    """Title (and an optional line explaining how to read the chart) above, caption below."""
    fig.suptitle(f"{title}\n{subtitle}" if subtitle else title, fontsize=13 if not subtitle else 12)
    if caption:
        add_caption(fig, caption)
    return fig


def no_data_axes(ax: Axes, title: str, reason: str = NO_DATA) -> None:
    """One empty panel (e.g. a project without mail among projects side by side)."""
    ax.set_axis_off()
    ax.set_title(title)
    ax.text(
        0.5,
        0.5,
        reason,
        ha="center",
        va="center",
        fontsize=12,
        color="#777777",
        transform=ax.transAxes,
        wrap=True,
    )


def no_data_figure(title: str, reason: str = NO_DATA, caption: str = "") -> Figure:
    fig, axes = themed_figure()
    no_data_axes(axes[0][0], title, reason)
    if caption:
        add_caption(fig, caption)
    return fig


def is_no_data(fig: Figure) -> bool:
    """True for a figure made by no_data_figure (every panel switched off)."""
    return all(not ax.axison for ax in fig.axes)


def save_png(fig: Figure, path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # leave room at the bottom for the caption
    fig.tight_layout(rect=(0, 0.035, 1, 1))
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path


def years(period_start: pd.Series) -> pd.Series:
    return pd.to_datetime(period_start).dt.year.astype(int)


def top_n_with_other(
    df: pd.DataFrame, group: str, value: str, n: int, within: Sequence[str] = ()
) -> pd.DataFrame:
    """Keep the n groups with the largest total `value` (over all rows of each `within` key) and
    fold every other group into "Other". Ties are broken by name so the choice is deterministic."""
    df = df.copy()
    keys = list(within)
    totals = df.groupby([*keys, group], as_index=False)[value].sum()
    totals = totals[totals[value] > 0].sort_values(
        [*keys, value, group], ascending=[True] * len(keys) + [False, True]
    )
    top = totals.groupby(keys).head(n) if keys else totals.head(n)
    top_keys = set(map(tuple, top[[*keys, group]].to_numpy().tolist()))
    is_top = [tuple(row) in top_keys for row in df[[*keys, group]].to_numpy().tolist()]
    df[group] = df[group].where(is_top, OTHER)
    return df


def order_with_other_last(df: pd.DataFrame, group: str, value: str) -> list[str]:
    totals = df.groupby(group)[value].sum().sort_values(ascending=False)
    names = [g for g in totals.index if g != OTHER]
    return [*names, OTHER] if OTHER in totals.index else names


def _period_label(d: date, grain: str) -> str:
    if grain == "year":
        return f"{d:%Y}"
    if grain == "quarter":
        return f"{d:%Y}-Q{(d.month - 1) // 3 + 1}"
    return f"{d:%Y-%m}"


def data_range(period_starts: Iterable[date | datetime | pd.Timestamp], grain: str = "year") -> str:
    """'2019-2024' (or '2019-Q1 to 2024-Q4', '2019-01 to 2024-12'); 'no data' when empty."""
    values = [pd.Timestamp(v) for v in period_starts if v is not None and not pd.isna(v)]
    if not values:
        return "no data"
    first, last = _period_label(min(values), grain), _period_label(max(values), grain)
    if first == last:
        return first
    return f"{first}-{last}" if grain == "year" else f"{first} to {last}"


def caption_text(span: str, sources: str, generated: datetime | None = None) -> str:
    stamp = f"; drawn {generated:%Y-%m-%d %H:%M} UTC" if generated else ""
    return f"Data: {span}. Sources: {sources}. commstats{stamp}"
