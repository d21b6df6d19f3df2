"""A refresh of a DuckLake warehouse (a local catalog file) that touches most of the marts' rows, a
late-archived copy of each list's first message, builds the incremental marts whole: they are
dropped from the lake and written again, and equal row for row a DuckDB file built from the same
sources in one run."""

from __future__ import annotations

import email.utils
import mailbox
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from tests.incremental.test_incremental_marts import INCREMENTAL

pytestmark = pytest.mark.slow

COMMSTATS = Path(sys.executable).with_name("commstats")
LISTS = ["mail/vmcore-devel.mbox", "mail/kvm.mbox"]


def run(config: Path) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("COMMSTATS_CONFIG", "COMMSTATS_WAREHOUSE")}
    proc = subprocess.run(
        [str(COMMSTATS), "run", "--config", str(config)], capture_output=True, text=True, timeout=900, env=env
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout


def post_the_first_message_again(mbox: Path) -> None:
    """Append the earliest message of `mbox` under a new Message-ID, as a late import would."""
    box = mailbox.mbox(mbox)
    first = min(box, key=lambda m: email.utils.parsedate_to_datetime(m["Date"]))
    again = mailbox.mboxMessage(first)
    message_id = again["Message-ID"]
    del again["Message-ID"]
    again["Message-ID"] = message_id.replace("@", ".late@", 1)
    box.lock()
    try:
        box.add(again)
        box.flush()
    finally:
        box.unlock()


def as_lake(config: Path) -> None:
    text = config.read_text()
    assert "warehouse: warehouse.duckdb\n" in text
    lake = "warehouse:\n  ducklake:\n    catalog: lake/catalog.ducklake\n    data_path: lake/data/\n"
    config.write_text(text.replace("warehouse: warehouse.duckdb\n", lake))


def test_a_lake_refresh_touching_most_rows_builds_the_marts_whole(
    sample_dir: Path, ducklake_extensions: Path, tmp_path: Path
) -> None:
    lake = tmp_path / "lake-sample"
    shutil.copytree(sample_dir, lake, ignore=shutil.ignore_patterns("output", "cache", "warehouse*"))
    as_lake(lake / "communities.yaml")
    (lake / "lake" / "data").mkdir(parents=True)
    run(lake / "communities.yaml")
    for mbox in LISTS:
        post_the_first_message_again(lake / mbox)
    run(lake / "communities.yaml")
    [log] = (lake / "cache").rglob("dbt.log")
    text = log.read_text()
    for table in INCREMENTAL:
        assert f"whole build of {table.split('.')[1]}: the touched periods hold" in text, table

    # the same sources, built whole into a DuckDB file
    file_build = tmp_path / "file-sample"
    shutil.copytree(lake, file_build, ignore=shutil.ignore_patterns("output", "cache", "lake"))
    (file_build / "communities.yaml").write_text((sample_dir / "communities.yaml").read_text())
    run(file_build / "communities.yaml")

    con = duckdb.connect(
        config={"extension_directory": str(ducklake_extensions), "autoinstall_known_extensions": False}
    )
    try:
        con.execute("load ducklake")
        con.execute(
            f"attach 'ducklake:{lake / 'lake' / 'catalog.ducklake'}' as lake (data_path '{lake / 'lake' / 'data'}/', read_only)"
        )
        con.execute(f"attach '{file_build / 'warehouse.duckdb'}' as f (read_only)")
        late = "select count(*) from lake.raw.mail_messages where message_id like '%.late@%'"
        assert con.execute(late).fetchone() == (len(LISTS),)
        for table in INCREMENTAL:
            for a, b in (("lake", "f"), ("f", "lake")):
                sql = f"select count(*) from (select * from {a}.{table} except all select * from {b}.{table})"
                assert con.execute(sql).fetchone() == (0,), (table, a)
            assert con.execute(f"select count(*) from f.{table}").fetchone()[0] > 0
    finally:
        con.close()
