"""The Parquet spool: rows as dicts, read column by column, written as given."""

from __future__ import annotations

import random
from datetime import datetime
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from extractors.load import Spool


def _file_change(rng: random.Random, i: int) -> dict:
    return {
        "project": "p",
        "repository": "r",
        "sha": f"{i:040x}",
        "path": f"dir/{rng.randrange(100)}.c",
        "old_path": None if rng.random() < 0.9 else "old.c",
        "change_type": rng.choice("AMDR"),
        "lines_added": rng.randrange(1000),
        "lines_removed": rng.randrange(1000),
        "is_binary": rng.random() < 0.1,
    }


def test_full_rows_spool_as_given_across_flushes(tmp_path: Path) -> None:
    rng = random.Random(7)
    rows = [_file_change(rng, i) for i in range(2_503)]
    spool = Spool(tmp_path, batch_rows=1_000)
    spool.extend(("git_file_changes", r) for r in rows)
    spool.close()
    assert spool.counts == {"git_file_changes": 2_503}
    assert pq.read_table(spool.path("git_file_changes")).to_pylist() == rows


def test_rows_with_missing_keys_spool_nulls(tmp_path: Path) -> None:
    # mixed shapes: the fast path (every row has every column) does not apply
    rows = [
        {"project": "p", "repository": "r", "sha": "a", "reason": "x", "detail": "d"},
        {"project": "p", "repository": "r", "sha": "b", "reason": "y"},
        {"sha": "c"},
    ]
    spool = Spool(tmp_path)
    for r in rows:
        spool.add("git_quarantine", r)
    spool.close()
    got = pq.read_table(spool.path("git_quarantine")).to_pylist()
    names = ["project", "repository", "sha", "reason", "detail"]
    assert got == [{n: r.get(n) for n in names} for r in rows]


def test_same_width_rows_with_a_wrong_key_fall_back_to_nulls(tmp_path: Path) -> None:
    # as many keys as columns, but one misspelt: an error naming it, not a silent null
    row = {"project": "p", "repository": "r", "sha": "a", "reason": "x", "detial": "d"}
    spool = Spool(tmp_path)
    spool.add("git_quarantine", row)
    with pytest.raises(ValueError, match=r"raw\.git_quarantine: unknown column\(s\) \['detial'\]"):
        spool.close()


def test_unknown_key_is_one_clear_error(tmp_path: Path) -> None:
    spool = Spool(tmp_path)
    spool.add("git_quarantine", {"sha": "a", "extra": 1})
    with pytest.raises(ValueError, match=r"raw\.git_quarantine: unknown column\(s\) \['extra'\]"):
        spool.close()


def test_timestamps_and_lists_keep_their_values(tmp_path: Path) -> None:
    # a table with TIMESTAMP and VARCHAR[] columns, written through the column path
    spool = Spool(tmp_path)
    row = {
        "project": "p",
        "repository": "r",
        "sha": "a",
        "author_name": "A",
        "author_address": "a@x",
        "authored_at": datetime(2024, 2, 29, 12, 30, 1, 5),
        "author_tz_offset": -300,
        "committer_name": "C",
        "committer_address": "c@x",
        "committed_at": None,
        "committer_tz_offset": 60,
        "is_merge": False,
        "parent_count": 1,
        "subject": "s",
        "patch_id": None,
        "files_changed": 3,
        "lines_added": 10,
        "lines_removed": 2,
    }
    spool.add("git_commits", row)
    spool.close()
    assert pq.read_table(spool.path("git_commits")).to_pylist() == [row]
