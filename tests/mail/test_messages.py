"""Quarantine and deduplication through the ingestion row stream."""

from __future__ import annotations

from core.config import MailingListConfig
from extractors.mail.dedup import iter_list_rows
from extractors.mail.parse import Rejected, parse_message
from extractors.mail.raw import RawMessage, SourceProblem

from .helpers import mail

LST = MailingListConfig(name="devel", kind="mbox", path="/nonexistent")


def rows(*items: RawMessage | SourceProblem) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for table, row in iter_list_rows("proj", LST, items):
        out.setdefault(table, []).append(row)
    return out


def raw(data: bytes, loc: str = "f:0") -> RawMessage:
    return RawMessage(data, loc)


def test_quarantine_reasons() -> None:
    cases = {
        b"": "empty",
        b"\n\n  \n": "empty",
        b"just some text\nwithout headers\n": "no_headers",
        b"\x00" * 50 + b"\n\nbody": "nul_garbage",
    }
    for data, reason in cases.items():
        r = parse_message(raw(data))
        assert isinstance(r, Rejected) and r.reason == reason, (data, r)


def test_nul_bytes_in_a_header_are_dropped() -> None:
    data = mail("x").replace(b"Subject: x", b"Subject: a\x00b")
    r = parse_message(raw(data))
    assert not isinstance(r, Rejected) and r.row["subject"] == "ab"


def test_one_bad_message_does_not_stop_the_rest() -> None:
    out = rows(raw(b"garbage", "f:0"), raw(mail(), "f:10"), SourceProblem("f:99", "truncated_archive", "x"))
    assert [r["reason"] for r in out["mail_quarantine"]] == ["no_headers", "truncated_archive"]
    assert [r["source_location"] for r in out["mail_messages"]] == ["f:10"]
    assert out["mail_messages"][0]["project"] == "proj" and out["mail_messages"][0]["list_name"] == "devel"


def test_identical_duplicate_is_one_message() -> None:
    out = rows(raw(mail(), "f:0"), raw(mail(), "f:100"))
    assert len(out["mail_messages"]) == 1
    (issue,) = out["mail_issues"]
    assert (issue["check_name"], issue["message_id"], issue["source_location"]) == (
        "duplicate_identical",
        "m1@example.com",
        "f:100",
    )


def test_different_duplicates_get_derived_ids() -> None:
    # one Message-ID on three messages: other bodies and other Dates (same From and Date would make
    # them copies of one message, tests/mail/test_regenerated_archive.py)
    a, b, c = (mail(body=f"{x}\n", date=f"Mon, 29 Apr 2019 11:2{i}:03 +1000") for i, x in enumerate("abc"))
    out = rows(raw(a), raw(b), raw(c), raw(b))
    assert [m["message_id"] for m in out["mail_messages"]] == [
        "m1@example.com",
        "m1@example.com#dup1",
        "m1@example.com#dup2",
    ]
    assert [(i["check_name"], i["message_id"]) for i in out["mail_issues"]] == [
        ("duplicate_message_id", "m1@example.com#dup1"),
        ("duplicate_message_id", "m1@example.com#dup2"),
        ("duplicate_identical", "m1@example.com#dup1"),
    ]


def test_trailer_rows_carry_final_message_id() -> None:
    a = mail(body="Acked-by: A <a@x.org>\n")
    b = mail(body="Reviewed-by: B <b@x.org>\n", sender="B <b@x.org>")
    out = rows(raw(a), raw(b))
    assert [(t["message_id"], t["kind"]) for t in out["mail_trailers"]] == [
        ("m1@example.com", "acked-by"),
        ("m1@example.com#dup1", "reviewed-by"),
    ]


def test_missing_message_id_issue_row() -> None:
    out = rows(raw(mail(message_id=None)))
    (issue,) = out["mail_issues"]
    assert issue["check_name"] == "missing_message_id"
    assert issue["message_id"] == out["mail_messages"][0]["message_id"]
