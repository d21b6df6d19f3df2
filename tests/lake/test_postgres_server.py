"""The throwaway PostgreSQL server the DuckLake tests keep their catalog in: it answers, only on
loopback, never as root, leaves nothing behind; and a DuckLake catalog on it is shared between
processes, concurrent writers included."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import psutil
import pytest

from tests.lake.postgres_server import UNPRIVILEGED, PostgresServer, available, postgres_server

NO_SERVER = available()
needs_postgres = pytest.mark.skipif(NO_SERVER is not None, reason=str(NO_SERVER))


def listening(pid: int) -> set[tuple[str, int]]:
    """The TCP addresses the process listens on."""
    return {
        (conn.laddr.ip, conn.laddr.port)
        for conn in psutil.Process(pid).net_connections(kind="inet")
        if conn.status == psutil.CONN_LISTEN
    }


def server_processes(pid: int) -> list[psutil.Process]:
    """The postmaster and its children (checkpointer, writers, launchers, backends)."""
    postmaster = psutil.Process(pid)
    return [postmaster, *postmaster.children(recursive=True)]


def gone(processes: list[psutil.Process]) -> list[str]:
    """The processes among `processes` still running (a process matches only with its start time,
    so a reused pid does not count)."""
    return [
        f"{proc.pid}" for proc in processes if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    ]


def test_server_answers_psql_over_loopback(postgres: PostgresServer) -> None:
    assert postgres.host == "127.0.0.1"
    assert postgres.user == "commstats"
    assert postgres.libpq == f"dbname=commstats host=127.0.0.1 port={postgres.port} user=commstats"
    done = subprocess.run(
        ["psql", "-X", "-A", "-t", "-h", "127.0.0.1", "-p", str(postgres.port), "-U", "commstats",
         "-d", "commstats", "-c", "select 1"],
        capture_output=True, text=True, timeout=60,
        env={k: v for k, v in os.environ.items() if not k.startswith("PG")},
    )  # fmt: skip
    assert (done.returncode, done.stdout.strip(), done.stderr) == (0, "1", "")
    assert postgres.run_sql("select current_user, current_database()") == "commstats|commstats"
    assert postgres.run_sql("select current_setting('server_encoding')") == "UTF8"


def test_listens_on_loopback_only(postgres: PostgresServer) -> None:
    assert listening(postgres.pid) == {("127.0.0.1", postgres.port)}
    assert postgres.run_sql("show listen_addresses") == "127.0.0.1"
    # the unix socket is in the server's own folder, not in /var/run/postgresql
    assert (postgres.folder / "run" / f".s.PGSQL.{postgres.port}").is_socket()
    others = [
        addr.address
        for addrs in psutil.net_if_addrs().values()
        for addr in addrs
        if addr.family == socket.AF_INET and not addr.address.startswith("127.")
    ]
    for address in others:
        with (
            pytest.raises(ConnectionRefusedError),
            socket.create_connection((address, postgres.port), timeout=5),
        ):
            pass


def test_server_never_runs_as_root(postgres: PostgresServer) -> None:
    expected = UNPRIVILEGED if os.geteuid() == 0 else psutil.Process().username()
    processes = server_processes(postgres.pid)
    assert len(processes) >= 2  # the postmaster and at least its checkpointer
    assert {proc.username() for proc in processes} == {expected}
    assert all(proc.uids().effective != 0 for proc in processes)


def test_each_test_gets_an_empty_database_of_its_own(
    postgres: PostgresServer, lake_database: PostgresServer
) -> None:
    assert lake_database.dbname != postgres.dbname
    assert (
        lake_database.libpq
        == f"dbname={lake_database.dbname} host=127.0.0.1 port={postgres.port} user=commstats"
    )
    assert lake_database.run_sql("select current_database()") == lake_database.dbname
    tables = "select count(*) from information_schema.tables where table_schema = 'public'"
    assert lake_database.run_sql(tables) == "0"
    other = postgres.create_database()
    assert other != lake_database.dbname
    postgres.drop_database(other)
    listed = f"select count(*) from pg_database where datname in ('{other}', '{lake_database.dbname}')"
    assert postgres.run_sql(listed) == "1"


@needs_postgres
def test_teardown_stops_every_process_and_removes_the_folder() -> None:
    started = time.monotonic()
    with postgres_server() as server:
        ready = time.monotonic()
        # a client session: its backend must end with the server too
        client = subprocess.Popen(
            [str(server.psql), "-X", "-h", server.host, "-p", str(server.port), "-U", server.user,
             "-d", server.dbname, "-c", "select pg_sleep(60)"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        sleeping = "select count(*) from pg_stat_activity where query = 'select pg_sleep(60)'"
        deadline = time.monotonic() + 30
        while server.run_sql(sleeping) != "1" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.run_sql(sleeping) == "1"
        processes = server_processes(server.pid)
        assert server.folder.is_dir()
        stopping = time.monotonic()
    stopped = time.monotonic()
    client.wait(timeout=30)
    assert gone(processes) == []
    assert not server.folder.exists()
    with (
        pytest.raises(ConnectionRefusedError),
        socket.create_connection(("127.0.0.1", server.port), timeout=5),
    ):
        pass
    print(f"postgres start {ready - started:.2f} s, stop {stopped - stopping:.2f} s")


@needs_postgres
def test_a_server_that_ignores_the_stop_request_is_killed() -> None:
    with postgres_server(stop_timeout=1.0) as server:
        processes = server_processes(server.pid)
        # a stopped postmaster cannot act on the fast shutdown request
        os.kill(server.pid, signal.SIGSTOP)
        stopping = time.monotonic()
    assert time.monotonic() - stopping < 10
    assert gone(processes) == []
    assert not server.folder.exists()


# one DuckDB process on the lake: ATTACHes the catalog and does `mode`
CHILD = """
import sys
import duckdb

