"""E-mail address normalization shared by every identity input."""

from __future__ import annotations

import re

_OBFUSCATED = re.compile(r"^\s*([^\s@]+)\s+(?:at|_at_|\(at\)|\[at\])\s+([^\s@]+)\s*$", re.IGNORECASE)


def normalize_address(value: str | None) -> str | None:
    """Case-fold an address and undo list-archive obfuscation (`jdoe at example.com`)."""
    if not value:
        return None
    value = value.strip().strip("<>").strip()
    match = _OBFUSCATED.match(value)
    if match:
        value = f"{match.group(1)}@{match.group(2)}"
    value = value.lower()
    return value if "@" in value else None


def domain_of(address: str) -> str:
    return address.rsplit("@", 1)[1]
