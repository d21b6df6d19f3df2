"""The compiled scans against their Python references: header fields, body marks and Date values
(_scan.c; headers.common_fields, body.scan_body_regex, dates.canonical_date_regex) and the mbox
separator search (_mbox.c; mbox.separators_py), on every message of the real corpus, handcrafted
quirks and seeded random input."""

from __future__ import annotations

import csv
import random
from pathlib import Path

import pytest

from extractors.mail import body, headers, mbox
from extractors.mail.body import scan_body, scan_body_regex
from extractors.mail.dates import canonical_date_regex
from extractors.mail.headers import common_fields, extract_headers
from extractors.mail.mbox import iter_mbox
from extractors.mail.raw import RawMessage
from tests.c_modules import require

from .test_corpus import MAIL

native = headers._native
SCAN, MBOX = "extractors/mail/_scan.c", "extractors/mail/_mbox.c"


def _decode(b: bytes) -> str:
    return b.decode("utf-8", "replace")


def _same_headers(data: bytes, end: int) -> None:
    assert require(native, SCAN).header_fields(data, end) == common_fields(data, end)


def _same_body(buf: bytes, start: int) -> None:
    for want_pull in (True, False):
        assert scan_body(buf, start, _decode, want_pull) == scan_body_regex(buf, start, _decode, want_pull)


def _check_message(data: bytes) -> None:
    blank = data.find(b"\n\n")
    end = len(data) if blank < 0 else blank + 1
    _same_headers(data, end)
    _same_headers(data, len(data))
    if blank >= 0:  # the scans start at a newline: here, as in the parser, the blank line's
        _same_body(data, blank + 1)
    _same_body(b"\n" + data, 0)


def test_the_compiled_scans_are_built() -> None:
    require(native, SCAN)
    require(mbox._native, MBOX)
    assert body._native is native and mbox._separators is mbox._separators_c


def test_every_corpus_message_scans_the_same() -> None:
    if not (MAIL / "INDEX.csv").is_file():
        pytest.skip(f"real mail corpus not found at {MAIL.resolve()} (it sits beside the checkout)")
    compared = trailers = diffs = 0
    for r in csv.DictReader((MAIL / "INDEX.csv").open(encoding="utf-8")):
        if not r["messages"] or r["file"].endswith(".zip"):
            continue
        for item in iter_mbox(MAIL / r["file"]):
            if not isinstance(item, RawMessage):
                continue
            _check_message(item.data)
            data = item.data.replace(b"\r\n", b"\n")
            diff, found, _ = scan_body(b"\n" + data, 0, _decode)
            compared += 1
            trailers += len(found)
            diffs += diff
    assert compared > 30_000
    assert trailers > 4_000 and diffs > 2_500  # the scans had real work to agree on


