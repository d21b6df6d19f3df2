"""The Parquet spool: rows as dicts, read column by column, written as given; the compiled column
builder (extractors/_columns.c) against pyarrow's own conversion."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from extractors import load
from extractors.load import Spool
from extractors.schema import RAW_TABLES
from tests.c_modules import require

REPO = Path(__file__).resolve().parents[1]


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


# --- the compiled column builder (extractors/_columns.c) against pa.array ----------------------

_WORDS = ["", "a", "kvm", "Müller", "日本", "x" * 300, "tab\tand\nnewline", "nul\0byte"]


def _value(rng: random.Random, typ: str) -> Any:
    if rng.random() < 0.2:
        return None
    if typ == "VARCHAR":
        return rng.choice(_WORDS) + str(rng.randrange(100))
    if typ == "INTEGER":
        return rng.choice([0, 1, -1, 2**31 - 1, -(2**31), rng.randrange(-(10**6), 10**6)])
    if typ == "BIGINT":
        return rng.choice([0, 2**63 - 1, -(2**63), rng.randrange(-(2**40), 2**40)])
    if typ == "BOOLEAN":
        return rng.random() < 0.5
    if typ == "TIMESTAMP":
        if rng.random() < 0.2:  # the ends of datetime's range, a microsecond before the epoch
            return rng.choice([datetime(1, 1, 1), datetime.max, datetime(1969, 12, 31, 23, 59, 59, 999999)])
        return datetime(1960, 1, 1) + timedelta(
            seconds=rng.randrange(3 * 10**9), microseconds=rng.randrange(10**6)
        )
    if typ == "DATE":
        return date(1, 1, 1) + timedelta(days=rng.randrange(3_652_058))
    assert typ == "VARCHAR[]"
    return [rng.choice([*_WORDS, None]) for _ in range(rng.randrange(4))]


@pytest.mark.parametrize(
    "table", ["git_commits", "git_file_changes", "mail_messages", "identity_affiliations"]
)
def test_built_columns_equal_pyarrows_conversion(table: str) -> None:
    native = require(load._native, "_columns.c")
    rng = random.Random(table)
    schema = load.arrow_schema(table)
    for n in (1, 7, 8, 9, 300):
        rows = [{name: _value(rng, typ) for name, typ in RAW_TABLES[table]} for _ in range(n)]
        built = load._built_arrays(table, rows, schema)
        assert built is not None
        got = pa.Table.from_arrays(built, schema=schema)
        got.validate(full=True)
        assert got.equals(pa.Table.from_arrays(load._columns(table, rows, schema.names), schema=schema))
        assert got.to_pylist() == rows
    assert native.column([{}], "a", "s") == (1, 1, (b"\x00", bytes(8), b""), None)


@pytest.mark.parametrize(
    ("typ", "value"),
    [
        ("VARCHAR", b"bytes"),
        ("VARCHAR", "lone \udc80 surrogate"),
        ("INTEGER", 2**31),
        ("INTEGER", True),
        ("INTEGER", 1.0),
        ("BIGINT", 2**63),
        ("BOOLEAN", 1),
        ("TIMESTAMP", datetime(2024, 1, 1, tzinfo=UTC)),
        ("TIMESTAMP", date(2024, 1, 1)),
        ("DATE", datetime(2024, 1, 1)),
        ("VARCHAR[]", ("a", "b")),
        ("VARCHAR[]", ["a", 1]),
    ],
)
def test_values_outside_the_plain_types_are_left_to_pyarrow(typ: str, value: Any) -> None:
    native = require(load._native, "_columns.c")
    rows = [{"v": None}, {"v": value}]
    assert native.column(rows, "v", load._KINDS[typ]) is None


def test_rows_that_are_not_dicts_are_left_to_pyarrow() -> None:
    native = require(load._native, "_columns.c")
    assert native.column([{"v": "a"}, MappingProxyType({"v": "b"})], "v", "s") is None


def test_a_flush_imports_no_pandas(tmp_path: Path) -> None:
    require(load._native, "_columns.c")
    code = (
        "import sys, random\n"
        "from pathlib import Path\n"
        "from extractors.load import Spool\n"
        "from tests.test_load_spool import _file_change\n"
        "s = Spool(Path(sys.argv[1]))\n"
        "s.extend(('git_file_changes', _file_change(random.Random(1), i)) for i in range(50))\n"
        "s.close()\n"
        "print('pandas' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, cwd=REPO, check=True
    )
    assert done.stdout.split() == ["False"]


def test_no_blas_threads_at_import() -> None:
    # numpy's OpenBLAS (pyarrow imports numpy) starts no thread of its own: as many threads as
    # with OPENBLAS_NUM_THREADS=1 set from the start
    code = "import os, extractors.load; print(len(os.listdir('/proc/self/task')))"
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    counts = [
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, env=e, check=True
        ).stdout
        for e in (env, {**env, "OPENBLAS_NUM_THREADS": "1"})
    ]
    assert counts[0] == counts[1]
