"""Load the identity inputs of communities.yaml into the raw identity tables."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import duckdb

from core.warehouse import Warehouse, connect_for_write, connect_now, warehouse_exists
from extractors.identities.addresses import domain_of, normalize_address
from extractors.identities.domains import registrable_domain
from extractors.identities.files import read_affiliations, read_aliases
from extractors.identities.gitdm import read_gitdm
from extractors.identities.mailmap import IdentityFileError, read_mailmap
from extractors.load import Spool, publish
from extractors.schema import IDENTITY_TABLES, RAW_TABLES

# every column of the raw tables that holds an address someone may be counted under; columns a
# warehouse does not have yet (older schema) are skipped
_ADDRESS_COLUMNS = {
    "mail_messages": ("from_address", "reply_to_address", "original_from_address"),
    "mail_trailers": ("address",),
    "git_commits": ("author_address", "committer_address"),
    "git_trailers": ("address",),
}

# the valid shape of an address (interface shared with dbt: int_addresses_resolved); any other
# value is a person of its own keyed by the raw value, with no domain
VALID_ADDRESS = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, primary: str, other: str) -> None:
        a, b = self.find(primary), self.find(other)
        if a != b:
            # the earlier-declared primary stays the root, so canonical addresses are stable
            self.parent[b] = a


def alias_rows(mailmaps: Iterable[Path], alias_files: Iterable[Path]) -> Iterator[dict[str, Any]]:
    """One row per aliased address: the person's canonical address and name.

    Addresses are merged only by explicit rules; names never merge two addresses. A .mailmap
    line that names the commit name (`Proper <p@x> Commit Name <c@x>`) merges nothing: it
    yields a row with `match_name` set, which dbt applies per event only when the event's name
    and address both match (git's semantics), so two people sharing a placeholder address stay
    two people. For one (address, name) the last such line wins, as in git.
    """
    uf = _UnionFind()
    names: dict[str, str] = {}
    sources: dict[str, str] = {}
    named: dict[tuple[str, str], dict[str, Any]] = {}
    for path in mailmaps:
        for entry in read_mailmap(Path(path)):
            primary = entry.proper_address or entry.commit_address
            if entry.proper_name:
                names.setdefault(primary, entry.proper_name)
            sources.setdefault(primary, str(path))
            if entry.commit_name:
                uf.find(primary)  # the proper address is a person even if nothing else names it
                named[(entry.commit_address, entry.commit_name.casefold())] = {
                    "address": entry.commit_address,
                    "canonical_address": primary,
                    "canonical_name": entry.proper_name,
                    "source": str(path),
                    "match_name": entry.commit_name,
                }
                continue
            uf.union(primary, entry.commit_address)
            sources.setdefault(entry.commit_address, str(path))
    for path in alias_files:
        for person in read_aliases(Path(path)).people:
            addrs = [normalize_address(a) for a in person.addresses]
            bad = [a for a, n in zip(person.addresses, addrs, strict=True) if n is None]
            if bad:
                raise IdentityFileError(f"{path}: not an e-mail address: {bad[0]!r}")
            for addr in addrs:
                uf.union(addrs[0], addr)  # type: ignore[arg-type]
                sources.setdefault(addr, str(path))  # type: ignore[arg-type]
            if person.name:
                names.setdefault(addrs[0], person.name)  # type: ignore[arg-type]
    for address in sorted(uf.parent):
        root = uf.find(address)
        yield {
            "address": address,
            "canonical_address": root,
            "canonical_name": names.get(root),
            "source": sources.get(address),
            "match_name": None,
        }
    for key in sorted(named):
        row = named[key]
        # the event is re-addressed to the proper address, which then resolves like any other
        yield {**row, "canonical_name": row["canonical_name"] or names.get(uf.find(row["canonical_address"]))}


def affiliation_rows(
    affiliation_files: Iterable[Path], gitdm_maps: Iterable[Path]
) -> Iterator[dict[str, Any]]:
    def rows(items, source: str):
        for i, aff in enumerate(items):
            address = normalize_address(aff.address) if aff.address else None
            if aff.address and address is None:
                raise IdentityFileError(f"{source}: entry {i}: not an e-mail address: {aff.address!r}")
            yield {
                "address": address,
                "domain": aff.domain.strip().lower() if aff.domain else None,
                "organization": aff.organization.strip(),
                "valid_from": aff.valid_from,
                "valid_until": aff.valid_until,
                "source": f"{source}#{i}",
            }

    for path in affiliation_files:
        yield from rows(read_affiliations(Path(path)).affiliations, str(path))
    for path in gitdm_maps:
        yield from rows(read_gitdm(Path(path)), str(path))


def _columns(con: duckdb.DuckDBPyConnection) -> set[tuple[str, str]]:
    return {
        (t, c)
        for t, c in con.execute(
            "select table_name, column_name from information_schema.columns where table_schema = 'raw'"
        ).fetchall()
    }


def seen_addresses(warehouse: Warehouse) -> set[str]:
    """Every address any event can carry, so each gets its registrable domain below (obfuscated
    ones, `Jane <jane at example.com>`, were de-obfuscated at extraction)."""
    if not warehouse_exists(warehouse):
        return set()
    con = connect_now(warehouse)
    try:
        present = _columns(con)
        found: set[str] = set()
        for table, cols in _ADDRESS_COLUMNS.items():
            for col in cols:
                if (table, col) not in present:
                    continue
                found.update(
                    r[0]
                    for r in con.execute(
                        f'select distinct "{col}" from raw.{table} where "{col}" is not null'
                    ).fetchall()
                )
        return found
    finally:
        con.close()


def _add_missing_identity_columns(warehouse: Warehouse) -> None:
    """A warehouse made before a column was added to an identity table gains it (null), so the
    load that replaces the table's rows can write every column."""
    if not warehouse_exists(warehouse):
        return
    con = connect_for_write(warehouse)
    try:
        present = _columns(con)
        for table in IDENTITY_TABLES:
            if not any(t == table for t, _ in present):
                continue  # publish creates it whole
            for col, typ in RAW_TABLES[table]:
                if (table, col) not in present:
                    con.execute(f'alter table raw.{table} add column "{col}" {typ}')
    finally:
        con.close()


def placeable_addresses(values: Iterable[str]) -> list[str]:
    """The distinct normalized addresses of `values` that have the valid shape, sorted.

    Two raw spellings of one address (case, brackets, obfuscation) give one row; a value of no
    valid shape gives none: dbt keeps it as a person of its own, with no domain.
    """
    found = {normalize_address(v) for v in values}
    return sorted(a for a in found if a is not None and VALID_ADDRESS.match(a))


def ingest_identities(
    warehouse: Warehouse,
    mailmaps: Iterable[Path] = (),
    alias_files: Iterable[Path] = (),
    affiliation_files: Iterable[Path] = (),
    gitdm_maps: Iterable[Path] = (),
) -> dict[str, int]:
    """Replace the identity tables from the given files and the addresses seen in raw data."""
    spool = Spool()
    try:
        aliased: set[str] = set()
        for row in alias_rows(mailmaps, alias_files):
            aliased.update((row["address"], row["canonical_address"]))
            spool.add("identity_aliases", row)
        explicit: set[str] = set()
        for row in affiliation_rows(affiliation_files, gitdm_maps):
            if row["address"]:
                explicit.add(row["address"])
            spool.add("identity_affiliations", row)
        for address in placeable_addresses(seen_addresses(warehouse) | aliased | explicit):
            domain = domain_of(address)
            spool.add(
                "address_domains",
                {"address": address, "domain": domain, "registrable_domain": registrable_domain(domain)},
            )
        _add_missing_identity_columns(warehouse)
        return publish(warehouse, spool, IDENTITY_TABLES, {})
    finally:
        spool.cleanup()
