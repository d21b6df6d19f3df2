"""E-mail address normalization shared by every identity input."""

from __future__ import annotations

from core.addresses import deobfuscate


def normalize_address(value: str | None) -> str | None:
    """Case-fold an address and undo list-archive obfuscation (`jdoe at example.com`)."""
    if not value:
        return None
    # the same de-obfuscation the mail parser applies (`jdoe at example.com`, `jdoe(a)example.com`)
    value = deobfuscate(value.strip().strip("<>").strip()).strip().lower()
    if " " in value:
        return None
    return value if "@" in value else None


def domain_of(address: str) -> str:
    return address.rsplit("@", 1)[1]
