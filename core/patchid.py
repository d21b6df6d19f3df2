"""git's stable patch-id (`git patch-id --stable`) of a patch in mail or in a commit's diff.

Shared by the mail parser and the git extractor, which must give one patch the same id.
"""

from __future__ import annotations

import hashlib
import re
from types import ModuleType

_native: ModuleType | None
try:  # the line walk compiled from _patchid.c at install; the Python below is the reference
    from core import _patchid as _native
except ImportError:  # a source tree nobody built: the same results, slower
    _native = None

# ---- git patch-id --stable ------------------------------------------------------------------
# Reimplements get_one_patchid() of git's builtin/patch-id.c: per file, SHA-1 over the diff lines
# with whitespace removed (git's isspace: space, \t, \n, \r) and hunk headers (line numbers) and
# `index` lines left out; --stable sums the per-file digests as 160-bit little-endian integers.
# git_patch_id runs the walk compiled from _patchid.c; _walk_patch_id (the same walk, with a
# counted fast path per hunk) and _fast_patch_id (whole files by regex) are its Python reference,
# used where the module was not built; tests hold all three to `git patch-id --stable`.

_WS_BYTES = b" \t\n\r"
_HEX40 = re.compile(rb"[0-9a-fA-F]{40}")
_HUNK_RUN = re.compile(rb"(?:[ +\-\\][^\n]*(?:\n|$))*")
_BACKSLASH_LINE = re.compile(rb"(?:^|(?<=\n))\\ [^\n]{10,}\n")
_LONG_BACKSLASH = re.compile(rb"\n\\ [^\n]{10,}(?=\n)")
_MASK = (1 << 160) - 1
# First bytes of a line that may start "commit <oid>", "From <oid>" or a bare oid.
_HEX_OR_PREFIX = frozenset(b"0123456789abcdefABCDEFcF"[i : i + 1] for i in range(24))
_DIGITS = re.compile(rb"\d*")
# C's atoi as git calls it: leading whitespace, a sign, digits
_ATOI = re.compile(rb"[ \t\n\v\f\r]*([+-]?\d+)")
_LONG_MAX = (1 << 63) - 1


def _atoi(line: bytes, pos: int) -> int:
    m = _ATOI.match(line, pos)
    if m is None:
        return 0
    v = max(min(int(m.group(1)), _LONG_MAX), -_LONG_MAX - 1)  # glibc's strtol saturates
    return ((v & 0xFFFFFFFF) ^ 0x80000000) - 0x80000000  # then the long is cut to an int


def _scan_hunk_header(line: bytes, before: int, after: int) -> tuple[int, int]:
    """git's scan_hunk_header(): the counts of an `@@ -a,b +c,d` line. Like git, it sets what it
    reaches before the line turns out malformed and leaves the rest as it was."""
    q = 4
    n = _DIGITS.match(line, q).end() - q  # type: ignore[union-attr]
    if line[q + n : q + n + 1] == b",":
        q += n + 1
        before = _atoi(line, q)
        n = _DIGITS.match(line, q).end() - q  # type: ignore[union-attr]
    else:
        before = 1
    if n == 0 or line[q + n : q + n + 2] != b" +":
        return before, after
    r = q + n + 2
    n = _DIGITS.match(line, r).end() - r  # type: ignore[union-attr]
    after = _atoi(line, r + n + 1) if line[r + n : r + n + 1] == b"," else 1
    return before, after


def _fast_hunk(text: bytes, pos: int, before: int, after: int) -> int:
    """End of a well-formed hunk starting at `pos`, or -1 when the line-by-line walk is needed.

    The run of `[ +-\\]` lines is counted in C; when a prefix of it consumes exactly `before` old
    and `after` new lines, the per-line walk would hash exactly that prefix."""
    end = _HUNK_RUN.match(text, pos).end()  # type: ignore[union-attr]
    nl_run = b"\n" + text[pos:end]
    backslashes = nl_run.count(b"\n\\")
    if backslashes and backslashes != len(_LONG_BACKSLASH.findall(nl_run)):
        return -1  # a short `\` line ends the patch in git: leave it to the slow path
    sp = nl_run.count(b"\n ")
    mn = nl_run.count(b"\n-")
    pl = nl_run.count(b"\n+")
    cut = end
    for _ in range(6):
        if sp + mn == before and sp + pl == after:
            return cut
        if sp + mn < before or sp + pl < after or cut <= pos:
            return -1
        # Overshoot: drop the run's last line (typically the `-- ` signature line).
        last_end = cut - 1 if text[cut - 1] == 0x0A else cut
        start = max(text.rfind(b"\n", pos, last_end) + 1, pos)
        ch = text[start]
        if ch == 0x20:
            sp -= 1
        elif ch == 0x2D:
            mn -= 1
        elif ch == 0x2B:
            pl -= 1
        cut = start
    return -1


