"""`commstats run`: materialize the same asset graph the UI shows, then print a summary.

The mail and git assets are partitioned per source, and a Dagster run covers one partition, so a
run is several stages: one per mail source, one per repository, then everything downstream (which
is not partitioned) in one more. A failed source does not stop the others nor the rebuild: its
previous rows stay in the warehouse and the exit status says it failed. Each failure is one line
at the end of the run; Dagster's own report of it (with the stack trace) is kept out of the
terminal unless --verbose, and is always in the run's event log.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from core.config import load_config
from core.errors import one_line
from core.progress import live_display
from core.warehouse import connect_now, describe, summary_tables, warehouse_exists
from orchestration.buildstate import (
    last_sources_snapshot,
    nothing_new,
    record_build,
    sources_snapshot,
    store_sources_snapshot,
)
from orchestration.instance import ensure_instance, instance_dir


@dataclass(frozen=True)
class Stage:
    keys: frozenset  # AssetKeys materialized together
    partition: str | None = None


def plan_stages(selected: set, partitioned: list[tuple[set, list[str]]]) -> list[Stage]:
    """Stages for a selection: each partitioned asset group once per partition, then the rest.

    `partitioned` lists (asset keys of one partitioned multi-asset, its partition keys), in order.
    """
    stages: list[Stage] = []
    rest = set(selected)
    for keys, partitions in partitioned:
        if rest & keys:
            stages += [Stage(frozenset(keys), p) for p in partitions]
            rest -= keys
    if rest:
        stages.append(Stage(frozenset(rest)))
    return stages


def run_assets(
    selection: str | None = None,
    quiet: bool = False,
    force: bool = False,
    verbose: bool = False,
    config: Path | None = None,
    warehouse: Path | None = None,
) -> int:
    """Materialize `selection` (default: everything) from `config` (default: $COMMSTATS_CONFIG or
    ./communities.yaml), into `warehouse` when given instead of the config's."""
    cfg = load_config(config)
    if warehouse is not None:
        cfg.warehouse = warehouse
    checked = time.monotonic()
    # what the sources hold as this run starts; stored when the run completes (whole runs only)
    snapshot = sources_snapshot(cfg) if selection is None else None
    if (
        snapshot is not None
        and not force
        and snapshot == last_sources_snapshot(instance_dir(cfg))
        and nothing_new(cfg, instance_dir(cfg))
    ):
        # no source changed since a complete run, which extracted and built everything they held:
        # ends here, before Dagster is imported (most of the cost of a run that finds nothing)
        print("commstats: nothing new since the last build: marts, charts and the published copy are current")
        print_summary(cfg, time.monotonic() - checked, quiet)
        print("  stages:    sources 0.0 s, rebuild 0.0 s (no source changed)")
        return 0
    # from here on a SIGINT or SIGTERM is noted and stops the run before its next stage, with its
    # one line: also while it starts (the instance, the definitions, the dbt parse)
    with _stop_signals() as stop_requested:
        home = ensure_instance(cfg)  # opens the Dagster instance: after the check, which needs none

        import dagster as dg

        from orchestration.project import prepare

        # not `dagster dev`: parse the dbt project here, so the asset graph follows the models as they are
        try:
            prepare()
        except Exception:
            if not stop_requested():
                raise
            # Ctrl-C reaches the terminal's whole process group: the parse died of it too
            print("commstats: interrupted: the remaining stages were not run", file=sys.stderr)
            return 1
        from orchestration.definitions import defs
        from orchestration.defs.archives import ASSET_KEY as ARCHIVE_MONTHS
        from orchestration.defs.ingest import git_repositories, mail_lists
        from orchestration.defs.resources import CommstatsConfig

        graph = defs.resolve_asset_graph()
        chosen = dg.AssetSelection.from_coercible(selection) if selection else dg.AssetSelection.all()
        # months of HTTP archives are re-run or backfilled from the UI; a list's partition already
        # fetches what it lacks
        selected = set(chosen.resolve(graph)) - {ARCHIVE_MONTHS}
        stages = plan_stages(
            selected,
            [
                (set(a.keys), a.partitions_def.get_partition_keys() if a.partitions_def else [])
                for a in (mail_lists, git_repositories)
            ],
        )
        started = time.monotonic()
        assets = [*defs.assets, *(defs.asset_checks or [])]
        resources = {
            **defs.resources,
            "commstats": CommstatsConfig(
                config_path=str(cfg.source_file), warehouse=str(warehouse) if warehouse else None
            ),
        }
        failures: list[Failed] = []
        timings = {"sources": 0.0, "rebuild": 0.0}
        with (
            dg.DagsterInstance.from_config(str(home)) as instance,
            live_display(None if not quiet else False),
            _failure_events_hidden(not verbose),
        ):
            for stage in stages:
                if stop_requested():  # a signal between two stages
                    failures.append(Failed("interrupted: the remaining stages were not run", ""))
                    break
                stage_started = time.monotonic()
                # the downstream stage of a whole-graph run: skipped when nothing it reads has changed
                whole = selection is None and stage.partition is None
                if whole and not force and nothing_new(cfg, home):
                    print(
                        "commstats: nothing new since the last build: marts, charts and the published copy are current"
                    )
                    timings["rebuild"] += time.monotonic() - stage_started
                    continue
                result = dg.materialize(
                    assets,
                    selection=sorted(stage.keys),
                    partition_key=stage.partition,
                    instance=instance,
                    resources=resources,
                    raise_on_error=False,
                    tags={"commstats/trigger": "cli"},
                    # progress and per-source lines without the step-by-step debug events; --quiet: none (failures
                    # are printed once, one line each, after the run)
                    run_config={
                        "loggers": {"console": {"config": {"log_level": "CRITICAL" if quiet else "INFO"}}}
                    },
                )
                stage_failures = _failures(result)
                failures += stage_failures
                # Ctrl-C or SIGTERM: Dagster ends the stage (or, landing after its last step, finishes it),
                # and the run ends here
                if _interrupted(result) or stop_requested():
                    failures.append(Failed("interrupted: the remaining stages were not run", ""))
                    break
                if whole and not stage_failures:
                    record_build(cfg, home)
                timings["sources" if stage.partition else "rebuild"] += time.monotonic() - stage_started
    elapsed = time.monotonic() - started
    if selection is None:
        store_sources_snapshot(home, None if failures else snapshot)
    for failed in failures:
        if verbose and failed.trace:
            print(failed.trace, file=sys.stderr)
    for failed in failures:
        print(f"commstats: {failed.line}", file=sys.stderr)
    print_summary(cfg, elapsed, quiet)
    print(f"  stages:    sources {timings['sources']:.1f} s, rebuild {timings['rebuild']:.1f} s")
    return 1 if failures else 0