HEAD = (
    b"From: Jane Doe <jane@example.com>\n"
    b"Subject: [PATCH] a\n"
    b"Date: Mon, 1 Jan 2024 00:00:00 +0000\n"
    b"Message-ID: <1@x>\n"
    b"\n"
)
QUIRKS = {
    "plain": HEAD + b"body\n",
    "folded subject": HEAD.replace(b"Subject: [PATCH] a\n", b"Subject: [PATCH] a\n\tlong\n  longer\n"),
    "folded last header, no blank line": b"Subject: a\n b\n c",
    "Message-Id spelling first": HEAD.replace(
        b"Message-ID: <1@x>\n", b"Message-Id: <2@x>\nMessage-ID: <1@x>\n"
    ),
    "duplicate From": HEAD.replace(b"Date:", b"From: other@x\nDate:"),
    "blanks before the colon": HEAD.replace(b"Date:", b"Date \t :"),
    "no blank after the colon": HEAD.replace(b"Subject: ", b"Subject:"),
    "empty value": HEAD.replace(b"Subject: [PATCH] a", b"Subject:"),
    "longer name": HEAD.replace(b"Subject:", b"Subjects:"),
    "name prefix with hyphen": HEAD.replace(b"Date:", b"Date-Sent: x\nDate:"),
    "odd spelling only": b"FROM: a@x\nmessage-id: <3@x>\n\nbody\n",
    "received twice": HEAD.replace(b"From:", b"Received: by a\n\tfolded\nReceived: by b\nFrom:"),
    "continuation line looking like a header": HEAD.replace(
        b"Subject: [PATCH] a\n", b"Subject: a\n From: evil\n"
    ),
    "DMARC-rewritten sender": HEAD.replace(
        b"From: Jane Doe <jane@example.com>\n",
        b'From: "Jane Doe via Bridge" <bridge@lists.example.org>\n'
        b"Reply-To: Jane Doe <jane@example.com>\nX-Original-From: Jane Doe\n\t<jane@example.com>\n",
    ),
    "Reply-to spelling, twice": HEAD.replace(b"Date:", b"Reply-to: a@x\nReply-To: b@x\nDate:"),
    "Reply-To prefix of a longer name": HEAD.replace(b"Date:", b"Reply-To-All: a@x\nDate:"),
    "X-Original-From with blanks before the colon": HEAD.replace(
        b"Date:", b"X-Original-From \t: Jane <jane@example.com>\nDate:"
    ),
    "odd Reply-To spelling": HEAD.replace(b"Date:", b"REPLY-TO: a@x\nX-original-from: b@x\nDate:"),
    "NUL in a header": HEAD.replace(b"Subject: [PATCH] a", b"Subject: [PA\0TCH] a"),
    "CR before LF": HEAD.replace(b"\n", b"\r\n"),
    "trailers": HEAD + b"text\nAcked-by: A <a@x>\nReviewed-By : B <b@x>\nsigned-off-by:\tC <c@x>\n",
    "trailer with blanks only": HEAD + b"Reviewed-by:   \n",
    "trailer key of 34 bytes": HEAD + b"A" + b"b" * 30 + b"-by: K <k@x>\n",
    "trailer key of 35 bytes": HEAD + b"A" + b"b" * 31 + b"-by: K <k@x>\n",
    "trailer key of 4 bytes": HEAD + b"x-by: K <k@x>\n",
    "trailer without colon": HEAD + b"Acked-by K <k@x>\n",
    "trailer at the very end": HEAD + b"Tested-by: T <t@x>",
    "unknown trailer kind": HEAD + b"Bribed-by: B <b@x>\n",
    "indented and quoted trailers": HEAD + b" Acked-by: A <a@x>\n> Acked-by: B <b@x>\n",
    "trailers after the signature": HEAD + b"Acked-by: A <a@x>\n-- \nReviewed-by: B <b@x>\n",
    "signature without newline": HEAD + b"Acked-by: A <a@x>\n-- ",
    "signature with trailing blank": HEAD + b"-- \t\nAcked-by: A <a@x>\n",
    "git diff": HEAD + b"diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n",
    "git diff line followed by a blank": HEAD + b"diff --git  a/x\n",
    "git diff line at the end": HEAD + b"diff --git ",
    "unified diff": HEAD + b"--- a/x\n+++ b/x\n@@ -1,2 +1,2 @@\n-a\n+b\n",
    "plus line without a unified header": HEAD + b"+++ b/x\nnothing\n",
    "plus line on the first body line": HEAD + b"+++ b/x\n@@ -1 +1 @@\n",
    "quoted diff": HEAD + b"> diff --git a/x b/x\n> --- a/x\n> +++ b/x\n",
    "pull request": HEAD
    + b"The following changes since commit 0123456789abcdef:\n\n  x\n\nare available in the Git repository at:\n",
    "pull marker without a commit id": HEAD + b"The following changes since commit later\n",
    "pull marker twice": HEAD
    + b"The following changes since commit zz\nThe following changes since commit 0123456789\n"
    + b"are available in the git repository at\n",
    "pull request after the signature": HEAD
    + b"-- \nThe following changes since commit 0123456789\nare available in the git repository at\n",
}


@pytest.mark.parametrize("name", QUIRKS)
def test_quirk_scans_the_same(name: str) -> None:
    _check_message(QUIRKS[name])


