"""Whether a build has anything to do: a fingerprint of everything the marts are derived from.

A refresh that found nothing new must not pay for rebuilding every mart (that is what dominates a
refresh otherwise). The fingerprint covers the raw rows (count and an order-independent hash of
every row of every raw table), the config and identity files, and the code that turns raw rows into
outputs (dbt project, charts, Dagster definitions). `commstats run` skips the rebuild stage when the
fingerprint equals the one stored by the last complete build.

Finding that nothing is new still meant running every source through Dagster (starting Dagster,
dbt's adapter and the definitions is most of such a run). So a complete run also stores a snapshot
of its sources as they were when it started (`sources_snapshot`: the refs of every git repository
and public-inbox epoch, and the names, sizes and times of the files of every local mbox or
maildir). When the snapshot and the fingerprint are both unchanged, `commstats run` ends before
importing Dagster: nothing a source could give is new. A source that is read over the network
(a clone URL, HTTP archives, NNTP) or asked to re-read everything (full_refresh) has no snapshot,
and the run takes its usual path.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import subprocess
from pathlib import Path

import duckdb

from core.config import REPO_ROOT, CommunitiesConfig
from core.published import published_path
from core.warehouse import Warehouse, connect_now, lake_of, summary_tables, warehouse_exists

CODE_DIRS = ("dbt_project/models", "dbt_project/macros", "dbt_project/seeds", "dbt_project/tests", "charts")
CODE_FILES = ("dbt_project/dbt_project.yml", "orchestration")
STATE_FILE = "last_build.json"
SOURCES_FILE = "last_sources.json"
# bookkeeping columns that change on every load without changing the data (cursor timestamps)
VOLATILE_COLUMNS = ("updated_at",)


def _files(root: Path) -> list[Path]:
    if root.is_file():
        return [root]
    return sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts)


def _hash_files(h: hashlib._Hash, paths: list[Path], base: Path | None = None) -> None:
    for path in paths:
        h.update(str(path.relative_to(base) if base else path).encode() + b"\0")
        try:
            h.update(path.read_bytes())
        except OSError:
            h.update(b"<missing>")


def raw_digest(warehouse: Warehouse) -> str | None:
    """Row count and hash of every raw table; None when the warehouse or its marts are missing."""
    if not warehouse_exists(warehouse):
        return None
    # not core.warehouse.connect: the refresh sensor must not wait for a writer (it asks again later)
    con = connect_now(warehouse)
    try:
        tables = summary_tables(con)
        if not any(schema == "marts" for schema, _ in tables):
            return None
        parts = []
        for schema, table in tables:
            if schema != "raw":
                continue
            cols = [
                c
                for (c,) in con.execute(
                    "select column_name from information_schema.columns "
                    "where table_schema = 'raw' and table_name = ? order by ordinal_position",
                    [table],
                ).fetchall()
                if c not in VOLATILE_COLUMNS
            ]
            row = "row(" + ", ".join(f'"{c}"' for c in cols) + ")"
            n, total = con.execute(f'select count(*), sum(hash({row})) from raw."{table}"').fetchone()
            parts.append(f"{table}:{n}:{total}")
        return "|".join(parts)
    finally:
        con.close()


def fingerprint(cfg: CommunitiesConfig, warehouse: Warehouse, root: Path = REPO_ROOT) -> str | None:
    raw = raw_digest(warehouse)
    if raw is None:
        return None
    h = hashlib.sha256(raw.encode())
    ids = cfg.identities
    inputs = [cfg.source_file, *ids.mailmap, *ids.aliases, *ids.affiliations, *ids.gitdm_maps]
    _hash_files(h, [Path(p) for p in inputs if p is not None])
    for name in (*CODE_DIRS, *CODE_FILES):
        _hash_files(h, [p for p in _files(root / name) if p.suffix != ".pyc"], root)
    return h.hexdigest()


def last_fingerprint(state_dir: Path) -> str | None:
    try:
        return json.loads((state_dir / STATE_FILE).read_text())["fingerprint"]
    except (OSError, ValueError, KeyError):
        return None


def store_fingerprint(state_dir: Path, value: str) -> None:
    tmp = state_dir / f"{STATE_FILE}.tmp"
    tmp.write_text(json.dumps({"fingerprint": value}))
    tmp.replace(state_dir / STATE_FILE)


def nothing_new(cfg: CommunitiesConfig, state_dir: Path) -> bool:
    """The raw rows, config and code are those the last full build was made from, and its
    published copy exists: the rebuild would change nothing."""
    warehouse = cfg.warehouse
    # a DuckLake has no published copy: readers read its latest snapshot
    if lake_of(warehouse) is None and not published_path(warehouse).exists():
        return False
    try:
        current = fingerprint(cfg, warehouse)
    except duckdb.Error:  # a writer holds the warehouse: decide when the rebuild runs instead
        return False
    return current is not None and current == last_fingerprint(state_dir)


def record_build(cfg: CommunitiesConfig, state_dir: Path) -> str | None:
    """Store the fingerprint of what a complete build was made from; None when there is none yet."""
    value = fingerprint(cfg, cfg.warehouse)
    if value is not None:
        state_dir.mkdir(parents=True, exist_ok=True)
        store_fingerprint(state_dir, value)
    return value


def _git_refs(path: Path) -> str | None:
    """Every ref of the repository at `path` with its object, and HEAD; None when git cannot tell."""
    out = []
    for args in (["for-each-ref", "--format=%(objectname) %(refname)"], ["rev-parse", "HEAD"]):
        proc = subprocess.run(
            ["git", "-C", str(path), *args], capture_output=True, text=True, env={**os.environ, "LC_ALL": "C"}
        )
        if proc.returncode != 0:
            return None
        out.append(proc.stdout)
    return "".join(out)


def _file_listing(path: Path) -> str | None:
    """Name, size, modification time and inode of every file and directory the path (a file, a
    directory or a glob) names; None when it names nothing."""
    matches = sorted(glob.glob(str(path), recursive=True)) if glob.has_magic(str(path)) else [str(path)]
    lines = []
    for match in matches:
        for root, dirs, names in os.walk(match) if os.path.isdir(match) else [("", [], [match])]:
            dirs.sort()
            for name in sorted([*dirs, *names]):
                full = os.path.join(root, name)
                try:
                    st = os.stat(full)
                except OSError:
                    return None
                lines.append(f"{full}\t{st.st_size}\t{st.st_mtime_ns}\t{st.st_ino}")
    return "\n".join(lines) if lines else None


def sources_snapshot(cfg: CommunitiesConfig) -> str | None:
    """A digest of what every source holds now, or None when a source cannot be told cheaply and
    locally (a URL, HTTP archives, NNTP, full_refresh): then only reading it tells what is new."""
    h = hashlib.sha256()
    _hash_files(h, [Path(cfg.source_file)] if cfg.source_file else [])
    for key, project in sorted(cfg.projects.items()):
        for lst in project.mailing_lists:
            if lst.url is not None or lst.path is None or getattr(lst.options, "full_refresh", False):
                return None
            if lst.kind == "public-inbox":
                # an epoch is a git repository: its refs say what it holds; a new epoch is a new listing
                epochs = sorted({*glob.glob(f"{lst.path}/git/*.git"), *glob.glob(f"{lst.path}/*.git")})
                refs = [(e, _git_refs(Path(e))) for e in epochs or [str(lst.path)]]
                if any(r is None for _, r in refs):
                    return None
                part = "".join(f"{e}\n{r}" for e, r in refs)
            else:
                part = _file_listing(Path(lst.path))
            if part is None:
                return None
            h.update(f"{key}/{lst.name}\0{part}\0".encode())
        for repo in project.repositories:
            if repo.path is None:
                return None
            refs = _git_refs(Path(repo.path))
            if refs is None:
                return None
            h.update(f"{key}/{repo.name}\0{refs}\0".encode())
    return h.hexdigest()


def last_sources_snapshot(state_dir: Path) -> str | None:
    try:
        return json.loads((state_dir / SOURCES_FILE).read_text())["sources"]
    except (OSError, ValueError, KeyError):
        return None


def store_sources_snapshot(state_dir: Path, value: str | None) -> None:
    """Store the snapshot a complete run started from; None forgets the stored one."""
    path = state_dir / SOURCES_FILE
    if value is None:
        path.unlink(missing_ok=True)
        return
    tmp = state_dir / f"{SOURCES_FILE}.tmp"
    tmp.write_text(json.dumps({"sources": value}))
    tmp.replace(path)
