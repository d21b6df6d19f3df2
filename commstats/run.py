"""`commstats run`: materialize the same asset graph the UI shows, then print a summary."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import duckdb

from commstats.config import load_config
from commstats.instance import ensure_instance


def run_assets(selection: str | None = None, quiet: bool = False) -> int:
    cfg = load_config(os.environ.get("COMMSTATS_CONFIG"))
    home = ensure_instance(cfg)
    os.environ["DAGSTER_HOME"] = str(home)

    import dagster as dg

    from orchestration.definitions import defs

    started = time.monotonic()
    assets = [*defs.assets, *(defs.asset_checks or [])]
    with dg.DagsterInstance.get() as instance:
        result = dg.materialize(
            assets,
            selection=selection,
            instance=instance,
            resources=defs.resources,
            raise_on_error=False,
            tags={"commstats/trigger": "cli"},
            # progress and per-source lines, without Dagster's step-by-step debug events
            run_config={"loggers": {"console": {"config": {"log_level": "WARNING" if quiet else "INFO"}}}},
        )
    elapsed = time.monotonic() - started
    failed = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    for event in failed:
        error = event.step_failure_data.error if event.step_failure_data else None
        message = _one_line(error.message if error else "failed")
        print(f"commstats: asset step {event.step_key} failed: {message}", file=sys.stderr)
    print_summary(cfg, elapsed, quiet)
    return 0 if result.success and not failed else 1


def _one_line(message: str) -> str:
    # our own errors are already one line per source; Dagster prefixes the exception type
    lines = [ln.strip() for ln in message.strip().splitlines() if ln.strip()]
    lines = [
        ln.split(": ", 1)[1] if ln.startswith(("orchestration.", "extractors.")) and ": " in ln else ln
        for ln in lines
    ]
    return " | ".join(lines)


def print_summary(cfg, elapsed: float, quiet: bool) -> None:
    warehouse = Path(cfg.warehouse)
    print()
    print(f"commstats run finished in {elapsed:.1f} s")
    if warehouse.exists():
        con = duckdb.connect(str(warehouse), read_only=True)
        try:
            tables = con.execute(
                "select table_schema, table_name from information_schema.tables "
                "where table_schema in ('raw', 'marts') order by 1, 2"
            ).fetchall()
            for schema, table in tables:
                if schema == "raw" and table not in ("mail_messages", "git_commits"):
                    continue
                n = con.execute(f'select count(*) from "{schema}"."{table}"').fetchone()[0]
                print(f"  {schema}.{table:<28} {n:>10,} rows")
            if ("marts", "community_health") in tables and not quiet:
                rows = con.execute(
                    "select project, year(period_start) as year, correspondents, submitters, "
                    "round(submitter_to_correspondent_ratio, 2) as ratio "
                    "from marts.community_health where grain = 'year' order by project, year"
                ).fetchall()
                print("  project / year: correspondents, submitters, ratio")
                for project, year, corr, subs, ratio in rows:
                    print(f"    {project} {year}: {corr}, {subs}, {ratio}")
        finally:
            con.close()
    out = Path(cfg.output_dir)
    print(f"  warehouse: {warehouse}")
    charts = sorted((out / "charts").glob("*.png")) if (out / "charts").exists() else []
    print(f"  charts:    {out / 'charts'} ({len(charts)} PNG)")
    report = out / "report.html"
    if report.exists():
        print(f"  report:    {report}")
    print("  query:     commstats sql \"select * from marts.community_health where grain = 'year'\"")