def test_quirks_exercise_every_outcome() -> None:
    # the cases above are not vacuous: they produce every kind of result the scans report
    outcomes = {name: scan_body(b"\n" + QUIRKS[name], 0, _decode) for name in QUIRKS}
    assert outcomes["git diff"][0] and outcomes["unified diff"][0]
    assert not outcomes["plus line without a unified header"][0]
    assert [t[0] for t in outcomes["trailers"][1]] == ["acked-by", "reviewed-by", "signed-off-by"]
    assert (
        outcomes["trailer key of 34 bytes"][1] == []
        and outcomes["trailers after the signature"][1][0][1] == "A"
    )
    assert len(outcomes["trailers after the signature"][1]) == 1
    assert outcomes["pull request"][2] and outcomes["pull marker twice"][2]
    assert not outcomes["pull marker without a commit id"][2]
    h = extract_headers(QUIRKS["DMARC-rewritten sender"])
    assert h["reply-to"] == b"Jane Doe <jane@example.com>"
    assert h["x-original-from"] == b"Jane Doe\t<jane@example.com>"
    assert extract_headers(QUIRKS["Reply-to spelling, twice"])["reply-to"] == b"a@x"
    assert "reply-to" not in extract_headers(QUIRKS["Reply-To prefix of a longer name"])
    assert extract_headers(QUIRKS["X-Original-From with blanks before the colon"])["x-original-from"] == (
        b"Jane <jane@example.com>"
    )
    h = extract_headers(QUIRKS["folded subject"])
    assert h["subject"] == b"[PATCH] a\tlong  longer"
    assert extract_headers(QUIRKS["Message-Id spelling first"])["message-id"] == b"<2@x>"
    assert extract_headers(QUIRKS["odd spelling only"]) == {"from": b"a@x", "message-id": b"<3@x>"}


LINES = [
    b"From: a@x",
    b"Subject: s",
    b" folded",
    b"\tfolded",
    b"Message-Id: <m@x>",
    b"Received: r",
    b"Reply-To: r@x",
    b"Reply-to: s@x",
    b"X-Original-From: o@x",
    b"Content-Type: text/plain",
    b"Content-Transfer-Encoding: 8bit",
    b"",
    b"Acked-by: A <a@x>",
    b"Reviewed-BY:B",
    b"ab-by: x",
    b"-- ",
    b"--",
    b"diff --git a/x b/x",
    b"diff --git \t",
    b"--- a/x",
    b"+++ b/x",
    b"@@ -1 +1 @@",
    b"The following changes since commit 0123456789",
    b"are available in the git repository at",
    b"\0",
    b"\r",
    b"text",
]


def _soup(rng: random.Random, lines: list[bytes], least: int, most: int) -> bytes:
    chosen = [rng.choice(lines) for _ in range(rng.randint(least, most))]
    return b"\n".join(chosen) + rng.choice([b"", b"\n", b"\r\n"])


