"""Sender and trailer addresses: lower-cased, de-obfuscated, with a precise fast path.

Most values have the shape `Name <addr>` or a bare `addr`; a precise regex handles those and
`email.utils.parseaddr` handles the rest, so results match parseaddr's on the common shapes.
"""

from __future__ import annotations

import re
from email.utils import parseaddr

# Obfuscations archives apply to addresses: "jdoe at example.com" (Mailman pipermail),
# "jdoe _at_ example.com", "jdoe(a)example.com" (HyperKitty), "jdoe [at] example.com".
_OBFUSCATED_AT = re.compile(
    r"(?<=[\w.+\-])(?:\s+at\s+|\s*_at_\s*|\s*\(at\)\s*|\s*\[at\]\s*|\s*\(a\)\s*|\s+AT\s+)(?=[\w\-]+\.[\w.\-])"
)
_OBFUSCATED_DOT = re.compile(r"(?<=\w)(?:\s+dot\s+|\s*\(dot\)\s*|\s*\[dot\]\s*|\s*_dot_\s*)(?=\w)")
_NAME_ANGLE = re.compile(r'\s*"?([^"<>]*?)"?\s*<\s*([^<>\s@]+@[^<>\s@]+?)\s*>\s*$')
_BARE = re.compile(r"\s*<?([^\s<>()\"@,;]+@[^\s<>()\"@,;]+?)>?\s*(?:\(([^()]*)\))?\s*$")
_WS = re.compile(r"\s+")
# Any address inside free text (trailer values such as `Jane Doe jane@example.com # v5.4+`).
ADDRESS_IN_TEXT = re.compile(r"<?([\w.+\-=/'!#$%&*?^`{|}~]+@[\w\-]+(?:\.[\w\-]+)+)>?")


def deobfuscate(value: str) -> str:
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
    if addr and "@" in addr:
        return _clean_name(name), addr.strip().lower()
    m = ADDRESS_IN_TEXT.search(value)
    if m:  # parseaddr gave up (unbalanced quotes etc.): take the first address-looking token
        rest = (value[: m.start()] + value[m.end() :]).strip(" <>()\"'")
        return _clean_name(rest), m.group(1).lower()
    return _clean_name(name or value), None