@dataclass(frozen=True)
class Failed:
    line: str  # one line naming the source or step
    trace: str  # Dagster's full account, printed with --verbose


# Dagster events whose console message carries the whole error with its stack trace (a run's
# failure is still called PIPELINE_FAILURE in its events)
_FAILURE_EVENTS = frozenset({"STEP_FAILURE", "RUN_FAILURE", "PIPELINE_FAILURE"})


class _DropFailureEvents(logging.Filter):
    """Keeps Dagster's failure reports off the console: the run prints one line per failure."""

    def filter(self, record: logging.LogRecord) -> bool:
        meta = getattr(record, "dagster_meta", None)
        if not isinstance(meta, dict):
            return True
        event = meta.get("dagster_event")
        if getattr(event, "event_type_value", None) in _FAILURE_EVENTS:
            return False
        # the checks of a failed step, skipped: a consequence, not another failure
        return not str(meta.get("orig_message", "")).startswith("Dependencies for step ")


@contextmanager
def _failure_events_hidden(hide: bool) -> Iterator[None]:
    """While active, the console loggers Dagster creates drop step and run failure events.

    Dagster builds its console logger from logging.getLoggerClass() for each run; a subclass
    carrying the filter is the one hook that reaches it without replacing the logger.
    """
    if not hide:
        yield
        return
    base = logging.getLoggerClass()

    class Filtered(base):  # type: ignore[misc, valid-type]
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            self.addFilter(_DropFailureEvents())

    logging.setLoggerClass(Filtered)
    try:
        yield
    finally:
        logging.setLoggerClass(base)


