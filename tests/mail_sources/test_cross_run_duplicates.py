"""Duplicate Message-IDs across incremental runs behave exactly like duplicates within one run.

Each test compares the warehouse an incremental history leaves with the one a single full run
over the same archive leaves (`full_refresh`), which is the within-run behaviour METRICS.md
describes: an identical copy is skipped with a `duplicate_identical` issue, a different message
under a known Message-ID is kept as `<id>#dup<n>` with a `duplicate_message_id` issue.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from core.config import MailingListConfig
from extractors.mail.ingest import ingest_mailing_list
from tests.mail_sources.inbox_builder import Epoch, message

TABLES = ("mail_messages", "mail_trailers", "mail_issues", "mail_quarantine", "mail_message_digests")


def reply(n: int, body: str) -> bytes:
    """Message n's Message-ID on a different message (another sender, another body, and a Date
    of each body's own: two bodies with one From and Date would be copies of one message)."""
    return (
        f"From: Other <other@example.com>\n"
        f"Subject: Re: message {n}\n"
        f"Date: Tue, 2 Jun 2020 12:{len(body) % 60:02d}:00 +0000\n"
        f"Message-ID: <msg{n}@example.com>\n"
        f"\n"
        f"{body}\n"
        f"Acked-by: Other <other@example.com>\n"
    ).encode()


def tables(warehouse: Path) -> dict[str, list[tuple[Any, ...]]]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return {t: sorted(con.execute(f"SELECT * FROM raw.{t}").fetchall(), key=repr) for t in TABLES}


def messages(warehouse: Path) -> list[tuple[str, str]]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute("SELECT message_id, from_address FROM raw.mail_messages ORDER BY 1").fetchall()


def issues(warehouse: Path) -> list[tuple[str, str]]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(
            "SELECT message_id, check_name FROM raw.mail_issues WHERE check_name LIKE 'duplicate%' ORDER BY 1, 2"
        ).fetchall()


def full_run(root: Path, tmp: Path) -> dict[str, list[tuple[Any, ...]]]:
    """The tables one full run over the whole archive leaves in a fresh warehouse."""
    lst = MailingListConfig(name="devel", kind="public-inbox", path=root, options={"full_refresh": True})
    wh = tmp / "full.duckdb"
    ingest_mailing_list(wh, "proj", lst, tmp / "full-cache")
    return tables(wh)


def test_duplicates_across_runs_match_a_single_run(tmp_path: Path) -> None:
    root = tmp_path / "inbox"
    e0 = Epoch(root / "git" / "0.git")
    e0.add(message(0))
    e0.add(message(1))
    lst = MailingListConfig(name="devel", kind="public-inbox", path=root)
    wh, cache = tmp_path / "wh.duckdb", tmp_path / "cache"
    ingest_mailing_list(wh, "proj", lst, cache)

    # run 2: a different message under a stored Message-ID, an identical copy of a stored one
    e0.add(reply(0, "First other message."))
    e0.add(message(1))
    e0.add(message(2))
    ingest_mailing_list(wh, "proj", lst, cache)
    assert messages(wh) == [
        ("msg0@example.com", "person0@example.com"),
        ("msg0@example.com#dup1", "other@example.com"),
        ("msg1@example.com", "person1@example.com"),
        ("msg2@example.com", "person2@example.com"),
    ]
    assert issues(wh) == [
        ("msg0@example.com#dup1", "duplicate_message_id"),
        ("msg1@example.com", "duplicate_identical"),
    ]

    # run 3: one more variant takes the next number; a copy of a variant is identical to it
    e0.add(reply(0, "Second other message."))
    e0.add(reply(0, "First other message."))
    ingest_mailing_list(wh, "proj", lst, cache)
    assert [m for m, _ in messages(wh)] == [
        "msg0@example.com",
        "msg0@example.com#dup1",
        "msg0@example.com#dup2",
        "msg1@example.com",
        "msg2@example.com",
    ]
    assert issues(wh) == [
        ("msg0@example.com#dup1", "duplicate_identical"),
        ("msg0@example.com#dup1", "duplicate_message_id"),
        ("msg0@example.com#dup2", "duplicate_message_id"),
        ("msg1@example.com", "duplicate_identical"),
    ]
    # trailers stay with the variant that carries them
    with duckdb.connect(str(wh), read_only=True) as con:
        trailers = con.execute("SELECT message_id, kind FROM raw.mail_trailers ORDER BY 1").fetchall()
    assert trailers == [("msg0@example.com#dup1", "acked-by"), ("msg0@example.com#dup2", "acked-by")]

    assert tables(wh) == full_run(root, tmp_path)

    # nothing new: nothing changes
    before = tables(wh)
    ingest_mailing_list(wh, "proj", lst, cache)
    assert tables(wh) == before


