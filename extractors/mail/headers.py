"""Splitting a message into header block and body, and pulling out the headers we use.

The usual spellings of the header names are found in one walk over the header lines
(_scan.header_fields in C; common_fields, with byte regexes anchored on a literal newline, is its
reference and the fallback where the module was not built); a message missing one of the essential headers gets a second, case-insensitive scan so an
odd spelling (`FROM:`, `Message-id:`) is never missed.
"""

from __future__ import annotations

import re
from types import ModuleType

_native: ModuleType | None
try:  # compiled from _scan.c at install; common_fields below is the reference
    from extractors.mail import _scan as _native
except ImportError:  # a source tree nobody built: the same results, slower
    _native = None

# A header field line: printable ASCII name without ':' or space, then ':' (RFC 5322 ftext).
FIELD_LINE = re.compile(rb"[\x21-\x39\x3b-\x7e]+[ \t]*:")

_VALUE = rb"[ \t]*:[ \t]*([^\n]*(?:\n[ \t][^\n]*)*)"
_COMMON = re.compile(
    rb"\n(From|Date|Subject|Message-I[Dd]|In-Reply-To|References|Content-Type|"
    rb"Content-Transfer-Encoding|Reply-[Tt]o|X-Original-From)" + _VALUE
)
# Only the first Received header is used; matching all of them (a dozen folded lines per message
# on kernel lists) would dominate header scanning.
_RECEIVED = re.compile(rb"\nReceived" + _VALUE)
_COMMON_FIRST = re.compile(_COMMON.pattern[2:])
_RECEIVED_FIRST = re.compile(_RECEIVED.pattern[2:])
_ANY = re.compile(rb"\n([\x21-\x39\x3b-\x7e]+)" + _VALUE)
_CANON = {
    b"From": "from",
    b"Date": "date",
    b"Subject": "subject",
    b"Message-ID": "message-id",
    b"Message-Id": "message-id",
    b"In-Reply-To": "in-reply-to",
    b"References": "references",
    b"Content-Type": "content-type",
    b"Content-Transfer-Encoding": "content-transfer-encoding",
    b"Received": "received",
    # where a list rewrote From for DMARC, the real sender (see parse.py)
    b"Reply-To": "reply-to",
    b"Reply-to": "reply-to",
    b"X-Original-From": "x-original-from",
}
WANTED = frozenset(_CANON.values())
ESSENTIAL = ("from", "date", "subject", "message-id")


def extract_headers(head: bytes, end: int | None = None) -> dict[str, bytes]:
    """First occurrence of each wanted header, unfolded, as raw bytes. With `end`, the header block
    is `head[:end]` (a whole message need not be cut into header and body first)."""
    if end is None:
        end = len(head)
    found = _native.header_fields(head, end) if _native is not None else common_fields(head, end)
    if "from" not in found or "date" not in found or "subject" not in found or "message-id" not in found:
        for m in _ANY.finditer(b"\n" + head[:end]):
            key = m.group(1).decode("ascii").lower()
            if key in WANTED and key not in found:
                found[key] = m.group(2).replace(b"\n", b"")
    return found


def common_fields(head: bytes, end: int) -> dict[str, bytes]:
    """The headers of _CANON by their usual spellings, first occurrence, unfolded: what
    _scan.header_fields computes in C."""
    pairs = _COMMON.findall(head, 0, end)
    # The first line has no newline before it: match it on its own rather than copying the block.
    m = _COMMON_FIRST.match(head, 0, end)
    if m is not None:
        pairs.insert(0, m.groups())
    # the first occurrence wins: assigned last
    found = {_CANON[name]: value for name, value in reversed(pairs)}
    r = _RECEIVED_FIRST.match(head, 0, end) or _RECEIVED.search(head, 0, end)
    if r is not None:
        found["received"] = r.group(1)
    for key, value in found.items():
        if b"\n" in value:
            found[key] = value.replace(b"\n", b"")
    return found


_ANGLE_ID = re.compile(rb"<([^<>\s]+)>")


def message_ids(value: bytes | None) -> list[str]:
    """Message-IDs in a References/In-Reply-To value, without brackets, in order."""
    if not value:
        return []
    return [m.decode("utf-8", "replace") for m in _ANGLE_ID.findall(value)]


def first_message_id(value: bytes | None) -> str | None:
    """The Message-ID a header names: the first `<...>`, else a lone bare token containing '@'."""
    if not value:
        return None
    m = _ANGLE_ID.search(value)
    if m:
        return m.group(1).decode("utf-8", "replace")
    tokens = value.split()
    if len(tokens) == 1 and b"@" in tokens[0]:
        return tokens[0].strip(b"<>").decode("utf-8", "replace")
    return None


_CHARSET = re.compile(rb"""charset\s*=\s*["']?([^"';\s]+)""", re.I)


def content_charset(content_type: bytes | None) -> str | None:
    if not content_type:
        return None
    m = _CHARSET.search(content_type)
    return m.group(1).decode("ascii", "replace").lower() if m else None
