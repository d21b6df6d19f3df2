"""Sender and trailer addresses: lower-cased, de-obfuscated, with a precise fast path.

De-obfuscation happens here and only here, at extraction: the mail parser, the git trailer and
identity readers all call `deobfuscate`, so the warehouse stores the address, never the obfuscated
spelling (the raw value stays in the `raw_value` columns).

Most values have the shape `Name <addr>` or a bare `addr`; a precise regex handles those and
`email.utils.parseaddr` handles the rest, so results match parseaddr's on the common shapes.
"""

from __future__ import annotations

import re
from email.utils import parseaddr

# Obfuscations archives and authors apply to addresses: "jdoe at example.com" (Mailman
# pipermail), "jdoe _at_ example.com", "jdoe (at) example.com", "jdoe [at] example.com" (in any
# case: "jdoe AT example.com"), "jdoe(a)example.com" (HyperKitty), and for the dots of the domain
# "example dot com", "example (dot) com", "example [dot] com", "example _dot_ com". The domain must
# have two labels, with a real or an obfuscated dot between them, so that prose ("look at it") is
# never taken for an address.
_DOT = r"(?:\s+dot\s+|\s*\(dot\)\s*|\s*\[dot\]\s*|\s*_dot_\s*)"
_OBFUSCATED_AT = re.compile(
    r"(?<=[\w.+=\-])(?:(?i:\s+at\s+|\s*_at_\s*|\s*\(at\)\s*|\s*\[at\]\s*)|\s*\(a\)\s*)"
    rf"(?=[\w\-]+(?:\.|(?i:{_DOT}))[\w\-])"
)
_OBFUSCATED_DOT = re.compile(rf"(?<=\w)(?i:{_DOT})(?=\w)")
_NAME_ANGLE = re.compile(r'\s*"?([^"<>]*?)"?\s*<\s*([^<>\s@]+@[^<>\s@]+?)\s*>\s*$')
_BARE = re.compile(r"\s*<?([^\s<>()\"@,;]+@[^\s<>()\"@,;]+?)>?\s*(?:\(([^()]*)\))?\s*$")
_WS = re.compile(r"\s+")
_MESSY = re.compile(r"[\s\"<>()]")
_BRACKETED = re.compile(r"<[^<>]*>?")  # what is left of `<Name addr>` once the address is cut
_ANGLE_PART = re.compile(r"<([^<>]*)>")
# Any address inside free text (trailer values such as `Jane Doe jane@example.com # v5.4+`).
ADDRESS_IN_TEXT = re.compile(r"<?([\w.+\-=/'!#$%&*?^`{|}~]+@[\w\-]+(?:\.[\w\-]+)+)>?")


def deobfuscate(value: str) -> str:
    """`value` with an obfuscated address spelt as one (`jane at example dot com` ->
    `jane@example.com`); a value holding an `@` already, or no obfuscated address, as it is."""
    if "@" in value:
        return value
    out = _OBFUSCATED_AT.sub("@", value)
    if "@" in out:
        local, _, domain = out.partition("@")
        out = local + "@" + _OBFUSCATED_DOT.sub(".", domain)
    return out


def _clean_name(name: str | None) -> str | None:
    if not name:
        return None
    name = _WS.sub(" ", name.strip().strip('"').strip("'").strip())
    return name or None


def parse_address(value: str | None) -> tuple[str | None, str | None]:
    """(display name, lower-case address) from a From:-style value; either may be None."""
    if not value:
        return None, None
    value = deobfuscate(value)
    m = _NAME_ANGLE.match(value)
    if m:
        return _clean_name(m.group(1)), m.group(2).lower()
    m = _BARE.match(value)
    if m:
        return _clean_name(m.group(2)), m.group(1).lower()
    name, addr = parseaddr(value)
    addr = addr.strip()
    # parseaddr glues words together when the value is not RFC 5322 (`Jane Doe jane@x.org` gives
    # the whole string, `jane@x.org Jane` gives `jane@x.orgJane`): trust it only when its address
    # is one clean token that the value holds as written
    if "@" in addr and not _MESSY.search(addr) and addr in value:
        return _clean_name(name), addr.lower()
    m = ADDRESS_IN_TEXT.search(value)
    if m:  # not RFC 5322 (no brackets, unbalanced quotes...): the first address-looking token
        rest = _BRACKETED.sub(" ", value[: m.start()] + value[m.end() :]).strip(" <>()\"'")
        return _clean_name(rest), m.group(1).lower()
    return _clean_name(name or value), None


def parse_sender(value: str | None) -> tuple[str | None, str | None]:
    """parse_address for a sender field (From, Reply-To, X-Original-From), whose address is never
    NULL when the field has a value: a value holding no address at all (`janeiexample.com`,
    `Jane Doe <janeiexample.com>`, `Jane Doe`) keeps what stands where the address belongs (the
    bracketed part, else the whole value), trimmed and lower-cased, so it stays its own person and
    is flagged as an invalid address downstream instead of vanishing."""
    name, address = parse_address(value)
    if address is not None or value is None or not value.strip():
        return name, address
    m = _ANGLE_PART.search(value)
    raw = m.group(1) if m and m.group(1).strip() else value
    return name, _WS.sub(" ", raw.strip()).lower()
