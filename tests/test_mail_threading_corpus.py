"""Series and first replies on the real lore archives: the warehouse against plain Python.

The archive goes through the project's extractor and dbt; the expected figures come from the
stdlib alone (`gzip`, `mailbox`, `email`): patch detection from the body, the `[PATCH vN m/n]`
tag from the subject, the effective sender (DMARC rewrites undone from X-Original-From or
Reply-To), threads from In-Reply-To, References and (for a Re: whose headers resolve nothing)
the subject, and METRICS.md's rules: a series is the cover letter and its patches (without an
archived cover letter, the patches naming one root with the same sender, version and total; a 1/1
joins its 0/1 cover letter); a first reply is a direct reply to the patch or its cover letter by
a known sender other than the patch's, no robot; a series is unanswered without one in 14 days.
"""

from __future__ import annotations

import email.utils
import gzip
import mailbox
import re
import shutil
import statistics
import tempfile
from collections import Counter
from datetime import UTC, datetime, timedelta
from email.header import decode_header, make_header
from email.message import Message
from pathlib import Path

import pytest

from core.config import MailingListConfig
from extractors.identities.build import ingest_identities
from extractors.mail.ingest import ingest_mailing_list
from tests.dbt_helpers import dbt_build, query

pytestmark = [pytest.mark.corpus, pytest.mark.slow]

_MSGID = re.compile(r"<([^<>\s]+)>")
_PREFIX = re.compile(r"^\s*(re|aw|sv|antw|antwort|odp|vs|fwd?|wg|tr)\s*:\s*", re.IGNORECASE)
_REPLY = re.compile(r"^\s*(re|aw|sv|antw|antwort|odp|vs)\s*:", re.IGNORECASE)
_TAG = re.compile(r"^\s*\[([^\]]*)\]\s*")
_COUNTER = re.compile(r"(\d+)/(\d+)")
_VERSION = re.compile(r"(?:PATCH|RFC)?[-_]?V(\d+)(?:\.\d+)?")
_SAYS_REPLY = re.compile(r"^\s*(\[[^\]]*\]\s*)*(re|aw|sv|antw|odp)\s*:", re.IGNORECASE)
# robots of METRICS.md that answer patches on these lists, and list addresses
_ROBOT = re.compile(
    r"^(patchwork-bot\+|syzbot|lkp@intel\.com$|pr-tracker-bot@kernel\.org$|no-?reply)|-bounces@|-(ro)?bot@"
)
_HUNK = re.compile(r"^--- .*\n\+\+\+ .*\n@@ -\d+(,\d+)? \+\d+(,\d+)? @@", re.MULTILINE)


def decoded(value: str | None) -> str:
    try:
        return " ".join(str(make_header(decode_header(value or ""))).split())
    except (LookupError, UnicodeError):  # an unknown charset: keep the raw header
        return " ".join(str(value or "").split())


def subject_tag(subject: str) -> tuple[bool, int | None, int | None, int | None]:
    """(says it is a reply, version, counter, total) from the leading prefixes and tags; version
    is None when no tag names PATCH, RFC or a counter. A tag naming two postings
    (`PATCH net-next v2 0/3, iproute2-next 0/1`) is read by its last counter."""
    s, is_reply, tags = subject, False, []
    while True:
        if m := _PREFIX.match(s):
            is_reply |= bool(_REPLY.match(s))
            s = s[m.end() :]
        elif m := _TAG.match(s):
            tags.append(m.group(1))
            s = s[m.end() :]
        else:
            break
    version = counter = total = None
    patchish = False
    for tag in tags:
        words = tag.upper().replace(",", " ").split()
        counters = [c for w in words if (c := _COUNTER.fullmatch(w))]
        if not (counters or any(w.startswith(("PATCH", "RFC")) for w in words)):
            continue  # a list tag such as [Bridge]
        patchish = True
        for w in words:
            if v := _VERSION.fullmatch(w):
                version = int(v.group(1))
        if counters:
            counter, total = int(counters[-1].group(1)), int(counters[-1].group(2))
    return is_reply, (version or 1) if patchish else None, counter, total


def normalized_subject(subject: str) -> str:
    """The subject without leading reply/forward prefixes and bracketed tags, lower case."""
    s = subject
    while (m := _PREFIX.match(s)) or (m := _TAG.match(s)):
        s = s[m.end() :]
    return " ".join(s.split()).lower()