def test_rereading_stored_messages_is_idempotent(tmp_path: Path) -> None:
    """Messages read again at the locations they were stored from (here: every cursor lost, so
    the whole archive is read again) keep their IDs: no duplicates, no new issues."""
    root = tmp_path / "inbox"
    e0 = Epoch(root / "git" / "0.git")
    e0.add(message(0))
    e0.add(reply(0, "Other."))
    e0.add(message(0))
    lst = MailingListConfig(name="devel", kind="public-inbox", path=root)
    wh, cache = tmp_path / "wh.duckdb", tmp_path / "cache"
    ingest_mailing_list(wh, "proj", lst, cache)
    before = tables(wh)
    assert [m for m, _ in messages(wh)] == ["msg0@example.com", "msg0@example.com#dup1"]
    assert before == full_run(root, tmp_path)

    with duckdb.connect(str(wh)) as con:
        con.execute("DELETE FROM raw.mail_source_state")
    ingest_mailing_list(wh, "proj", lst, cache)
    assert tables(wh) == before

    # rows stored before digests were recorded: the location alone still identifies them
    with duckdb.connect(str(wh)) as con:
        con.execute("DELETE FROM raw.mail_source_state")
        con.execute("DELETE FROM raw.mail_message_digests")
    ingest_mailing_list(wh, "proj", lst, cache)
    assert tables(wh) == before


def test_deleting_a_message_deletes_its_digest(tmp_path: Path) -> None:
    root = tmp_path / "inbox"
    e0 = Epoch(root / "git" / "0.git")
    e0.add(message(0))
    e0.add(message(1))
    lst = MailingListConfig(name="devel", kind="public-inbox", path=root)
    wh, cache = tmp_path / "wh.duckdb", tmp_path / "cache"
    ingest_mailing_list(wh, "proj", lst, cache)
    e0.delete(message(0))
    ingest_mailing_list(wh, "proj", lst, cache)
    with duckdb.connect(str(wh), read_only=True) as con:
        digests = con.execute("SELECT message_id FROM raw.mail_message_digests").fetchall()
    assert digests == [("msg1@example.com",)]
    # the Message-ID is free again: a new message under it is the first of its name
    e0.add(reply(0, "Back."))
    ingest_mailing_list(wh, "proj", lst, cache)
    assert messages(wh) == [
        ("msg0@example.com", "other@example.com"),
        ("msg1@example.com", "person1@example.com"),
    ]


def test_stored_messages_are_read_only_when_something_is_new(tmp_path: Path, monkeypatch: Any) -> None:
    from extractors.mail import incremental, ingest

    loads: list[str] = []
    real = incremental.load_known

    def counting(warehouse: Any, project: str, list_name: str, message_ids: Any) -> Any:
        loads.append(list_name)
        return real(warehouse, project, list_name, message_ids)

    monkeypatch.setattr(ingest, "load_known", counting)
    root = tmp_path / "inbox"
    e0 = Epoch(root / "git" / "0.git")
    e0.add(message(0))
    lst = MailingListConfig(name="devel", kind="public-inbox", path=root)
    wh, cache = tmp_path / "wh.duckdb", tmp_path / "cache"
    ingest_mailing_list(wh, "proj", lst, cache)
    assert loads == ["devel"]
    before = tables(wh)
    ingest_mailing_list(wh, "proj", lst, cache)  # nothing new: the stored IDs are not needed
    assert loads == ["devel"] and tables(wh) == before
    e0.add(reply(0, "Another message."))  # new, under a stored Message-ID: they are needed now
    ingest_mailing_list(wh, "proj", lst, cache)
    assert loads == ["devel", "devel"]
    assert [m for m, _ in messages(wh)] == ["msg0@example.com", "msg0@example.com#dup1"]