mode, extensions, libpq, data = sys.argv[1:5]
con = duckdb.connect(config={"extension_directory": extensions, "autoinstall_known_extensions": False})
con.execute("LOAD ducklake")
con.execute("LOAD postgres")
con.execute(f"ATTACH 'ducklake:postgres:{libpq}' AS lake (DATA_PATH '{data}/')")
if mode == "count":
    print(con.execute("SELECT count(*) FROM lake.events").fetchone()[0])
else:
    con.execute("BEGIN TRANSACTION")
    con.execute("INSERT INTO lake.events VALUES (?, ?)", [int(sys.argv[5]), sys.argv[6]])
    # both writers hold an open transaction with their row before either commits
    print("inserted", flush=True)
    sys.stdin.readline()
    con.execute("COMMIT")
    print("committed", flush=True)
con.close()
"""


def child(mode: str, extensions: Path, lake: PostgresServer, data: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, mode, str(extensions), lake.libpq, str(data), *args],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def test_ducklake_catalog_is_shared_between_processes(
    lake_database: PostgresServer, ducklake_extensions: Path, tmp_path: Path
) -> None:
    data = tmp_path / "lake"
    data.mkdir()
    con = duckdb.connect(
        config={"extension_directory": str(ducklake_extensions), "autoinstall_known_extensions": False}
    )
    con.execute("LOAD ducklake")
    con.execute("LOAD postgres")
    con.execute(f"ATTACH 'ducklake:postgres:{lake_database.libpq}' AS lake (DATA_PATH '{data}/')")
    con.execute("CREATE TABLE lake.events (id INTEGER, who VARCHAR)")
    con.execute("INSERT INTO lake.events VALUES (1, 'ann'), (2, 'bob'), (3, 'cy')")

    # the catalog is in PostgreSQL: its tables name ours
    assert lake_database.run_sql("select table_name from ducklake_table") == "events"

    reader = child("count", ducklake_extensions, lake_database, data)
    out, err = reader.communicate(timeout=120)
    assert (reader.returncode, out.strip()) == (0, "3"), err

    writers = [
        child("insert", ducklake_extensions, lake_database, data, "10", "dee"),
        child("insert", ducklake_extensions, lake_database, data, "11", "eve"),
    ]
    for writer in writers:
        assert writer.stdout is not None and writer.stdout.readline().strip() == "inserted", writer.stderr
    # neither open transaction is visible yet
    assert con.execute("SELECT count(*) FROM lake.events").fetchone() == (3,)
    results = [writer.communicate("\n", timeout=120) for writer in writers]
    assert [(writer.returncode, out.strip()) for writer, (out, _) in zip(writers, results, strict=True)] == [
        (0, "committed"),
        (0, "committed"),
    ], [err for _, err in results]

    rows = con.execute("SELECT id, who FROM lake.events ORDER BY id").fetchall()
    assert rows == [(1, "ann"), (2, "bob"), (3, "cy"), (10, "dee"), (11, "eve")]
    con.close()
