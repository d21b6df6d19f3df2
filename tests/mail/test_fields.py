"""Addresses, Message-IDs, dates, subjects, charsets: one rule per test."""

from __future__ import annotations

from datetime import datetime

import pytest

from core.addresses import parse_address
from extractors.mail.dates import parse_date
from extractors.mail.subjects import parse_subject

from .helpers import mail, parse


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Jane Doe <Jane@Example.COM>", ("Jane Doe", "jane@example.com")),
        ('"Doe, Jane" <jane@example.com>', ("Doe, Jane", "jane@example.com")),
        ("jane@example.com", (None, "jane@example.com")),
        ("jane@example.com (Jane Doe)", ("Jane Doe", "jane@example.com")),
        ("jdoe at example.com (John Doe)", ("John Doe", "jdoe@example.com")),
        ("jdoe _at_ example.com", (None, "jdoe@example.com")),
        ("jdoe(a)example.com", (None, "jdoe@example.com")),
        ("<jane@example.com>", (None, "jane@example.com")),
        ("Jane Doe", ("Jane Doe", None)),
    ],
)
def test_addresses(value: str, expected: tuple[str | None, str | None]) -> None:
    assert parse_address(value) == expected


def test_rfc2047_from_and_subject() -> None:
    p = parse(
        mail(
            subject="=?utf-8?q?Caf=C3=A9?= =?utf-8?q?_ol=C3=A9?=",
            sender="=?iso-8859-1?Q?C=E9dric?= <c@x.org>",
        )
    )
    assert p.row["subject"] == "Café olé"
    assert p.row["from_name"] == "Cédric"


def test_raw_latin1_header_is_decoded_and_flagged() -> None:
    data = mail(subject="x").replace(b"Subject: x", b"Subject: caf\xe9")
    p = parse(data)
    assert p.row["subject"] == "café"
    assert [c for c, _ in p.issues] == ["bad_charset"]


def test_unknown_charset_is_flagged() -> None:
    p = parse(mail(subject="=?x-unknown?q?abc?="))
    assert p.row["subject"] == "abc"
    assert "bad_charset" in [c for c, _ in p.issues]


def test_message_id_without_brackets_and_case_preserved() -> None:
    p = parse(mail(message_id="  <AbC.123@Example.com> "))
    assert p.row["message_id"] == "AbC.123@Example.com"


def test_missing_message_id_gets_stable_synthetic_id() -> None:
    a = parse(mail(message_id=None))
    b = parse(mail(message_id=None, body="other body\n"))
    assert a.row["message_id"].startswith("synthetic-") and a.row["message_id"].endswith("@commstats")
    assert a.row["message_id"] == b.row["message_id"]  # headers identical -> same id
    assert ("missing_message_id", "no usable Message-ID header") in a.issues


def test_overlong_message_id_is_treated_as_missing() -> None:
    p = parse(mail(message_id="<" + "x" * 2000 + "@x>"))
    assert p.row["message_id"].startswith("synthetic-")


def test_header_names_case_insensitive() -> None:
    data = b"FROM: a@x.org\nmessage-id: <q@x>\nSUBJECT: hi\nDATE: Mon, 1 Jan 2001 00:00:00 +0000\n\nb\n"
    p = parse(data)
    assert (p.row["from_address"], p.row["message_id"], p.row["subject"]) == ("a@x.org", "q@x", "hi")
    assert p.row["sent_at"] == datetime(2001, 1, 1)


def test_folded_headers_and_references() -> None:
    extra = "In-Reply-To: <p2@x>\nReferences: <r1@x>\n <p2@x>"
    p = parse(mail(subject="a\n long subject", extra=extra))
    assert p.row["subject"] == "a long subject"
    assert p.row["references"] == ["r1@x", "p2@x"] and p.row["in_reply_to"] == "p2@x"


# ---- dates


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Mon, 29 Apr 2019 11:24:03 +1000", datetime(2019, 4, 29, 1, 24, 3)),
        ("Fri, 16 Mar 101 16:12:03 -0800 (PST)", datetime(2001, 3, 17, 0, 12, 3)),  # Y2K bug
        ("Wed, 22 May 0102 05:43:00 +0900", datetime(2002, 5, 21, 20, 43)),
        ("Mon, 3 Jan 100 18:27:37 -0800 (PST)", datetime(2000, 1, 4, 2, 27, 37)),
        ("1 Feb 99 10:00 GMT", datetime(1999, 2, 1, 10)),  # two-digit year
        ("1 Feb 03 10:00:00", datetime(2003, 2, 1, 10)),  # no zone: UTC
        ("Tue, 2 Mar 2004 10:00:00 CET", datetime(2004, 3, 2, 9)),
        ("Tue, 2 Mar 2004 10:00:00 +9999", datetime(2004, 3, 2, 10)),  # impossible zone ignored
        ("Thu Oct 27 01:24:42 2005", datetime(2005, 10, 27, 1, 24, 42)),  # asctime
        ("2019-04-29T11:24:03+02:00", datetime(2019, 4, 29, 9, 24, 3)),
        ("$(date -R)", None),
        ("", None),
        ("Mon, 99 Foo 2019 99:99:99", None),
        ("Mon, 1 Jan 99999999999999999999 00:00:00 +0000", None),
    ],
)
def test_parse_date(value: str, expected: datetime | None) -> None:
    assert parse_date(value) == expected


