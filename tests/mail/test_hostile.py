"""Hostile archives: oversized messages, decompression bombs, mail directories of symlinks and
special files, and out-of-range offsets handed to the separator search."""

from __future__ import annotations

import gzip
import json
import os
import socket
import subprocess
import sys
import time
import tracemalloc
from datetime import datetime
from pathlib import Path

import pytest

from core.config import ConfigError, MailingListConfig, load_config
from extractors.mail import mbox, parallel
from extractors.mail.limits import DEFAULT_LIMITS, MailLimits, mail_limits
from extractors.mail.maildir import iter_maildir
from extractors.mail.raw import RawMessage, SourceProblem
from extractors.mail.rows import iter_entries
from tests.mail.hostile import MiB, big_header, message, write_gzip_bomb, write_mbox_with_big_message

ROOT = Path(__file__).resolve().parents[2]
SMALL = MailLimits(max_message_bytes=MiB)


def summary(items: list[RawMessage | SourceProblem]) -> list[tuple[str, str]]:
    """(kind, Message-ID or reason) per item, in order."""
    out = []
    for m in items:
        if isinstance(m, SourceProblem):
            out.append(("problem", m.reason))
        else:
            mid = m.data.split(b"Message-ID: <", 1)[1].split(b">", 1)[0].decode()
            out.append(("message", mid))
    return out


# ---- the separator search validates its offsets ----------------------------------------------------


@pytest.mark.parametrize("scan, cur_start", [(-5, 0), (0, -1), (-1, -1), (11, 0), (3, 5), (1 << 40, 0)])
def test_separators_reject_offsets_outside_the_buffer(scan: int, cur_start: int) -> None:
    buf = b"abc\nFrom x"  # 10 bytes
    with pytest.raises(ValueError, match="0 <= cur_start <= scan <= len"):
        mbox.separators_py(buf, scan, cur_start, True)
    if mbox._native is None:
        pytest.skip("the C module is not built")
    with pytest.raises(ValueError, match="0 <= cur_start <= scan <= len"):
        mbox._separators_c(buf, scan, cur_start, True)


def test_separators_accept_the_edges() -> None:
    buf = b"abc\n\nFrom a@b Mon Jan  1 00:00:00 2001\nX: y\n"
    assert mbox._separators(buf, 0, 0, True) == mbox.separators_py(buf, 0, 0, True)
    assert mbox._separators(buf, len(buf), len(buf), True) == ([], len(buf), False)


# ---- one message over the cap ----------------------------------------------------------------------

EXPECTED_AROUND_BIG = [
    ("message", "0@example.org"),
    ("message", "1@example.org"),
    ("problem", "message_too_large"),
    ("message", "2@example.org"),
    ("message", "3@example.org"),
]


@pytest.mark.parametrize("compressed", [False, True])
@pytest.mark.parametrize("chunk_size", [mbox.CHUNK_SIZE, 4096])
def test_oversized_message_is_quarantined_and_its_neighbours_loaded(
    tmp_path: Path, compressed: bool, chunk_size: int
) -> None:
    plain = tmp_path / "list.mbox"
    write_mbox_with_big_message(plain, 20)
    path = plain
    if compressed:
        path = tmp_path / "list.mbox.gz"
        path.write_bytes(gzip.compress(plain.read_bytes(), compresslevel=1))
    tracemalloc.start()
    try:
        items = list(mbox.iter_mbox(path, chunk_size=chunk_size, limits=SMALL))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert summary(items) == EXPECTED_AROUND_BIG
    assert items[2].location == f"{path}:{len(message(0)) + len(message(1))}"
    # the reader held a few chunks and the cap, never the 20 MiB message
    assert peak < 12 * MiB, peak