@contextmanager
def _stop_signals() -> Iterator[Callable[[], bool]]:
    """While active, the returned function tells whether a SIGINT or SIGTERM has arrived.

    Dagster turns a signal into an interruption of the step that is running, but one landing in its
    bookkeeping after the last step only sets a flag it clears when the stage ends, so the stage
    reports success and the signal is lost. The wakeup fd is written by the interpreter's C-level
    handler for every signal with a Python handler, whichever handler Dagster has installed.
    """
    read, write = os.pipe()
    os.set_blocking(read, False)
    os.set_blocking(write, False)
    try:
        previous = signal.set_wakeup_fd(write, warn_on_full_buffer=False)
    except ValueError:  # not the main thread: Dagster's own interruption is all there is
        os.close(read)
        os.close(write)
        yield lambda: False
        return
    seen: set[int] = set()
    # between stages no Dagster handler is installed: without one of ours a SIGTERM would end the
    # process on the spot and Ctrl-C raise wherever it lands. Ours only lets the wakeup fd note it
    # (Dagster's handler replaces it during a stage and restores it after)
    handlers = {
        sig: signal.signal(sig, lambda signum, frame: None) for sig in (signal.SIGINT, signal.SIGTERM)
    }

    def stop_requested() -> bool:
        try:
            while chunk := os.read(read, 512):
                seen.update(chunk)
        except BlockingIOError:
            pass
        return bool(seen & {signal.SIGINT, signal.SIGTERM})

    try:
        yield stop_requested
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
        signal.set_wakeup_fd(previous)
        os.close(read)
        os.close(write)


def _interrupted(result) -> bool:
    from dagster import DagsterExecutionInterruptedError

    return any(
        event.event_type_value == "STEP_FAILURE"
        and event.step_failure_data is not None
        and event.step_failure_data.error is not None
        and event.step_failure_data.error.cls_name == DagsterExecutionInterruptedError.__name__
        for event in result.all_events
    )


def _failures(result) -> list[Failed]:
    lines = []
    for event in result.all_events:
        if event.event_type_value != "STEP_FAILURE":
            continue
        error = event.step_failure_data.error if event.step_failure_data else None
        # Dagster wraps the asset's exception: its cause carries the message worth printing
        while (
            error is not None
            and error.cause is not None
            and "Error occurred while executing" in error.message
        ):
            error = error.cause
        message = _one_line(error.message if error else "failed")
        if error is not None and error.cls_name != "Failure":
            # not one of our one-line user errors: a bug, whose traceback is worth reading
            message += " (unexpected error: --verbose or the Dagster UI shows the traceback)"
        trace = error.to_string() if error is not None else ""
        # a source's failure already names the source; other steps get their step name
        if event.step_key in ("mail_lists", "git_repositories", "identities"):
            lines.append(Failed(message, trace))
        else:
            lines.append(Failed(f"asset step {event.step_key} failed: {message}", trace))
    return lines


def _one_line(message: str) -> str:
    # our own errors are already one line per source; Dagster prefixes the exception type
    lines = [ln.strip() for ln in message.strip().splitlines() if ln.strip()]
    lines = [
        ln.split(": ", 1)[1]
        if ln.startswith(("orchestration.", "extractors.", "dagster.")) and ": " in ln
        else ln
        for ln in lines
    ]
    return one_line(" | ".join(lines), 600)


def print_summary(cfg, elapsed: float, quiet: bool) -> None:
    warehouse = cfg.warehouse
    print()
    print(f"commstats run finished in {elapsed:.1f} s")
    if warehouse_exists(warehouse):
        con = connect_now(warehouse)
        try:
            tables = summary_tables(con)
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
    print(f"  warehouse: {describe(warehouse)}")
    charts = sorted((out / "charts").glob("*.png")) if (out / "charts").exists() else []
    print(f"  charts:    {out / 'charts'} ({len(charts)} PNG)")
    report = out / "report.html"
    if report.exists():
        print(f"  report:    {report}")
    print("  query:     commstats sql \"select * from marts.community_health where grain = 'year'\"")
