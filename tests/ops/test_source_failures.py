"""Sources that cannot be read, through the installed CLI: a public-inbox list and a git
repository on a port nothing listens on fail alike, each with one line naming it, while a good
list still loads and the exit status says something failed."""

from __future__ import annotations

import socket
from pathlib import Path

import duckdb
import pytest

from tests.ops.conftest import COMMSTATS, commstats

pytestmark = pytest.mark.slow

MESSAGES = 3


def _closed_port() -> int:
    # bound then released: nothing listens there for the run's few seconds
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _mbox(path: Path) -> None:
    path.write_text(
        "\n".join(
            f"From alice@example.org Mon Jan  1 00:00:0{i} 2024\n"
            "From: Alice <alice@example.org>\n"
            "To: devel@lists.example.org\n"
            f"Subject: [PATCH {i}] thing\n"
            f"Date: Mon, 1 Jan 2024 00:00:0{i} +0000\n"
            f"Message-ID: <m{i}@example.org>\n\nbody {i}\n"
            for i in range(MESSAGES)
        )
    )


@pytest.fixture(scope="module")
def failed_run(tmp_path_factory) -> tuple[Path, int, str, str]:
    root = tmp_path_factory.mktemp("unreachable")
    port = _closed_port()
    _mbox(root / "good.mbox")
    inbox, repo = f"http://127.0.0.1:{port}/gone", f"http://127.0.0.1:{port}/away.git"
    config = root / "communities.yaml"
    config.write_text(
        f"warehouse: {root}/warehouse.duckdb\n"
        f"output_dir: {root}/output\n"
        f"cache_dir: {root}/cache\n"
        "projects:\n"
        "  demo:\n"
        "    mailing_lists:\n"
        f"      - {{name: good, kind: mbox, path: {root}/good.mbox}}\n"
        f"      - {{name: gone, kind: public-inbox, url: '{inbox}'}}\n"
        "    repositories:\n"
        f"      - {{name: away, url: '{repo}'}}\n"
    )
    proc = commstats("run", "--config", str(config))
    return root, proc.returncode, proc.stdout, proc.stderr


def test_each_unreadable_source_fails_with_one_line_and_the_good_one_loads(failed_run):
    root, code, stdout, stderr = failed_run
    assert code == 1
    output = stdout + stderr
    assert "Traceback" not in output and "Stack Trace" not in output
    lines = output.splitlines()
    inbox = [ln for ln in lines if "demo/gone" in ln and "INFO" not in ln]
    repo = [ln for ln in lines if "demo/away" in ln and "INFO" not in ln]
    assert (
        inbox
        == [
            "commstats: mailing list demo/gone: mailing list 'gone': clone failed: "
            f"{inbox[0].split('clone failed: ', 1)[1]}"
        ]
        and "127.0.0.1" in inbox[0]
    )
    assert len(repo) == 1 and repo[0].startswith(
        "commstats: repository demo/away: git repository 'away': cannot clone http://127.0.0.1:"
    )
    # the only lines in the output that are failures are those two
    assert [ln for ln in lines if ln.startswith("commstats: ")] == [*inbox, *repo]
    assert not [ln for ln in lines if " - ERROR - " in ln]
    con = duckdb.connect(str(root / "warehouse.duckdb"), read_only=True)
    try:
        per_list = dict(
            con.execute("select list_name, count(*) from raw.mail_messages group by 1").fetchall()
        )
        quarantined = con.execute("select count(*) from raw.mail_quarantine").fetchone()[0]
    finally:
        con.close()
    # the good list loaded; the unreachable one recorded nothing (it failed, not "0 messages")
    assert per_list == {"good": MESSAGES}
    assert quarantined == 0


def test_verbose_prints_the_trace_as_well_as_the_line(failed_run):
    root, *_ = failed_run
    proc = commstats("run", "--verbose", "--select", "group:mail", "--config", str(root / "communities.yaml"))
    assert proc.returncode == 1
    assert "Stack Trace" in proc.stderr and "clone failed" in proc.stderr
    failures = [ln for ln in proc.stderr.splitlines() if ln.startswith("commstats: ")]
    assert len(failures) == 1 and failures[0].startswith("commstats: mailing list demo/gone: ")


def test_alias_bomb_in_an_identity_file_fails_one_step_in_bounded_memory(tmp_path):
    from tests.test_user_errors import _measured, alias_bomb_aliases, bomb_line

    _mbox(tmp_path / "good.mbox")
    bomb = tmp_path / "aliases.yaml"
    bomb.write_text(alias_bomb_aliases())
    config = tmp_path / "communities.yaml"
    config.write_text(
        f"warehouse: {tmp_path}/warehouse.duckdb\n"
        f"output_dir: {tmp_path}/output\n"
        f"cache_dir: {tmp_path}/cache\n"
        "projects:\n"
        "  demo:\n"
        "    mailing_lists:\n"
        f"      - {{name: good, kind: mbox, path: {tmp_path}/good.mbox}}\n"
        f"identities:\n  aliases: [{bomb}]\n"
    )
    out, seconds, peak_kib = _measured(
        "import subprocess, sys\n"
        f"p = subprocess.run([{str(COMMSTATS)!r}, 'run', '--config', {str(config)!r}], capture_output=True, text=True)\n"
        "print(p.returncode)\nprint(p.stdout + p.stderr, end='')\n"
    )
    lines = out.splitlines()
    assert lines[0] == "1"
    assert "Traceback" not in out and "Stack Trace" not in out
    assert [ln for ln in lines if ln.startswith("commstats: ")] == [
        f"commstats: identity files: {bomb}: not valid YAML at line {bomb_line()}: "
        "aliases expand to more than 10,000 nodes (alias bomb?)"
    ]
    assert seconds < 120 and peak_kib < 1536 * 1024  # the bound: 2 minutes, 1.5 GiB
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True)
    try:
        assert con.execute("select count(*) from raw.mail_messages").fetchone()[0] == MESSAGES
    finally:
        con.close()
