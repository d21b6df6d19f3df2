"""The addresses of a configured mailing list: raw.list_addresses rows (METRICS.md, bots and lists).

Each posting address in a list's `addresses:` comes with the variants Mailman and majordomo-style
list servers send from: `<list>-bounces@`, `<list>-owner@`, `<list>-request@` on the same domain.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from core.config import MailingListConfig

LIST_ADDRESSES_TABLE = "list_addresses"
VARIANTS = ("bounces", "owner", "request")


def list_addresses(posting: str) -> list[tuple[str, str]]:
    """(address, kind) for one posting address and its derived variants, lower case."""
    local, _, domain = posting.strip().lower().rpartition("@")
    return [(f"{local}@{domain}", "posting")] + [(f"{local}-{v}@{domain}", v) for v in VARIANTS]


def list_address_rows(project: str, lst: MailingListConfig) -> Iterator[tuple[str, dict[str, Any]]]:
    """raw.list_addresses rows of one list, each address once (the first kind wins)."""
    seen: set[str] = set()
    for posting in lst.addresses:
        for address, kind in list_addresses(posting):
            if address not in seen:
                seen.add(address)
                yield (
                    LIST_ADDRESSES_TABLE,
                    {"project": project, "list_name": lst.name, "address": address, "kind": kind},
                )
