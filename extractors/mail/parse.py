"""One message's bytes -> the columns of raw.mail_messages / raw.mail_trailers, or a rejection.

Rules live in METRICS.md (section Mail); what the guide leaves open is decided here:
- a reply (`Re:`/`Aw:`/... subject) is never a patch submission, even when it carries a diff;
  a forwarded (`Fwd:`) patch still counts, as it is a re-post of the patch;
- the `From_` line date is trusted only when plausible: public-inbox writes 1970 and git
  format-patch writes `Mon Sep 17 00:00:00 2001` into every From_ line, so both are ignored;
- "more than two days after it was archived" compares with `archived_at` when the source knows
  it, else the From_ line date, else the first (most recent) `Received:` header; dates more than
  two days in the future are always implausible;
- the first `Received:` header is the top one (the archive's own receipt), as in METRICS.md;
- a Message-ID longer than 998 bytes (RFC 5322's line limit) is garbage and treated as missing;
- From, Reply-To and X-Original-From are stored as written (parse_sender: the address wherever
  one is present, else the raw value lower-cased); which one is the sender is decided in staging;
- NUL bytes are dropped from headers unless they make up more than a tenth of them, in which
  case the message is quarantined as `nul_garbage`.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from core.addresses import parse_sender
from core.patchid import git_patch_id
from extractors.mail.body import scan_body
from extractors.mail.dates import from_line_date, is_plausible, parse_date, received_date
from extractors.mail.headers import (
    FIELD_LINE,
    content_charset,
    extract_headers,
    first_message_id,
    message_ids,
)
from extractors.mail.mime import extract_text
from extractors.mail.patches import needs_mime
from extractors.mail.raw import RawMessage
from extractors.mail.subjects import SubjectInfo, parse_subject
from extractors.mail.text import Decoder, collapse

MAX_MESSAGE_ID = 998
# The regex engine finds a two-byte literal about twice as fast as bytes.find does.
_BLANK_LINE = re.compile(b"\n\n")


@dataclass(slots=True)
class ParsedMessage:
    row: dict[str, Any]  # raw.mail_messages columns except project and list_name
    trailers: list[dict[str, Any]]  # raw.mail_trailers columns except project, list_name, message_id
    issues: list[tuple[str, str]] = field(default_factory=list)  # (check_name, detail)


@dataclass(frozen=True, slots=True)
class Rejected:
    location: str
    reason: str  # empty | no_headers | nul_garbage | unparsable
    detail: str


# Senders write many messages: parse each distinct From value once (parse_address is pure).
_address = lru_cache(maxsize=4096)(parse_sender)


@lru_cache(maxsize=4096)
def _subject_info(subject: str | None) -> SubjectInfo:
    # Replies repeat their thread's subject: parse each distinct subject once (read-only here).
    return parse_subject(subject)


def synthetic_message_id(head: bytes) -> str:
    return f"synthetic-{hashlib.sha1(head).hexdigest()}@commstats"


def utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def parse_message(raw: RawMessage, now: datetime | None = None) -> ParsedMessage | Rejected:
    """Parse one message; never raises (anything unexpected becomes Rejected('unparsable'))."""
    try:
        return _parse(raw, now or utc_now())
    except Exception as exc:  # one bad message must never stop the rest of the archive
        return Rejected(raw.location, "unparsable", f"{type(exc).__name__}: {exc}"[:500])


def _parse(raw: RawMessage, now: datetime) -> ParsedMessage | Rejected:
    data = raw.data
    if b"\r" in data:
        data = data.replace(b"\r\n", b"\n")
    data = data.lstrip(b"\n")
    if not data or data.isspace():
        return Rejected(raw.location, "empty", "the message holds no bytes")
    # Neither header block nor body is copied out: the scans run on `data` between offsets.
    blank = _BLANK_LINE.search(data)
    if blank is None:
        head_end = body_at = len(data)
    else:
        head_end, body_at = blank.start() + 1, blank.end()
    head = data  # the header block is head[:head_end]
    if data.find(b"\x00", 0, head_end) >= 0:
        head = data[:head_end]
        nuls = head.count(b"\x00")
        if nuls * 10 > len(head):
            return Rejected(raw.location, "nul_garbage", f"{nuls} NUL bytes in a {len(head)}-byte header")
        head = head.replace(b"\x00", b"")
        head_end = len(head)
    if FIELD_LINE.match(head, 0, head_end) is None:
        shown = head[: min(60, head_end)]
        return Rejected(raw.location, "no_headers", f"first line is not a header field: {shown!r}")

    h = extract_headers(head, head_end)
    dec = Decoder()
    issues: list[tuple[str, str]] = []

    mid = first_message_id(h.get("message-id"))
    if mid is not None and len(mid) > MAX_MESSAGE_ID:
        issues.append(("missing_message_id", f"Message-ID of {len(mid)} bytes ignored"))
        mid = None
    elif mid is None:
        issues.append(("missing_message_id", "no usable Message-ID header"))
    if mid is None:
        mid = synthetic_message_id(head[:head_end])

    from_name, from_address = _address(dec.header(h.get("from")))
    # Lists that rewrite From for DMARC put the real sender here; staging picks the effective one
    reply_to = h.get("reply-to")
    reply_to_name, reply_to_address = _address(dec.header(reply_to)) if reply_to else (None, None)
    original = h.get("x-original-from")
    original_name, original_address = _address(dec.header(original)) if original else (None, None)
    subject_text = dec.header(h.get("subject"))
    subject = collapse(subject_text) if subject_text is not None else None

    # ---- date, with fallbacks
    date_raw = h.get("date")
    header_dt = parse_date(date_raw)
    line_dt = from_line_date(raw.from_line)
    recv_dt = received_date(h.get("received"))
    reference = raw.archived_at or line_dt or recv_dt
    if is_plausible(header_dt, reference, now):
        sent_at, date_source = header_dt, "header"
    else:
        shown = date_raw.decode("utf-8", "replace")[:80] if date_raw is not None else ""
        why = (
            "no Date header"
            if date_raw is None
            else f"unparsable Date {shown!r}"
            if header_dt is None
            else f"implausible Date {shown!r}"
        )
        if line_dt is not None and is_plausible(line_dt, raw.archived_at, now):
            sent_at, date_source = line_dt, "from_line"
            issues.append(("date_from_line", why))
        elif recv_dt is not None and is_plausible(recv_dt, raw.archived_at, now):
            sent_at, date_source = recv_dt, "received"
            issues.append(("date_received", why))
        else:
            sent_at, date_source = None, "none"
            issues.append(("date_missing", why))

    # ---- body: decode MIME only when the message needs it
    ctype, encoding = h.get("content-type"), h.get("content-transfer-encoding")
    charset = content_charset(ctype)
    attachment = False
    if body_at < len(data):
        text, text_at = data, body_at - 1  # data[body_at - 1] is the newline before the body
    else:
        text, text_at = b"\n", 0
    if needs_mime(ctype, encoding):
        try:
            decoded, attachment, part_charset = extract_text(data, ctype, encoding, data[body_at:])
            text, text_at = b"\n" + decoded, 0
            charset = part_charset or charset
        except Exception as exc:  # broken MIME: fall back to the raw body
            issues.append(("bad_charset", f"MIME decoding failed: {type(exc).__name__}"))

    info = _subject_info(subject)

    def decode_body(b: bytes) -> str:
        return dec.bytes_to_str(b, charset)

    diff, found, pull = scan_body(text, text_at, decode_body, not info.is_reply)
    diff = diff or attachment
    is_cover = info.is_cover_letter
    is_patch = diff and not info.is_reply and not is_cover
    patch_id = git_patch_id(text, text_at + 1) if is_patch else None
    trailers = [
        {"kind": kind, "name": name, "address": address, "raw_value": value, "position": i}
        for i, (kind, name, address, value) in enumerate(found)
    ]
    if dec.bad_charset:
        issues.append(("bad_charset", dec.detail))

    version = info.version
    if version is None and (is_patch or is_cover):
        version = 1
    date_header = dec.header(date_raw)
    row = {
        "message_id": mid,
        "from_name": from_name,
        "from_address": from_address,
        "reply_to_name": reply_to_name,
        "reply_to_address": reply_to_address,
        "original_from_name": original_name,
        "original_from_address": original_address,
        "sent_at": sent_at,
        "date_source": date_source,
        "date_header": date_header[:200] if date_header is not None else None,
        "subject": subject,
        "in_reply_to": first_message_id(h.get("in-reply-to")),
        "references": message_ids(h.get("references")),
        "is_patch": is_patch,
        "is_cover_letter": is_cover,
        "is_pull_request": pull,
        "is_rfc": info.is_rfc,
        "is_resend": info.is_resend,
        "patch_version": version,
        "patch_counter": info.counter,
        "patch_total": info.total,
        "patch_id": patch_id,
        "subject_normalized": info.normalized,
        "body_bytes": len(data) - body_at,
        "source_location": raw.location,
    }
    return ParsedMessage(row, trailers, issues)
