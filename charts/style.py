"""One look for every chart: seaborn theme, sizes, captions, and the "no data" figure."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # charts are rendered headless, by scheduled runs and tests

import matplotlib.pyplot as plt  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

FIGSIZE = (10, 5.5)
DPI = 110


def themed_figure(ncols: int = 1, nrows: int = 1, sharey: bool = False):
    sns.set_theme(style="whitegrid", context="notebook", palette="colorblind")
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(FIGSIZE[0], FIGSIZE[1] * nrows), sharey=sharey, squeeze=False
    )
    return fig, axes


def add_caption(fig: Figure, caption: str) -> None:
    fig.text(0.01, 0.005, caption, fontsize=8, color="#555555", ha="left", va="bottom")


def no_data_figure(title: str, reason: str = "No data for this chart yet") -> Figure:
    fig, axes = themed_figure()
    ax = axes[0][0]
    ax.set_axis_off()
    ax.set_title(title)
    ax.text(0.5, 0.5, reason, ha="center", va="center", fontsize=14, color="#777777", transform=ax.transAxes)
    return fig


def save_png(fig: Figure, path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path
