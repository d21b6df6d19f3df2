"""People named in free-text values: trailer values (git and mail) and broken identity fields.

Real values are messier than `Name <addr>`:

- several people in one value: `A <a@x.org> B <b@y.org>`, `A <a@x.org>, B <b@y.org>`, or a second
  trailer glued on (`A <a@x.org>Signed-off-by: C <c@z.org>`, a lost newline);
- mangled addresses: a space typed inside the address (`<Christoph. Egger@amd.com>`), stray
  punctuation (`name@{example.com`, `<<a@b.org>>`, `a@b.org.`), a doubled `@`;
- obfuscated addresses (`quinn at lab.acme.co.jp`, `jdoe(a)example.com`);
- addresses with no brackets (`Jane Doe jane.doe@example.com`).

`split_people` cuts a value into one piece per person; `person` reads (name, address) from one
piece. An address is repaired only when the repair is unambiguous (junk at its edges, blanks around
a `.` or `@` inside angle brackets, a doubled `@`); otherwise it is kept lower-cased as written, so
the warehouse flags it as an invalid address instead of inventing a valid-looking one (the old
reading of `<Christoph. Egger@amd.com>` was `egger@amd.com`, another person's address).
"""

from __future__ import annotations

import re

from core.addresses import deobfuscate

# A plausible address after repair: RFC 5322's atom characters in the local part (dots allowed),
# a domain of at least two labels. \w admits internationalized local parts and domains.
VALID_ADDRESS = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+")

_ANGLE = re.compile(r"<([^<>]*)>")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")  # never part of an address (damaged bytes)
# A bare token holding an `@` (no brackets, quotes, parentheses, commas or blanks in it).
_BARE = re.compile(r"[^\s<>()\"',;]*@[^\s<>()\"',;]*")
_BLANK_AROUND = re.compile(r"\s*([.@])\s*")
_PAREN = re.compile(r"\([^()]*\)")
_TRAILING_PAREN = re.compile(r"\s*\(([^()]*)\)")
_URL = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)
_EDGE_JUNK_LEFT = "<([{\"'`:;,. \t"
_EDGE_JUNK_RIGHT = ">)]}\"'`:;,. \t"
# `Christoph. Egger@amd.com` as a whole value: a single word ending in a dot, then the address.
_SPLIT_LOCAL = re.compile(r"^\s*([\w-]+)\.\s+$")

# A `Something-by:` trailer glued to the end of the previous one (its newline lost).
_GLUED_KEY = re.compile(r"(?:(?<=>)|(?<=\s))([A-Za-z][A-Za-z0-9]*(?:-[A-Za-z0-9]+)*-[Bb][Yy])[ \t]*:[ \t]*")
_SEPARATORS = re.compile(r"^(?:[\s,;&/]+|and\s+)+", re.IGNORECASE)


def repair_address(candidate: str) -> str | None:
    """The lower-cased address in `candidate` (one token), repaired when the fix is unambiguous.

    None when the token names nobody (no local part or no domain); an address that cannot be
    repaired is returned as written (lower-cased), for the warehouse to flag as invalid."""
    if "://" in candidate:
        return None  # a URL (`<https://host/r/id@host>`), not an address
    addr = _CONTROL.sub("", candidate).strip().lower()
    addr = addr.lstrip(_EDGE_JUNK_LEFT).rstrip(_EDGE_JUNK_RIGHT).removeprefix("mailto:")
    addr = re.sub(r"@{2,}", "@", addr)
    local, at, domain = addr.partition("@")
    if not at or not local or not domain:
        return None
    if VALID_ADDRESS.fullmatch(addr):
        return addr
    # stray punctuation between the `@` and the domain, or at the domain's end (`name@{example.com`);
    # a comma typed for a dot (`gmail,com`); a quoted-printable dot left undecoded (`=2eorg`)
    domain = re.sub(r"^[^\w]+|[^\w]+$", "", domain).replace(",", ".").replace("=2e", ".")
    repaired = f"{local}@{domain}"
    if domain and VALID_ADDRESS.fullmatch(repaired):
        return repaired
    return addr


def _clean_name(text: str, comments: bool = False) -> str | None:
    """The display name in `text`: `<...>` dropped, `(comments)` too unless `comments`."""
    name = re.sub(r"<[^<>]*>?", " ", text)
    if not comments:
        name = _PAREN.sub(" ", name)
    name = " ".join(name.split()).strip(" \"'<>,;")
    name = name.replace('\\"', '"')
    return name or None