def test_message_over_the_cap_by_one_byte(tmp_path: Path) -> None:
    cap = 1000
    limits = MailLimits(max_message_bytes=cap)
    header = big_header(0).split(b"\n", 1)[1]  # without its From_ line
    fits = header + b"y" * (cap - len(header) - 1) + b"\n"
    over = header + b"y" * (cap - len(header)) + b"\n"
    assert (len(fits), len(over)) == (cap, cap + 1)
    path = tmp_path / "edge.mbox"
    sep = b"From big0@example.org Mon Jan  1 00:00:00 2001\n"
    path.write_bytes(message(0) + sep + fits + b"\n" + sep + over + b"\n" + message(1))
    expected = [
        ("message", "0@example.org"),
        ("message", "big0@example.org"),
        ("problem", "message_too_large"),
        ("message", "1@example.org"),
    ]
    for chunk_size in (7, 100, 1 << 20):  # streamed or read at once: the same decision
        items = list(mbox.iter_mbox(path, chunk_size=chunk_size, limits=limits))
        assert summary(items) == expected, chunk_size
        assert len(items[1].data) == cap
    # as the last message of the file, too
    path.write_bytes(message(0) + sep + over)
    assert summary(list(mbox.iter_mbox(path, chunk_size=64, limits=limits))) == expected[:1] + expected[2:3]


def test_long_message_under_the_cap_is_read_whole(tmp_path: Path) -> None:
    # 12 MiB: spilled to pieces while read, joined once, byte for byte the file's bytes
    path = tmp_path / "list.mbox"
    write_mbox_with_big_message(path, 12)
    items = list(mbox.iter_mbox(path))
    assert [k for k, _ in summary(items)] == ["message"] * 5
    raw = path.read_bytes()
    start = len(message(0)) + len(message(1))
    body = raw[start + raw[start:].index(b"\n") + 1 : len(raw) - len(message(2)) - len(message(3)) - 1]
    assert items[2].data == body


def test_parallel_reader_gives_the_serial_rows(tmp_path: Path) -> None:
    path = tmp_path / "list.mbox"
    with open(path, "wb") as f:
        for n in range(40):
            f.write(message(n))
    with open(path, "ab") as f:
        f.write(b"".join(message(n) for n in range(40, 42)))
    big = tmp_path / "big.mbox"
    write_mbox_with_big_message(big, 5, before=50, after=50)
    owner = {"project": "p", "list_name": "l"}
    now = datetime(2026, 1, 1)
    for f in (path, big):
        serial = list(iter_entries(owner, mbox.iter_mbox(f, limits=SMALL), now))
        par = list(parallel.mbox_entries(owner, [f], "mboxrd", 2, 4096, now, SMALL))
        assert par == serial
    quarantined = [e for e in serial if e[0] is None]
    assert len(quarantined) == 1 and quarantined[0][3][0][1]["reason"] == "message_too_large"
    assert sum(e[0] is not None for e in serial) == 100


# ---- limits from the list's options ------------------------------------------------------------------


def test_limits_from_options(tmp_path: Path) -> None:
    lst = MailingListConfig(name="devel", kind="mbox", path=Path("x"), options={"max_message_bytes": 2048})
    assert mail_limits(lst) == MailLimits(max_message_bytes=2048)
    lst = MailingListConfig(
        name="devel",
        kind="mbox",
        path=Path("x"),
        options={"max_expansion_ratio": "50", "expansion_floor_bytes": 10},
    )
    assert mail_limits(lst) == MailLimits(max_expansion_ratio=50, expansion_floor_bytes=10)
    assert mail_limits(MailingListConfig(name="d", kind="mbox", path=Path("x"))) == DEFAULT_LIMITS
    assert DEFAULT_LIMITS.expansion_cap(1000) == 256 * MiB
    assert DEFAULT_LIMITS.expansion_cap(10 * MiB) == 2000 * MiB
    for bad in (0, -3, "lots", 1.5, True):
        # a bad limit fails at config load, with one line naming the file and the option
        config = tmp_path / "communities.yaml"
        config.write_text(
            "projects:\n  p:\n    mailing_lists:\n      - name: devel\n        path: x.mbox\n"
            f"        options: {{max_message_bytes: {json.dumps(bad)}}}\n"
        )
        with pytest.raises(ConfigError) as err:
            load_config(config)
        assert str(err.value).startswith(
            f"{config}: key 'projects.p.mailing_lists.0.options.max_message_bytes': "
        ), str(err.value)
        assert "\n" not in str(err.value)