def test_date_from_header() -> None:
    p = parse(mail())
    assert (p.row["sent_at"], p.row["date_source"]) == (datetime(2019, 4, 29, 1, 24, 3), "header")


def test_missing_date_falls_back_to_from_line() -> None:
    p = parse(mail(date=None), from_line=b"From j@x Mon Apr 29 01:30:00 2019")
    assert (p.row["sent_at"], p.row["date_source"]) == (datetime(2019, 4, 29, 1, 30), "from_line")
    assert [c for c, _ in p.issues] == ["date_from_line"]


def test_future_date_falls_back_to_received() -> None:
    extra = (
        "Received: from a by b; Tue, 30 Apr 2019 10:00:00 +0200\n"
        "Received: from c by d; Tue, 30 Apr 2019 07:00:00 +0000"
    )
    p = parse(mail(date="Mon, 18 Jun 2085 15:57:19 +0000", extra=extra))
    # the first (topmost) Received header
    assert (p.row["sent_at"], p.row["date_source"]) == (datetime(2019, 4, 30, 8), "received")
    assert p.row["date_header"] == "Mon, 18 Jun 2085 15:57:19 +0000"
    assert [c for c, _ in p.issues] == ["date_received"]


def test_date_after_archived_at_is_absurd() -> None:
    p = parse(mail(date="Mon, 1 Jan 2024 00:00:00 +0000"), archived_at=datetime(2019, 1, 1))
    assert p.row["date_source"] == "none" and p.row["sent_at"] is None


def test_date_before_1985_is_absurd() -> None:
    p = parse(mail(date="Thu, 1 Jan 1970 00:00:00 +0000"), from_line=b"From x Tue Mar  5 10:00:00 1996")
    assert (p.row["sent_at"], p.row["date_source"]) == (datetime(1996, 3, 5, 10), "from_line")


def test_placeholder_from_line_dates_are_ignored() -> None:
    for line in (b"From mboxrd@z Thu Jan  1 00:00:00 1970", b"From 1234 Mon Sep 17 00:00:00 2001"):
        p = parse(mail(date=None), from_line=line)
        assert p.row["date_source"] == "none"
        assert [c for c, _ in p.issues] == ["date_missing"]


def test_garbage_date_without_fallback() -> None:
    p = parse(mail(date="$(date -R)"))
    assert (p.row["sent_at"], p.row["date_source"], p.row["date_header"]) == (None, "none", "$(date -R)")


# ---- subjects


@pytest.mark.parametrize(
    ("subject", "version", "counter", "total", "rfc", "resend", "normalized"),
    [
        ("[PATCH v3 2/7] kvm: fix it", 3, 2, 7, False, False, "kvm: fix it"),
        ("[RFC PATCH] idea", 1, None, None, True, False, "idea"),
        ("[PATCH RESEND] again", 1, None, None, False, True, "again"),
        ("[PATCHv2] compact", 2, None, None, False, False, "compact"),
        ("[PATCH 0/5] Cover", 1, 0, 5, False, False, "cover"),
        ("[Xen-devel] [PATCH v2 01/12] x86: y", 2, 1, 12, False, False, "x86: y"),
        ("[PATCH [v2] 1/3] nested", 2, 1, 3, False, False, "nested"),
        ("[PATCH v2 net-next 3/4] net: z", 2, 3, 4, False, False, "net: z"),
        ("[RFC v4 PATCH 1/2] a", 4, 1, 2, True, False, "a"),
        ("[Qemu-devel] plain question", None, None, None, False, False, "plain question"),
    ],
)
def test_subject_structure(subject, version, counter, total, rfc, resend, normalized) -> None:
    s = parse_subject(subject)
    assert (s.version, s.counter, s.total, s.is_rfc, s.is_resend, s.normalized) == (
        version,
        counter,
        total,
        rfc,
        resend,
        normalized,
    )


@pytest.mark.parametrize("prefix", ["Re: ", "RE: ", "Aw: ", "re:", "Re[2]: ", "[list] Re: "])
def test_reply_prefixes(prefix: str) -> None:
    s = parse_subject(prefix + "[PATCH 1/2] Fix")
    assert s.is_reply and s.normalized == "fix" and s.counter == 1 and not s.is_cover_letter


def test_reply_to_cover_letter_is_not_a_cover_letter() -> None:
    assert parse_subject("[PATCH 0/3] x").is_cover_letter
    assert not parse_subject("Re: [PATCH 0/3] x").is_cover_letter
