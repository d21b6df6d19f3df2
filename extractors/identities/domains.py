"""Registrable domains from the public suffix list shipped with `publicsuffixlist` (offline)."""

from __future__ import annotations

from functools import lru_cache

from publicsuffixlist import PublicSuffixList


@lru_cache(maxsize=1)
def _psl() -> PublicSuffixList:
    # the package bundles a copy of the list; nothing is downloaded
    return PublicSuffixList()


@lru_cache(maxsize=65536)
def registrable_domain(domain: str) -> str:
    """`de.ibm.com` -> `ibm.com`, `lab.ntt.co.jp` -> `ntt.co.jp`; a bare suffix stays itself."""
    domain = domain.strip().strip(".").lower()
    return _psl().privatesuffix(domain) or domain
