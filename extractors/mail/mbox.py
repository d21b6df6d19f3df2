"""Streaming mbox reader: plain or compressed, mboxo or mboxrd, LF or CRLF, bounded memory.

A `From ` line separates messages only when it opens the file, or when it follows a blank line and
looks like a real separator:

- `From <sender> <date>` where the date is asctime-like (`Mon Jan  1 00:00:00 2001`, the usual
  form) or RFC 2822-like (`Sun, 13 Jun 1999 02:28:09 -0400`, early Mailman); the sender may hold
  spaces and UTF-8 (`jdoe at example.com`, `christian at “example.org”`);
- or any other `From <token>...` line (patchew's bare `From A`, damaged lines) that is directly
  followed by a header field line.

Mailman's pipermail archives do not always leave a blank line before the next separator (a
scrubbed attachment's `Url : ...` line, a body without a final newline); there a `From <sender>
<date>` line directly followed by a header field line is a separator too.

Every other line starting with `From ` is body text (an unescaped mboxo body line).

Escaping: `escaping="mboxrd"` (the default) strips one `>` from every line matching `^>+From `,
which is exactly right for mboxrd (public-inbox, lore, b4 exports) and also right for mboxo files
whose writer escaped `From ` as `>From `; the only loss is a body line that genuinely began with
`>From ` in an mboxo archive, which is rare and harmless for statistics. `"mboxo"` strips the `>`
from `^>From ` only; `"none"` leaves bodies untouched.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import BinaryIO

from extractors.mail.compression import DECOMPRESS_ERRORS, DecompressionBomb, open_archive
from extractors.mail.headers import FIELD_LINE
from extractors.mail.limits import DEFAULT_LIMITS, MailLimits
from extractors.mail.raw import RawMessage, SourceProblem

_native: ModuleType | None
try:  # compiled from _mbox.c at install; separators_py below is the reference
    from extractors.mail import _mbox as _native
except ImportError:  # a source tree nobody built: the same results, slower
    _native = None

CHUNK_SIZE = 1 << 20
# A message's bytes stay in one buffer (sliced out with one copy) up to this size; beyond, the
# scanned part moves to a list of pieces, so growing the buffer never recopies a long message.
_SPILL_BYTES = 4 << 20
ESCAPINGS = ("mboxrd", "mboxo", "none")

_MON = rb"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
_DAY = rb"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)"
STRICT_SEPARATOR = re.compile(
    rb"From (?:\S[^\n]*?)?[ \t]+(?:"
    + _DAY
    + rb",?[ \t]+)?(?:"
    # asctime: Jan  1 00:00:00 [zone] 2001
    + _MON
    + rb"[ \t]+\d{1,2}[ \t]+\d{1,2}:\d{2}(?::\d{2})?(?:[ \t]+\S+)?[ \t]+\d{4}"
    # RFC 2822: 13 Jun 1999 02:28
    rb"|\d{1,2}[ \t]+" + _MON + rb"[ \t]+\d{2,4}[ \t]+\d{1,2}:\d{2})"
)
LOOSE_SEPARATOR = re.compile(rb"From \S")
# The regex engine finds this literal about twice as fast as bytes.find does.
_FROM = re.compile(b"From ")
_RD_ESCAPED = re.compile(rb"\n>(>*From )")
_O_ESCAPED = re.compile(rb"\n>(From )")


Separators = tuple[list[tuple[int, int, bool]], int, bool]


def separators_py(buf: bytes, scan: int, cur_start: int, eof: bool) -> Separators:
    """The separators in `buf` after `scan`: ([(i, nl, escaped), ...], next scan, escaped).

    `i` is the newline before a separator's `From `, `nl` the end of its line; `escaped` says the
    message ending at `i` holds a `>From ` (a candidate for unescaping), the last one the message
    still open at the end. One scan finds both separator candidates ("\\nFrom ") and escaped lines
    (">From "), so a message is unescaped only when it holds one, without a second pass over its
    bytes. The scan stops where a decision needs bytes not read yet (`eof` false). _mbox.c
    computes the same in C."""
    if not 0 <= cur_start <= scan <= len(buf):
        raise ValueError(
            f"separators: need 0 <= cur_start <= scan <= len(buf), got cur_start={cur_start} "
            f"scan={scan} len={len(buf)}"
        )
    found: list[tuple[int, int, bool]] = []
    escaped = False
    while True:
        hit = _FROM.search(buf, scan + 1)
        if hit is None:
            return found, max(cur_start, len(buf) - 6), escaped
        f = hit.start()
        i = f - 1  # the "\n" of "\nFrom " for a separator candidate; always >= scan >= cur_start
        if buf[i] != 0x0A:
            if buf[i] == 0x3E:
                escaped = True
            scan = f
            continue
        # i == 0 only right after compaction, where the byte before was a line end.
        blank = i == 0 or buf[i - 1] == 0x0A or (buf[i - 1] == 0x0D and i >= 2 and buf[i - 2] == 0x0A)
        nl = buf.find(b"\n", i + 1)
        if nl < 0:
            if not eof:
                return found, i, escaped
            nl = len(buf)
        line = buf[i + 1 : nl].rstrip(b"\r")
        if blank and STRICT_SEPARATOR.match(line):
            ok = True
        elif LOOSE_SEPARATOR.match(line) and (blank or STRICT_SEPARATOR.match(line)):
            nl2 = buf.find(b"\n", nl + 1)
            if nl2 < 0 and not eof:
                return found, i, escaped
            ok = FIELD_LINE.match(buf, nl + 1, nl2 if nl2 >= 0 else len(buf)) is not None
        else:
            ok = False
        if not ok:
            scan = i + 1
            continue
        found.append((i, nl, escaped))
        escaped = False
        cur_start = min(nl + 1, len(buf))
        scan = cur_start


def _separators_c(buf: bytes, scan: int, cur_start: int, eof: bool) -> Separators:
    return _native.separators(  # type: ignore[union-attr, no-any-return]
        buf, scan, cur_start, eof, STRICT_SEPARATOR.match, LOOSE_SEPARATOR.match, FIELD_LINE.match
    )


_separators = _separators_c if _native is not None else separators_py


def unescape(data: bytes, escaping: str = "mboxrd") -> bytes:
    if escaping == "none" or b">From " not in data:
        return data
    pattern = _RD_ESCAPED if escaping == "mboxrd" else _O_ESCAPED
    out = pattern.sub(rb"\n\1", data)
    if out.startswith(b">") and pattern.match(b"\n" + out[:80]):
        out = out[1:]
    return out


def _strip_blank_tail(data: bytes) -> bytes:
    # The blank line that preceded the next separator (or ends the file) belongs to the mbox format.
    if data.endswith(b"\n\n"):
        return data[:-1]
    if data.endswith(b"\r\n\r\n"):
        return data[:-2]
    return data


def _too_large(name: str, loc: int, limits: MailLimits, size: int | None = None) -> SourceProblem:
    what = f"{size} bytes" if size is not None else "more bytes"
    return SourceProblem(
        f"{name}:{loc}",
        "message_too_large",
        f"the message holds {what} than the {limits.max_message_bytes} bytes option max_message_bytes "
        "allows; it was skipped",
    )


def iter_mbox(
    path: str | Path,
    escaping: str = "mboxrd",
    chunk_size: int = CHUNK_SIZE,
    limits: MailLimits = DEFAULT_LIMITS,
) -> Iterator[RawMessage | SourceProblem]:
    """Yield each message of an mbox file, then a SourceProblem if the file is damaged.

    `location` is "path:offset" with the byte offset of the message's From_ line in the
    decompressed stream (0 for a file holding one message without a From_ line). A message past
    `limits.max_message_bytes` is a SourceProblem `message_too_large` instead; a compressed file
    expanding past `limits.expansion_cap` ends with a SourceProblem `decompression_bomb`.
    """
    if escaping not in ESCAPINGS:
        raise ValueError(f"escaping must be one of {ESCAPINGS}, not {escaping!r}")
    name = str(path)
    try:
        stream = open_archive(Path(path), limits.expansion_cap)
    except OSError as exc:
        yield SourceProblem(f"{name}:0", "unreadable_file", f"{type(exc).__name__}: {exc}")
        return
    with stream:
        yield from iter_mbox_stream(stream, name, escaping, chunk_size, 0, limits)


def iter_mbox_stream(
    stream: BinaryIO,
    name: str,
    escaping: str = "mboxrd",
    chunk_size: int = CHUNK_SIZE,
    base: int = 0,
    limits: MailLimits = DEFAULT_LIMITS,
) -> Iterator[RawMessage | SourceProblem]:
    """iter_mbox over an open stream of decompressed bytes that starts at offset `base` of `name`.

    Memory: `buf` holds the current message from its start, plus one chunk, while that is under
    _SPILL_BYTES; a longer message's scanned bytes move to `parts` (joined once, when it ends), so
    each byte is copied a bounded number of times whatever the message's size. Past
    `limits.max_message_bytes` the message's bytes are dropped as they are scanned
    (`skipping`) until the next separator."""
    cap = limits.max_message_bytes
    buf = b""  # bytes, not bytearray: messages are then sliced out with a single copy
    # base: stream offset of buf[0]
    parts: list[bytes] = []  # the current message's bytes before buf (a long message only)
    held = 0  # their total size
    skipping = False  # the current message passed the cap: it was reported, its bytes are dropped
    started = False
    cur_start = 0  # buf index where the current message's bytes begin
    cur_loc = 0  # stream offset of the current message's From_ line
    cur_from: bytes | None = None
    scan = 0  # buf index from which to look for the next "\nFrom "
    eof = False
    escaped = False  # the current message holds ">From " (a candidate for unescaping)
    failure: BaseException | None = None

    while not eof:
        try:
            chunk = stream.read(chunk_size)
        except DECOMPRESS_ERRORS as exc:
            failure = exc
            break
        if chunk:
            buf += chunk
        else:
            eof = True

        if not started:
            k = 0
            n = len(buf)
            while k < n and buf[k] in b" \t\r\n":
                k += 1
            if k == n:
                base += n  # leading blank lines: nothing to keep
                buf = b""
                continue
            if buf.startswith(b"From ", k):
                nl = buf.find(b"\n", k)
                if nl < 0 and not eof and n - k <= cap:
                    continue
                if nl < 0:
                    nl = n
                if nl - k > cap:  # a From_ line longer than a message may be: drop it
                    yield _too_large(name, base + k, limits)
                    skipping = True
                else:
                    cur_from = buf[k:nl].rstrip(b"\r")
                cur_start = min(nl + 1, n)
            else:
                cur_start = k
            cur_loc = base + k
            scan = cur_start
            started = True

        found, scan, tail_escaped = _separators(buf, scan, cur_start, eof)
        for i, nl, message_escaped in found:
            end = i - 1 if i > 0 and buf[i - 1] == 0x0D else i
            if skipping:
                skipping = False
            elif held + end - cur_start > cap:
                yield _too_large(name, cur_loc, limits, held + end - cur_start)
            else:
                if parts:
                    data = b"".join([*parts, memoryview(buf)[cur_start : max(end, cur_start)]])
                else:
                    data = buf[cur_start : max(end, cur_start)]
                if escaped or message_escaped:
                    data = unescape(data, escaping)
                yield RawMessage(data, f"{name}:{cur_loc}", cur_from)
            parts, held = [], 0
            escaped = False
            cur_from = buf[i + 1 : nl].rstrip(b"\r")
            cur_loc = base + i + 1
            cur_start = min(nl + 1, len(buf))
        escaped = escaped or tail_escaped
        # Drop what has been yielded: memory holds one message plus one chunk.
        if cur_start > 0 and started:
            buf = buf[cur_start:]
            base += cur_start
            scan -= cur_start
            cur_start = 0
        if not started or eof:
            continue
        # The message is at least this long (the bytes before `scan` are its own; the last two
        # may be a line end the message does not keep): past the cap, report it and skip it.
        # So is one whose undecided last line (a `From ` line not ended yet) outgrows the cap.
        if not skipping and (held + scan - 2 > cap or len(buf) - scan > cap):
            yield _too_large(name, cur_loc, limits)
            skipping, parts, held = True, [], 0
        if skipping and len(buf) - scan > cap:
            # one undecided From_ line longer than a message may be is body text, not a separator
            scan = len(buf) - 8
        # Keep 8 bytes before `scan` in buf: the separator search looks up to 3 bytes back.
        keep = scan - 8
        if keep > 0 and (skipping or len(buf) >= _SPILL_BYTES):
            if not skipping:
                parts.append(buf[:keep])
                held += keep
            buf = buf[keep:]
            base += keep
            scan -= keep

    if failure is not None:
        reason = "decompression_bomb" if isinstance(failure, DecompressionBomb) else "truncated_archive"
        detail = f"{type(failure).__name__}: {failure}"
        if started:
            detail += f"; the message at offset {cur_loc} is incomplete and was skipped"
        yield SourceProblem(f"{name}:{base + len(buf)}", reason, detail)
        return
    if started and not skipping:
        tail = memoryview(buf)[cur_start:]
        data = _strip_blank_tail(b"".join([*parts, tail]) if parts else buf[cur_start:])
        if len(data) > cap:
            yield _too_large(name, cur_loc, limits, len(data))
        elif data or cur_from is not None:
            yield RawMessage(unescape(data, escaping) if escaped else data, f"{name}:{cur_loc}", cur_from)
