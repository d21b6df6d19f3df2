"""`commstats sql` while a refresh holds the warehouse: queries read the published copy, an open
prompt does not block the next publish, writes are refused with one line."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from core.published import publish_copy
from tests.ops.conftest import COMMSTATS, commstats

WRITER = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])
con.execute("begin transaction")
con.execute("insert into raw.mail_messages select 'p', 'l', 'new' || range from range(1000)")
print("holding", flush=True)
time.sleep(120)
"""


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    wh = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(wh))
    con.execute("create schema raw; create schema marts")
    con.execute("create table raw.mail_messages (project varchar, list_name varchar, message_id varchar)")
    con.execute("insert into raw.mail_messages select 'p', 'l', 'm' || range from range(250)")
    con.execute(
        "create table marts.health as select 'p' as project, count(*) as messages from raw.mail_messages"
    )
    con.close()
    publish_copy(wh)
    return wh


@pytest.fixture
def writer(warehouse: Path):
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(warehouse)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "holding"
    yield proc
    proc.kill()
    proc.wait()


def test_query_succeeds_while_a_writer_holds_the_warehouse(warehouse: Path, writer):
    # the live file is locked: a read-only open of it fails...
    with pytest.raises(duckdb.IOException, match="lock"):
        duckdb.connect(str(warehouse), read_only=True)
    # ...but the command reads the published copy
    started = time.monotonic()
    out = commstats(
        "sql", "--warehouse", str(warehouse), "--csv", "select project, messages from marts.health"
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ["project,messages", "p,250"]
    assert time.monotonic() - started < 60
    live = commstats("sql", "--warehouse", str(warehouse), "--live", "select 1")
    assert live.returncode == 1
    assert live.stderr.strip().splitlines() == [
        f"commstats: {warehouse}: a refresh is writing the warehouse: retry when it ends "
        "(without --live, queries read the copy published by the last build)"
    ]


def test_write_queries_are_refused_with_one_line(warehouse: Path, writer):
    for query in ("drop table marts.health", "insert into raw.mail_messages values ('x', 'y', 'z')"):
        out = commstats("sql", "--warehouse", str(warehouse), query)
        assert out.returncode == 1
        assert (
            out.stderr.strip()
            == "commstats: the warehouse is opened read-only: queries that write are refused"
        )


def test_an_open_prompt_does_not_hold_back_a_publish(warehouse: Path):
    prompt = subprocess.Popen(
        [str(COMMSTATS), "sql", "--warehouse", str(warehouse), "--csv"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert "read-only" in prompt.stdout.readline()
        con = duckdb.connect(str(warehouse))  # a refresh: the prompt does not keep it out
        con.execute("insert into raw.mail_messages select 'p', 'l', 'n' || range from range(50)")
        con.execute(
            "create or replace table marts.health as select 'p' as project, count(*) as messages from raw.mail_messages"
        )
        con.close()
        publish_copy(warehouse)
        out, _ = prompt.communicate("select messages from marts.health;\n", timeout=60)
        assert "messages\n250" in out  # the prompt keeps the snapshot it opened
    finally:
        prompt.kill()
        prompt.wait()
    fresh = commstats("sql", "--warehouse", str(warehouse), "--csv", "select messages from marts.health")
    assert fresh.stdout.splitlines() == ["messages", "300"]
