"""Incremental publishing: rows replaced by key, deletions applied, cursors stored atomically."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from core.config import MailingListConfig
from extractors.load import Spool, publish
from extractors.mail.incremental import Bookkeeping, load_state, source_kwargs
from extractors.mail.raw import DeletedMessage, RawMessage, SourceCursor

OWNER = {"project": "p", "list_name": "l"}


def message_id_of(data: bytes) -> str:
    return data.decode().split("Message-ID: <", 1)[1].split(">", 1)[0]


def run(warehouse: Path, tmp: Path, items: list[object], *, incremental: bool = True) -> dict[str, int]:
    spool = Spool(tmp)
    book = Bookkeeping("p", "l", incremental=incremental)
    for item in items:
        if book.take(item, spool, message_id_of):
            continue
        assert isinstance(item, RawMessage)
        mid = message_id_of(item.data)
        spool.add("mail_messages", {**OWNER, "message_id": mid, "source_location": item.location})
        spool.add("mail_trailers", {**OWNER, "message_id": mid, "kind": "acked-by", "position": 0})
    book.finish(spool)
    try:
        return publish(warehouse, spool, owner=OWNER, **book.publish_args())
    finally:
        spool.cleanup()


def msg(mid: str) -> bytes:
    return f"Message-ID: <{mid}>\n\nbody\n".encode()


def ids(warehouse: Path, table: str = "mail_messages") -> list[str]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return [r[0] for r in con.execute(f"SELECT message_id FROM raw.{table} ORDER BY 1").fetchall()]


def test_incremental_runs(tmp_path: Path) -> None:
    wh = tmp_path / "wh.duckdb"
    counts = run(
        wh,
        tmp_path / "s1",
        [
            RawMessage(msg("a"), "0:1"),
            RawMessage(msg("b"), "0:2"),
            RawMessage(msg("c"), "0:3"),
            DeletedMessage(msg("b"), "0:4"),  # added and removed in the same run: gone
            SourceCursor("epoch:0", "4"),
        ],
    )
    assert counts["mail_messages"] == 2 and counts["mail_trailers"] == 2
    assert counts["mail_source_state"] == 1 and counts["mail_deletions"] == 1
    assert ids(wh) == ["a", "c"] and ids(wh, "mail_trailers") == ["a", "c"]
    assert load_state(wh, "p", "l") == {"epoch:0": "4"}

    # second run: one new message, one deletion of an older one, cursor moves
    counts = run(
        wh,
        tmp_path / "s2",
        [RawMessage(msg("d"), "0:5"), DeletedMessage(msg("a"), "0:6"), SourceCursor("epoch:0", "6")],
    )
    assert ids(wh) == ["c", "d"] and ids(wh, "mail_trailers") == ["c", "d"]
    assert counts["mail_source_state"] == 1
    assert load_state(wh, "p", "l") == {"epoch:0": "6"}
    assert ids(wh, "mail_deletions") == ["a", "b"]

    # the same message read again (e.g. a re-read epoch) replaces, never duplicates
    run(wh, tmp_path / "s3", [RawMessage(msg("c"), "0:3"), SourceCursor("epoch:1", "9")])
    assert ids(wh) == ["c", "d"]
    assert load_state(wh, "p", "l") == {"epoch:0": "6", "epoch:1": "9"}

    # a full refresh replaces the whole list, cursors included
    run(wh, tmp_path / "s4", [RawMessage(msg("x"), "0:1"), SourceCursor("epoch:0", "1")], incremental=False)
    assert ids(wh) == ["x"]
    assert load_state(wh, "p", "l") == {"epoch:0": "1"}


def test_failed_publish_keeps_cursor(tmp_path: Path) -> None:
    wh = tmp_path / "wh.duckdb"
    run(wh, tmp_path / "s1", [RawMessage(msg("a"), "0:1"), SourceCursor("epoch:0", "1")])

    class Boom(Exception):
        pass

    def broken(data: bytes) -> str:
        raise Boom

    spool = Spool(tmp_path / "s2")
    book = Bookkeeping("p", "l")
    book.take(SourceCursor("epoch:0", "2"), spool, message_id_of)
    with pytest.raises(Boom):
        book.take(DeletedMessage(msg("a"), "0:2"), spool, broken)
    # the run died before publishing: nothing moved
    assert load_state(wh, "p", "l") == {"epoch:0": "1"} and ids(wh) == ["a"]


def test_source_kwargs(tmp_path: Path) -> None:
    wh = tmp_path / "wh.duckdb"
    run(wh, tmp_path / "s1", [SourceCursor("group:g", "7")])
    nntp = MailingListConfig(name="l", kind="nntp", url="nntp://h/g")
    kwargs, book = source_kwargs(wh, "p", nntp)
    assert kwargs == {"state": {"group:g": "7"}} and book is not None and book.incremental
    kwargs, book = source_kwargs(
        wh, "p", nntp.model_copy(update={"options": nntp.options.model_copy(update={"full_refresh": True})})
    )
    assert kwargs == {"state": {}} and book is not None and not book.incremental
    mbox = MailingListConfig(name="l", kind="mbox", path=Path("x.mbox"))
    assert source_kwargs(wh, "p", mbox) == ({}, None)
    assert source_kwargs(tmp_path / "none.duckdb", "p", nntp)[0] == {"state": {}}