def body_holds_patch(msg: Message) -> bool:
    """A unified diff in a text part, or a text/x-patch or text/x-diff attachment."""
    for part in msg.walk():
        if part.get_content_type() in ("text/x-patch", "text/x-diff"):
            return True
        if part.get_content_maintype() != "text":
            continue
        payload = part.get_payload(decode=True) or b""
        try:
            text = payload.decode(part.get_content_charset() or "utf-8", errors="replace")
        except LookupError:
            text = payload.decode("utf-8", errors="replace")
        if re.search(r"^diff --git ", text, re.MULTILINE) or _HUNK.search(text):
            return True
    return False


def effective_sender(msg: Message) -> str | None:
    """METRICS.md's sender: when the list rewrote From for DMARC (`X via List`), the address of
    X-Original-From, else Reply-To; nobody when neither is there."""
    name, address = email.utils.parseaddr(decoded(msg.get("From")))
    if " via " not in name:
        return address.lower()
    for header in ("X-Original-From", "Reply-To"):
        if msg.get(header):
            return email.utils.parseaddr(decoded(msg.get(header)))[1].lower() or None
    return None


def read_archive(path: Path) -> list[dict]:
    """The patches and cover letters of a gzipped mbox, and the reply headers of every message."""
    with tempfile.NamedTemporaryFile(suffix=".mbox") as tmp:
        with gzip.open(path, "rb") as src:
            shutil.copyfileobj(src, tmp)
        tmp.flush()
        out = []
        for msg in mailbox.mbox(tmp.name):
            subject = decoded(msg.get("Subject"))
            is_reply, version, counter, total = subject_tag(subject)
            ids = _MSGID.findall(msg.get("Message-ID", ""))
            replied = _MSGID.findall(msg.get("In-Reply-To", "") or "")
            is_cover = version is not None and counter == 0 and not is_reply
            out.append(
                {
                    "id": ids[0] if ids else None,
                    "sender": effective_sender(msg),
                    "at": email.utils.parsedate_to_datetime(msg["Date"]).astimezone(UTC),
                    "in_reply_to": replied[0] if replied else None,
                    "says_reply": bool(_SAYS_REPLY.match(subject)),
                    "normalized": normalized_subject(subject),
                    "references": _MSGID.findall(msg.get("References", "") or ""),
                    "is_cover": is_cover,
                    "is_patch": not is_reply and not is_cover and body_holds_patch(msg),
                    "version": version or 1,
                    "counter": counter,
                    "total": total,
                }
            )
        return out


def parents(messages: list[dict]) -> dict[str, str]:
    """Message-ID -> archived parent: In-Reply-To, else the nearest References entry, else for a
    Re: whose headers resolve nothing the earliest earlier message with its normalized subject
    in the thread its headers name (any, when it has no reply headers)."""
    by_id = {m["id"]: m for m in messages if m["id"]}
    result: dict[str, str] = {}
    for m in messages:
        for ref in [m["in_reply_to"], *reversed(m["references"])]:
            if ref in by_id and ref != m["id"]:
                result[m["id"]] = ref
                break
    root = {m["id"]: (m["references"] or [m["in_reply_to"] or m["id"]])[0] for m in messages}
    for m in messages:
        if m["id"] in result or not m["says_reply"] or not m["normalized"]:
            continue
        headers = bool(m["in_reply_to"] or m["references"])
        earlier = [
            c
            for c in messages
            if c["normalized"] == m["normalized"]
            and c["at"] < m["at"]
            and (not headers or root[c["id"]] == root[m["id"]])
        ]
        if earlier:
            result[m["id"]] = min(earlier, key=lambda c: (c["at"], c["id"]))["id"]
    return result


def series_keys(messages: list[dict], parent_of: dict[str, str]) -> dict[str, tuple]:
    """Message-ID -> series key of every patch and cover letter."""
    by_id = {m["id"]: m for m in messages if m["id"]}
    keys: dict[str, tuple] = {}
    for m in messages:
        if not (m["is_patch"] or m["is_cover"]):
            continue
        who = (m["sender"], m["version"], m["total"])
        anchor = None
        if m["counter"] is not None:
            # the nearest cover letter of the same sender, version and total at or above it
            cur, seen = m, set()
            while cur is not None and cur["id"] not in seen:
                seen.add(cur["id"])
                if cur["is_cover"] and (cur["sender"], cur["version"], cur["total"]) == who:
                    anchor = cur["id"]
                    break
                cur = by_id.get(parent_of.get(cur["id"], ""))
            if anchor is None and (m["total"] or 1) > 1:
                # no archived cover letter: the root the headers name
                anchor = (m["references"] or [m["in_reply_to"] or m["id"]])[0]
        keys[m["id"]] = ("series", anchor, *who) if anchor is not None else ("lone", m["id"])
    return keys


