"""One pass over a message body for everything the row needs from it.

Patch detection, the signature cut, trailer lines and the pull-request marker are found in one
pass: on a kernel list the bodies are mostly diffs, and a pass per question would cost about as
much each as the one pass that answers all four: _scan.body_marks in C, or the regex `_MARKS`
where the module was not built (scan_body_regex, the reference). The results are exactly those of
a separate search for each:

- every alternative starts at a line start (a literal newline, which the regex engine skips to)
  and consumes no newline but its own, so no match hides another one;
- a unified diff (`--- `, `+++ `, `@@ -a,b +c,d @@`) is found at its `+++ ` line and confirmed
  with the original regex from the line before;
- trailers count only before the first signature separator (`\\n-- \\n`);
- only the first pull-request marker followed by a commit id counts, as with `re.search`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from types import ModuleType

from extractors.mail.patches import PULL_REQUEST, PULL_REQUEST_AT, UNIFIED_DIFF
from extractors.mail.trailers import KINDS, MAX_VALUE, trailer_people

_native: ModuleType | None
try:  # compiled from _scan.c at install; scan_body_regex below is the reference
    from extractors.mail import _scan as _native
except ImportError:  # a source tree nobody built: the same results, slower
    _native = None

# The lookahead lets most lines (context lines, indented and quoted text) fail on their first byte
# instead of trying every alternative: a fifth less time on diff-heavy bodies.
_MARKS = re.compile(
    rb"\n(?=[+\-A-Za-z])(?:(diff --git \S)|(\+\+\+ )|(-- )(?=\n)|(The following changes since commit )"
    rb"|([A-Za-z][A-Za-z-]{0,30}-[Bb][Yy])[ \t]*:[ \t]*([^\n]*))"
)
_GIT, _PLUS, _SIG, _PULL_MARK, _TRAILER_VALUE = 1, 2, 3, 4, 6

Trailer = tuple[str, str | None, str | None, str]


def scan_body(
    buf: bytes, start: int, decode: Callable[[bytes], str], want_pull: bool = True
) -> tuple[bool, list[Trailer], bool]:
    """(holds a unified diff, trailers, is a pull request) of the body `buf[start + 1:]`, where
    `buf[start]` is the newline that ends the header block (or b"\\n" prepended to a body).

    `want_pull=False` skips the pull-request check (replies never count as pull requests)."""
    if _native is None:
        return scan_body_regex(buf, start, decode, want_pull)
    diff, pluses, marks, pulls = _native.body_marks(buf, start)
    # Whether a diff exists does not depend on the order of the marks: any `diff --git` line, or
    # any `+++ ` line whose neighbours make a unified diff header.
    if not diff:
        for p in pluses:
            line = buf.rfind(b"\n", start, p)
            if line >= 0 and UNIFIED_DIFF.match(buf, line) is not None:
                diff = True
                break
    trailers: list[Trailer] = []
    for key_at, key_end, value_at, value_end in marks:
        trailers.extend(_trailer(buf[key_at:key_end], buf[value_at:value_end], decode))
    pull = False
    if want_pull:
        for p in pulls:
            found = PULL_REQUEST.match(buf, p)
            if found is not None:
                end = found.end()
                pull = PULL_REQUEST_AT.search(buf, end, end + 2000) is not None
                break
    return diff, trailers, pull


def _trailer(key: bytes, value: bytes, decode: Callable[[bytes], str]) -> tuple[Trailer, ...]:
    """One row per person the trailer line names (none for other kinds or empty values)."""
    kind = key.decode("ascii").lower()
    if kind not in KINDS:
        return ()
    raw = decode(value.rstrip(b" \t\r"))[:MAX_VALUE]
    if not raw.strip():
        return ()  # `Reviewed-by:` with nothing after it names nobody
    return trailer_people(kind, raw)


def scan_body_regex(
    buf: bytes, start: int, decode: Callable[[bytes], str], want_pull: bool = True
) -> tuple[bool, list[Trailer], bool]:
    """scan_body with one regex pass: the reference _scan.body_marks is checked against."""
    diff = False
    signed = False
    pull = False
    pull_seen = not want_pull
    trailers: list[Trailer] = []
    for m in _MARKS.finditer(buf, start):
        kind = m.lastindex
        if kind == _TRAILER_VALUE:
            if signed:
                continue
            trailers.extend(_trailer(m.group(5), m.group(6), decode))
        elif kind == _GIT:
            diff = True
        elif kind == _PLUS:
            if not diff:
                # the `--- ` line is the one before; the body's own first line starts at `start`
                p = m.start()
                line = buf.rfind(b"\n", start, p)
                if line >= 0 and UNIFIED_DIFF.match(buf, line) is not None:
                    diff = True
        elif kind == _SIG:
            signed = True
        elif not pull_seen:
            p = m.start()
            found = PULL_REQUEST.match(buf, p)
            if found is not None:
                pull_seen = True
                end = found.end()
                pull = PULL_REQUEST_AT.search(buf, end, end + 2000) is not None
    return diff, trailers, pull
