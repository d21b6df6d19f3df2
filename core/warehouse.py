"""Opening the warehouse (one helper that waits for DuckDB's lock) and checks on its file.

DuckDB's own error for a file that is not a database comes late (after Dagster has started, from
each asset and again from the summary, with a traceback), so the command line checks the file
first and stops with one line naming it.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import stat
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

import duckdb
import tenacity

from core.errors import CommstatsError

if TYPE_CHECKING:  # not imported when run: `commstats sql --warehouse` starts without pydantic
    from core.config import DuckLakeConfig, WarehouseTarget

# What `warehouse:` names: a DuckDB file, or a DuckLake (a catalog database and Parquet files)
Warehouse: TypeAlias = "Path | WarehouseTarget"

# A DuckDB database file starts with its main header: an 8-byte checksum, then the magic bytes.
_MAGIC = b"DUCK"
_MAGIC_AT = 8
_WHERE = "check `warehouse:` in the config, --warehouse or $COMMSTATS_WAREHOUSE"


def lake_of(warehouse: str | Path | WarehouseTarget) -> DuckLakeConfig | None:
    """The DuckLake the warehouse is, or None for a DuckDB file."""
    return getattr(warehouse, "ducklake", None)


def local_home(warehouse: str | Path | WarehouseTarget) -> Path:
    """The local path a warehouse's files on this machine are named after: the DuckDB file
    itself, or for a DuckLake `<state_dir>/lake.ducklake` (a name, never a file of its own)."""
    lake = lake_of(warehouse)
    if lake is None:
        return Path(warehouse)  # type: ignore[arg-type]
    assert lake.state_dir is not None, "state_dir is set when the config is read"
    return Path(lake.state_dir) / "lake.ducklake"


def describe(warehouse: str | Path | WarehouseTarget) -> str:
    lake = lake_of(warehouse)
    return lake.describe() if lake else str(warehouse)


def dbt_target_path(warehouse: str | Path | WarehouseTarget) -> Path:
    """Where the builds of one warehouse keep dbt's files: `warehouse.duckdb` -> `warehouse.dbt/`.

    One folder per warehouse, written again by each build (the builds of a warehouse run one at a
    time: the warehouse pool), rather than Dagster's folder per build under the project, which grew
    by about 6 MB a build without end. It keeps dbt's partial parse state, so a refresh of the same
    warehouse with the same project parses only what changed, and its log (`dbt.log`, which dbt
    rotates at 10 MB)."""
    warehouse = local_home(warehouse)
    return warehouse.with_name(f"{warehouse.stem}.dbt")


def database_file_problem(path: Path) -> str | None:
    """One line naming `path` when it exists and cannot be the warehouse; None when it can.

    A path that does not exist is fine here: `commstats run` creates it.
    """
    try:
        mode = path.stat().st_mode
        if stat.S_ISDIR(mode):
            return f"{path}: is a directory, not a DuckDB database ({_WHERE})"
        if not stat.S_ISREG(mode):  # a FIFO would block the read below, a device never end
            return f"{path}: is not a regular file, not a DuckDB database ({_WHERE})"
        with open(path, "rb") as f:
            head = f.read(_MAGIC_AT + len(_MAGIC))
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"{path}: cannot read the warehouse: {exc.strerror or exc}"
    if head[_MAGIC_AT:] != _MAGIC:
        return f"{path}: not a DuckDB database ({_WHERE})"
    return None


LOAD_MEMORY_LIMIT = os.environ.get("COMMSTATS_LOAD_MEMORY_LIMIT", "512MB")
# how long a connection waits for another process's lock: a load of a large list takes minutes
LOCK_TIMEOUT_S = 600.0


class WarehouseLocked(CommstatsError):
    """Another process kept the warehouse locked for longer than a connection waits."""


def _catalog_race(exc: BaseException) -> bool:
    """The first attaches of a new DuckLake each create its catalog tables: all but one fail (on
    PostgreSQL's unique index of type names, or on a table another one made first), and attach
    again to find the tables made."""
    text = str(exc)
    return (
        isinstance(exc, duckdb.Error)
        and "Failed to initialize DuckLake" in text
        and ("duplicate key value violates unique constraint" in text or "already exists" in text)
    )


def _locked(exc: BaseException) -> bool:
    # DuckDB's error for a file another process holds: "IO Error: Could not set lock on file ..."
    return isinstance(exc, duckdb.IOException) and "lock" in str(exc).lower()


LAKE_ALIAS = "lake"  # the name a DuckLake is attached under (dbt's database, `current_database()`)
_LAKE_PACKAGES = "duckdb-ext-ducklake, duckdb-ext-postgres and duckdb-ext-httpfs"


def extension_directory() -> str:
    """The folder of the DuckDB extensions installed from the package registry (the
    duckdb-ext-* packages): DuckDB loads them from there and never downloads one."""
    spec = importlib.util.find_spec("duckdb_ext")
    if spec is None or not spec.submodule_search_locations:
        raise CommstatsError(f"a DuckLake warehouse needs the packages {_LAKE_PACKAGES} (pip install them)")
    return str(Path(next(iter(spec.submodule_search_locations))) / "extensions")


def lake_config(*, verify_signatures: bool = True) -> dict[str, str | bool]:
    """Connection settings that load the packaged extensions only: no download at run time.

    DuckDB verifies an extension's signature on every LOAD by hashing the file: 0.4 s of CPU per
    connection for ducklake and postgres (about 100 MB), which every source load of a lake paid
    again. The packaged extensions lie in the site-packages of the DuckDB module itself, so
    whoever could replace them could replace DuckDB: commstats' own connections
    (`verify_signatures=False`) skip the check there. `commstats sql`, which runs a user's SQL,
    keeps it, as does any other folder.
    """
    folder = extension_directory()
    config: dict[str, str | bool] = {
        "extension_directory": folder,
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
    }
    if not verify_signatures and Path(folder).resolve().parents[1] == _duckdb_site_packages():
        config["allow_unsigned_extensions"] = True
    return config


def _duckdb_site_packages() -> Path:
    # the folder holding the `duckdb` package (<site-packages>/duckdb/__init__.py)
    return Path(duckdb.__file__).resolve().parents[1]


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


class WarehouseUnavailable(CommstatsError):
    """The DuckLake's catalog cannot be reached or read."""


# the object store's credentials come from the environment, under AWS's own names, never from
# the config file (which is checked in) nor from a command line (which `ps` shows)
S3_KEY_ENV = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
S3_TOKEN_ENV = "AWS_SESSION_TOKEN"
LAKE_SECRET = "commstats_lake_store"


def object_store_settings(lake: DuckLakeConfig) -> dict[str, str] | None:
    """The settings of DuckDB's S3 secret for the lake's data path (without the credentials), or
    None for a data directory. `scope` limits the secret to the lake's prefix."""
    if lake.data_is_local() or lake.s3 is None:
        return None
    settings = {
        "region": lake.s3.region,
        "url_style": lake.s3.url_style,
        "use_ssl": str(lake.s3.use_ssl).lower(),
        "scope": lake.data_path,
    }
    if lake.s3.endpoint:
        settings["endpoint"] = lake.s3.endpoint
    return settings


def object_store_secret_sql(lake: DuckLakeConfig) -> str | None:
    """CREATE TEMPORARY SECRET for the lake's object store, with the credentials of the
    environment; None for a data directory. One line naming what is missing otherwise."""
    settings = object_store_settings(lake)
    if settings is None:
        return None
    missing = [name for name in S3_KEY_ENV if not os.environ.get(name)]
    if missing:
        raise WarehouseUnavailable(
            f"{lake.describe()}: set {' and '.join(missing)} in the environment "
            "(the object store's credentials; commstats never reads them from the config file)"
        )
    values = {"key_id": os.environ[S3_KEY_ENV[0]], "secret": os.environ[S3_KEY_ENV[1]], **settings}
    if os.environ.get(S3_TOKEN_ENV):
        values["session_token"] = os.environ[S3_TOKEN_ENV]
    options = ", ".join(f"{key.upper()} {_sql_string(value)}" for key, value in values.items())
    return f"CREATE OR REPLACE TEMPORARY SECRET {LAKE_SECRET} (TYPE s3, {options})"


def attach_lake(
    con: duckdb.DuckDBPyConnection,
    lake: DuckLakeConfig,
    *,
    read_only: bool = False,
    snapshot: int | None = None,
    as_of: datetime | None = None,
) -> None:
    """Attach `lake` to `con` as LAKE_ALIAS and make it the default database.

    `snapshot` or `as_of` attach the lake as it was at that snapshot or time (read-only)."""
    con.execute("LOAD ducklake")
    if lake.catalog.startswith("postgres:"):
        con.execute("LOAD postgres")
    secret = object_store_secret_sql(lake)
    if secret is not None:
        con.execute("LOAD httpfs")
        con.execute(secret)
    options = [f"DATA_PATH {_sql_string(lake.data_path)}"]
    if read_only or snapshot is not None or as_of is not None:
        options.append("READ_ONLY")
    if snapshot is not None:
        options.append(f"SNAPSHOT_VERSION {int(snapshot)}")
    if as_of is not None:
        options.append(f"SNAPSHOT_TIME {_sql_string(as_of.isoformat(sep=' '))}")
    if lake.data_is_local():
        Path(lake.data_path).mkdir(parents=True, exist_ok=True)
    try:
        con.execute(
            f"ATTACH {_sql_string('ducklake:' + lake.catalog)} AS {LAKE_ALIAS} ({', '.join(options)})"
        )
    except duckdb.Error as exc:
        if _locked(exc) or _catalog_race(exc):
            raise
        if (snapshot is not None or as_of is not None) and "No snapshot found" in str(exc):
            asked = f"snapshot {snapshot}" if snapshot is not None else f"a snapshot at or before {as_of}"
            raise WarehouseUnavailable(
                f"{lake.describe()}: no {asked}: it was expired (the lake keeps the snapshots builds "
                "published within `keep_snapshots`) or never existed"
            ) from None
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise WarehouseUnavailable(f"{lake.describe()}: cannot open the warehouse: {first}") from None
    con.execute(f"USE {LAKE_ALIAS}")


def _open_lake(lake: DuckLakeConfig, read_only: bool) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(config=lake_config(verify_signatures=False))
    try:
        attach_lake(con, lake, read_only=read_only)
    except BaseException:
        con.close()
        raise
    return con


# The DuckDB instance each open lake session shares (None until its first connection), by
# (catalog, data path). Every new DuckDB instance loads the ducklake and postgres extensions again,
# and DuckDB checks their signatures by hashing both files (about 100 MB): 0.35 s of CPU, more
# than the attach itself, paid by every connection of a source load (its cursors, known messages
# and commit). A session loads and attaches once; its connections are cursors of that instance.
_SESSIONS: dict[tuple[str, str], duckdb.DuckDBPyConnection | None] = {}


@contextlib.contextmanager
def lake_session(warehouse: str | Path | WarehouseTarget) -> Iterator[None]:
    """Within it, connect() to the DuckLake `warehouse` returns a new connection (cursor) of one
    DuckDB instance that has the lake attached read-write, closed at the end; read-only requests
    share it too (they only read). Nothing changes for a DuckDB file, nor when nested."""
    lake = lake_of(warehouse)
    key = None if lake is None else (lake.catalog, lake.data_path)
    if key is None or key in _SESSIONS:
        yield
        return
    _SESSIONS[key] = None
    try:
        yield
    finally:
        base = _SESSIONS.pop(key, None)
        if base is not None:
            base.close()


def reset_lake_sessions() -> None:
    """Drop the open sessions' instances (attached again on their next connection): after a
    conflicting commit, the retry starts from a fresh attach, as it does without a session."""
    for key, base in list(_SESSIONS.items()):
        if base is not None:
            _SESSIONS[key] = None
            base.close()


def _connect_lake(lake: DuckLakeConfig, read_only: bool) -> duckdb.DuckDBPyConnection:
    key = (lake.catalog, lake.data_path)
    if key not in _SESSIONS:
        return _open_lake(lake, read_only)
    base = _SESSIONS[key]
    if base is None:
        base = _SESSIONS[key] = _open_lake(lake, read_only=False)
    con = base.cursor()
    con.execute(f"USE {LAKE_ALIAS}")
    return con


def connect(
    path: str | Path | WarehouseTarget, *, read_only: bool = False, timeout_s: float = LOCK_TIMEOUT_S
) -> duckdb.DuckDBPyConnection:
    """Open the warehouse, waiting while another process holds DuckDB's lock on it.

    DuckDB has one writer per file and a writer keeps readers of other processes out, so every
    connection of commstats (loads, dbt's neighbours, charts, checks) waits here, backing off up
    to 5 s between tries, and gives up after `timeout_s` with one line naming the file.
    """
    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_exception(lambda exc: _locked(exc) or _catalog_race(exc)),
        wait=tenacity.wait_exponential(multiplier=0.2, max=5.0),
        stop=tenacity.stop_after_delay(timeout_s),
    )
    lake = lake_of(path)
    try:
        if lake is not None:
            # a DuckLake with a local DuckDB catalog file has that file's one writer
            return retrying(_connect_lake, lake, read_only)
        return retrying(duckdb.connect, str(path), read_only=read_only)
    except tenacity.RetryError:
        raise WarehouseLocked(
            f"{describe(path)}: the warehouse is still locked by another process after {timeout_s:.0f} s "
            "(a running `commstats run`, `commstats ui` run or `commstats sql --live`?)"
        ) from None


