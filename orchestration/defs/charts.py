"""Chart assets: read marts, render PNGs with charts/, attach a preview to the materialization."""

import base64
from pathlib import Path

import dagster as dg

from charts.correspondents_vs_submitters import correspondents_vs_submitters
from charts.style import save_png
from orchestration.defs.resources import CommstatsConfig


def _preview(path: Path) -> dg.MetadataValue:
    data = base64.b64encode(path.read_bytes()).decode()
    return dg.MetadataValue.md(f"![{path.stem}](data:image/png;base64,{data})")


def data_range_caption(con, sources: str) -> str:
    first, last = con.execute(
        "select min(period_start), max(period_start) from marts.community_health where grain = 'year'"
    ).fetchone()
    span = f"{first:%Y}-{last:%Y}" if first else "no data"
    return f"Data: {span}; sources: {sources}. commstats"


@dg.asset(
    key=dg.AssetKey(["charts", "correspondents_vs_submitters"]),
    deps=[dg.AssetKey(["marts", "community_health"])],
    group_name="charts",
    kinds={"seaborn"},
)
def correspondents_vs_submitters_chart(context: dg.AssetExecutionContext, commstats: CommstatsConfig):
    """List correspondents vs. code submitters per project per year (PNG)."""
    cfg = commstats.load()
    with commstats.read_only() as con:
        health = con.execute(
            "select * from marts.community_health where grain = 'year' order by project, period_start"
        ).df()
        caption = data_range_caption(con, ", ".join(sorted(cfg.projects)))
    out = save_png(
        correspondents_vs_submitters(health, caption),
        Path(cfg.output_dir) / "charts" / "correspondents_vs_submitters.png",
    )
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(out)),
            "preview": _preview(out),
            "dagster/row_count": len(health),
        }
    )


defs = dg.Definitions(assets=[correspondents_vs_submitters_chart])
