"""No process of a killed `commstats run` outlives it: the forked workers of git extraction and of
mail parsing end within seconds of their parent's death (kill -9) and of a SIGTERM, and a run sent
SIGTERM stops instead of going on with its next stages."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import duckdb
import psutil
import pytest
import yaml

from commstats.watchdog import MARK, watch
from core.procs import init_worker, set_parent_death_signal, temp_prefix
from tests.ops.conftest import COMMSTATS, write_config

GONE_WITHIN = 10.0  # seconds: the bound for every process of a killed run
WORKERS = 2


def _git_repository(path: Path, commits: int = 40_000, files: int = 40) -> None:
    """A linear history in which every commit changes two files: a few seconds of extraction."""
    subprocess.run(["git", "init", "-q", "--bare", str(path)], check=True)
    out: list[bytes] = []
    for i in range(commits):
        ts = 1_600_000_000 + i * 60
        msg = f"change {i}\n".encode()
        out += [
            f"commit refs/heads/main\nmark :{i + 1}\n".encode(),
            f"author A{i % 7} <a{i % 7}@example.org> {ts} +0000\n".encode(),
            f"committer A{i % 7} <a{i % 7}@example.org> {ts} +0000\n".encode(),
            f"data {len(msg)}\n".encode() + msg,
            f"from :{i}\n".encode() if i else b"",
        ]
        for f in (i % files, (i * 7 + 3) % files):
            body = "".join(f"line {j} of {f} at {i}\n" for j in range(i % 50 + 5)).encode()
            out.append(f"M 100644 inline d{f % 5}/f{f}.c\ndata {len(body)}\n".encode() + body + b"\n")
    subprocess.run(["git", "-C", str(path), "fast-import", "--quiet"], input=b"".join(out), check=True)
    subprocess.run(["git", "-C", str(path), "symbolic-ref", "HEAD", "refs/heads/main"], check=True)


def _mbox(path: Path, messages: int = 60_000) -> None:
    """About 100 MB of plain messages: several seconds of parsing on two workers."""
    with path.open("wb") as f:
        for i in range(messages):
            body = "".join(f"Line {j} of message {i}, with some words to parse.\n" for j in range(30))
            reply = f"In-Reply-To: <m{i - 1}@example.org>\n" if i % 3 else ""
            f.write(
                (
                    f"From sender{i % 50}@example.org Mon Jan  1 00:00:00 2024\n"
                    f"From: Sender {i % 50} <sender{i % 50}@example.org>\n"
                    f"To: list@example.org\nSubject: [PATCH {i}] change number {i}\n"
                    f"Date: Mon, 1 Jan 2024 00:{i % 60:02d}:00 +0000\n"
                    f"Message-ID: <m{i}@example.org>\n{reply}\n{body}\n"
                ).encode()
            )


def _config(root: Path, project: dict) -> Path:
    path = root / "communities.yaml"
    data = {
        "warehouse": str(root / "warehouse.duckdb"),
        "output_dir": str(root / "output"),
        "cache_dir": str(root / "cache"),
        "projects": {"big": project},
    }
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.fixture(scope="module")
def git_config(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("procs-git")
    _git_repository(root / "big.git")
    return _config(root, {"repositories": [{"name": "big", "path": str(root / "big.git")}]})


@pytest.fixture(scope="module")
def mail_config(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("procs-mail")
    _mbox(root / "big.mbox")
    lists = [
        {"name": "big", "kind": "mbox", "path": str(root / "big.mbox"), "options": {"parse_workers": WORKERS}}
    ]
    return _config(root, {"mailing_lists": lists})


def _alive(procs: list[psutil.Process]) -> list[psutil.Process]:
    out = []
    for p in procs:
        try:
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                out.append(p)
        except psutil.NoSuchProcess:
            pass
    return out


def _forked(count: int):
    # a child between fork and exec (a subprocess on its way to dbt or git) also has the run's
    # command line for a moment: only the same children in two polls 50 ms apart are workers
    before: set[int] = set()

    def ready(run: psutil.Process, kids: list[psutil.Process]) -> bool:
        nonlocal before
        now = {k.pid for k in kids if k.ppid() == run.pid and k.cmdline() == run.cmdline()}
        stable, before = now == before, now
        return stable and len(now) == count

    ready.__doc__ = f"the run's {count} forked worker(s) are at work"
    return ready


# mail parsing forks `parse_workers` processes; git extraction with two workers forks one and
# diffs the first share in the run's own process
FORKED = {"mail": WORKERS, "git": WORKERS - 1}


def _dbt(run: psutil.Process, kids: list[psutil.Process]) -> bool:
    """dbt (started by dagster-dbt, not by us) is building the warehouse."""
    return any(k.name() == "dbt" and "build" in k.cmdline() for k in kids)


def _kill_run_while(
    config: Path, sig: int, ready=None
) -> tuple[subprocess.Popen, list[psutil.Process], float]:
    """Start `commstats run`, wait until `ready(run, descendants)`, send `sig` to the run's process;
    (the run, every descendant seen before the signal, seconds until all of them and the run ended)."""
    ready = ready or _forked(WORKERS)
    env = {k: v for k, v in os.environ.items() if k not in ("COMMSTATS_CONFIG", "COMMSTATS_WAREHOUSE")}
    log = (config.parent / "run.log").open("wb")
    proc = subprocess.Popen(
        [str(COMMSTATS), "run", "--config", str(config)], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    seen: dict[int, psutil.Process] = {}
    try:
        run = psutil.Process(proc.pid)
        deadline = time.monotonic() + 300
        while True:
            assert proc.poll() is None, (config.parent / "run.log").read_text()[-3000:]
            assert time.monotonic() < deadline, f"never {ready.__doc__}"
            try:
                kids = run.children(recursive=True)
                seen.update((k.pid, k) for k in kids)
                if ready(run, kids):
                    break
            except psutil.Error:
                continue
            time.sleep(0.05)
        time.sleep(0.3)  # well under way
        seen.update((k.pid, k) for k in run.children(recursive=True))
        os.kill(proc.pid, sig)
        killed = time.monotonic()
        procs = [run, *seen.values()]
        while _alive(procs) and time.monotonic() - killed < 30:
            proc.poll()  # reap the run itself
            time.sleep(0.1)
        return proc, procs, time.monotonic() - killed
    finally:  # nothing may outlive the test, whatever it asserts
        if proc.poll() is None:
            proc.kill()
        for p in _alive(list(seen.values())):
            p.kill()
        proc.wait(timeout=30)
        log.close()


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["kill-9", "sigterm"])
@pytest.mark.parametrize("source", ["git", "mail"])
def test_no_process_of_a_killed_run_remains(source: str, sig: int, request):
    config = request.getfixturevalue(f"{source}_config")
    proc, procs, took = _kill_run_while(config, sig, ready=_forked(FORKED[source]))
    assert not _alive(procs), (source, [(p.pid, p.cmdline()[:3]) for p in _alive(procs)])
    assert took < GONE_WITHIN, (source, took)
    if sig == signal.SIGKILL:
        assert proc.returncode == -signal.SIGKILL
    else:
        # the interrupted stage fails and the run stops there, saying so
        text = (config.parent / "run.log").read_text()
        assert proc.returncode == 1, text[-3000:]
        assert "interrupted: the remaining stages were not run" in text, text[-3000:]
        assert not re.search(r"marts\.\w+ +\d+ rows", text), text[-3000:]  # the rebuild stage never ran


_LATE_SIGNAL = """
import os, signal, sys
import dagster as dg
from dagster._utils.interrupts import capture_interrupts
from commstats.cli import main

