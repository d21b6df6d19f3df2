"""The `commstats` command line: run, sql, ui, sample (see README).

Each subcommand imports its module when it runs, so `commstats --help` and `commstats sql` start
without Dagster, dbt or pandas (a second or more of imports); tests/test_cli_startup.py holds it.
Only what every command needs is imported here: argparse and the error the commands raise.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.errors import ConfigError


def _fail(message: str, code: int = 1) -> int:
    print(f"commstats: {message}", file=sys.stderr)
    return code


def _warehouse(args: argparse.Namespace) -> Any:
    """The warehouse a command reads: --warehouse (a DuckDB file), $COMMSTATS_WAREHOUSE, or the
    config's `warehouse:` (a file or a DuckLake)."""
    if getattr(args, "warehouse", None):
        return Path(args.warehouse).expanduser().resolve()
    if os.environ.get("COMMSTATS_WAREHOUSE"):
        return Path(os.environ["COMMSTATS_WAREHOUSE"]).expanduser().resolve()
    from core.config import load_config  # pydantic and YAML only when the config is read

    return load_config(args.config).warehouse


def _as_of(text: str) -> int | datetime:
    """--as-of: a snapshot id, or a date or time (UTC when no offset is given)."""
    text = text.strip()
    if text.isdigit():
        return int(text)
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"'{text}' is neither a snapshot id nor a date or time (want 42, 2026-09-30 or '2026-09-30 18:00')"
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _check_warehouse(path: Any) -> None:
    from core.warehouse import database_file_problem, lake_of

    if lake_of(path) is None and (problem := database_file_problem(path)):
        raise ConfigError(problem)


def cmd_run(args: argparse.Namespace) -> int:
    from commstats import watchdog
    from commstats.run import run_assets
    from core.config import config_path, load_config

    cfg_file = config_path(args.config)
    cfg = load_config(cfg_file)  # fail fast, one line, before Dagster starts
    os.environ["COMMSTATS_CONFIG"] = str(cfg_file)
    if args.warehouse:
        os.environ["COMMSTATS_WAREHOUSE"] = str(Path(args.warehouse).expanduser().resolve())
    _check_warehouse(_warehouse(args) if args.warehouse else cfg.warehouse)
    # ends what this run leaves behind should it be killed (dbt, started by dagster-dbt, among others)
    watchdog.start()
    return run_assets(selection=args.select, quiet=args.quiet, force=args.rebuild, verbose=args.verbose)


def cmd_sql(args: argparse.Namespace) -> int:
    from commstats.sql import interactive, run_query

    warehouse = _warehouse(args)
    if isinstance(warehouse, Path) and not warehouse.exists():
        return _fail(f"{warehouse}: warehouse not found (run `commstats run` first)")
    if args.as_of is not None and isinstance(warehouse, Path):
        return _fail(f"{warehouse}: --as-of reads a DuckLake warehouse's snapshots; a DuckDB file has none")
    if args.query:
        return run_query(warehouse, args.query, csv_out=args.csv, live=args.live, as_of=args.as_of)
    return interactive(warehouse, csv_out=args.csv, live=args.live, as_of=args.as_of)


def cmd_ui(args: argparse.Namespace) -> int:
    from commstats.ui import start_ui
    from core.config import config_path, load_config

    cfg_file = config_path(args.config)
    cfg = load_config(cfg_file)
    return start_ui(cfg, cfg_file, host=args.host, port=args.port)


def cmd_sample(args: argparse.Namespace) -> int:
    from commstats.sample import generate
    from core.config import config_path

    out = Path(args.out).expanduser().resolve() if args.out else config_path(None).parent / "data" / "sample"
    summary = generate(out, seed=args.seed)
    counts = summary.get("counts", summary)
    print(f"sample written to {out}")
    for key, value in counts.items():
        print(f"  {key}: {value}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="commstats", description="Open-source community statistics warehouse."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="materialize the asset graph for the communities in the config")
    run.add_argument("--config", help="communities config (default: $COMMSTATS_CONFIG or ./communities.yaml)")
    run.add_argument("--warehouse", help="DuckDB file (default: from the config or $COMMSTATS_WAREHOUSE)")
    run.add_argument("--select", help="Dagster asset selection, e.g. 'group:mail' or 'key:marts/*'")
    run.add_argument("--quiet", action="store_true", help="only the summary")
    run.add_argument(
        "--verbose",
        action="store_true",
        help="print the stack trace of each failure (always kept in the Dagster logs)",
    )
    run.add_argument(
        "--rebuild",
        action="store_true",
        help="rebuild marts, charts and the published copy even when no source brought anything new",
    )
    run.set_defaults(func=cmd_run)

    sql = sub.add_parser("sql", help="run a read-only SQL query on the warehouse")
    sql.add_argument("query", nargs="?", help="SQL; without it, an interactive prompt")
    sql.add_argument("--config")
    sql.add_argument("--warehouse")
    sql.add_argument("--csv", action="store_true", help="print CSV instead of a table")
    sql.add_argument(
        "--live",
        action="store_true",
        help="read the warehouse itself instead of the copy published by the last build "
        "(fails while a refresh writes, and holds refreshes back while open)",
    )
    sql.add_argument(
        "--as-of",
        type=_as_of,
        metavar="SNAPSHOT|TIME",
        help="a DuckLake warehouse as it was: at a snapshot id, or at a time (2026-09-30 or "
        "'2026-09-30 18:00', UTC)",
    )
    sql.set_defaults(func=cmd_sql)

    ui = sub.add_parser(
        "ui", help="start the Dagster UI and daemon (persistent instance in the data directory)"
    )
    ui.add_argument("--config")
    ui.add_argument("--host", default="127.0.0.1")
    ui.add_argument("--port", type=int, default=3000)
    ui.set_defaults(func=cmd_ui)

    sample = sub.add_parser("sample", help="write the built-in sample communities")
    sample.add_argument("--out", help="directory (default: data/sample beside communities.yaml)")
    sample.add_argument("--seed", type=int, default=20240101)
    sample.set_defaults(func=cmd_sample)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ConfigError as exc:
        return _fail(str(exc), 2)
    except KeyboardInterrupt:
        return _fail("interrupted", 130)


if __name__ == "__main__":
    sys.exit(main())
