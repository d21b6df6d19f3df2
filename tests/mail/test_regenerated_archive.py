"""A regenerated Mailman archive holds every message twice (METRICS.md, Message): the copy has the
same Message-ID, From and Date, and differs only in archiving artefacts, so it is one message
(`duplicate_copy` in raw.mail_issues); a different message reusing an ID (other From or Date)
stays `<id>#dup<n>`. The rule holds within one run, across parse workers and across incremental
runs, and nothing is lost or counted twice: messages + quarantined + skipped copies = what the
archive holds.

The month file is built here in pipermail's shape (gzip, `YYYY-Month.txt.gz`, `From x at y`
separators and senders), with exactly the artefacts of a rebuilt archive: the From_ line's date in
another time zone, and the scrubbed-attachment link rewritten from
`Url: http://host/pipermail/...attachment.txt` to `URL: </pipermail/...attachment.ksh>`.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import duckdb
import pytest

from core.config import MailingListConfig
from extractors.identities.build import ingest_identities
from extractors.mail import parallel
from extractors.mail.ingest import ingest_mailing_list
from tests.dbt_helpers import query, run_dbt
from tests.mail_sources.inbox_builder import Epoch

N_ATTACHED = 6  # messages with a scrubbed attachment: the copy's bytes differ
N_PLAIN = 2  # messages without one: the copy is byte-identical
REUSED = 1  # a different message (other Date) reusing the first message's Message-ID
GARBAGE = 1  # a block with no header: quarantined


def _message(n: int, copy: bool, date: str | None = None) -> tuple[bytes, bytes]:
    """(From_ line, message) of message n as the first or the regenerated archive wrote it."""
    day = 1 + n
    # the first archive wrote the From_ line in local time (UTC-5), the rebuild in UTC
    hour = 7 + n % 3 if not copy else 12 + n % 3
    from_line = f"From person{n} at example.com  Mon Mar  {day} {hour:02d}:0{n % 10}:00 2010".encode()
    head = (
        f"From: person{n} at example.com (Person {n})\n"
        f"Date: {date or f'Mon Mar  {day} 12:0{n % 10}:00 2010'}\n"
        f"Subject: [Devel] topic {n}\n"
        f"Message-ID: <topic{n}@example.com>\n"
    )
    body = f"Text of message {n}.\n"
    if n < N_ATTACHED:
        body += "-------------- next part --------------\nA non-text attachment was scrubbed...\n"
        if copy:
            body += f"URL: </pipermail/devel/attachments/20100301/{n:08x}/attachment.ksh>\n"
        else:
            body += (
                f"Url: http://lists.example.org/pipermail/devel/attachments/20100301/{n:08x}/attachment.txt\n"
            )
    return from_line, (head + "\n" + body).encode()


def _distinct() -> int:
    return N_ATTACHED + N_PLAIN


def month_file(folder: Path) -> Path:
    """2010-March.txt.gz: every message, then the whole archive again as the rebuild wrote it,
    one different message under a reused Message-ID, and one headerless block."""
    parts: list[bytes] = []
    for copy in (False, True):
        for n in range(_distinct()):
            line, data = _message(n, copy)
            parts.append(line + b"\n" + data)
    line, data = _message(0, False, date="Tue Mar 30 09:00:00 2010")
    parts.append(line + b"\n" + data.replace(b"Text of message 0.", b"Another text."))
    parts.append(b"From nobody at example.com  Wed Mar 31 10:00:00 2010\nno header here, only text\n")
    path = folder / "2010-March.txt.gz"
    path.write_bytes(gzip.compress(b"\n".join(parts) + b"\n"))
    return path


def _counts(warehouse: Path) -> dict[str, object]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        issues = dict(con.execute("select check_name, count(*) from raw.mail_issues group by 1").fetchall())
        ids = [r[0] for r in con.execute("select message_id from raw.mail_messages order by 1").fetchall()]
        quarantined = con.execute("select count(*) from raw.mail_quarantine").fetchone()[0]
    return {"ids": ids, "issues": issues, "quarantined": quarantined}


def _check(counts: dict[str, object], held: int) -> None:
    ids, issues = counts["ids"], counts["issues"]
    assert isinstance(ids, list) and isinstance(issues, dict)
    # stored = the distinct messages plus the different message under a reused ID
    assert len(ids) == _distinct() + REUSED
    assert [i for i in ids if "#dup" in i] == ["topic0@example.com#dup1"]
    assert issues.get("duplicate_copy") == N_ATTACHED
    assert issues.get("duplicate_identical") == N_PLAIN
    assert issues.get("duplicate_message_id") == REUSED
    skipped = issues["duplicate_copy"] + issues["duplicate_identical"]
    assert len(ids) + counts["quarantined"] + skipped == held


def _held() -> int:
    return 2 * _distinct() + REUSED + GARBAGE


def test_one_run(tmp_path: Path) -> None:
    folder = tmp_path / "devel"
    folder.mkdir()
    month_file(folder)
    wh = tmp_path / "wh.duckdb"
    lst = MailingListConfig(name="devel", path=folder, options={"parse_workers": 1})
    ingest_mailing_list(wh, "p", lst, tmp_path / "cache")
    counts = _counts(wh)
    _check(counts, _held())
    assert counts["quarantined"] == GARBAGE
    # run again: the list's rows are replaced, the same numbers
    ingest_mailing_list(wh, "p", lst, tmp_path / "cache")
    assert _counts(wh) == counts
    # marts.data_quality counts the skipped copies next to the messages
    ingest_identities(wh, [], [], [], [])
    run_dbt(
        wh,
        tmp_path / "target",
        "build",
        "--select",
        "+data_quality",
        "--indirect-selection",
        "cautious",
        dbt_vars={},
    )
    quality = dict(
        query(wh, "select \"check\", count from marts.data_quality where project = 'p' and source = 'mail'")
    )
    assert quality["messages"] == _distinct() + REUSED
    assert quality["duplicate_copy"] == N_ATTACHED
    assert quality["duplicate_identical"] == N_PLAIN
    assert quality["duplicate_message_id"] == REUSED
    assert quality["quarantined"] == GARBAGE


def test_parse_workers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # small blocks so that each copy is parsed by another worker than its first
    monkeypatch.setattr(parallel, "MIN_PARALLEL_BYTES", 0)
    monkeypatch.setattr(parallel, "BLOCK_SIZE", 256)
    folder = tmp_path / "devel"
    folder.mkdir()
    month_file(folder)
    serial, workers = tmp_path / "serial.duckdb", tmp_path / "workers.duckdb"
    one = MailingListConfig(name="devel", path=folder, options={"parse_workers": 1})
    two = MailingListConfig(name="devel", path=folder, options={"parse_workers": 2})
    ingest_mailing_list(serial, "p", one, tmp_path / "cache")
    ingest_mailing_list(workers, "p", two, tmp_path / "cache")
    _check(_counts(workers), _held())
    assert _counts(workers) == _counts(serial)


def test_incremental_runs(tmp_path: Path) -> None:
    """A public-inbox list whose second half (the rebuilt copies) arrives in a later run."""
    root = tmp_path / "inbox"
    epoch = Epoch(root / "git" / "0.git")
    lst = MailingListConfig(name="devel", kind="public-inbox", path=root)
    wh, cache = tmp_path / "wh.duckdb", tmp_path / "cache"
    for n in range(_distinct()):
        epoch.add(_message(n, False)[1])
    ingest_mailing_list(wh, "p", lst, cache)
    assert len(_counts(wh)["ids"]) == _distinct()
    for n in range(_distinct()):
        epoch.add(_message(n, True)[1])
    ingest_mailing_list(wh, "p", lst, cache)
    after_copies = _counts(wh)
    assert len(after_copies["ids"]) == _distinct()
    assert after_copies["issues"] == {"duplicate_copy": N_ATTACHED, "duplicate_identical": N_PLAIN}
    epoch.add(_message(0, False, date="Tue Mar 30 09:00:00 2010")[1].replace(b"message 0.", b"other."))
    ingest_mailing_list(wh, "p", lst, cache)
    final = _counts(wh)
    # the same as one run over the whole archive, which holds no headerless block here
    _check(final, _held() - GARBAGE)
    # a run that finds nothing new changes nothing
    ingest_mailing_list(wh, "p", lst, cache)
    assert _counts(wh) == final
