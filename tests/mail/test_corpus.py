"""The real mail corpus beside the checkout (`<repo>/../shared/corpus`); skipped when absent.

Reference numbers below were established from the bytes, independently of this parser:

kvm-ppc (lore, mboxrd; decompressed with zcat to a file):
- 5965 messages: `grep -c '^From mboxrd@z '` = `grep -c '^From '` = 5965 (every From_ line is
  public-inbox's placeholder `From mboxrd@z Thu Jan  1 00:00:00 1970`).
- 2300 patches: an awk pass over the records counting those with an unquoted `^diff --git ` line
  whose Subject does not start (after list tags) with Re:/RE:/Aw: and has no `[... 0/n]` tag.
  (2361 records hold a diff; 61 are replies or cover letters.) INDEX.csv's patch_subjects (5387)
  counts subjects with a patch tag, replies included: a different quantity.
- 233 cover letters: the same awk pass counts 234; the extra one is "disabling halt polling
  broken? (was Re: [PATCH 00/14] ...)", whose tag is not at the start: not a cover letter.
- Trailers, awk over bodies (headers skipped, stopping at `^-- $`, key case-insensitive):
  acked 172, reviewed 955, tested 113, reported 92, suggested 65, co-developed 2,
  signed-off 2657. We find signed-off 2658: the extra one sits in a base64-encoded part that
  grep cannot see. INDEX.csv says reviewed 954 / signed-off 2659: its splitter differs slightly.

pipermail (zcat + grep -a):
- divunal-devel/1999-June: 34 `^From ` lines, all RFC 2822-dated separators
  (`From glyph@divunal.com Sun, 13 Jun 1999 02:28:09 -0400 (EDT)`), 0 Message-ID headers.
- twisted-web/2006-March: 23 separators, each directly followed by a `From: ` line, 10 of them
  NOT preceded by a blank line (Mailman's scrubbed-attachment `Url :` lines); 23 Message-IDs.
- inheritance/2005-October: 155 `^From ` lines, each followed by a `From: ` header; INDEX.csv
  says 154 because its splitter rejects the separator at line 1352, whose sender is 8-bit
  garbage (`From \\xa7\\xf5... at   Thu Oct 27 10:01:31 2005`). It is a real message: 155.
"""

from __future__ import annotations

import collections
import csv
import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from core.config import MailingListConfig
from extractors.mail.dedup import iter_list_rows
from extractors.mail.maildir import read_message_file
from extractors.mail.mbox import iter_mbox
from extractors.mail.parse import ParsedMessage, Rejected, parse_message
from extractors.mail.raw import RawMessage, SourceProblem

CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus"
MAIL = CORPUS / "mail"
pytestmark = pytest.mark.corpus


@pytest.fixture(scope="module")
def mail_dir() -> Path:
    if not (MAIL / "INDEX.csv").is_file():
        pytest.skip(f"real mail corpus not found at {MAIL.resolve()} (it sits beside the checkout)")
    return MAIL


def parse_file(path: Path) -> tuple[list[ParsedMessage], list[Rejected | SourceProblem]]:
    good: list[ParsedMessage] = []
    bad: list[Rejected | SourceProblem] = []
    for item in iter_mbox(path):
        if isinstance(item, SourceProblem):
            bad.append(item)
            continue
        p = parse_message(item)
        (good if isinstance(p, ParsedMessage) else bad).append(p)
    return good, bad


def test_every_file_parses_without_crash(mail_dir: Path) -> None:
    rows = list(csv.DictReader((mail_dir / "INDEX.csv").open(encoding="utf-8")))
    unparsable = []
    total = 0
    for r in rows:
        if not r["messages"] or r["file"].endswith(".zip"):
            continue  # auxiliary files (expected output, HTML) and the groups.io zip
        good, bad = parse_file(mail_dir / r["file"])
        total += len(good)
        unparsable += [b for b in bad if getattr(b, "reason", "") == "unparsable"]
    assert total > 30_000
    assert unparsable == []


