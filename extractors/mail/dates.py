"""Lenient Date parsing: real archives hold two-digit and Y2K-bug years, odd zones and garbage.

Every parser here returns a naive UTC datetime or None; none of them raises.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from email.utils import parsedate_tz
from functools import lru_cache
from types import ModuleType

_native: ModuleType | None
try:  # compiled from _scan.c at install; canonical_date_regex below is the reference
    from extractors.mail import _scan as _native
except ImportError:  # a source tree nobody built: the same results, slower
    _native = None

_MONTHS = {
    m: i
    for i, m in enumerate(
        (b"jan", b"feb", b"mar", b"apr", b"may", b"jun", b"jul", b"aug", b"sep", b"oct", b"nov", b"dec"), 1
    )
}

# Named zones seen in real archives (RFC 822 ones plus common regional abbreviations), in minutes.
_ZONES: dict[bytes, int] = {
    b"UT": 0, b"UTC": 0, b"GMT": 0, b"Z": 0, b"WET": 0, b"BST": 60, b"IST": 330,
    b"EST": -300, b"EDT": -240, b"CST": -360, b"CDT": -300, b"MST": -420, b"MDT": -360,
    b"PST": -480, b"PDT": -420, b"AKST": -540, b"AKDT": -480, b"HST": -600,
    b"CET": 60, b"CEST": 120, b"MET": 60, b"MEST": 120, b"MEZ": 60, b"MESZ": 120,
    b"EET": 120, b"EEST": 180, b"WEST": 60, b"MSK": 180, b"JST": 540, b"KST": 540,
    b"AEST": 600, b"AEDT": 660, b"ACST": 570, b"AWST": 480, b"NZST": 720, b"NZDT": 780,
}  # fmt: skip

# "Mon, 29 Apr 2019 11:24:03 +1000", "29 Apr 19 11:24 PDT", "Fri, 16 Mar 101 16:12:03 -0800 (PST)"
_RFC_DATE = re.compile(
    rb"(?:[A-Za-z]+,?\s*)?(\d{1,2})[\s-]+([A-Za-z]{3})[A-Za-z]*\.?[\s-]+(\d{1,4}),?\s+"
    rb"(\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.\d+)?)?\s*([+-]\d{1,4}|[A-Za-z]{1,5}(?![A-Za-z]))?"
    rb"(?:\s*([+-]\d{4}))?"
)
# asctime as in mbox From_ lines: "Mon Jan  1 00:00:00 2001", optionally with a zone before the year
_ASCTIME = re.compile(
    rb"(?:[A-Za-z]{3},?\s+)?([A-Za-z]{3})\s+(\d{1,2})\s+(\d{1,2}):(\d{2})(?::(\d{2}))?"
    rb"(?:\s+([+-]\d{4}|[A-Za-z]{1,5}))?\s+(\d{4})"
)
# ISO 8601 as some tools write it: "2019-04-29T11:24:03+10:00", "2019-04-29 11:24:03"
_ISO = re.compile(
    rb"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?\s*(Z|[+-]\d{2}:?\d{2})?"
)

MIN_PLAUSIBLE = datetime(1985, 1, 1)
FUTURE_SLACK = timedelta(days=2)
# git format-patch writes this fixed date into every From_ line; it says nothing about the message.
GIT_FORMAT_PATCH_DATE = datetime(2001, 9, 17)


def _year(raw: bytes) -> int:
    """Two-digit years per RFC 5322 (00-49 -> 20xx); Y2K-bug years (101, 0102) counted from 1900."""
    y = int(raw)
    if len(raw) == 4 and y >= 1000:
        return y
    if y < 50 and len(raw) <= 2:
        return 2000 + y
    return 1900 + y


def _zone_minutes(raw: bytes | None) -> int:
    if not raw:
        return 0  # a missing zone is read as UTC: the best guess without other evidence
    if raw[:1] in b"+-":
        digits = raw[1:]
        if len(digits) <= 2:
            mins = int(digits) * 60
        else:
            digits = digits.rjust(4, b"0")
            mins = int(digits[:2]) * 60 + int(digits[2:])
        if mins > 14 * 60 or (len(digits) == 4 and int(digits[2:]) >= 60):
            return 0  # an impossible offset is noise, not information
        return -mins if raw[:1] == b"-" else mins
    return _ZONES.get(raw.upper(), 0)


_OFFSETS: dict[int, timedelta] = {}


def _build(y: int, mo: int, d: int, h: int, mi: int, s: int, zone: int) -> datetime | None:
    if s == 60:
        s = 59  # leap second
    try:
        if zone == 0:
            return datetime(y, mo, d, h, mi, s)
        offset = _OFFSETS.get(zone)
        if offset is None:
            offset = _OFFSETS[zone] = timedelta(minutes=zone)
        return datetime(y, mo, d, h, mi, s) - offset
    except (ValueError, OverflowError):  # fuzzed years such as 99999999999999999999
        return None


# The canonical shape of nearly every modern Date header, parsed without the general machinery.
_FAST = re.compile(
    rb"[ \t]*(?:[A-Z][a-z]{2},[ \t]*)?(\d{1,2}) ([A-Z][a-z]{2}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})"
)


def canonical_date_regex(raw: bytes) -> datetime | None:
    """The canonical shape (_FAST) as naive UTC, else None: what _scan.canonical_date computes."""
    f = _FAST.match(raw)
    if f is None:
        return None
    day, month, year, hh, mm, ss, sign, zh_raw, zm_raw = f.groups()
    mon = _MONTHS.get(month.lower())
    zh, zm = int(zh_raw), int(zm_raw)
    if mon is None or zh > 14 or zm >= 60:
        return None
    zone = zh * 60 + zm
    return _build(_year(year), mon, int(day), int(hh), int(mm), int(ss), -zone if sign == b"-" else zone)


_canonical_date = _native.canonical_date if _native is not None else canonical_date_regex


def parse_date(value: bytes | str | None) -> datetime | None:
    """Parse a Date-like header value leniently into naive UTC; None when nothing date-like is found."""
    if not value:
        return None
    raw = value.encode("utf-8", "replace") if isinstance(value, str) else value
    dt = _canonical_date(raw)
    if dt is not None:
        return dt
    m = _RFC_DATE.search(raw)
    if m:
        mon = _MONTHS.get(m.group(2).lower())
        if mon is not None:
            zone = _zone_minutes(m.group(8) or m.group(7))
            dt = _build(
                _year(m.group(3)),
                mon,
                int(m.group(1)),
                int(m.group(4)),
                int(m.group(5)),
                int(m.group(6) or 0),
                zone,
            )
            if dt is not None:
                return dt
    m = _ASCTIME.search(raw)
    if m:
        mon = _MONTHS.get(m.group(1).lower())
        if mon is not None:
            dt = _build(
                int(m.group(7)),
                mon,
                int(m.group(2)),
                int(m.group(3)),
                int(m.group(4)),
                int(m.group(5) or 0),
                _zone_minutes(m.group(6)),
            )
            if dt is not None:
                return dt
    m = _ISO.search(raw)
    if m:
        z = m.group(7)
        zone = 0 if not z or z == b"Z" else _zone_minutes(z.replace(b":", b""))
        dt = _build(*(int(g or 0) for g in m.group(1, 2, 3, 4, 5, 6)), zone)
        if dt is not None:
            return dt
    # Last resort: the stdlib's own tolerant parser (handles a few shapes the regexes do not).
    try:
        t = parsedate_tz(raw.decode("ascii", "replace"))
    except (TypeError, ValueError, IndexError):
        return None
    if not t:
        return None
    dt = _build(t[0], t[1], t[2], t[3], t[4], t[5], (t[9] or 0) // 60)
    return dt


def received_date(value: bytes | None) -> datetime | None:
    """The timestamp of a Received: header is what follows its last ';'."""
    if not value:
        return None
    _, sep, tail = value.rpartition(b";")
    return parse_date(tail if sep else value)


def is_plausible(dt: datetime | None, reference: datetime | None, now: datetime) -> bool:
    """Not before 1985, and not more than two days after the archive got it (or after now)."""
    if dt is None or dt < MIN_PLAUSIBLE:
        return False
    if reference is not None and dt > reference + FUTURE_SLACK:
        return False
    return dt <= now + FUTURE_SLACK


@lru_cache(maxsize=1024)
def from_line_date(from_line: bytes | None) -> datetime | None:
    """The date of an mbox From_ line, or None when it is a placeholder (1970, git's 2001-09-17)."""
    if not from_line:
        return None
    dt = parse_date(from_line)
    if dt is None or dt < MIN_PLAUSIBLE or dt == GIT_FORMAT_PATCH_DATE:
        return None
    return dt