def test_a_refresh_reads_only_the_stored_messages_its_new_ones_name(tmp_path: Path, monkeypatch: Any) -> None:
    from extractors.mail import dedup, incremental, ingest

    root = tmp_path / "inbox"
    e0 = Epoch(root / "git" / "0.git")
    for n in range(6):
        e0.add(message(n))
    e0.add(reply(0, "First other message."))  # stored as msg0@example.com#dup1
    lst = MailingListConfig(name="devel", kind="public-inbox", path=root)
    wh, cache = tmp_path / "wh.duckdb", tmp_path / "cache"
    ingest_mailing_list(wh, "proj", lst, cache)

    asked: list[tuple[list[str], list[str]]] = []
    real = incremental.load_known

    def recording(warehouse: Any, project: str, list_name: str, message_ids: Any) -> Any:
        rows, any_stored = real(warehouse, project, list_name, message_ids)
        asked.append((sorted(message_ids), sorted(row[0] for row in rows)))
        return rows, any_stored

    monkeypatch.setattr(ingest, "load_known", recording)
    monkeypatch.setattr(dedup, "LOOKUP_EVERY", 2)  # three lookups for the five new entries
    e0.add(reply(0, "Second other message."))
    e0.add(message(3))
    e0.add(message(9))
    e0.add(message(9))
    e0.add(reply(4, "Another message."))
    ingest_mailing_list(wh, "proj", lst, cache)
    assert asked == [
        (
            ["msg0@example.com", "msg3@example.com"],
            ["msg0@example.com", "msg0@example.com#dup1", "msg3@example.com"],
        ),
        (["msg9@example.com"], []),  # its second copy was asked with the first
        (["msg4@example.com"], ["msg4@example.com"]),
    ]
    assert [m for m, _ in messages(wh)][:3] == [
        "msg0@example.com",
        "msg0@example.com#dup1",
        "msg0@example.com#dup2",
    ]
    assert issues(wh) == [
        ("msg0@example.com#dup1", "duplicate_message_id"),
        ("msg0@example.com#dup2", "duplicate_message_id"),
        ("msg3@example.com", "duplicate_identical"),
        ("msg4@example.com#dup1", "duplicate_message_id"),
        ("msg9@example.com", "duplicate_identical"),
    ]
    assert tables(wh) == full_run(root, tmp_path)


def test_a_lists_first_build_asks_for_stored_messages_once(tmp_path: Path, monkeypatch: Any) -> None:
    from extractors.mail import dedup, incremental, ingest

    wh, cache = tmp_path / "wh.duckdb", tmp_path / "cache"
    other = Epoch(tmp_path / "other" / "git" / "0.git")
    other.add(message(0))  # the warehouse exists, with another list's messages
    ingest_mailing_list(
        wh, "proj", MailingListConfig(name="other", kind="public-inbox", path=tmp_path / "other"), cache
    )

    asked: list[list[str]] = []
    real = incremental.load_known

    def recording(warehouse: Any, project: str, list_name: str, message_ids: Any) -> Any:
        asked.append(sorted(message_ids))
        return real(warehouse, project, list_name, message_ids)

    monkeypatch.setattr(ingest, "load_known", recording)
    monkeypatch.setattr(dedup, "LOOKUP_EVERY", 2)
    e0 = Epoch(tmp_path / "inbox" / "git" / "0.git")
    for n in range(5):
        e0.add(message(n))
    lst = MailingListConfig(name="devel", kind="public-inbox", path=tmp_path / "inbox")
    ingest_mailing_list(wh, "proj", lst, cache)
    # the first chunk finds the list has nothing stored: the other two chunks ask nothing
    assert asked == [["msg0@example.com", "msg1@example.com"]]
    with duckdb.connect(str(wh), read_only=True) as con:
        stored = con.execute(
            "SELECT list_name, count(*) FROM raw.mail_messages GROUP BY 1 ORDER BY 1"
        ).fetchall()
    assert stored == [("devel", 5), ("other", 1)]
    # the next run's new message under a stored ID is asked for, and found
    e0.add(reply(1, "Another message."))
    ingest_mailing_list(wh, "proj", lst, cache)
    assert asked[1:] == [["msg1@example.com"]]
    assert issues(wh) == [("msg1@example.com#dup1", "duplicate_message_id")]