materialize = dg.materialize

def late(*args, **kwargs):
    result = materialize(*args, **kwargs)
    if "{where}" == "in-dagster":
        with capture_interrupts():  # where Dagster's bookkeeping after a stage's last step runs
            os.kill(os.getpid(), signal.SIG{name})
    else:  # between two stages, where no Dagster handler is installed
        os.kill(os.getpid(), signal.SIG{name})
    return result

dg.materialize = late
sys.exit(main(["run", "--config", sys.argv[1]]))
"""


def _run_with_a_signal(script: str, tmp_path: Path) -> tuple[int, str]:
    """`script` (a `commstats run` that signals itself somewhere) on a 20-message list; its exit
    status and output."""
    _mbox(tmp_path / "small.mbox", messages=20)
    config = _config(
        tmp_path, {"mailing_lists": [{"name": "small", "kind": "mbox", "path": str(tmp_path / "small.mbox")}]}
    )
    env = {k: v for k, v in os.environ.items() if k not in ("COMMSTATS_CONFIG", "COMMSTATS_WAREHOUSE")}
    out = subprocess.run(
        [sys.executable, "-c", script, str(config)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=Path(__file__).parents[2],
        env=env,
    )
    return out.returncode, out.stdout + out.stderr


@pytest.mark.parametrize("where", ["in-dagster", "between-stages"])
@pytest.mark.parametrize("name", ["TERM", "INT"])
def test_a_signal_after_a_stages_last_step_still_stops_the_run(name: str, where: str, tmp_path: Path):
    """Dagster only notes a signal that lands after a stage's last step and forgets it when the
    stage ends; between two stages no Dagster handler is installed at all: either way the run
    must still stop there, saying so, not go on to the rebuild nor die on the spot."""
    code, text = _run_with_a_signal(_LATE_SIGNAL.replace("{name}", name).replace("{where}", where), tmp_path)
    assert code == 1, text[-3000:]
    assert "interrupted: the remaining stages were not run" in text, text[-3000:]
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute("select count(*) from raw.mail_messages").fetchone() == (
            20,
        )  # the stage itself landed
        schemas = {
            r[0] for r in con.execute("select schema_name from information_schema.schemata").fetchall()
        }
    assert "marts" not in schemas, schemas  # the rebuild never ran


_EARLY_SIGNAL = """
import os, signal, sys
from orchestration import project
from commstats.cli import main

