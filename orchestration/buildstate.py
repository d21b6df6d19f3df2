"""Whether a build has anything to do: a fingerprint of everything the marts are derived from.

A refresh that found nothing new must not pay for rebuilding every mart (that is what dominates a
refresh otherwise). The fingerprint covers the raw rows (count and an order-independent hash of
every row of every raw table), the config and identity files, and the code that turns raw rows into
outputs (dbt project, charts, Dagster definitions). `commstats run` skips the rebuild stage when the
fingerprint equals the one stored by the last complete build.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import duckdb

from core.config import REPO_ROOT, CommunitiesConfig
from core.published import published_path
from core.warehouse import summary_tables

CODE_DIRS = ("dbt_project/models", "dbt_project/macros", "dbt_project/seeds", "dbt_project/tests", "charts")
CODE_FILES = ("dbt_project/dbt_project.yml", "orchestration")
STATE_FILE = "last_build.json"
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


def raw_digest(warehouse: Path) -> str | None:
    """Row count and hash of every raw table; None when the warehouse or its marts are missing."""
    if not warehouse.exists():
        return None
    # not core.warehouse.connect: the refresh sensor must not wait for a writer (it asks again later)
    con = duckdb.connect(str(warehouse), read_only=True)
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


def fingerprint(cfg: CommunitiesConfig, warehouse: Path, root: Path = REPO_ROOT) -> str | None:
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
    warehouse = Path(cfg.warehouse)
    if not published_path(warehouse).exists():
        return False
    try:
        current = fingerprint(cfg, warehouse)
    except duckdb.Error:  # a writer holds the warehouse: decide when the rebuild runs instead
        return False
    return current is not None and current == last_fingerprint(state_dir)


def record_build(cfg: CommunitiesConfig, state_dir: Path) -> str | None:
    """Store the fingerprint of what a complete build was made from; None when there is none yet."""
    value = fingerprint(cfg, Path(cfg.warehouse))
    if value is not None:
        state_dir.mkdir(parents=True, exist_ok=True)
        store_fingerprint(state_dir, value)
    return value
