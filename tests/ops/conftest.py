"""Helpers for the operations tests: sample configs in tmp, subprocess `commstats` commands."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import yaml

COMMSTATS = Path(sys.executable).with_name("commstats")
RAW_AND_MARTS = (
    "select table_schema || '.' || table_name from information_schema.tables "
    "where table_schema in ('raw', 'marts') order by 1"
)


def write_config(sample: Path, root: Path, **overrides) -> Path:
    """The sample communities with warehouse, cache and outputs under `root`; paths absolute."""
    data = yaml.safe_load((sample / "communities.yaml").read_text())
    root.mkdir(parents=True, exist_ok=True)
    data.update(
        warehouse=str(root / "warehouse.duckdb"),
        output_dir=str(root / "output"),
        cache_dir=str(root / "cache"),
    )
    for project in data["projects"].values():
        for src in (*project.get("mailing_lists", []), *project.get("repositories", [])):
            if "path" in src:
                src["path"] = str(sample / src["path"])
    ids = data.get("identities", {})
    for key, paths in ids.items():
        ids[key] = [str(sample / p) for p in paths]
    data.update(overrides)
    path = root / "communities.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def commstats(*args: str, timeout: float = 600, **kw) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("COMMSTATS_CONFIG", "COMMSTATS_WAREHOUSE")}
    return subprocess.run(
        [str(COMMSTATS), *args], capture_output=True, text=True, timeout=timeout, env=env, **kw
    )


def table_counts(warehouse: Path) -> dict[str, int]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        tables = [r[0] for r in con.execute(RAW_AND_MARTS).fetchall()]
        return {t: con.execute(f"select count(*) from {t}").fetchone()[0] for t in tables}
    finally:
        con.close()