def test_kvm_ppc_counts(mail_dir: Path) -> None:
    good, bad = parse_file(mail_dir / "lore" / "kvm-ppc.vger.kernel.org.0.mbox.gz")
    assert bad == []
    assert len(good) == 5965
    # grep -a -i '^Message-ID:' | sort | uniq -d: <YaUNBfJh35WXMV0M@google.com> twice and
    # <65DD86A3.29102.445FAD58@delyan.sonic.net> three times, each copy with other headers.
    assert len({p.row["message_id"] for p in good}) == 5962
    assert sum(p.row["is_patch"] for p in good) == 2300
    assert sum(p.row["is_cover_letter"] for p in good) == 233
    assert all(p.row["patch_id"] for p in good if p.row["is_patch"])
    kinds = collections.Counter(t["kind"] for p in good for t in p.trailers)
    assert kinds == {
        "signed-off-by": 2658,
        "reviewed-by": 955,
        "acked-by": 172,
        "tested-by": 113,
        "reported-by": 92,
        "suggested-by": 65,
        "co-developed-by": 2,
    }
    assert all(p.row["date_source"] == "header" for p in good)
    assert sum(p.row["subject"] is None for p in good) == 3  # INDEX.md: 3 without Subject


def test_kvm_ppc_duplicates_through_ingest_rows(mail_dir: Path) -> None:
    lst = MailingListConfig(name="kvm-ppc", kind="mbox", path=mail_dir / "lore")
    path = mail_dir / "lore" / "kvm-ppc.vger.kernel.org.0.mbox.gz"
    tables = collections.Counter()
    checks = collections.Counter()
    ids = set()
    for table, row in iter_list_rows("p", lst, iter_mbox(path)):
        tables[table] += 1
        if table == "mail_issues":
            checks[row["check_name"]] += 1
        if table == "mail_messages":
            ids.add(row["message_id"])
    # the archive holds 5,965 messages (INDEX.md); two Message-IDs arrive more than once (three
    # extra copies): each copy differs from the first only in its Received/Return-Path headers
    # (delivered again), with the same From and Date, so each is one message and the copies are
    # `duplicate_copy` (METRICS.md)
    assert tables["mail_messages"] == len(ids) == 5965 - 3
    assert checks["duplicate_copy"] == 3
    assert checks["duplicate_message_id"] == 0
    assert "YaUNBfJh35WXMV0M@google.com" in ids
    assert not any("#dup" in i for i in ids)


@pytest.mark.parametrize(
    ("name", "messages", "synthetic_ids"),
    [
        ("divunal-devel/1999-June.txt.gz", 34, 34),
        ("twisted-web/2006-March.txt.gz", 23, 0),
        ("inheritance/2005-October.txt.gz", 155, 0),
    ],
)
def test_pipermail_counts(mail_dir: Path, name: str, messages: int, synthetic_ids: int) -> None:
    good, bad = parse_file(mail_dir / "pipermail" / name)
    assert bad == []
    assert len(good) == messages
    assert sum(p.row["message_id"].startswith("synthetic-") for p in good) == synthetic_ids
    # pipermail obfuscates every sender as `jdoe at example.com`: all come out as addresses,
    # except inheritance's 8-bit garbage sender `\xa7\xf5\xc2\xa7\xb5^ at ` (no domain at all),
    # which keeps its value lower-cased as its address: never null, its own (invalid) person.
    no_address = [p for p in good if "@" not in p.row["from_address"]]
    assert len(no_address) == (1 if name.startswith("inheritance") else 0)
    for p in no_address:
        assert p.row["from_address"] == p.row["from_address"].lower()
        assert p.row["from_address"].startswith("\xa7\xf5\xe2\xa7\xb5^ at")


def test_edge_separator_decisions(mail_dir: Path) -> None:
    t5100 = mail_dir / "edge" / "git-t5100" / "t" / "t5100"
    # INDEX.csv splits 0001mboxrd into 2 on bare `From ` lines; the file is a bare mboxrd body
    # with no header block at all, so it is one quarantined item.
    good, bad = parse_file(t5100 / "0001mboxrd")
    assert good == [] and [b.reason for b in bad] == ["no_headers"]
    good, _ = parse_file(t5100 / "sample.mboxrd")
    assert len(good) == 2
    # patchew's bare `From A` separators
    good, _ = parse_file(
        mail_dir / "edge" / "patchew" / "tests" / "data" / "0004-multiple-patch-reviewed.mbox.gz"
    )
    assert len(good) == 5
    # fuzzed: the second From_ line of codec-null.mbox was merged with a folded Cc: line
    # (`From xl.org, netdev@...` followed by an indented continuation): not a separator.
    good, _ = parse_file(
        mail_dir / "edge" / "patchwork" / "patchwork" / "tests" / "data" / "fuzz" / "codec-null.mbox"
    )
    assert len(good) == 1