prepare = project.prepare

def early():  # while the run starts: after the instance, during the dbt project's preparation
    prepare()
    os.kill(os.getpid(), signal.SIG{name})

project.prepare = early
sys.exit(main(["run", "--config", sys.argv[1]]))
"""


@pytest.mark.parametrize("name", ["TERM", "INT"])
def test_a_signal_while_the_run_starts_stops_it_before_any_stage(name: str, tmp_path: Path):
    """Before the first stage no Dagster handler is installed: the run notes the signal, stops
    before loading anything and says so, instead of dying on the spot (SIGTERM) or with a
    traceback (Ctrl-C)."""
    code, text = _run_with_a_signal(_EARLY_SIGNAL.replace("{name}", name), tmp_path)
    assert code == 1, text[-3000:]
    assert "interrupted: the remaining stages were not run" in text, text[-3000:]
    assert "Traceback" not in text, text[-3000:]
    warehouse = tmp_path / "warehouse.duckdb"
    if warehouse.exists():  # nothing was loaded
        with duckdb.connect(str(warehouse), read_only=True) as con:
            tables = con.execute("select table_schema || '.' || table_name from information_schema.tables")
            assert "raw.mail_messages" not in {t for (t,) in tables.fetchall()}


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["kill-9", "sigterm"])
def test_no_process_remains_of_a_run_killed_while_dbt_builds(sig: int, sample_dir: Path, tmp_path: Path):
    """dbt is dagster-dbt's child, not set up by us: the run's watchdog ends it after a kill -9,
    dagster-dbt's own interruption after a SIGTERM."""
    config = write_config(sample_dir, tmp_path)
    proc, procs, took = _kill_run_while(config, sig, ready=_dbt)
    assert not _alive(procs), [(p.pid, p.cmdline()[:3]) for p in _alive(procs)]
    assert took < GONE_WITHIN, took
    assert proc.returncode == (-signal.SIGKILL if sig == signal.SIGKILL else 1)


# ---- the worker set-up on its own ------------------------------------------------------------

_CHILD = """
import os, signal, sys, time
from core import procs
if sys.argv[1] == "no-prctl":
    procs.set_parent_death_signal = lambda sig: False
signal.signal(signal.SIGTERM, signal.SIG_IGN)  # what a caller may have set
middle = os.fork()
if middle == 0:
    parent = os.getpid()
    worker = os.fork()
    if worker == 0:
        os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # leave the test's pipe to the others
        procs.init_worker(parent)
        time.sleep(60)
        os._exit(0)
    print(worker, flush=True)
    time.sleep(0.5)
    os._exit(0)  # the worker's parent dies
os.waitpid(middle, 0)
"""


@pytest.mark.parametrize("mode", ["prctl", "no-prctl"])
def test_a_worker_dies_with_its_parent(mode: str):
    """PR_SET_PDEATHSIG where there is one, else the polling thread: the orphan ends within a second
    or two, although SIGTERM was ignored where it was forked."""
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, mode],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).parents[2],
    )
    assert out.returncode == 0, out.stderr
    try:
        worker = [psutil.Process(int(out.stdout))]
    except psutil.NoSuchProcess:
        worker = []  # already gone and reaped
    deadline = time.monotonic() + 5
    while _alive(worker) and time.monotonic() < deadline:
        time.sleep(0.1)
    alive = _alive(worker)
    for p in alive:
        p.kill()
    assert not alive


