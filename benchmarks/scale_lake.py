"""The DuckLake parts of bench_scale.py: the memory sampler of a process tree, the catalog's
PostgreSQL server, a config naming a DuckLake, the lake's size, and the extraction comparison.

The extraction comparison loads the same sources three times, measured the same way: into a
fresh DuckLake with one spawned process per source (at most `concurrent` at once), as the Dagster
daemon's source pool runs them; one after another in one spawned process into another fresh
DuckLake (the lake's cost without concurrency); and so into a fresh DuckDB file (one writer, the
default warehouse). Each reports wall time, CPU time (user + sys of the processes it spawned,
their forked workers included) and the peak PSS sum of those processes, a lake also the catalog
server's CPU and memory; then the raw row counts of all three must agree.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import multiprocessing.connection
import os
import resource
import shutil
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from core.config import load_config
from core.partitions import git_partition_keys, mail_partition_keys
from core.procs import workers_sharing_cores
from core.warehouse import Warehouse, connect, summary_tables, table_row_counts

ROOT = Path(__file__).resolve().parent.parent


def tree(pid: int) -> list[psutil.Process]:
    """The process `pid` and all its descendants (empty when it has ended)."""
    try:
        proc = psutil.Process(pid)
        return [proc, *proc.children(recursive=True)]
    except psutil.Error:
        return []


@dataclass
class PeakMemory:
    """Samples, every `period` s, the PSS (and RSS) sums of groups of processes and keeps their
    peaks: each group's own and that of all groups together at the same instant."""

    groups: dict[str, Callable[[], list[psutil.Process]]]
    period: float = 0.25
    peak_rss: dict[str, int] = field(default_factory=dict)
    peak_pss: dict[str, int] = field(default_factory=dict)
    peak_total_pss: int = 0
    _done: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def _sample(self) -> None:
        while not self._done.is_set():
            total = 0
            for name, members in self.groups.items():
                rss = pss = 0
                for proc in members():
                    with contextlib.suppress(psutil.Error):
                        info = proc.memory_full_info()  # reads smaps: slower, hence the period
                        rss += info.rss
                        pss += getattr(info, "pss", info.rss)
                self.peak_rss[name] = max(self.peak_rss.get(name, 0), rss)
                self.peak_pss[name] = max(self.peak_pss.get(name, 0), pss)
                total += pss
            self.peak_total_pss = max(self.peak_total_pss, total)
            time.sleep(self.period)

    def __enter__(self) -> PeakMemory:
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        if self._thread is not None:
            self._thread.join()


def tree_cpu(pid: int | None) -> float:
    """CPU seconds of a long-lived process tree so far: the process, its ended children (reaped
    by it) and its live ones. Used for the PostgreSQL server, whose backends end with their
    connections."""
    if pid is None:
        return 0.0
    total = 0.0
    for i, proc in enumerate(tree(pid)):
        with contextlib.suppress(psutil.Error):
            t = proc.cpu_times()
            total += t.user + t.system + ((t.children_user + t.children_system) if i == 0 else 0.0)
    return total


def children_cpu() -> float:
    """user + sys of this process's reaped children and their reaped descendants."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


@contextlib.contextmanager
def catalog_server() -> Iterator[object]:
    """A throwaway PostgreSQL server on loopback for the lakes' catalogs (tests/lake's helper)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from tests.lake.postgres_server import postgres_server

    with postgres_server() as server:
        yield server


def lake_config(base: Path, name: str, catalog: str, data_path: Path, cache: str, output: str) -> Path:
    """A copy of the config `base` (as bench_scale.generate writes it: warehouse, output_dir and
    cache_dir on its first three lines) whose warehouse is the DuckLake `catalog` + `data_path`."""
    lines = base.read_text().split("\n")
    assert lines[0].startswith("warehouse:") and lines[2].startswith("cache_dir:"), base
    head = [
        "warehouse:",
        "  ducklake:",
        f'    catalog: "{catalog}"',
        f'    data_path: "{data_path}/"',
        f"output_dir: {output}",
        f"cache_dir: {cache}",
    ]
    path = base.with_name(name)
    path.write_text("\n".join(head + lines[3:]))
    return path


def catalog_of(server, database: str) -> str:
    """The `catalog:` of a lake whose catalog is `database` on `server`."""
    return f"postgres:dbname={database} host={server.host} port={server.port} user={server.user}"


def duckdb_config(base: Path, name: str, warehouse: str, cache: str, output: str) -> Path:
    lines = base.read_text().split("\n")
    path = base.with_name(name)
    path.write_text(
        "\n".join([f"warehouse: {warehouse}", f"output_dir: {output}", f"cache_dir: {cache}", *lines[3:]])
    )
    return path