# The common shape, hashed a file at a time: `diff ` line, alphabetic header lines, `--- `/`+++ `,
# then hunks whose `[ +-]` line runs hold exactly the counts their `@@` headers announce. Anything
# else (binary patches, `\\ No newline` lines, miscounted hunks, mode-only changes) is left to the
# line-by-line walk below, which follows git's state machine exactly.
_FILE_HEAD = re.compile(rb"diff [^\n]*\n((?:[A-Za-z][^\n]*\n)*)--- [^\n]*\n\+\+\+ [^\n]*\n")
_HUNK = re.compile(rb"@@ -\d+(?:,(\d+))? \+\d+(?:,(\d+))?(?![,\d])[^\n]*\n")
# The end of a hunk's run of `[ +-]` lines: the first line end not followed by such a line. A
# search for it is several times faster than matching the run line by line with a repeat.
_RUN_END = re.compile(rb"\n(?![ +\-])")
_HEX_LINE = re.compile(rb"\n(?:commit |From )?[0-9a-fA-F]{40}")
_SLOW = "slow"


def _header_lines(hdr: bytes) -> bytes | None:
    """The hashed part of a file's extended header lines, or None when the slow walk is needed."""
    if hdr.startswith(b"index ") and hdr.find(b"\n") == len(hdr) - 1:
        return b""  # the usual lone `index a..b mode` line, which git leaves out
    kept = []
    for line in hdr.splitlines(keepends=True):
        if line.startswith(b"index "):
            continue
        if line.startswith(b"GIT binary patch") or line.startswith(b"Binary files"):
            return None
        if _HEX_LINE.match(b"\n" + line):
            return None
        kept.append(line)
    return b"".join(kept)


def _fast_patch_id(text: bytes, pos: int) -> str | None:
    """git_patch_id for the common shape starting at the first `diff ` line `pos`; _SLOW otherwise."""
    n = len(text)
    result = 0
    view = memoryview(text)
    while True:
        m = _FILE_HEAD.match(text, pos)
        if m is None:
            return _SLOW
        hdr = m.group(1)
        if hdr:
            kept = _header_lines(hdr)
            if kept is None:
                return _SLOW
            parts = [text[pos : m.start(1)], kept, text[m.end(1) : m.end()]]
        else:
            parts = [text[pos : m.end()]]
        pos = m.end()
        while True:
            h = _HUNK.match(text, pos)
            if h is None:
                return _SLOW
            g1, g2 = h.group(1, 2)
            before = int(g1) if g1 is not None else 1
            after = int(g2) if g2 is not None else 1
            if before == 0 and after == 0:
                return _SLOW
            s = h.end()
            r = _RUN_END.search(text, s - 1)
            # no match: every line end is followed by a run line, and the last line has no end
            e = r.start() + 1 if r is not None else text.rfind(b"\n") + 1
            mn = text.count(b"\n-", s - 1, e - 1)
            pl = text.count(b"\n+", s - 1, e - 1)
            sp = text.count(b"\n", s, e) - mn - pl  # every run line starts with ' ', '-' or '+'
            cut = e
            trims = 0
            while sp + mn != before or sp + pl != after:
                # Overshoot (typically the `-- ` signature line): drop the run's last line.
                if sp + mn < before or sp + pl < after or cut <= s or trims == 6:
                    return _SLOW
                start = text.rfind(b"\n", s - 1, cut - 1) + 1
                ch = text[start]
                if ch == 0x20:
                    sp -= 1
                elif ch == 0x2D:
                    mn -= 1
                else:
                    pl -= 1
                cut = start
                trims += 1
            parts.append(view[s:cut])  # joined below: a view saves copying each hunk twice
            pos = cut
            if text.startswith(b"@@ -", pos):
                continue
            break
        result += int.from_bytes(hashlib.sha1(b"".join(parts).translate(None, _WS_BYTES)).digest(), "little")
        if pos < n and text.startswith(b"diff ", pos):
            continue
        if text.startswith(b"\\", pos):
            return _SLOW  # `\\ No newline at end of file`: git skips it and reads on
        return (result & _MASK).to_bytes(20, "little").hex()


