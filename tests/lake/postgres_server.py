"""A throwaway PostgreSQL server for the tests: `initdb` into a temporary folder, `postgres` on a free
loopback port with trust authentication, stopped and its folder removed on exit.

PostgreSQL refuses to run as root, and the tests run as root on this machine and in CI: then
`initdb` and `postgres` run as the unprivileged `nobody` (the process drops its user and groups
between fork and exec, so no `su`/`runuser`/`setpriv` is needed), in a folder that user owns."""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SUPERUSER = "commstats"
DATABASE = "commstats"
# the account the server runs as when the tests run as root: it exists on every Debian/Ubuntu system
UNPRIVILEGED = "nobody"
START_SECONDS = 60.0
STOP_SECONDS = 15.0


@dataclass(frozen=True)
class Binaries:
    initdb: Path
    postgres: Path
    psql: Path


@dataclass(frozen=True)
class RunAs:
    """The user and group `initdb`/`postgres` run as (None: as the current user)."""

    uid: int | None
    gid: int | None


@dataclass(frozen=True)
class PostgresServer:
    host: str
    port: int
    user: str
    dbname: str
    pid: int
    folder: Path
    psql: Path

    @property
    def libpq(self) -> str:
        """The connection string DuckDB's postgres and ducklake extensions take."""
        return libpq(self.host, self.port, self.user, self.dbname)

    def run_sql(self, sql: str, dbname: str | None = None) -> str:
        """`sql` through psql over TCP; its unaligned, tuples-only output."""
        done = subprocess.run(
            [str(self.psql), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", self.host,
             "-p", str(self.port), "-U", self.user, "-d", dbname or self.dbname, "-c", sql],
            capture_output=True, text=True, timeout=60, env=client_env(),
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(
                f"psql on {self.host}:{self.port}/{dbname or self.dbname}: {done.stderr.strip()}"
            )
        return done.stdout.strip()

    def create_database(self, prefix: str = "lake") -> str:
        """A new empty database with a unique name; its name."""
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        self.run_sql(f'CREATE DATABASE "{name}"', dbname="postgres")
        return name

    def drop_database(self, name: str) -> None:
        # FORCE: a DuckDB connection of a failed test may still hold a session on it
        self.run_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', dbname="postgres")


def libpq(host: str, port: int, user: str, dbname: str) -> str:
    return f"dbname={dbname} host={host} port={port} user={user}"


def client_env() -> dict[str, str]:
    # no PG* variable of the caller's environment (PGPASSWORD, PGSERVICE, ...) reaches psql
    return {k: v for k, v in os.environ.items() if not k.startswith("PG")}


def _version(path: Path) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", path.name)) or (0,)


def find_binaries() -> Binaries | None:
    """initdb, postgres and psql from one installation: the one on PATH, else the highest version
    under /usr/lib/postgresql (Debian keeps the server binaries off PATH)."""
    folders: list[Path] = []
    on_path = shutil.which("initdb")
    if on_path:
        folders.append(Path(on_path).resolve().parent)
    folders += [
        path / "bin"
        for path in sorted(Path("/usr/lib/postgresql").glob("*"), key=_version, reverse=True)
        if (path / "bin").is_dir()
    ]
    for folder in folders:
        initdb, postgres = folder / "initdb", folder / "postgres"
        if os.access(initdb, os.X_OK) and os.access(postgres, os.X_OK):
            psql = folder / "psql"
            found = psql if os.access(psql, os.X_OK) else shutil.which("psql")
            if found:
                return Binaries(initdb, postgres, Path(found))
    return None


def run_as() -> RunAs | str:
    """Who the server runs as, or why it cannot run (as root with no unprivileged user)."""
    if os.geteuid() != 0:
        return RunAs(None, None)
    try:
        entry = pwd.getpwnam(UNPRIVILEGED)
    except KeyError:
        return f"PostgreSQL cannot run as root and there is no user {UNPRIVILEGED!r} to run it as"
    return RunAs(entry.pw_uid, entry.pw_gid)


def _searchable_by_others(folder: Path) -> bool:
    return all(os.stat(part).st_mode & stat.S_IXOTH for part in (folder, *folder.parents))


def base_folder(user: RunAs) -> Path | str:
    """Where the server's temporary folder goes: the system's temporary folder, or /tmp when the
    unprivileged user cannot reach the former (a root-only TMPDIR)."""
    if user.uid is None:
        return Path(tempfile.gettempdir())
    for candidate in (Path(tempfile.gettempdir()), Path("/tmp")):
        if candidate.is_dir() and _searchable_by_others(candidate):
            return candidate
    return f"no temporary folder that the user {UNPRIVILEGED!r} can reach"


def _spawn_kwargs(user: RunAs) -> dict[str, object]:
    if user.uid is None:
        return {}
    return {"user": user.uid, "group": user.gid, "extra_groups": []}


def _server_env(user: RunAs) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "LC_"))}
    # the cluster's own locale is C (initdb --locale=C); this keeps the server's messages in English
    env["LC_ALL"] = "C"
    if user.uid is not None:
        # root's HOME is not readable by nobody; initdb and postgres read nothing from it
        env["HOME"] = "/"
    return env