def connect_now(path: str | Path | WarehouseTarget, *, read_only: bool = True) -> duckdb.DuckDBPyConnection:
    """One attempt, no waiting: DuckDB's own error when another process holds the file."""
    lake = lake_of(path)
    if lake is not None:
        return _connect_lake(lake, read_only)
    return duckdb.connect(str(path), read_only=read_only)


def warehouse_exists(path: str | Path | WarehouseTarget) -> bool:
    """Whether there is a warehouse to read yet: a DuckLake is created by its first attach, so it
    always is (its tables may still be missing)."""
    return lake_of(path) is not None or Path(path).exists()  # type: ignore[arg-type]


def connect_for_write(
    path: str | Path | WarehouseTarget, timeout_s: float = LOCK_TIMEOUT_S
) -> duckdb.DuckDBPyConnection:
    """Open the warehouse read-write (creating its directory), waiting for the lock as connect() does."""
    if lake_of(path) is None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)  # type: ignore[arg-type]
    con = connect(path, timeout_s=timeout_s)
    # DuckDB's default is 80 % of the machine's memory; a load spills to disk instead
    con.execute(f"SET memory_limit = '{LOAD_MEMORY_LIMIT}'")
    return con


def summary_tables(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """(schema, table) of every raw and mart table, sorted: what the run summary and the build
    fingerprint read."""
    return con.execute(
        "select table_schema, table_name from information_schema.tables "
        "where table_catalog = current_database() and table_schema in ('raw', 'marts') order by 1, 2"
    ).fetchall()


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def table_row_counts(
    con: duckdb.DuckDBPyConnection, relations: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], int]:
    """The exact row count of each (schema, table) of `relations` that is a table of the open
    database, counted in one query.

    Views and relations that do not exist are left out: counting a view would run its query.
    `count(*)` rather than `duckdb_tables().estimated_size`, which goes on counting the rows
    deleted from a table (as an incremental model's pre-hook does), even after a checkpoint.
    """
    wanted = set(relations)
    tables = [
        (schema, name)
        for schema, name in con.execute(
            "select schema_name, table_name from duckdb_tables() "
            "where database_name = current_database() order by 1, 2"
        ).fetchall()
        if (schema, name) in wanted
    ]
    if not tables:
        return {}
    query = " union all ".join(
        f"select {i} as i, count(*) as n from {_quoted(schema)}.{_quoted(name)}"
        for i, (schema, name) in enumerate(tables)
    )
    return {tables[i]: n for i, n in con.execute(query).fetchall()}


