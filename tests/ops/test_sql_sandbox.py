"""`commstats sql` reads the warehouse and nothing else: each statement that would write a file,
read another one, list a directory, install or load an extension, attach a database or change a
setting is refused with one line and exit status 1, through the installed command, one-shot and at
the prompt, on the published copy and with `--live`; ordinary queries still return their rows.
A warehouse path that is not a DuckDB database stops `commstats sql` and `commstats run` with one
line naming it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from core.published import publish_copy, published_path
from tests.ops.conftest import COMMSTATS, write_config

SANDBOX = "commstats: refused: commstats sql reads only the warehouse (no other file, directory, extension or network access): "
LOCKED = "commstats: refused: the settings of commstats sql cannot be changed ({})"
READ_ONLY = "commstats: the warehouse is opened read-only: queries that write are refused"
# messages live in the published copy, the live warehouse got one more after the publish
PUBLISHED_MESSAGES = 250
LIVE_MESSAGES = 251


@pytest.fixture
def warehouse(tmp_path: Path) -> Path:
    wh = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(wh))
    con.execute("create schema raw; create schema marts")
    con.execute("create table raw.mail_messages (project varchar, message_id varchar)")
    con.execute("insert into raw.mail_messages select 'p', 'm' || range from range(250)")
    con.execute(
        "create view marts.health as select project, count(*) as messages from raw.mail_messages group by 1"
    )
    con.close()
    publish_copy(wh)
    con = duckdb.connect(str(wh))
    con.execute("insert into raw.mail_messages values ('p', 'after-publish')")
    con.close()
    return wh


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """HOME of the command: DuckDB would put installed extensions and secrets under it."""
    path = tmp_path / "home"
    path.mkdir()
    return path


def sql(warehouse: Path, home: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("COMMSTATS_CONFIG", "COMMSTATS_WAREHOUSE")}
    env["HOME"] = str(home)
    return subprocess.run(
        [str(COMMSTATS), "sql", "--warehouse", str(warehouse), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def hostile(out: Path) -> list[tuple[str, str, list[Path]]]:
    """(statement, the line it must print, paths that must not exist afterwards)."""
    other = out / "other.duckdb"
    return [
        (
            f"copy (select 'x') to '{out}/anything.txt'",
            f'{SANDBOX}Cannot access file "{out}/anything.txt"',
            [out / "anything.txt"],
        ),
        (
            f"copy (select 'x' as a) to '{out}/anything.parquet' (format parquet)",
            f'{SANDBOX}Cannot access file "{out}/anything.parquet"',
            [out / "anything.parquet"],
        ),
        (
            f"copy raw.mail_messages to '{out}/messages.csv' (format csv, header)",
            f'{SANDBOX}Cannot access file "{out}/messages.csv"',
            [out / "messages.csv"],
        ),
        (
            f"export database '{out}/dump'",
            f'{SANDBOX}Cannot access file "{out}/dump/raw_mail_messages.csv"',
            [out / "dump"],
        ),
        ("select * from read_text('/etc/passwd')", f'{SANDBOX}Cannot access file "/etc/passwd"', []),
        ("select * from read_blob('/etc/passwd')", f'{SANDBOX}Cannot access file "/etc/passwd"', []),
        ("select * from read_csv('/etc/passwd')", f'{SANDBOX}Cannot access file "/etc/passwd"', []),
        # a quoted path is a file scan only with external access: here it is an unknown table
        (
            "select * from '/etc/passwd'",
            "commstats: Catalog Error: Table with name /etc/passwd does not exist!",
            [],
        ),
        ("select * from glob('/root/*')", f'{SANDBOX}Cannot access file "/root/*"', []),
        ("load httpfs", f"{SANDBOX}Loading external extensions is disabled through configuration", []),
        (f"attach '{other}' as other", f'{SANDBOX}Cannot access file "{other}"', [other]),
        ("set enable_external_access = true", LOCKED.format("enable_external_access"), []),
        ("set lock_configuration = false", LOCKED.format("lock_configuration"), []),
        (f"set allowed_directories = ['{out}']", LOCKED.format("allowed_directories"), []),
        ("pragma enable_profiling = 'json'", LOCKED.format("enable_profiling"), []),
        (
            f"pragma profiling_output = '{out}/profile.json'",
            LOCKED.format("profiling_output"),
            [out / "profile.json"],
        ),
        (
            f"call enable_logging(storage = 'file', storage_path = '{out}/logs')",
            LOCKED.format("enable_logging"),
            [out / "logs"],
        ),
        ("drop view marts.health", READ_ONLY, []),
        ("insert into raw.mail_messages values ('x', 'y')", READ_ONLY, []),
        # a persistent secret is a file under HOME (checked empty below)
        (
            "create persistent secret s (type postgres, host 'h', password 'p')",
            f"{SANDBOX}CREATE and DROP SECRET (secrets are kept outside the warehouse)",
            [],
        ),
        (
            "drop persistent secret s",
            f"{SANDBOX}CREATE and DROP SECRET (secrets are kept outside the warehouse)",
            [],
        ),
    ]


@pytest.mark.parametrize("live", [False, True], ids=["published", "live"])
def test_each_hostile_statement_is_refused_with_one_line(
    warehouse: Path, home: Path, tmp_path: Path, live: bool
):
    out = tmp_path / "out"
    out.mkdir()
    flags = ["--live"] if live else []
    files = [warehouse, published_path(warehouse)]
    before = [f.read_bytes() for f in files]
    for statement, line, absent in [*hostile(out), ("checkpoint", None, []), ("vacuum", None, [])]:
        if line is None:  # accepted, and a no-op on a read-only database
            proc = sql(warehouse, home, *flags, statement)
            assert (proc.returncode, proc.stderr) == (0, ""), statement
            continue
        proc = sql(warehouse, home, *flags, statement)
        assert (proc.returncode, proc.stderr.splitlines(), proc.stdout) == (1, [line], ""), statement
        for path in absent:
            assert not path.exists(), f"{statement} created {path}"
    # install reaches neither the network nor the extension directory under HOME
    proc = sql(warehouse, home, *flags, "install httpfs")
    assert proc.returncode == 1
    assert len(proc.stderr.splitlines()) == 1
    assert proc.stderr.startswith(f'{SANDBOX}Cannot access directory "{home}/.duckdb/extensions/')
    assert list(out.iterdir()) == []
    assert list(home.iterdir()) == []
    # neither the warehouse nor its published copy changed by a byte
    assert [f.read_bytes() for f in files] == before


@pytest.mark.parametrize("live", [False, True], ids=["published", "live"])
def test_hostile_statements_are_refused_at_the_prompt(
    warehouse: Path, home: Path, tmp_path: Path, live: bool
):
    out = tmp_path / "out"
    out.mkdir()
    cases = hostile(out)
    script = "".join(f"{statement};\n" for statement, _, _ in cases)
    script += "select messages from marts.health;\n"
    proc = sql(warehouse, home, "--csv", *(["--live"] if live else []), stdin=script)
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [line for _, line, _ in cases]
    # the prompt went on after each refusal: the last query printed its row
    expected = LIVE_MESSAGES if live else PUBLISHED_MESSAGES
    lines = proc.stdout.splitlines()
    assert lines[-3].endswith("sql> messages")
    assert lines[-2] == str(expected)
    assert list(out.iterdir()) == []


def own_files(db: Path) -> list[tuple[str, str, list[Path]]]:
    """Statements that would write the files DuckDB keeps open to the database it opened (DuckDB 1.4
    lets COPY write its WAL, which the next writer replays, and EXPORT fill its temporary
    directory), with the line each must print and the paths that must not exist afterwards."""
    wal = db.with_name(db.name + ".wal")
    tmp = db.with_name(db.name + ".tmp")
    dotted = f"{db.parent}/./{wal.name}"
    computed = f"{SANDBOX}COPY ... TO a file name computed at run time"
    return [
        (f"copy (select 'x') to '{wal}'", f'{SANDBOX}Cannot access file "{wal}"', [wal]),
        (
            f"copy raw.mail_messages to '{dotted}' (format csv)",
            f'{SANDBOX}Cannot access file "{dotted}"',
            [wal],
        ),
        (f'copy (select 1) to "{wal}"', f'{SANDBOX}Cannot access file "{wal}"', [wal]),
        (f"copy (select 1) to ('{db}' || '.wal')", computed, [wal]),
        ("prepare p as copy (select 1) to $1", computed, []),
        (f"export database '{tmp}'", f'{SANDBOX}Cannot access directory "{tmp}"', [tmp]),
    ]


@pytest.mark.parametrize("live", [False, True], ids=["published", "live"])
def test_the_files_of_the_opened_database_are_not_written(warehouse: Path, home: Path, live: bool):
    db = warehouse if live else published_path(warehouse)
    files = [warehouse, published_path(warehouse)]
    before = [f.read_bytes() for f in files]
    for statement, line, absent in own_files(db):
        proc = sql(warehouse, home, *(["--live"] if live else []), statement)
        assert (proc.returncode, proc.stderr.splitlines(), proc.stdout) == (1, [line], ""), statement
        for path in absent:
            assert not path.exists(), f"{statement} created {path}"
    assert [f.read_bytes() for f in files] == before


# settings that DuckDB 1.4 changes through a function or a PRAGMA shortcut, past lock_configuration,
# and SQL put together at run time (which could hold any of them)
SHORTCUTS = [
    ("pragma enable_profiling", LOCKED.format("enable_profiling")),
    ("pragma disable_optimizer", LOCKED.format("enable_optimizer")),
    ("pragma disable_checkpoint_on_shutdown", LOCKED.format("checkpoint_on_shutdown")),
    ("pragma enable_print_progress_bar", LOCKED.format("enable_progress_bar_print")),
    ("call disable_logging()", LOCKED.format("enable_logging")),
    ("call system.main.\"Enable_Logging\"(level = 'debug')", LOCKED.format("enable_logging")),
    ("select * from query('select * from enable_logging()')", LOCKED.format("enable_logging")),
    # a comment between a name and its parenthesis still names the function
    ("select * from query/* x */('select * from enable_logging()')", LOCKED.format("enable_logging")),
    ("call enable_logging/* x */()", LOCKED.format("enable_logging")),
    (
        "select * from query('select * from enable_' || 'logging()')",
        f"{SANDBOX}query() on SQL computed at run time (give it one string literal)",
    ),
    (
        "select * from json_execute_serialized_sql(json_serialize_sql('select 1'))",
        f"{SANDBOX}json_execute_serialized_sql() (serialized SQL is not checked)",
    ),
]


def test_settings_changed_past_the_lock_are_refused_at_the_prompt(warehouse: Path, home: Path):
    script = "".join(f"{statement};\n" for statement, _ in SHORTCUTS)
    # query() on a literal runs what it holds, once checked; the settings are as they were
    script += "select * from query('select count(*) as n from raw.mail_messages');\n"
    script += (
        "select current_setting('enable_profiling') is null as p, current_setting('enable_logging') as l;\n"
    )
    proc = sql(warehouse, home, "--csv", stdin=script)
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [line for _, line in SHORTCUTS]
    lines = proc.stdout.splitlines()
    assert lines[-5:-1] == [
        f"{'sql> ' * (len(SHORTCUTS) + 1)}n",
        str(PUBLISHED_MESSAGES),
        "sql> p,l",
        "True,0",
    ]


def test_ordinary_queries_read_the_published_copy_or_the_live_warehouse(warehouse: Path, home: Path):
    query = "select project, messages from marts.health"
    published = sql(warehouse, home, "--csv", query)
    assert (published.returncode, published.stderr) == (0, "")
    assert published.stdout.splitlines() == ["project,messages", f"p,{PUBLISHED_MESSAGES}"]
    live = sql(warehouse, home, "--csv", "--live", query)
    assert (live.returncode, live.stderr) == (0, "")
    assert live.stdout.splitlines() == ["project,messages", f"p,{LIVE_MESSAGES}"]
    # the settings that are harmless stay open: `use` a schema
    used = sql(warehouse, home, "--csv", "use marts; select messages from health")
    assert used.stdout.splitlines() == ["messages", str(PUBLISHED_MESSAGES)]
    prompt = sql(warehouse, home, "--csv", stdin="select count(*) as n\nfrom raw.mail_messages;\n")
    assert (prompt.returncode, prompt.stderr) == (0, "")
    assert prompt.stdout.splitlines()[1:3] == ["sql> ... n", str(PUBLISHED_MESSAGES)]


WRITER_KILLED = """
import os, sys, duckdb
con = duckdb.connect(sys.argv[1])
con.execute("insert into raw.mail_messages select 'p', 'wal' || range from range(7)")
os._exit(0)  # no checkpoint: the rows are only in the WAL
"""


def test_live_reads_rows_left_in_the_wal_by_a_killed_writer(warehouse: Path, home: Path):
    subprocess.run([sys.executable, "-c", WRITER_KILLED, str(warehouse)], check=True, timeout=60)
    wal = warehouse.with_name(warehouse.name + ".wal")
    assert wal.exists()
    proc = sql(warehouse, home, "--csv", "--live", "select count(*) as n from raw.mail_messages")
    assert (proc.returncode, proc.stderr) == (0, "")
    assert proc.stdout.splitlines() == ["n", str(LIVE_MESSAGES + 7)]


def _not_databases(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    text = tmp_path / "notes.duckdb"
    text.write_text("root:x:0:0:root:/root:/bin/bash\n")
    noise = tmp_path / "noise.duckdb"
    noise.write_bytes(bytes(range(256)) * 40)
    empty = tmp_path / "empty.duckdb"
    empty.touch()
    folder = tmp_path / "folder.duckdb"
    folder.mkdir()
    fifo = tmp_path / "fifo.duckdb"
    os.mkfifo(fifo)
    where = "(check `warehouse:` in the config, --warehouse or $COMMSTATS_WAREHOUSE)"
    return {
        "text": (text, f"commstats: {text}: not a DuckDB database {where}"),
        "noise": (noise, f"commstats: {noise}: not a DuckDB database {where}"),
        "empty": (empty, f"commstats: {empty}: not a DuckDB database {where}"),
        "folder": (folder, f"commstats: {folder}: is a directory, not a DuckDB database {where}"),
        "fifo": (fifo, f"commstats: {fifo}: is not a regular file, not a DuckDB database {where}"),
    }


def test_sql_on_a_file_that_is_not_a_database_prints_one_line(tmp_path: Path, home: Path):
    for path, line in _not_databases(tmp_path).values():
        for flags in ([], ["--live"]):
            proc = sql(path, home, *flags, "select 1")
            assert (proc.returncode, proc.stderr.splitlines(), proc.stdout) == (2, [line], ""), path


def test_run_on_a_file_that_is_not_a_database_prints_one_line(sample_dir: Path, tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if k not in ("COMMSTATS_CONFIG", "COMMSTATS_WAREHOUSE")}
    (tmp_path / "bad").mkdir()
    bad = _not_databases(tmp_path / "bad")
    for name, (path, line) in bad.items():
        before = path.read_bytes() if path.is_file() and name != "fifo" else None
        # from the config's `warehouse:` key, and from --warehouse over a good config
        config = write_config(sample_dir, tmp_path / f"cfg-{name}", warehouse=str(path))
        plain = write_config(sample_dir, tmp_path / f"plain-{name}")
        for args in (["--config", str(config)], ["--config", str(plain), "--warehouse", str(path)]):
            proc = subprocess.run(
                [str(COMMSTATS), "run", "--quiet", *args],
                capture_output=True,
                text=True,
                timeout=120,
                env=env,
            )
            assert (proc.returncode, proc.stderr.splitlines(), proc.stdout) == (2, [line], ""), args
        if before is not None:
            assert path.read_bytes() == before
        assert not published_path(path).exists()
    # nothing was started: no Dagster instance beside the bad warehouses
    assert not (tmp_path / "bad" / "dagster-home").exists()