def series_per_year(messages: list[dict]) -> dict[int, int]:
    keys = series_keys(messages, parents(messages))
    posted: dict[tuple, datetime] = {}
    for m in messages:
        if m["id"] in keys:
            key = keys[m["id"]]
            posted[key] = min(posted.get(key, m["at"]), m["at"])
    return dict(Counter(at.year for at in posted.values()))


def first_replies(messages: list[dict]) -> tuple[dict[int, float], dict[int, float]]:
    """(median hours to first reply per year of the patch, unanswered share of series per year
    of posting; a series posted less than 14 days before the archive ends is not judged)."""
    parent_of = parents(messages)
    keys = series_keys(messages, parent_of)
    by_id = {m["id"]: m for m in messages if m["id"]}
    answers: dict[str, list[dict]] = {}
    for m in messages:
        sender = m["sender"]
        if (
            m["id"] in parent_of
            and not (m["is_patch"] or m["is_cover"])
            and sender
            and not _ROBOT.search(sender)
        ):
            answers.setdefault(parent_of[m["id"]], []).append(m)
    members: dict[tuple, list[dict]] = {}
    for mid, key in keys.items():
        members.setdefault(key, []).append(by_id[mid])

    def first(m: dict) -> datetime | None:
        covers = [c["id"] for c in members[keys[m["id"]]] if c["is_cover"]]
        times = [
            r["at"] for a in {m["id"], *covers} for r in answers.get(a, []) if r["sender"] != m["sender"]
        ]
        return min(times, default=None)

    hours: dict[int, list[float]] = {}
    for m in by_id.values():
        if m["is_patch"] and (at := first(m)) is not None:
            hours.setdefault(m["at"].year, []).append((at - m["at"]).total_seconds() / 3600)
    end = max(m["at"] for m in messages)
    flags: dict[int, list[int]] = {}
    for group in members.values():
        posted = min(m["at"] for m in group)
        replies = [at for m in group if (at := first(m)) is not None]
        if replies and min(replies) <= posted + timedelta(days=14):
            flags.setdefault(posted.year, []).append(0)
        elif end >= posted + timedelta(days=14):
            flags.setdefault(posted.year, []).append(1)
    return (
        {y: statistics.median(h) for y, h in hours.items()},
        {y: sum(f) / len(f) for y, f in flags.items()},
    )


@pytest.fixture(scope="module", params=["bridge.lists.linux-foundation.org", "kvm-ppc.vger.kernel.org"])
def archive(request, corpus: Path, tmp_path_factory) -> tuple[Path, Path, list[dict]]:
    """(archive, warehouse after the extractor and `dbt seed` + `dbt run`, the plain-Python read
    of the archive) for one lore archive."""
    source = corpus / "mail" / "lore" / f"{request.param}.0.mbox.gz"
    tmp = tmp_path_factory.mktemp("threading-corpus")
    warehouse = tmp / "w.duckdb"
    lst = MailingListConfig(name=request.param.split(".")[0], kind="mbox", path=source)
    ingest_mailing_list(warehouse, "p", lst, tmp / "cache")
    ingest_identities(warehouse)
    dbt_build(warehouse, tmp / "target", command="seed")
    dbt_build(warehouse, tmp / "target", command="run")
    return source, warehouse, read_archive(source)


def test_series_posted_per_year_equals_plain_python(archive):
    source, warehouse, messages = archive
    expected = series_per_year(messages)
    got = dict(
        query(
            warehouse,
            "select year(period_start), series_posted from marts.community_health "
            "where grain = 'year' and series_posted > 0",
        )
    )
    assert got == expected, f"{source.name}: series_posted per year"


def test_first_reply_and_unanswered_share_per_year_equal_plain_python(archive):
    source, warehouse, messages = archive
    medians, shares = first_replies(messages)
    rows = query(
        warehouse,
        "select year(period_start), median_hours_to_first_reply, unanswered_patch_share "
        "from marts.community_health where grain = 'year' and series_posted > 0",
    )
    assert {y: m for y, m, _ in rows if m is not None} == pytest.approx(medians), f"{source.name}: median"
    assert {y: u for y, _, u in rows if u is not None} == pytest.approx(shares), f"{source.name}: unanswered"


def test_every_parent_equals_plain_python(archive):
    source, warehouse, messages = archive
    expected = parents(messages)
    got = {
        mid: parent
        for mid, parent in query(
            warehouse,
            "select message_id, parent_id from intermediate.int_mail_messages_threaded where parent_id is not null",
        )
        # a second copy of a Message-ID (stored as <id>#dupN) is one message to the stdlib read
        if "#" not in mid
    }
    assert len(got) == len(expected)
    assert got == expected, f"{source.name}: parents"