def test_small_compressed_file_is_never_a_bomb(tmp_path: Path) -> None:
    # 20 MiB of one repeated line compress ~1000x, far past the ratio, but stay under the floor
    path = tmp_path / "list.mbox.gz"
    write_gzip_bomb(path, 20)
    assert path.stat().st_size * 200 < 20 * MiB
    items = list(mbox.iter_mbox(path, limits=MailLimits(max_message_bytes=64 * MiB)))
    assert [k for k, _ in summary(items)] == ["message"] * 5


def test_bomb_cut_off_at_the_ratio(tmp_path: Path) -> None:
    path = tmp_path / "list.mbox.gz"
    write_gzip_bomb(path, 64)
    limits = MailLimits(max_message_bytes=MiB, max_expansion_ratio=100, expansion_floor_bytes=MiB)
    items = list(mbox.iter_mbox(path, limits=limits))
    assert summary(items) == EXPECTED_AROUND_BIG[:3] + [("problem", "decompression_bomb")]
    cap = 100 * path.stat().st_size
    assert "expand past" in items[3].detail and str(cap) in items[3].detail
    # the reader stopped at the cap: the problem's offset is within one chunk of it
    offset = int(items[3].location.rsplit(":", 1)[1])
    assert cap - mbox.CHUNK_SIZE <= offset <= cap


# ---- the full-size gzip bomb through a whole list ingest, in a subprocess ------------------------------

_INGEST_BOMB = """
import json, resource, sys, time
from pathlib import Path
from core.config import ConfigError, MailingListConfig, load_config
from extractors.mail.ingest import ingest_mailing_list
import duckdb
tmp = Path(sys.argv[1])
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t = time.monotonic()
lst = MailingListConfig(name="devel", kind="mbox", path=tmp / "archives")
counts = ingest_mailing_list(tmp / "wh.duckdb", "proj", lst, tmp / "cache")
seconds = time.monotonic() - t
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base
con = duckdb.connect(str(tmp / "wh.duckdb"), read_only=True)
ids = [r[0] for r in con.execute("select message_id from raw.mail_messages order by 1").fetchall()]
reasons = [r[0] for r in con.execute("select reason from raw.mail_quarantine order by 1").fetchall()]
print(json.dumps({"ids": ids, "reasons": reasons, "seconds": seconds, "peak_kib": peak}))
"""