def test_a_worker_ends_on_sigterm_and_on_a_dead_parent():
    """SIGTERM's default action is restored in the worker; a worker whose parent is already gone
    by the time it asks for the death signal ends at once (the race the check closes)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            os.close(r)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            init_worker(os.getppid())
            os.write(w, b"ready")
            time.sleep(60)
        finally:
            os._exit(0)
    os.close(w)
    assert os.read(r, 5) == b"ready"
    os.close(r)
    os.kill(pid, signal.SIGTERM)
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGTERM

    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            init_worker(os.getpid())  # not its parent: as if the parent had died before the call
        finally:
            os._exit(0)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 1


def test_the_death_signal_is_available_here():
    # the tests above would pass through the fallback alone: make sure the Linux path is the one taken
    if not sys.platform.startswith("linux"):
        pytest.skip("PR_SET_PDEATHSIG is Linux's")
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            ok = set_parent_death_signal(signal.SIGKILL)
        finally:
            os._exit(0 if ok else 3)
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0


_PARENT = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(120)"])
print(child.pid, flush=True)
time.sleep(120)
"""


def test_the_watchdog_ends_what_a_killed_process_leaves():
    """A child ignoring SIGTERM, left by a parent killed outright: terminated, then killed after the
    grace period; an unrelated process is never touched."""
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    parent = subprocess.Popen([sys.executable, "-c", _PARENT], stdout=subprocess.PIPE, text=True)
    child = psutil.Process(int(parent.stdout.readline()))
    ended: list[list[int]] = []
    watcher = threading.Thread(target=lambda: ended.append(watch(parent.pid, poll=0.1, grace=1.0)))
    try:
        watcher.start()
        time.sleep(0.5)  # a poll or more: the child is known
        parent.kill()
        parent.wait()
        watcher.join(timeout=10)
        assert ended == [[child.pid]]
        assert not _alive([child])
        assert bystander.poll() is None
    finally:
        for p in _alive([child]):
            p.kill()
        for p in (bystander, parent):
            p.kill()
            p.wait()
        parent.stdout.close()


def test_the_watchdog_ends_the_processes_marked_with_the_runs_token(tmp_path, monkeypatch):
    """An orphan is no longer the run's descendant, and a poll misses a process started just before
    the run died: the token in its environment still names it. An unmarked process, or one marked
    with another run's token, is never touched. The temporary files named with the token go too."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setenv(MARK, "t-this-run")
    spool = Path(tempfile.mkdtemp(prefix=temp_prefix("spool")))
    (spool / "mail_messages.parquet").write_bytes(b"PAR1")
    _, slot = tempfile.mkstemp(prefix=temp_prefix("mail"))
    monkeypatch.setenv(MARK, "t-other-run")
    others = [Path(tempfile.mkdtemp(prefix=temp_prefix("spool"))), tmp_path / "commstats-spool-unmarked"]
    others[1].mkdir()
    monkeypatch.delenv(MARK)
    assert spool.name.startswith("commstats-spool-t-this-run-")
    sleeper = [sys.executable, "-c", "import time; time.sleep(120)"]
    marked = subprocess.Popen(sleeper, env={**os.environ, MARK: "t-this-run"})
    other_run = subprocess.Popen(sleeper, env={**os.environ, MARK: "t-other-run"})
    bystander = subprocess.Popen(sleeper)
    parent = subprocess.Popen(sleeper)
    ended: list[list[int]] = []
    watcher = threading.Thread(
        target=lambda: ended.append(watch(parent.pid, token="t-this-run", poll=0.1, grace=1.0))
    )
    try:
        watcher.start()
        time.sleep(0.3)
        parent.kill()
        parent.wait()
        watcher.join(timeout=10)
        assert ended == [[marked.pid]]
        assert marked.poll() is not None  # ended (reaped by the watchdog's wait, in this process)
        assert other_run.poll() is None and bystander.poll() is None
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in others)
        assert not Path(slot).exists()
    finally:
        for p in (marked, other_run, bystander, parent):
            p.kill()
            p.wait()