def available() -> str | None:
    """Why a server cannot be started here (the reason to skip), or None when it can."""
    binaries = find_binaries()
    if binaries is None:
        return "PostgreSQL is not installed (no initdb/postgres on PATH or under /usr/lib/postgresql/*/bin)"
    user = run_as()
    if isinstance(user, str):
        return user
    base = base_folder(user)
    if isinstance(base, str):
        return base
    try:
        probe = subprocess.run(
            [str(binaries.postgres), "--version"], capture_output=True, text=True, timeout=30,
            env=_server_env(user), **_spawn_kwargs(user),  # type: ignore[arg-type]
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError) as error:
        return f"cannot run {binaries.postgres} as {UNPRIVILEGED if user.uid is not None else 'this user'!r}: {error}"
    if probe.returncode != 0:
        return f"{binaries.postgres} --version failed: {probe.stderr.strip()}"
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _own(path: Path, user: RunAs) -> None:
    if user.uid is not None:
        os.chown(path, user.uid, user.gid if user.gid is not None else -1)


def _ready(data: Path) -> bool:
    """The postmaster wrote "ready" as the status line of postmaster.pid (what `pg_ctl -w` waits for)."""
    try:
        lines = (data / "postmaster.pid").read_text().splitlines()
    except OSError:
        return False
    return len(lines) >= 8 and lines[7].strip() == "ready"


def _tail(path: Path) -> str:
    try:
        return " | ".join(path.read_text(errors="replace").strip().splitlines()[-5:])
    except OSError:
        return "(no log)"


def stop(process: subprocess.Popen[bytes], timeout: float = STOP_SECONDS) -> None:
    """Fast shutdown (SIGINT, what `pg_ctl -m fast stop` sends: the postmaster ends its backends,
    then itself); a server still running after `timeout` gets SIGKILL, with its whole process group
    (the postmaster, its backends and helpers), since a killed postmaster cannot end its backends."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=timeout)
        return
    except subprocess.TimeoutExpired:
        pass
    # the postmaster is not reaped yet, so its process group id cannot name anyone else's processes
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=timeout)


def _start(
    binaries: Binaries, user: RunAs, data: Path, sockets: Path, log: Path
) -> tuple[subprocess.Popen[bytes], int]:
    """The postmaster on a free loopback port, ready to accept connections; a port taken between
    picking and binding it is picked again."""
    last = ""
    for _ in range(3):
        port = free_port()
        with log.open("ab") as out:
            process = subprocess.Popen(
                [str(binaries.postgres), "-D", str(data),
                 "-c", "listen_addresses=127.0.0.1", "-c", f"port={port}",
                 "-c", f"unix_socket_directories={sockets}",
                 # throwaway data: no durability, less disk work
                 "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
                 "-c", "max_connections=200"],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env=_server_env(user), start_new_session=True, **_spawn_kwargs(user),  # type: ignore[arg-type]
            )  # fmt: skip
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline and process.poll() is None and not _ready(data):
            time.sleep(0.02)
        if process.poll() is None and _ready(data):
            return process, port
        last = _tail(log)
        stop(process)
        if "could not bind" not in last and "already in use" not in last:
            break
    raise RuntimeError(f"PostgreSQL ({binaries.postgres}) did not start in {data}: {last}")


@contextlib.contextmanager
def postgres_server(stop_timeout: float = STOP_SECONDS) -> Iterator[PostgresServer]:
    """A running server with database `DATABASE` owned by superuser `SUPERUSER`; on exit the server
    is stopped (killed if it does not stop within `stop_timeout`) and its folder removed."""
    reason = available()
    if reason is not None:
        raise RuntimeError(reason)
    binaries = find_binaries()
    user = run_as()
    assert binaries is not None and isinstance(user, RunAs)
    base = base_folder(user)
    assert isinstance(base, Path)
    folder = Path(tempfile.mkdtemp(prefix="commstats-pg-", dir=base))
    process: subprocess.Popen[bytes] | None = None
    try:
        _own(folder, user)
        data, sockets, log = folder / "data", folder / "run", folder / "server.log"
        sockets.mkdir()
        _own(sockets, user)
        log.touch()
        _own(log, user)
        initdb = subprocess.run(
            [str(binaries.initdb), "-D", str(data), "-U", SUPERUSER, "-E", "UTF8", "--locale=C",
             "--auth=trust", "--no-sync", "--no-instructions"],
            capture_output=True, text=True, timeout=120, env=_server_env(user),
            cwd=folder, **_spawn_kwargs(user),  # type: ignore[arg-type]
        )  # fmt: skip
        if initdb.returncode != 0:
            raise RuntimeError(f"initdb {data} failed: {initdb.stderr.strip()}")
        # trust only over the socket in our folder and over loopback: no other address may connect
        (data / "pg_hba.conf").write_text("local all all trust\nhost all all 127.0.0.1/32 trust\n")
        _own(data / "pg_hba.conf", user)
        process, port = _start(binaries, user, data, sockets, log)
        server = PostgresServer("127.0.0.1", port, SUPERUSER, DATABASE, process.pid, folder, binaries.psql)
        server.run_sql(f'CREATE DATABASE "{DATABASE}"', dbname="postgres")
        yield server
    finally:
        if process is not None:
            stop(process, stop_timeout)
        shutil.rmtree(folder, ignore_errors=True)