def test_gzip_bomb_in_a_list_is_cut_off_in_bounded_memory(tmp_path: Path) -> None:
    archives = tmp_path / "archives"
    archives.mkdir()
    write_gzip_bomb(archives / "2001-01.mbox.gz", 1200)  # 4.3 MB expanding to 1.2 GiB in one message
    (archives / "2001-02.mbox").write_bytes(message(10) + message(11))
    out = subprocess.run(
        [sys.executable, "-c", _INGEST_BOMB, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={**os.environ, "COMMSTATS_MAIL_WORKERS": "2"},
        check=True,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    # the messages before the bomb and the list's other archive are loaded
    assert result["ids"] == ["0@example.org", "10@example.org", "11@example.org", "1@example.org"]
    assert result["reasons"] == ["decompression_bomb", "message_too_large"]
    assert result["peak_kib"] < 300 * 1024, result
    assert result["seconds"] < 60, result


# ---- mail directories: only regular files are read ------------------------------------------------------


def _hostile_dir(root: Path) -> Path:
    root.mkdir()
    (root / "a-message").write_bytes(message(0)[message(0).index(b"\n") + 1 :])
    (root / "b-passwd").symlink_to("/etc/passwd")
    (root / "c-zero").symlink_to("/dev/zero")
    os.mkfifo(root / "d-fifo")
    outside = root.parent / "outside"
    outside.mkdir()
    (outside / "secret").write_bytes(message(1))
    (root / "e-dir").symlink_to(outside, target_is_directory=True)
    return root


_READ_DIR = """
import json, sys
from extractors.mail.maildir import iter_maildir
from extractors.mail.raw import SourceProblem
out = []
for m in iter_maildir(sys.argv[1]):
    if isinstance(m, SourceProblem):
        out.append([m.location.rsplit("/", 1)[1], m.reason])
    else:
        out.append([m.location.rsplit("/", 1)[1], "message"])
print(json.dumps(out))
"""


@pytest.mark.parametrize("layout", ["plain", "maildir"])
def test_mail_directory_reads_regular_files_only(tmp_path: Path, layout: str) -> None:
    root = tmp_path / "mail"
    target = _hostile_dir(root)
    if layout == "maildir":
        # the same entries inside cur/
        cur = tmp_path / "md" / "cur"
        cur.parent.mkdir()
        root.rename(cur)
        (tmp_path / "md" / "new").mkdir()
        target = tmp_path / "md"
    t = time.monotonic()
    out = subprocess.run(  # a FIFO opened for reading would block: never hang the test suite
        [sys.executable, "-c", _READ_DIR, str(target)], capture_output=True, text=True, timeout=30, cwd=ROOT
    )
    assert out.returncode == 0, out.stderr
    assert time.monotonic() - t < 30
    assert json.loads(out.stdout) == [
        ["a-message:0", "message"],
        ["b-passwd:0", "symlink"],
        ["c-zero:0", "symlink"],
        ["d-fifo:0", "special_file"],
        ["e-dir:0", "symlink"],
    ]


def test_mail_directory_skips_sockets_and_large_files(tmp_path: Path) -> None:
    root = tmp_path / "mail"
    root.mkdir()
    (root / "big").write_bytes(b"Subject: x\n\n" + b"y" * 5000)
    (root / "ok").write_bytes(b"Subject: x\n\n" + b"y" * 100)
    sock = socket.socket(socket.AF_UNIX)
    try:
        sock.bind(str(root / "sock"))
        items = list(iter_maildir(root, max_bytes=1000))
    finally:
        sock.close()
    assert [(Path(m.location).name, getattr(m, "reason", "message")) for m in items] == [
        ("big:0", "message_too_large"),
        ("ok:0", "message"),
        ("sock:0", "special_file"),
    ]


def test_maildir_list_quarantines_skipped_entries(tmp_path: Path) -> None:
    import duckdb

    from extractors.mail.ingest import ingest_mailing_list

    root = _hostile_dir(tmp_path / "mail")
    os.unlink(root / "d-fifo")  # a FIFO is covered above, in a subprocess under a timeout
    lst = MailingListConfig(name="devel", kind="maildir", path=root)
    counts = ingest_mailing_list(tmp_path / "wh.duckdb", "proj", lst, tmp_path / "cache")
    assert counts["mail_messages"] == 1
    assert counts["mail_quarantine"] == 3
    con = duckdb.connect(str(tmp_path / "wh.duckdb"), read_only=True)
    try:
        rows = con.execute("select reason, count(*) from raw.mail_quarantine group by 1").fetchall()
    finally:
        con.close()
    assert rows == [("symlink", 3)]


_EXPAND = """
import json, sys
from extractors.mail.paths import expand_path
print(json.dumps([p.name for p in expand_path(sys.argv[1])]))
"""


def test_mbox_directory_lists_regular_files_only(tmp_path: Path) -> None:
    root = tmp_path / "archives"
    root.mkdir()
    (root / "2001-01.mbox").write_bytes(message(0))
    os.mkfifo(root / "2001-02.mbox")
    (root / "2001-03.mbox").symlink_to("/dev/zero")
    out = subprocess.run(  # sniffing a FIFO would block: never hang the test suite
        [sys.executable, "-c", _EXPAND, str(root)], capture_output=True, text=True, timeout=30, cwd=ROOT
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == ["2001-01.mbox"]


@pytest.mark.parametrize("blank", [b"\n", b""])
def test_endless_from_line_is_cut_off(tmp_path: Path, blank: bytes) -> None:
    # a `From ` line that never ends: undecided as a separator, it must not grow the buffer forever
    path = tmp_path / "list.mbox"
    with open(path, "wb") as f:
        f.write(message(0) + message(1).rstrip(b"\n") + b"\n" + blank + b"From x")
        for _ in range(20):
            f.write(b"y" * MiB)
    tracemalloc.start()
    try:
        t = time.monotonic()
        items = list(mbox.iter_mbox(path, limits=SMALL))
        seconds = time.monotonic() - t
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert summary(items) == [("message", "0@example.org"), ("problem", "message_too_large")]
    assert items[1].location == f"{path}:{len(message(0))}"
    assert peak < 12 * MiB, peak
    assert seconds < 10
