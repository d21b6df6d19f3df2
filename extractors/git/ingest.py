"""Incremental ingestion of one repository (one project's view of it) into the warehouse.

Each refresh reads the SHAs already in raw.git_commits for (project, repository), walks the
branch, extracts only the commits not yet there, and deletes the commits (with their file,
trailer and quarantine rows) no longer reachable from the branch tip or outside the date
window, as after a force-push, all in one transaction.

Commits outside the path scope leave no row, so without help every refresh would re-examine
them. A small state file in the cache directory remembers the tip, scope and window of the last
refresh; when the new tip descends from that tip and nothing else changed, only the new part of
the history is walked. A rewritten branch, or a warehouse not matching the state, falls back to a
full walk; a different scope, branch or window (or no state) rebuilds the owner's rows.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pygit2

from core.config import RepositoryConfig
from core.warehouse import Warehouse, connect, lake_session, warehouse_exists
from extractors.git.extract import Progress, iter_repository_rows
from extractors.git.repository import open_repository, resolve_branch
from extractors.git.walk import reachable_shas
from extractors.load import Spool, publish
from extractors.schema import GIT_TABLES, RAW_SCHEMA

_REMOVED = "git_removed_commits"  # spooled list of SHAs to delete (not a raw table)


def _state_file(cache_dir: Path, project: str, repo_name: str) -> Path:
    key = hashlib.sha1(f"{project}\0{repo_name}".encode()).hexdigest()[:16]
    return Path(cache_dir) / "git-state" / f"{project}-{repo_name}-{key}.json"


def _fingerprint(repo_cfg: RepositoryConfig, since: date | None, until: date | None) -> str:
    return json.dumps(
        {"paths": list(repo_cfg.paths), "branch": repo_cfg.branch, "since": str(since), "until": str(until)},
        sort_keys=True,
    )


def existing_shas(warehouse: Warehouse, project: str, repository: str, timeout_s: float = 600.0) -> set[str]:
    """SHAs in raw.git_commits for (project, repository); empty when there is no warehouse yet."""
    if not warehouse_exists(warehouse):
        return set()
    con = connect(warehouse, read_only=True, timeout_s=timeout_s)  # waits for a writer
    try:
        exists = con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = 'git_commits'",
            [RAW_SCHEMA],
        ).fetchone()[0]
        if not exists:
            return set()
        rows = con.execute(
            f"SELECT sha FROM {RAW_SCHEMA}.git_commits WHERE project = ? AND repository = ?",
            [project, repository],
        ).fetchall()
        return {r[0] for r in rows}
    finally:
        con.close()


def _load_state(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


# the processes that read a repository (the caller and forked ones) unless the caller says
GIT_WORKERS = 2


def ingest_repository(
    warehouse: Warehouse,
    project: str,
    repo_cfg: RepositoryConfig,
    cache_dir: Path,
    *,
    since: date | None = None,
    until: date | None = None,
    workers: int | None = None,
    progress: Progress | None = None,
) -> dict[str, int]:
    """Bring raw.git_* for (project, repository) up to date with the branch; return counts.

    The counts: `new_commits` (commits emitted by this refresh), `removed_commits` (deleted as
    unreachable or out of the window), `examined_commits` (walked and diffed or scope-checked)
    and the rows per raw table for this (project, repository) after the refresh.
    `workers` (default GIT_WORKERS) processes read the history.
    Raises GitSourceError (one line naming the repository) when the source cannot be read.
    """
    # one DuckLake attach for the stored SHAs and the commit (a DuckDB file: as before)
    with lake_session(warehouse):
        return _ingest(
            warehouse, project, repo_cfg, cache_dir, since, until, workers or GIT_WORKERS, progress
        )


def _ingest(
    warehouse: Warehouse,
    project: str,
    repo_cfg: RepositoryConfig,
    cache_dir: Path,
    since: date | None,
    until: date | None,
    workers: int,
    progress: Progress | None,
) -> dict[str, int]:
    repo = open_repository(repo_cfg, cache_dir)
    tip = resolve_branch(repo, repo_cfg.branch, repo_cfg.name)
    existing = existing_shas(warehouse, project, repo_cfg.name)

    state_path = _state_file(cache_dir, project, repo_cfg.name)
    state = _load_state(state_path)
    fingerprint = _fingerprint(repo_cfg, since, until)
    hide: list[str] = []
    removed: set[str] = set()
    # A different scope, branch or window (or no record of the last one) changes which commits
    # belong to the owner: rebuild its rows from scratch rather than patch them.
    rebuild = bool(existing) and (state is None or state.get("fingerprint") != fingerprint)
    if rebuild:
        skip: set[str] = set()
    elif state and state.get("commits") == len(existing) and _is_ancestor(repo, state.get("tip"), tip.id):
        # fast-forward: everything reachable from the old tip was handled last time
        hide = [state["tip"]]
        skip = existing
    else:
        skip = existing
        removed = existing - reachable_shas(repo, tip.id, since=since, until=until)

    examined = 0
    emitted: set[str] = set()

    def on_progress(n: int) -> None:
        nonlocal examined
        examined = n
        if progress is not None:
            progress(n)

    rows = iter_repository_rows(
        project,
        repo_cfg.name,
        repo,
        branch=repo_cfg.branch,
        paths=list(repo_cfg.paths),
        since=since,
        until=until,
        skip=skip,
        workers=workers,
        progress=on_progress,
        hide=hide,
    )
    spool = Spool()
    try:
        for table, row in rows:
            if table == "git_commits":
                emitted.add(row["sha"])
            spool.add(table, row)
        spool.close()
        if rebuild:
            removed = existing - emitted
        elif removed:
            pq.write_table(pa.table({"sha": pa.array(sorted(removed), pa.string())}), spool.path(_REMOVED))
        counts = publish(
            warehouse,
            spool,
            GIT_TABLES,
            {"project": project, "repository": repo_cfg.name},
            replace_keys=None if rebuild else {t: ("sha",) for t in GIT_TABLES},
            delete_by=None if rebuild else {t: (_REMOVED, ("sha",)) for t in GIT_TABLES},
        )
    finally:
        spool.cleanup()
    new_commits = len(emitted - existing)

    state_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = state_path.with_suffix(".tmp")
    tmp.write_text(
        json.dumps({"fingerprint": fingerprint, "tip": str(tip.id), "commits": counts["git_commits"]})
    )
    tmp.replace(state_path)
    return {
        "new_commits": new_commits,
        "removed_commits": len(removed),
        "examined_commits": examined,
        **counts,
    }


def _is_ancestor(repo: pygit2.Repository, old_hex: str | None, new: pygit2.Oid) -> bool:
    if not old_hex:
        return False
    try:
        old = pygit2.Oid(hex=old_hex)
        return old == new or repo.descendant_of(new, old)
    except (ValueError, KeyError, pygit2.GitError):
        return False
