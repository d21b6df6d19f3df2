"""The people of a trailer line (`Reviewed-by: Jane Doe <jane@example.com>`) of a message body.

extractors.mail.body finds the lines (only at a line start and before the signature); this module
reads the people each names.
"""

from __future__ import annotations

import re
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
_COMMENT = re.compile(r"\s+#.*$|\s*\[[^\]]*\]\s*$")
_PAREN = re.compile(r"\s*\(([^()]*)\)")
_WS = re.compile(r"\s+")
MAX_VALUE = 500


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