def folder_bytes(folder: Path) -> int:
    return sum(
        (Path(d) / f).stat().st_size
        for d, _, files in os.walk(folder)
        for f in files
        if not Path(d, f).is_symlink()
    )


def lake_size(server, database: str, data_path: Path) -> tuple[int, int]:
    """(catalog database bytes, data files bytes) of a lake."""
    catalog = int(server.run_sql("select pg_database_size(current_database())", dbname=database))
    return catalog, folder_bytes(data_path)


def raw_counts(warehouse: Warehouse) -> dict[str, int]:
    """Rows per raw table of a warehouse."""
    con = connect(warehouse, read_only=True)
    try:
        raw = [t for t in summary_tables(con) if t[0] == "raw"]
        return {f"{s}.{t}": n for (s, t), n in sorted(table_row_counts(con, raw).items())}
    finally:
        con.close()


def create_lake(warehouse: Warehouse) -> None:
    """Create the lake's catalog and raw tables before the concurrent loads (not timed): the
    first attach of an empty catalog creates DuckLake's metadata tables, and several processes
    doing that at once collide in PostgreSQL (duplicate key in pg_type_typname_nsp_index)."""
    from core.warehouse import connect_for_write
    from extractors.schema import ensure_raw_tables

    con = connect_for_write(warehouse)
    try:
        ensure_raw_tables(con)
    finally:
        con.close()


# --- the loads, run in spawned processes -------------------------------------------------------


def sources(config: Path) -> list[tuple[str, str]]:
    """(kind, partition key) of every list and repository of the config: the largest first would
    be the best order for a pool, but all lists (and all repositories) are the same size here."""
    cfg = load_config(config)
    return [("mail", key) for key in mail_partition_keys(cfg)] + [
        ("git", key) for key in git_partition_keys(cfg)
    ]


def load_source(config: str, kind: str, key: str, workers: int | None = None) -> None:
    """Load one source into the config's warehouse, as orchestration/defs/ingest.py does, with
    `workers` processes (None: the extractors' default, what one load at a time gets)."""
    from extractors.sources import ingest_source

    ingest_source(load_config(config), kind, key, workers=workers)  # type: ignore[arg-type]


def load_sources(config: str, keys: list[tuple[str, str]]) -> None:
    for kind, key in keys:
        load_source(config, kind, key)


def run_spawned(jobs: list[tuple[Callable[..., None], tuple]], limit: int, server_pid: int | None) -> dict:
    """Run each job in its own spawned process, at most `limit` at once; wall, CPU and memory."""
    ctx = multiprocessing.get_context("spawn")
    running: list[multiprocessing.process.BaseProcess] = []
    what: dict[int, tuple] = {}
    pending = list(jobs)
    groups = {"loaders": lambda: [p for proc in list(running) if proc.pid for p in tree(proc.pid)]}
    if server_pid is not None:
        groups["postgres"] = lambda: tree(server_pid)
    cpu_before, server_before = children_cpu(), tree_cpu(server_pid)
    start = time.monotonic()
    with PeakMemory(groups) as memory:
        while pending or running:
            while pending and len(running) < limit:
                target, args = pending.pop(0)
                proc = ctx.Process(target=target, args=args)
                proc.start()
                running.append(proc)
                what[id(proc)] = args[1:]
            multiprocessing.connection.wait([p.sentinel for p in running])
            for proc in [p for p in running if not p.is_alive()]:
                proc.join()
                running.remove(proc)
                if proc.exitcode != 0:
                    for other in running:
                        other.terminate()
                    raise SystemExit(
                        f"extraction comparison: loading {what[id(proc)]} failed (exit {proc.exitcode})"
                    )
    return {
        "wall": time.monotonic() - start,
        "cpu": children_cpu() - cpu_before,
        "server_cpu": tree_cpu(server_pid) - server_before,
        "pss": memory.peak_pss.get("loaders", 0),
        "server_pss": memory.peak_pss.get("postgres", 0),
        "total_pss": memory.peak_total_pss,
        "load": os.getloadavg()[0],
    }


def fresh_lake(base: Path, server, name: str) -> Path:
    """The config of a new empty lake `name` (catalog database, data path and cache of its own),
    its catalog and raw tables created."""
    root = base.parent
    data_path = root / f"{name}-data"
    for stale in (data_path, root / f"cache-{name}"):
        shutil.rmtree(stale, ignore_errors=True)
    database = server.create_database(name.replace("-", "_"))
    config = lake_config(
        base, f"{name}.yaml", catalog_of(server, database), data_path, f"cache-{name}", f"output-{name}"
    )
    create_lake(load_config(config).warehouse)
    config.with_suffix(".database").write_text(database)
    return config