def _address_span(text: str) -> tuple[int, int, str | None] | None:
    """(start, end, address) of the first address in `text`, repaired; None when there is none."""
    for m in _ANGLE.finditer(text):
        inner = m.group(1)
        if "@" not in inner:
            continue
        # inside brackets a blank next to `.` or `@` is a typo, not a separator
        squeezed = _BLANK_AROUND.sub(r"\1", inner.strip())
        token = squeezed.split()[-1] if squeezed.split() else squeezed
        return m.start(), m.end(), repair_address(token)
    m = _BARE.search(text)
    if m is None:
        return None
    start, token = m.start(), m.group(0)
    before = _SPLIT_LOCAL.match(text[:start])
    if before is not None:
        # the value is `Word. rest@domain`: one address with a stray blank, not a name and an address
        start, token = 0, before.group(1) + "." + token
    return start, m.end(), repair_address(token)


def person(value: str, comments: bool = False) -> tuple[str | None, str | None]:
    """(name, lower-case address) of one person's value; either may be None.

    Handles `Name <addr>`, `<addr>`, `addr`, `addr (Name)`, `"Last, First" <addr>`,
    `Name (Comment) <addr>`, trailing notes (`<stable@vger.kernel.org> # 5.10`), no brackets
    (`Jane Doe jane.doe@example.com`), obfuscation, and the mangled shapes of the module doc.
    URLs name nobody. `comments` keeps a `(Comment)` in the name (`Jane Doe (Google)`)."""
    v = value.strip()
    if not v or _URL.match(v):
        return None, None
    v = deobfuscate(v)
    span = _address_span(v)
    if span is None:
        name = _clean_name(v)
        if name is not None and (len(name) > 200 or "http" in name.lower()):
            name = None
        return name, None
    start, end, address = span
    name = _clean_name(v[:start], comments)
    if name is None:  # `addr (Name)`
        p = _TRAILING_PAREN.match(v[end:])
        if p:
            name = _clean_name(p.group(1))
    return name, address


def _address_ends(text: str) -> list[int]:
    """End offsets of every valid address in `text` (a following `(Comment)` included).

    Only addresses that are valid once repaired separate people: `foo@bar` in a note
    (`[rebased on foo@bar]`) does not start another person."""
    ends: list[int] = []
    pos = 0
    while pos < len(text):
        span = _address_span(text[pos:])
        if span is None:
            break
        end = pos + span[1]
        p = _TRAILING_PAREN.match(text, end)
        if p is not None:
            end = p.end()
        if span[2] is not None and VALID_ADDRESS.fullmatch(span[2]):
            ends.append(end)
        pos = end
    return ends


def _one_per_address(text: str) -> list[str]:
    ends = _address_ends(text)
    if len(ends) < 2:
        return [text]
    pieces: list[str] = []
    start = 0
    for end in ends[:-1]:
        pieces.append(text[start:end])
        start = end
    pieces.append(text[start:])  # the last one keeps any trailing note
    out = [_SEPARATORS.sub("", p).strip() for p in pieces]
    return [p for p in out if p]


def split_people(value: str) -> list[tuple[str | None, str]]:
    """[(own trailer key or None, piece)], one piece per person named in a trailer value.

    A glued trailer (`A <a@x.org>Signed-off-by: C <c@z.org>`) gives its piece its own key; the
    pieces of the value itself have None (the caller's key). A value with at most one address
    is one piece, unchanged. URLs are never split."""
    if value.count("@") < 2 and ":" not in value:  # one address at most, no glued `Key:`
        return [(None, value)]
    if _URL.match(value.strip()):
        return [(None, value)]
    parts: list[tuple[str | None, str]] = []
    key: str | None = None
    start = 0
    for m in _GLUED_KEY.finditer(value):
        before = value[start : m.start()]
        if "@" not in before and ">" not in before:
            continue  # a `-by:` inside free text, not after a person
        parts.append((key, before))
        key, start = m.group(1), m.end()
    parts.append((key, value[start:]))
    out: list[tuple[str | None, str]] = []
    for k, text in parts:
        for piece in _one_per_address(text.strip()):
            out.append((k, piece))
    return out or [(None, value)]