# A refresh replaces whole tables and deletes the touched periods' rows; DuckDB reuses the blocks
# they leave but never gives them back to the file system, so the file would keep the high-water
# mark of the largest build. Past this share of free blocks the file is rewritten compactly.
RECLAIM_FREE_SHARE = 0.05


def free_block_share(con: duckdb.DuckDBPyConnection) -> float:
    """Share of the main database file's blocks that hold nothing (after a checkpoint)."""
    total, free = con.execute(
        "select total_blocks, free_blocks from pragma_database_size() where database_name = current_database()"
    ).fetchone()
    return free / total if total else 0.0


def reclaim_free_blocks(
    con: duckdb.DuckDBPyConnection, path: str | Path, max_free_share: float = RECLAIM_FREE_SHARE
) -> duckdb.DuckDBPyConnection:
    """Rewrite the warehouse at `path` without its free blocks when they exceed `max_free_share`.

    `con` is a read-write connection to `path` (it holds the write lock). The rows are copied into
    a new file (COPY FROM DATABASE: DuckDB's way to compact a file; VACUUM reclaims nothing),
    which is opened, so its lock is held, before it replaces the old file atomically: no other
    process opens the warehouse in between. Returns the connection that now holds the lock: `con`
    when nothing was rewritten, else a connection to the new file (`con` is closed).
    """
    path = Path(path)
    con.execute("CHECKPOINT")
    if free_block_share(con) <= max_free_share:
        return con
    tmp = path.with_name(f"{path.stem}.compact-{os.getpid()}{path.suffix or '.duckdb'}")
    # leftovers of a rewrite killed midway (the lock is ours: no other rewrite runs)
    for stale in path.parent.glob(f"{path.stem}.compact-*"):
        stale.unlink(missing_ok=True)
    source = con.execute("select current_database()").fetchone()[0]
    con.execute("SET enable_progress_bar = false")
    try:
        con.execute(f"ATTACH '{tmp}' AS commstats_compact")
        try:
            con.execute(f'COPY FROM DATABASE "{source}" TO commstats_compact')
        finally:
            con.execute("DETACH commstats_compact")
        compact = duckdb.connect(str(tmp))
    except BaseException:
        tmp.unlink(missing_ok=True)
        Path(f"{tmp}.wal").unlink(missing_ok=True)
        raise
    os.replace(tmp, path)
    con.close()
    compact.execute(f"SET memory_limit = '{LOAD_MEMORY_LIMIT}'")
    return compact


# Writers of a DuckLake commit optimistically: a transaction that deleted or replaced what another
# committed meanwhile fails at COMMIT and is run again from its start.
CONFLICT_RETRIES = 8


def conflicted(exc: BaseException) -> bool:
    """A commit another writer's beat: DuckLake's conflicts, and the failure DuckLake 0.3 gives
    when two writers change the catalog at once ("Failed to parse catalog entry")."""
    text = str(exc)
    return isinstance(exc, duckdb.TransactionException) and (
        "conflict" in text.lower() or "Failed to commit DuckLake transaction" in text
    )


def retrying_conflicts() -> tenacity.Retrying:
    """Run a whole transaction again when its commit conflicts with another writer's."""
    return tenacity.Retrying(
        retry=tenacity.retry_if_exception(conflicted),
        wait=tenacity.wait_random_exponential(multiplier=0.2, max=5.0),
        stop=tenacity.stop_after_attempt(CONFLICT_RETRIES),
        before_sleep=lambda _state: reset_lake_sessions(),
        reraise=True,
    )