# ---- linux-duks-mlh expectations

MLH = MAIL / "edge" / "linux-duks-mlh" / "mlh_parser" / "tests"
_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def _expected_utc(eml: bytes, expected: str) -> datetime:
    """The .date.pytest files hold a wall-clock time without zone, taken from some header of the
    message (the Date header, or a Received header when the Date is broken). Find the header
    line showing that day and time to learn its zone, and convert to UTC like we do."""
    m = re.match(r"\w+,\s+(\d+) (\w+) (\d{4}) (\d\d:\d\d:\d\d)", expected)
    assert m, expected
    day, mon, year, hms = m.groups()
    zone = re.search(rf"\b0?{day} {mon} \d+ {hms}\s+([+-]\d{{4}})".encode(), eml)
    assert zone, expected
    z = int(zone.group(1))
    offset = timedelta(hours=abs(z) // 100, minutes=abs(z) % 100) * (1 if z > 0 else -1)
    h, mi, s = map(int, hms.split(":"))
    return datetime(int(year), _MONTHS.index(mon) + 1, int(day), h, mi, s) - offset


def test_mlh_date_expectations(mail_dir: Path) -> None:
    cases = sorted(MLH.glob("date_cases/*.eml"))
    assert len(cases) == 20
    for eml in cases:
        expected = eml.with_name(eml.name[: -len(".eml")] + ".date.pytest").read_text().splitlines()[0]
        p = parse_message(read_message_file(eml))
        assert isinstance(p, ParsedMessage)
        want = _expected_utc(eml.read_bytes(), expected)
        # Equal within 10 minutes: for Y2K-bug years (`101`) we read the Date header itself
        # (METRICS.md parses those leniently) where this archiver took the earliest Received
        # header; and for absurd Dates we take the *first* Received header (METRICS.md) where it
        # took the last one. Those hops are seconds to minutes apart.
        got = p.row["sent_at"]
        assert got is not None and abs(got - want) <= timedelta(minutes=10), (eml.name, got, want)


def _mlh_trailers(path: Path) -> list[tuple[str, str]]:
    text = path.read_text(encoding="utf-8")
    return [
        (kind.lower(), ident)
        for kind, ident in re.findall(r'"attribution": "([^"]+)",\s*"identification": "([^"]+)"', text)
    ]


def test_mlh_trailer_expectations(mail_dir: Path) -> None:
    cases = sorted(MLH.glob("real_cases/*.eml"))
    assert len(cases) == 5
    for eml in cases:
        expected = _mlh_trailers(eml.with_name(eml.stem + ".trailers.pytest"))
        p = parse_message(read_message_file(eml))
        assert isinstance(p, ParsedMessage)
        got = [(t["kind"], t["name"], t["address"]) for t in p.trailers]
        if eml.stem == "3383":
            # Deliberate difference: a git post-receive notification whose commit message is
            # indented by four spaces. METRICS.md counts trailers only at the start of a line.
            assert expected == [("signed-off-by", "David Teigland <teigland@redhat.com>")]
            assert got == []
            continue
        want = []
        for kind, ident in expected:
            name, addr = re.match(r"(.*?)\s*<(.+)>", ident).groups()  # type: ignore[union-attr]
            # HyperKitty's `(a)` obfuscation is undone by our parser.
            want.append((kind, name, addr.replace("(a)", "@").lower()))
        assert got == want, eml.name


def test_raw_message_locations_are_offsets(mail_dir: Path) -> None:
    path = mail_dir / "edge" / "git-t5100" / "t" / "t5100" / "sample.mbox"
    data = path.read_bytes()
    for item in iter_mbox(path):
        assert isinstance(item, RawMessage)
        offset = int(item.location.rsplit(":", 1)[1])
        assert data[offset:].startswith(b"From ")
