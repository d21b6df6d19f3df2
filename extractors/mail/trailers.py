"""Trailer lines (`Reviewed-by: Jane Doe <jane@example.com>`) in a message body.

Only lines that start a line count: quoted text (`> `) and indented lines are skipped by the
anchoring, and the signature (after the first `\\n-- \\n`) is cut off before scanning.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from core.addresses import ADDRESS_IN_TEXT, deobfuscate
from extractors.people import person, split_people

KINDS = frozenset(
    (
        "acked-by",
        "reviewed-by",
        "tested-by",
        "reported-by",
        "suggested-by",
        "signed-off-by",
        "co-developed-by",
        "nacked-by",
    )
)
# Matches any `Something-by:` line; the key is lower-cased and checked against KINDS, which keeps
# the regex case-insensitive in effect without the cost of re.I in the hot loop.
_TRAILER = re.compile(rb"\n([A-Za-z][A-Za-z-]{0,30}-[Bb][Yy])[ \t]*:[ \t]*([^\n]*)")
_COMMENT = re.compile(r"\s+#.*$|\s*\[[^\]]*\]\s*$")
_PAREN = re.compile(r"\s*\(([^()]*)\)")
_WS = re.compile(r"\s+")
MAX_VALUE = 500


def body_without_signature(ntext: bytes) -> bytes:
    """The body up to its signature separator; `ntext` is b"\\n" + body (the newline anchors
    the regexes) and so is the result."""
    cut = ntext.find(b"\n-- \n")
    return ntext[: cut + 1] if cut >= 0 else ntext


def _clean(name: str) -> str | None:
    name = _WS.sub(" ", name).strip().strip("\"'<>,;").strip()
    return name or None


def parse_trailer_value(value: str) -> tuple[str | None, str | None]:
    """(name, address) from `Name <addr>`, `Name addr`, `addr (Name)`, `<addr>`, `addr` or `Name`."""
    v = _COMMENT.sub("", value.strip())
    v = deobfuscate(v)
    if "@" in v:
        # mangled addresses (`<Christoph. Egger@amd.com>`, `name@{example.com`) are repaired or
        # kept as written, never cut down to another valid-looking address (extractors.people)
        name, address = person(v, comments=True)
        if address is not None:
            return name, address
    m = ADDRESS_IN_TEXT.search(v)
    if not m:  # no usable address: the name is what precedes a broken `<...>`
        return _clean(v.split("<", 1)[0]) or _clean(v), None
    address = m.group(1).lower()
    name = _clean(v[: m.start()])
    if name is None:
        p = _PAREN.match(v[m.end() :])
        if p:
            name = _clean(p.group(1))
    return name, address


def signature_cut(ntext: bytes) -> int:
    """len(body_without_signature(ntext)), without the copy."""
    cut = ntext.find(b"\n-- \n")
    return cut + 1 if cut >= 0 else len(ntext)


# The same people sign off, review and ack message after message: parse each value once.
_trailer_value = lru_cache(maxsize=4096)(parse_trailer_value)


@lru_cache(maxsize=4096)
def trailer_people(kind: str, raw: str) -> tuple[tuple[str, str | None, str | None, str], ...]:
    """[(kind, name, address, raw piece)] for one trailer line: one per person it names.

    `A <a@x.org> B <b@y.org>` gives two rows of `kind`; a trailer glued on at the end
    (`A <a@x.org>Signed-off-by: C <c@z.org>`) gives its person under its own kind (when that is
    one of KINDS). Values naming nobody give nothing."""
    out = []
    for own_key, piece in split_people(raw):
        k = own_key.lower() if own_key else kind
        if k not in KINDS:
            continue
        name, address = _trailer_value(piece)
        if name is None and address is None:
            continue
        out.append((k, name, address, piece))
    return tuple(out)


def find_trailers(
    text: bytes, decode: Callable[[bytes], str], end: int | None = None
) -> list[tuple[str, str | None, str | None, str]]:
    """[(kind, name, address, raw value)] in order. `text` comes from body_without_signature
    (or is b"\n" + body with `end` from signature_cut)."""
    out = []
    for m in _TRAILER.finditer(text, 0, len(text) if end is None else end):
        kind = m.group(1).decode("ascii").lower()
        if kind not in KINDS:
            continue
        raw = decode(m.group(2).rstrip(b" \t\r"))[:MAX_VALUE]
        if not raw.strip():
            continue  # `Reviewed-by:` with nothing after it names nobody
        out.extend(trailer_people(kind, raw))
    return out