def lake_bytes(server, config: Path) -> int:
    cfg = load_config(config)
    catalog, data = lake_size(
        server, config.with_suffix(".database").read_text(), Path(cfg.warehouse.ducklake.data_path)
    )
    return catalog + data


def compare_extraction(base: Path, server, concurrent: int) -> list[dict]:
    """Load every source of `base` concurrently into a fresh DuckLake, one after another into
    another fresh DuckLake (what concurrency itself changes) and one after another into a fresh
    DuckDB file; print and return the figures; stop when the raw row counts differ."""
    root = base.parent
    for stale in ("extract-seq.duckdb", "extract-seq.duckdb.wal"):
        (root / stale).unlink(missing_ok=True)
    shutil.rmtree(root / "cache-extract-seq", ignore_errors=True)
    seq = duckdb_config(
        base, "extract-seq.yaml", "extract-seq.duckdb", "cache-extract-seq", "output-extract-seq"
    )
    keys = sources(base)
    lake, lake_seq = fresh_lake(base, server, "extract-lake"), fresh_lake(base, server, "extract-lake-seq")

    print(
        f"extraction: {len(keys)} sources, one process each, at most {concurrent} at once, into a DuckLake ..."
    )
    # each load's workers sized to its share of the cores, as the Dagster assets size them for a
    # lake (orchestration.defs.ingest.source_workers)
    workers = workers_sharing_cores(concurrent)
    concurrent_run = run_spawned(
        [(load_source, (str(lake), k, v, workers)) for k, v in keys], concurrent, server.pid
    )
    concurrent_run |= {
        "how": f"DuckLake on PostgreSQL, one process per source, {concurrent} at once, {workers} worker(s) each"
    }
    concurrent_run |= {"size": lake_bytes(server, lake), "config": lake}
    print("extraction: the same sources one after another into a DuckLake ...")
    lake_seq_run = run_spawned([(load_sources, (str(lake_seq), keys))], 1, server.pid)
    lake_seq_run |= {"how": "DuckLake on PostgreSQL, one after another in one process"}
    lake_seq_run |= {"size": lake_bytes(server, lake_seq), "config": lake_seq}
    print("extraction: the same sources one after another into a DuckDB file ...")
    seq_run = run_spawned([(load_sources, (str(seq), keys))], 1, None)
    seq_run |= {"how": "DuckDB file, one after another in one process", "config": seq}
    seq_run |= {"size": (root / "extract-seq.duckdb").stat().st_size}
    runs = [concurrent_run, lake_seq_run, seq_run]

    rows = [raw_counts(load_config(r["config"]).warehouse) for r in runs]
    print()
    print(
        "| raw table | DuckLake, concurrent | DuckLake, one after another | DuckDB file, one after another |"
    )
    print("|---|---:|---:|---:|")
    for table in sorted(set().union(*rows)):
        print(f"| {table} | " + " | ".join(str(r.get(table, "missing")) for r in rows) + " |")
    if any(r != rows[-1] for r in rows):
        raise SystemExit(
            "extraction comparison: the DuckLakes and the DuckDB file hold different raw row counts"
        )
    print("raw row counts: equal")
    print()
    print(
        "| extraction | wall (s) | CPU loaders (s) | CPU catalog server (s) | peak PSS loaders (MiB) "
        "| peak PSS catalog server (MiB) | peak PSS sum, server included (MiB) | size (MiB) | load (1 min) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in runs:
        print(
            f"| {r['how']} | {r['wall']:.1f} | {r['cpu']:.1f} | {r['server_cpu']:.1f} | {r['pss'] / 2**20:,.0f} | "
            f"{r['server_pss'] / 2**20:,.0f} | {r['total_pss'] / 2**20:,.0f} | {r['size'] / 2**20:,.1f} | {r['load']:.1f} |"
        )
    for r in runs[:2]:
        print(
            f"{r['how']} / DuckDB file: wall {r['wall'] / seq_run['wall']:.2f}, "
            f"CPU {(r['cpu'] + r['server_cpu']) / seq_run['cpu']:.2f} (server included), "
            f"peak PSS {r['total_pss'] / seq_run['total_pss']:.2f} (server included)"
        )
    print(
        f"concurrent / one after another, both DuckLake: wall {concurrent_run['wall'] / lake_seq_run['wall']:.2f}, "
        f"CPU {(concurrent_run['cpu'] + concurrent_run['server_cpu']) / (lake_seq_run['cpu'] + lake_seq_run['server_cpu']):.2f}"
    )
    print()
    return runs
