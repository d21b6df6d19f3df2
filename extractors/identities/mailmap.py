"""git .mailmap files: which addresses belong to one person, and that person's proper name."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from core.errors import CommstatsError
from extractors.identities.addresses import normalize_address

# Name <addr> ... : up to two "[name] <addr>" groups per line, git's own format
_ENTRY = re.compile(r"\s*([^<#]*?)\s*<([^>]*)>")


@dataclass(frozen=True)
class MailmapEntry:
    proper_name: str | None
    proper_address: str | None
    commit_name: str | None
    commit_address: str


class IdentityFileError(CommstatsError):
    """A malformed identity file; str() names the file and line, never its content (the file
    may be anything, e.g. /etc/passwd given by mistake)."""


def parse_mailmap(text: str, source: str = "<mailmap>") -> Iterator[MailmapEntry]:
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip() if not raw.lstrip().startswith("#") else ""
        if not line:
            continue
        groups = _ENTRY.findall(line)
        if not groups:
            raise IdentityFileError(f"{source}:{lineno}: expected 'Name <address>' entries")
        if len(groups) == 1:
            name, addr = groups[0]
            address = normalize_address(addr)
            if address is None:
                raise IdentityFileError(f"{source}:{lineno}: not an e-mail address between < and >")
            yield MailmapEntry(name or None, address, None, address)
        else:
            (pname, paddr), (cname, caddr) = groups[0], groups[1]
            commit = normalize_address(caddr)
            if commit is None:
                raise IdentityFileError(f"{source}:{lineno}: second address is not an e-mail address")
            yield MailmapEntry(pname or None, normalize_address(paddr), cname or None, commit)


def read_mailmap(path: Path) -> list[MailmapEntry]:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        raise IdentityFileError(f"{path}: mailmap file not found") from None
    except OSError as exc:
        raise IdentityFileError(f"{path}: cannot read mailmap ({exc.strerror})") from None
    return list(parse_mailmap(text, str(path)))
