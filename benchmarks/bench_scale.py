"""Benchmark: the whole pipeline at scale (default 1,000,000 messages and 500,000 commits).

Generates (once, cached under data/bench/scale-<messages>m-<commits>c/) public-inbox v2 archives
and linear git repositories with `git fast-import`, then measures with `commstats run`, each
command in its own process:

1. full build into an empty warehouse;
2. refresh with no new data;
3. refresh after 1 % new messages and commits were appended to every archive and repository;
4. refresh after another 0.1 % (a day), appended after the 1 %;
5. refresh after another 0.1 % whose replies answer the last 30 days' messages (as most replies
   on a real list do; in steps 3 and 4 a reply answers any earlier message, so old months and
   every cumulative period after them change);

and prints wall time, CPU time (user + sys of the process tree, which the load of other jobs
distorts less than wall time), peak memory (the largest sum of RSS and of PSS over the `commstats
run` process and its children, sampled every 0.25 s: dbt and the forked git workers are children;
RSS counts pages the workers share with their parent once per process, PSS splits them) and the
warehouse size after each step, beside the size of a compact copy of the same rows (COPY FROM
DATABASE into a new file: what a fresh file holding them takes, free of the blocks a build leaves).
Then, per step, dbt's own times (from the run's run_results.json: all models, the incremental
ones, data tests, unit tests, the slowest models) and the time of each Dagster step.

    .venv/bin/python benchmarks/bench_scale.py [--messages 1000000] [--commits 500000]
                                               [--lists 4] [--repos 2]
                                               [--target duckdb|ducklake] [--concurrent 4]
                                               [--extraction-only]

With `--target ducklake` the warehouse is a DuckLake whose catalog is a database of a throwaway
PostgreSQL server started on loopback (tests/lake/postgres_server.py) and whose data is under
data/bench/.../lake-data/. First the extraction comparison (scale_lake.py): every source loaded
into a fresh lake by its own spawned process, `--concurrent` at once, beside the same sources
loaded one after another into another fresh lake and into a fresh DuckDB file, with the raw row
counts of all three checked equal;
then (unless `--extraction-only`) the five steps above into the lake. The catalog server's CPU
time and memory are counted apart from `commstats run`'s and added in a "server included" sum;
the lake's size is its catalog database (`pg_database_size`) plus its data files; there is no
compact copy of a lake.

The warehouse, cache and instance are deleted first (the generated sources are kept, and sources
that had 1 % appended are generated again), so step 1 is always a full build.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import resource
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import psutil
from scale_lake import (
    PeakMemory,
    catalog_of,
    catalog_server,
    compare_extraction,
    lake_config,
    lake_size,
    tree,
    tree_cpu,
)

from core.config import load_config
from core.warehouse import Warehouse, connect, dbt_target_path
from orchestration.instance import instance_dir

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "data" / "bench"
COMMSTATS = Path(sys.executable).with_name("commstats")

WORDS = [
    "kvm",
    "vcpu",
    "mmu",
    "page",
    "fault",
    "guest",
    "host",
    "irq",
    "timer",
    "lock",
    "state",
    "entry",
    "exit",
    "msr",
    "cpuid",
    "apic",
    "vmx",
    "svm",
    "nested",
    "shadow",
    "dirty",
    "log",
    "slot",
    "memory",
    "region",
    "ioctl",
    "event",
    "queue",
    "device",
    "pci",
    "virtio",
    "net",
    "block",
    "migration",
]
ORGS = ["redhat.com", "intel.com", "amd.com", "google.com", "ibm.com", "suse.com", "arm.com", "gmail.com"]
START = 1_262_304_000  # 2010-01-01
SPAN = 14 * 365 * 86_400


def _people(n: int, seed: int) -> list[tuple[str, str]]:
    rnd = random.Random(seed)
    return [(f"Dev {i:05d}", f"dev{i:05d}@{ORGS[rnd.randrange(len(ORGS))]}") for i in range(n)]


def _data(payload: bytes) -> bytes:
    return b"data %d\n%s\n" % (len(payload), payload)


def _message(
    n: int, list_name: str, person: tuple[str, str], ts: int, rnd: random.Random, oldest_parent: int = 0
) -> bytes:
    name, addr = person
    date = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime(ts))
    words = " ".join(rnd.choice(WORDS) for _ in range(5))
    reply = n > 0 and rnd.random() < 0.6
    patch = not reply and rnd.random() < 0.5
    subject = f"[PATCH {1 + n % 3}/3] {words}" if patch else (f"Re: {words}" if reply else words)
    head = (
        f"From: {name} <{addr}>\nTo: {list_name}@lists.example.org\nSubject: {subject}\nDate: {date}\n"
        f"Message-ID: <{list_name}.{n}@example.org>\n"
    )
    if reply:
        head += f"In-Reply-To: <{list_name}.{rnd.randrange(min(oldest_parent, n - 1), n)}@example.org>\n"
    body = f"\nSome text about {words}.\n"
    if patch:
        body += (
            f"\nSigned-off-by: {name} <{addr}>\n---\n diff --git a/x/{words.split()[0]}.c b/x/{words.split()[0]}.c\n"
            f"--- a/x/{words.split()[0]}.c\n+++ b/x/{words.split()[0]}.c\n@@ -1,1 +1,1 @@\n-old {n}\n+new {n}\n"
        )
    elif reply and rnd.random() < 0.2:
        body += f"\nReviewed-by: {name} <{addr}>\n"
    return (head + body).encode()


def _fast_import(repo: Path, stream_writer, new: bool) -> None:
    if new:
        subprocess.run(["git", "init", "-q", "--bare", str(repo)], check=True)
    proc = subprocess.Popen(
        ["git", "fast-import", "--quiet", "--done"], cwd=repo, stdin=subprocess.PIPE, bufsize=1 << 20
    )
    assert proc.stdin is not None
    stream_writer(proc.stdin)
    proc.stdin.write(b"done\n")
    proc.stdin.close()
    if proc.wait() != 0:
        raise SystemExit(f"git fast-import failed in {repo}")


def write_inbox(
    epoch: Path, list_name: str, first: int, count: int, seed: int, reply_days: int | None = None
) -> None:
    """Append `count` messages (numbers first..first+count-1) to a public-inbox epoch. A reply
    answers any earlier message, or with `reply_days` one of the last `reply_days` days' worth."""
    rnd = random.Random(seed + first)
    people = _people(2000, seed)
    step = SPAN // max(first + count, 1)
    oldest_parent = 0 if reply_days is None else max(first - reply_days * 86_400 // step, 0)

    def stream(out) -> None:
        for n in range(first, first + count):
            ts = START + n * step
            person = people[int(rnd.paretovariate(1.2)) % len(people)]
            msg = _message(n, list_name, person, ts, rnd, oldest_parent)
            out.write(b"commit refs/heads/master\n")
            out.write(b"committer public-inbox <pi@example.org> %d +0000\n" % ts)
            out.write(_data(b"m"))
            if n == first and first > 0:
                out.write(b"from refs/heads/master^0\n")
            out.write(b"M 100644 inline m\n" + _data(msg))

    _fast_import(epoch, stream, new=first == 0)


def write_repo(repo: Path, first: int, count: int, seed: int, files: int = 60) -> None:
    """Append `count` commits, each changing one or two files, to a linear repository.

    Files are drawn from a fixed set (34 directories of `files` files), so the tree stops growing
    after the first few thousand commits, as a mature project's does, instead of growing with
    history: the benchmark measures history length, not tree size (bench_git.py measures that).
    """
    rnd = random.Random(seed + first)
    people = _people(1500, seed + 1)
    step = SPAN // max(first + count, 1)

    def stream(out) -> None:
        for n in range(first, first + count):
            name, addr = people[int(rnd.paretovariate(1.2)) % len(people)]
            ts = START + n * step
            words = " ".join(rnd.choice(WORDS) for _ in range(4))
            message = f"{words}\n\nSigned-off-by: {name} <{addr}>\n"
            if rnd.random() < 0.3:
                rev = people[rnd.randrange(len(people))]
                message += f"Acked-by: {rev[0]} <{rev[1]}>\n"
            out.write(b"commit refs/heads/master\n")
            out.write(f"author {name} <{addr}> {ts} +0000\n".encode())
            out.write(f"committer {name} <{addr}> {ts} +0000\n".encode())
            out.write(_data(message.encode()))
            if n == first and first > 0:
                out.write(b"from refs/heads/master^0\n")
            for _ in range(1 + (rnd.random() < 0.3)):
                path = f"src/{rnd.choice(WORDS)}/f{rnd.randrange(files)}.c"
                body = "".join(f"line {n} {i} {rnd.choice(WORDS)}\n" for i in range(rnd.randrange(3, 12)))
                out.write(f"M 100644 inline {path}\n".encode() + _data(body.encode()))

    _fast_import(repo, stream, new=first == 0)


def generate(root: Path, messages: int, commits: int, lists: int, repos: int) -> Path:
    """Sources and a config under `root`; cached: only missing sources are generated."""
    root.mkdir(parents=True, exist_ok=True)
    config = ["warehouse: warehouse.duckdb", "output_dir: output", "cache_dir: cache", "projects:"]
    for p in range(max(lists, repos)):
        config += [f"  p{p}:", "    mailing_lists:"] if p < lists else [f"  p{p}:", "    mailing_lists: []"]
        if p < lists:
            epoch = root / "mail" / f"list{p}" / "git" / "0.git"
            if not (epoch / "refs" / "heads" / "master").exists() and not (epoch / "packed-refs").exists():
                shutil.rmtree(epoch, ignore_errors=True)
                epoch.parent.mkdir(parents=True, exist_ok=True)
                t = time.monotonic()
                write_inbox(epoch, f"list{p}", 0, messages // lists, seed=p)
                print(f"generated {epoch} ({messages // lists:,} messages, {time.monotonic() - t:.0f} s)")
            config += [f"      - name: list{p}", "        kind: public-inbox", f"        path: mail/list{p}"]
        if p < repos:
            repo = root / "repos" / f"repo{p}.git"
            if not (repo / "refs" / "heads" / "master").exists() and not (repo / "packed-refs").exists():
                shutil.rmtree(repo, ignore_errors=True)
                repo.parent.mkdir(parents=True, exist_ok=True)
                t = time.monotonic()
                write_repo(repo, 0, commits // repos, seed=100 + p)
                print(f"generated {repo} ({commits // repos:,} commits, {time.monotonic() - t:.0f} s)")
            config += ["    repositories:", f"      - name: repo{p}", f"        path: repos/repo{p}.git"]
            config += ["        branch: master"]
    path = root / "communities.yaml"
    path.write_text("\n".join(config) + "\n")
    return path


def append_share(
    root: Path,
    messages: int,
    commits: int,
    lists: int,
    repos: int,
    appended: float,
    share: float,
    reply_days: int | None = None,
) -> None:
    """Append `share` of the original size to every archive and repository, after `appended` (the
    share appended before): the new items are dated in the last days of the history, as a day's;
    their replies answer any earlier message, or with `reply_days` those of the last days."""
    for p in range(lists):
        per = messages // lists
        first = per + int(per * appended)
        epoch = root / "mail" / f"list{p}" / "git" / "0.git"
        write_inbox(epoch, f"list{p}", first, max(int(per * share), 1), seed=p, reply_days=reply_days)
    for p in range(repos):
        per = commits // repos
        first = per + int(per * appended)
        write_repo(root / "repos" / f"repo{p}.git", first, max(int(per * share), 1), seed=100 + p)


@dataclass
class Target:
    """The warehouse a config builds: a DuckDB file, or a DuckLake whose catalog is a database of
    the PostgreSQL server `server_pid` (whose processes are measured beside `commstats run`'s)."""

    config: Path
    warehouse: Warehouse
    home: Path  # the Dagster instance
    size: Callable[[], int]
    compact: Callable[[], int] | None = None  # a DuckDB file only
    server_pid: int | None = None


def target_of(config: Path, **kw) -> Target:
    cfg = load_config(config)
    return Target(config=config, warehouse=cfg.warehouse, home=instance_dir(cfg), **kw)


def measure(target: Target, label: str) -> dict:
    """Run `commstats run --quiet` and sample the memory of its process tree (and of the catalog
    server's, for a DuckLake)."""
    started_at = time.time()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    server_before = tree_cpu(target.server_pid)
    start = time.monotonic()
    proc = psutil.Popen(
        [str(COMMSTATS), "run", "--quiet", "--config", str(target.config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=ROOT,
    )
    # RSS counts pages shared by forked workers once per process; PSS splits them
    groups = {"run": lambda: tree(proc.pid)}
    if target.server_pid is not None:
        groups["postgres"] = lambda: tree(target.server_pid)
    with PeakMemory(groups) as memory:
        out, _ = proc.communicate()
    wall = time.monotonic() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    text = out.decode(errors="replace")
    if proc.returncode != 0:
        print(text[-4000:])
        raise SystemExit(f"{label}: commstats run failed (exit {proc.returncode})")
    stages = re.search(r"stages: +sources ([\d.]+) s, rebuild ([\d.]+) s", text)
    sources, rebuild = (float(stages.group(1)), float(stages.group(2))) if stages else (0.0, 0.0)
    return {
        "step": label,
        "wall": wall,
        "cpu": cpu,
        "server_cpu": tree_cpu(target.server_pid) - server_before,
        "sources": sources,
        "rebuild": rebuild,
        "peak": memory.peak_rss.get("run", 0),
        "peak_pss": memory.peak_pss.get("run", 0),
        "server_pss": memory.peak_pss.get("postgres", 0),
        "total_pss": memory.peak_total_pss,
        "load": os.getloadavg()[0],
        "size": target.size(),
        "compact": target.compact() if target.compact else None,
        "dbt": dbt_times(started_at, target.warehouse),
        "touched": touched_periods(target.warehouse) if target.compact else None,
        "dagster": dagster_step_times(target.home, started_at),
        "published": published_free_share(target.home, started_at),
        "log": text,
    }


def compact_size(warehouse: Path) -> int:
    """Size of a new file holding the same rows (COPY FROM DATABASE), the reference a fresh
    build of the same rows is measured against; the copy is deleted."""
    import duckdb

    copy = warehouse.with_name("compact-reference.duckdb")
    copy.unlink(missing_ok=True)
    con = duckdb.connect()
    try:
        con.execute("SET enable_progress_bar = false")
        con.execute(f"ATTACH '{warehouse}' AS src (READ_ONLY)")
        con.execute(f"ATTACH '{copy}' AS dst")
        con.execute("COPY FROM DATABASE src TO dst")
        con.execute("DETACH dst")
        return copy.stat().st_size
    finally:
        con.close()
        copy.unlink(missing_ok=True)


def dbt_times(since: float, warehouse: Warehouse) -> dict | None:
    """dbt's own times of the step's `dbt build` (the run_results.json beside `warehouse`, which
    each build of it writes again), None when no build ran since `since`."""
    target = dbt_target_path(warehouse)
    path = target / "run_results.json"
    if not path.exists() or path.stat().st_mtime < since:
        return None
    results = json.loads(path.read_text())
    manifest = json.loads((target / "manifest.json").read_text())
    incremental = {
        uid
        for uid, node in manifest["nodes"].items()
        if node["resource_type"] == "model" and node["config"].get("materialized") == "incremental"
    }
    totals: dict[str, float] = {}
    models = []
    for r in results["results"]:
        kind = r["unique_id"].split(".")[0]
        totals[kind] = totals.get(kind, 0.0) + r["execution_time"]
        if kind == "model":
            models.append((r["execution_time"], r["unique_id"].split(".")[-1]))
            if r["unique_id"] in incremental:
                totals["incremental"] = totals.get("incremental", 0.0) + r["execution_time"]
    return {"elapsed": results["elapsed_time"], "totals": totals, "slowest": sorted(models, reverse=True)[:6]}


def run_event_rows(home: Path, since: float, sql: str) -> Iterator[tuple]:
    """The rows `sql` selects from the event log of each Dagster run started since `since`."""
    runs_db = home / "history" / "runs.db"
    if not runs_db.exists():
        return
    con = sqlite3.connect(runs_db)
    try:
        runs = [
            r
            for (r,) in con.execute(
                "select run_id from runs where create_timestamp >= datetime(?, 'unixepoch')", [since]
            )
        ]
    finally:
        con.close()
    for run_id in runs:
        db = home / "history" / "runs" / f"{run_id}.db"
        if not db.exists():
            continue
        con = sqlite3.connect(db)
        try:
            yield from con.execute(sql).fetchall()
        finally:
            con.close()


def dagster_step_times(home: Path, since: float) -> dict[str, float]:
    """Seconds per Dagster step (summed over the step's runs: one per source) of the runs started
    since `since`, from the instance's event logs."""
    times: dict[str, float] = {}
    started: dict[tuple[str, str], float] = {}
    events = run_event_rows(
        home,
        since,
        "select run_id, dagster_event_type, step_key, timestamp from event_logs where dagster_event_type in "
        "('STEP_START', 'STEP_SUCCESS', 'STEP_FAILURE') order by id",
    )
    for run_id, kind, step, stamp in events:
        at = datetime.fromisoformat(str(stamp)).timestamp()  # durations only: naive is fine
        if kind == "STEP_START":
            started[run_id, step] = at
        elif (run_id, step) in started:
            times[step] = times.get(step, 0.0) + at - started.pop((run_id, step))
    return times


def _metadata(event: str) -> dict[str, object]:
    """label -> value of a stored materialization event's metadata."""
    materialization = json.loads(event)["dagster_event"]["event_specific_data"]["materialization"]
    return {e["label"]: e["entry_data"].get("value") for e in materialization.get("metadata_entries", [])}


def published_free_share(home: Path, since: float) -> tuple[float, bool] | None:
    """(share of the warehouse's blocks free before publishing, whether it was rewritten) of the
    published copy's materialization since `since`, from its metadata; None without one."""
    events = run_event_rows(
        home,
        since,
        "select event from event_logs where dagster_event_type = 'ASSET_MATERIALIZATION' "
        "and step_key like '%published_copy%'",
    )
    for (event,) in events:
        metadata = _metadata(event)
        if "free block share" in metadata:
            return float(metadata["free block share"]), bool(metadata["rewritten"])
    return None


def touched_periods(warehouse: Warehouse) -> tuple[int, int, bool] | None:
    """(periods the last build recomputed, all periods, whether the marts were built whole) of
    the incremental period models; None before any build kept its state."""
    con = connect(warehouse, read_only=True)
    try:
        return con.execute(
            "select (select count(*) from incremental_state.touched_periods), "
            "(select count(*) from intermediate.int_periods), "
            "(select count(*) = 0 from incremental_state.incremental_builds)"
        ).fetchone()
    except Exception:  # noqa: BLE001 - no state yet: nothing to report
        return None
    finally:
        con.close()


def counts(warehouse: Warehouse) -> tuple[int, int]:
    con = connect(warehouse, read_only=True)
    try:
        m = con.execute("select count(*) from raw.mail_messages").fetchone()[0]
        c = con.execute("select count(*) from raw.git_commits").fetchone()[0]
        return m, c
    finally:
        con.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--messages", type=int, default=1_000_000)
    ap.add_argument("--commits", type=int, default=500_000)
    ap.add_argument("--lists", type=int, default=4)
    ap.add_argument("--repos", type=int, default=2)
    ap.add_argument("--target", choices=["duckdb", "ducklake"], default="duckdb")
    ap.add_argument("--concurrent", type=int, default=4, help="DuckLake: sources loaded at once (extraction)")
    ap.add_argument("--extraction-only", action="store_true", help="DuckLake: the extraction comparison only")
    args = ap.parse_args()

    root = BENCH_DIR / f"scale-{args.messages}m-{args.commits}c"
    t = time.monotonic()
    config = generate(root, args.messages, args.commits, args.lists, args.repos)
    print(f"sources ready in {time.monotonic() - t:.0f} s: {root}")
    # the appended 1 % must not survive into the next benchmark: regenerate touched sources
    marker = root / ".appended"
    if marker.exists():
        shutil.rmtree(root / "mail", ignore_errors=True)
        shutil.rmtree(root / "repos", ignore_errors=True)
        marker.unlink()
        config = generate(root, args.messages, args.commits, args.lists, args.repos)
    for leftover in ("warehouse.duckdb", "warehouse.duckdb.wal", "warehouse.published.duckdb"):
        (root / leftover).unlink(missing_ok=True)
    for leftover in ("cache", "dagster-home", "cache-lake", "lake-data"):
        shutil.rmtree(root / leftover, ignore_errors=True)

    with contextlib.ExitStack() as stack:
        if args.target == "duckdb":
            warehouse = root / "warehouse.duckdb"
            target = target_of(
                config, size=lambda: warehouse.stat().st_size, compact=lambda: compact_size(warehouse)
            )
        else:
            server = stack.enter_context(catalog_server())
            print(f"catalog server: PostgreSQL on {server.host}:{server.port} (pid {server.pid})")
            compare_extraction(config, server, args.concurrent)
            if args.extraction_only:
                return 0
            database, data_path = server.create_database("lake"), root / "lake-data"
            lake = lake_config(
                config,
                "communities-lake.yaml",
                catalog_of(server, database),
                data_path,
                "cache-lake",
                "output-lake",
            )
            target = target_of(
                lake, size=lambda: sum(lake_size(server, database, data_path)), server_pid=server.pid
            )
        results = run_steps(target, root, args)
        m, c = counts(target.warehouse)
    report(results, args, m, c)
    return 0


def run_steps(target: Target, root: Path, args: argparse.Namespace) -> list[dict]:
    results = [measure(target, "full build")]
    print(f"full build: {results[-1]['wall']:.1f} s; rows (messages, commits): {counts(target.warehouse)}")
    results.append(measure(target, "refresh, no new data"))
    (root / ".appended").write_text("1")
    append_share(root, args.messages, args.commits, args.lists, args.repos, appended=0.0, share=0.01)
    results.append(measure(target, "refresh, 1 % new data"))
    append_share(root, args.messages, args.commits, args.lists, args.repos, appended=0.01, share=0.001)
    results.append(measure(target, "refresh, 0.1 % new data"))
    # a day whose replies answer the last month's messages, as most replies on a real list do
    append_share(
        root, args.messages, args.commits, args.lists, args.repos, appended=0.011, share=0.001, reply_days=30
    )
    results.append(measure(target, "refresh, 0.1 %, replies to the last 30 days"))
    return results


def report(results: list[dict], args: argparse.Namespace, m: int, c: int) -> None:
    full = results[0]["wall"]
    lake = args.target == "ducklake"
    print()
    print(
        f"scale: {args.messages:,} messages in {args.lists} public-inbox lists, {args.commits:,} commits in "
        f"{args.repos} repositories; after the appended steps: {m:,} messages, {c:,} commits"
        + (" (DuckLake on PostgreSQL)" if lake else "")
    )
    cpu_full = results[0]["cpu"]
    if lake:
        print(
            "| step | wall (s) | vs full build | CPU (s) | CPU vs full build | catalog server CPU (s) | sources (s) "
            "| rebuild (s) | peak RSS sum (MiB) | peak PSS sum (MiB) | peak PSS sum, server included (MiB) "
            "| lake: catalog + data (MiB) | load (1 min) |"
        )
    else:
        print(
            "| step | wall (s) | vs full build | CPU (s) | CPU vs full build | sources (s) | rebuild (s) "
            "| peak RSS sum (MiB) | peak PSS sum (MiB) | warehouse (MiB) | compact copy (MiB) | vs compact |"
        )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|" + ("---:|" if lake else ""))
    for r in results:
        head = f"| {r['step']} | {r['wall']:.1f} | {100 * r['wall'] / full:.1f} % | {r['cpu']:.1f} | "
        head += f"{100 * r['cpu'] / cpu_full:.1f} % | "
        if lake:
            print(
                head
                + f"{r['server_cpu']:.1f} | {r['sources']:.1f} | {r['rebuild']:.1f} | {r['peak'] / 2**20:,.0f} | "
                f"{r['peak_pss'] / 2**20:,.0f} | {r['total_pss'] / 2**20:,.0f} | {r['size'] / 2**20:,.1f} | {r['load']:.1f} |"
            )
        else:
            print(
                head + f"{r['sources']:.1f} | {r['rebuild']:.1f} | "
                f"{r['peak'] / 2**20:,.0f} | {r['peak_pss'] / 2**20:,.0f} | {r['size'] / 2**20:,.1f} | "
                f"{r['compact'] / 2**20:,.1f} | {100 * (r['size'] / r['compact'] - 1):+.1f} % |"
            )
    print("wall includes starting Python and loading the Dagster definitions; sources = the extraction")
    print("runs, one per list and repository; rebuild = identities, dbt, charts, report, published copy")
    if lake:
        print("CPU and the peak sums are those of `commstats run`'s process tree; the catalog server's")
        print("processes (postmaster and backends) are counted apart and in the 'server included' sum")
    print()
    print(
        "| step | periods recomputed | free blocks before publishing | rewritten | dbt elapsed (s) | models (s) "
        "| incremental models (s) | data tests (s) | unit tests (s) | slowest models (s) |"
    )
    print("|---|---:|---:|---|---:|---:|---:|---:|---:|---|")
    for r in results:
        d = r["dbt"]
        touched = r.get("touched")
        periods = (
            f"{touched[0]:,} of {touched[1]:,}" + (" (marts whole)" if touched[2] else "")
            if touched and d is not None
            else ""
        )
        published = r.get("published")
        periods += (
            f" | {100 * published[0]:.1f} % | {'yes' if published[1] else 'no'}" if published else " | | "
        )
        if d is None:
            print(f"| {r['step']} | {periods} | no dbt run | | | | | |")
            continue
        t = d["totals"]
        slowest = ", ".join(f"{name} {secs:.1f}" for secs, name in d["slowest"])
        print(
            f"| {r['step']} | {periods} | {d['elapsed']:.1f} | {t.get('model', 0):.1f} | {t.get('incremental', 0):.1f} | "
            f"{t.get('test', 0):.1f} | {t.get('unit_test', 0):.1f} | {slowest} |"
        )
    print()
    steps = sorted({k for r in results for k in r["dagster"]})
    print("| Dagster step (s) | " + " | ".join(r["step"] for r in results) + " |")
    print("|---|" + "---:|" * len(results))
    for step in steps:
        print(f"| {step} | " + " | ".join(f"{r['dagster'].get(step, 0):.1f}" for r in results) + " |")


if __name__ == "__main__":
    sys.exit(main())