def git_patch_id(text: bytes, start: int = 0) -> str | None:
    """`git patch-id --stable` of the first patch in `text[start:]`; None when there is no `diff `
    line. `start` spares the caller a copy of a body that sits inside a larger buffer."""
    if text.startswith(b"diff ", start):
        first = start
    else:
        first = text.find(b"\ndiff ", start)
        if first < 0:
            return None
        first += 1
    if _native is not None:
        parts = _native.patch_id_parts(text, first)
        return None if parts is None else _sum_digests(parts)
    fast = _fast_patch_id(text, first) if text.find(b"\0", first) < 0 else _SLOW
    if fast is not _SLOW:
        return fast
    return _walk_patch_id(text[start:] if start else text)


def _sum_digests(parts: list[bytes]) -> str:
    """--stable: the per-file SHA-1 digests summed as 160-bit little-endian integers."""
    total = sum(int.from_bytes(hashlib.sha1(part).digest(), "little") for part in parts)
    return (total & _MASK).to_bytes(20, "little").hex()


def _walk_patch_id(text: bytes) -> str | None:
    """git's get_one_patchid() line by line (with a counted fast path per hunk)."""
    if text.startswith(b"diff "):
        pos = 0
    else:
        pos = text.find(b"\ndiff ")
        if pos < 0:
            return None
        pos += 1
    n = len(text)
    result = 0
    ctx = hashlib.sha1()
    before = after = -1
    patchlen = 0
    pre_oid = post_oid = b""
    is_binary = False
    has_nul = b"\0" in text

    def flush() -> None:
        nonlocal result, ctx
        result = (result + int.from_bytes(ctx.digest(), "little")) & _MASK
        ctx = hashlib.sha1()

    while pos < n:
        eol = text.find(b"\n", pos)
        end = n if eol < 0 else eol + 1
        line = text[pos:end]
        if has_nul and b"\0" in line:
            line = line[: line.index(b"\0")]  # git reads a line into a C string: a NUL ends it
        if line.startswith(b"\\ ") and len(line) > 12:
            pos = end
            continue
        if line[:1] in _HEX_OR_PREFIX:
            rest = (
                line[7:] if line.startswith(b"commit ") else line[5:] if line.startswith(b"From ") else line
            )
            if _HEX40.match(rest):
                break  # the next patch of a format-patch stream
        if patchlen == 0 and not line.startswith(b"diff "):
            pos = end
            continue
        if before == -1:
            if line.startswith(b"GIT binary patch") or line.startswith(b"Binary files"):
                is_binary = True
                before = 0
                ctx.update(pre_oid)
                ctx.update(post_oid)
                flush()
                pos = end
                continue
            if line.startswith(b"index "):
                body = line[6:].rstrip(b"\n")
                dots = body.find(b"..")
                if dots >= 0:
                    sp = body.find(b" ", dots)
                    pre_oid = body[:dots]
                    post_oid = body[dots + 2 : sp if sp >= 0 else len(body)]
                pos = end
                continue
            if line.startswith(b"--- "):
                before = after = 1
            elif not line[:1].isalpha():
                break
        if is_binary:
            if line.startswith(b"diff "):
                is_binary = False
                before = -1
            pos = end
            continue
        if before == 0 and after == 0:
            if line.startswith(b"@@ -"):
                before, after = _scan_hunk_header(line, before, after)
                pos = end
                if (before > 0 or after > 0) and not has_nul:
                    stop = _fast_hunk(text, pos, before, after)
                    if stop >= 0:
                        chunk = text[pos:stop]
                        if b"\\" in chunk:
                            chunk = _BACKSLASH_LINE.sub(b"", chunk)
                        stripped = chunk.translate(None, _WS_BYTES)
                        patchlen += len(stripped)
                        ctx.update(stripped)
                        before = after = 0
                        pos = stop
                continue
            if not line.startswith(b"diff "):
                break
            flush()
            before = after = -1
        first = line[:1]
        if first == b"-" or first == b" ":
            before -= 1
        if first == b"+" or first == b" ":
            after -= 1
        stripped = line.translate(None, _WS_BYTES)
        patchlen += len(stripped)
        ctx.update(stripped)
        pos = end
    if patchlen == 0:
        return None
    flush()
    return result.to_bytes(20, "little").hex()