def test_random_line_soups_scan_the_same() -> None:
    rng = random.Random(20261204)
    for _ in range(3000):
        data = _soup(rng, LINES, 0, 14)
        _check_message(data)
        for at in {0, len(data) // 2}:
            if at < len(data) and data[at : at + 1] == b"\n":
                _same_body(data, at)
        _same_headers(data, rng.randint(0, len(data)))


def test_a_missing_essential_header_is_found_in_any_spelling(tmp_path: Path) -> None:
    h = extract_headers(b"SUBJECT: s\nfrom: a@x\n folded\nDATE: d\n\nbody")
    assert h == {"subject": b"s", "from": b"a@x folded", "date": b"d"}


# ---- Date values: _scan.canonical_date against dates.canonical_date_regex -----------------------


def _same_date(value: bytes) -> None:
    assert require(native, SCAN).canonical_date(value) == canonical_date_regex(value), value


DATES = [
    b"Mon, 29 Apr 2019 11:24:03 +1000",
    b"29 Apr 2019 11:24:03 -0700",
    b" \tTue,\t2 Jan 2024 00:00:00 +0000 (UTC)",
    b"Tue,2 Jan 2024 00:00:00 -0000",
    b"Sat, 31 Dec 2016 23:59:60 +0000",  # leap second
    b"Sun, 30 Feb 2020 10:00:00 +0000",  # no such day
    b"Sun, 0 Feb 2020 10:00:00 +0000",
    b"Mon, 1 Foo 2020 10:00:00 +0000",  # no such month
    b"Mon, 1 JAN 2020 10:00:00 +0000",
    b"Mon, 1 Jan 0099 10:00:00 +0000",  # a Y2K-bug year
    b"Mon, 1 Jan 0001 00:10:00 +0100",  # 1901, shifted to UTC
    b"Fri, 31 Dec 9999 23:59:00 -1400",  # after datetime.max once shifted to UTC
    b"Mon, 1 Jan 2020 24:00:00 +0000",
    b"Mon, 1 Jan 2020 10:61:00 +0000",
    b"Mon, 1 Jan 2020 10:00:00 +1500",  # impossible zone
    b"Mon, 1 Jan 2020 10:00:00 +0160",
    b"Mon, 1 Jan 2020 10:00:00 +01",
    b"Mon, 1 Jan 20 10:00:00 +0000",  # two-digit year: not the canonical shape
    b"Mon, 123 Jan 2020 10:00:00 +0000",
    b"Mon, 01 Jan 2020 10:00:00 GMT",
    b"Mon Jan  1 00:00:00 2001",
    b"",
    b"12",
]


@pytest.mark.parametrize("value", DATES)
def test_date_quirks_parse_the_same(value: bytes) -> None:
    _same_date(value)


def test_date_quirks_are_not_vacuous() -> None:
    from datetime import datetime

    require(native, SCAN)
    assert native.canonical_date(DATES[0]) == datetime(2019, 4, 29, 1, 24, 3)
    assert native.canonical_date(DATES[4]) == datetime(2016, 12, 31, 23, 59, 59)
    assert native.canonical_date(DATES[9]) == datetime(1999, 1, 1, 10, 0)
    assert native.canonical_date(DATES[10]) == datetime(1900, 12, 31, 23, 10)
    assert native.canonical_date(DATES[5]) is None and native.canonical_date(DATES[11]) is None


def test_random_dates_parse_the_same() -> None:
    rng = random.Random(20261204)
    alphabet = b"0123456789 ,:+-\tJanFebMonZ"
    for _ in range(5000):
        value = bytearray(rng.choice(DATES[:12]))
        for _ in range(rng.randint(0, 3)):
            if value:
                value[rng.randrange(len(value))] = rng.choice(alphabet)
        _same_date(bytes(value))


def test_every_corpus_date_parses_the_same() -> None:
    if not (MAIL / "INDEX.csv").is_file():
        pytest.skip(f"real mail corpus not found at {MAIL.resolve()} (it sits beside the checkout)")
    parsed = 0
    for r in csv.DictReader((MAIL / "INDEX.csv").open(encoding="utf-8")):
        if not r["messages"] or r["file"].endswith(".zip"):
            continue
        for item in iter_mbox(MAIL / r["file"]):
            if not isinstance(item, RawMessage):
                continue
            blank = item.data.find(b"\n\n")
            h = extract_headers(item.data, len(item.data) if blank < 0 else blank + 1)
            for value in (h.get("date"), (h.get("received") or b"").rpartition(b";")[2]):
                if value:
                    _same_date(value)
                    parsed += native.canonical_date(value) is not None  # type: ignore[union-attr]
    assert parsed > 14_000


# ---- mbox separators: _mbox.separators against mbox.separators_py ------------------------------

SEPARATOR_LINES = [
    b"From jane@example.com Mon Jan  1 00:00:00 2001",
    b"From git@z Thu Jan  1 00:00:00 1970",
    b"From jdoe at example.com  Sun, 13 Jun 1999 02:28:09 -0400",
    b"From A",
    b"From ",
    b"From: Jane <jane@example.com>",
    b"Subject: s",
    b">From the start",
    b">>From deeper",
    b"text From inside",
    b"",
    b"\r",
    b"body",
]


def test_random_mboxes_split_the_same() -> None:
    require(mbox._native, MBOX)
    rng = random.Random(20261204)
    for _ in range(4000):
        buf = _soup(rng, SEPARATOR_LINES, 1, 16)
        cur_start = rng.randint(0, len(buf))
        scan = rng.randint(cur_start, len(buf))
        for eof in (False, True):
            expected = mbox.separators_py(buf, scan, cur_start, eof)
            assert mbox._separators_c(buf, scan, cur_start, eof) == expected, (buf, scan, cur_start, eof)


def test_every_corpus_mbox_splits_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    if not (MAIL / "INDEX.csv").is_file():
        pytest.skip(f"real mail corpus not found at {MAIL.resolve()} (it sits beside the checkout)")
    require(mbox._native, MBOX)
    files = [
        MAIL / r["file"]
        for r in csv.DictReader((MAIL / "INDEX.csv").open(encoding="utf-8"))
        if r["messages"] and not r["file"].endswith(".zip")
    ]
    # small chunks: separators and escaped lines often straddle a chunk boundary
    with_c = [list(iter_mbox(f, chunk_size=4096)) for f in files]
    monkeypatch.setattr(mbox, "_separators", mbox.separators_py)
    with_python = [list(iter_mbox(f, chunk_size=4096)) for f in files]
    assert with_c == with_python
    assert sum(len(m) for m in with_c) > 30_000
