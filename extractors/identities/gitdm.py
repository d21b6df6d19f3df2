"""gitdm e-mail maps: `[user@]domain  Employer  [< yyyy-mm-dd]`.

gitdm reads several lines for one address as an employment history: a line ending in
`< date` holds until that date, the line without a date holds afterwards.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

from extractors.identities.files import Affiliation
from extractors.identities.mailmap import IdentityFileError

_LINE = re.compile(r"^(\S+)\s+(.+?)(?:\s+<\s*(\d{4}-\d{2}-\d{2}))?\s*$")


def parse_gitdm(text: str, source: str = "<gitdm>") -> Iterator[Affiliation]:
    history: dict[str, list[tuple[date | None, str]]] = {}
    order: list[str] = []
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        m = _LINE.match(line)
        if not m:
            raise IdentityFileError(f"{source}:{lineno}: expected '[user@]domain  Employer  [< yyyy-mm-dd]'")
        key, employer, until = m.group(1).lower(), m.group(2).strip(), m.group(3)
        try:
            end = date.fromisoformat(until) if until else None
        except ValueError:
            raise IdentityFileError(f"{source}:{lineno}: bad date (want yyyy-mm-dd)") from None
        if key not in history:
            order.append(key)
        history.setdefault(key, []).append((end, employer))
    for key in order:
        # dated entries in date order, then the open-ended one
        entries = sorted(history[key], key=lambda e: (e[0] is None, e[0] or date.max))
        start: date | None = None
        for end, employer in entries:
            # gitdm's "< date" is exclusive; our until is inclusive
            until_incl = end - timedelta(days=1) if end else None
            target = {"address": key} if "@" in key else {"domain": key}
            yield Affiliation(organization=employer, valid_from=start, valid_until=until_incl, **target)
            start = end


def read_gitdm(path: Path) -> list[Affiliation]:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        raise IdentityFileError(f"{path}: gitdm map not found") from None
    except OSError as exc:
        raise IdentityFileError(f"{path}: cannot read gitdm map ({exc.strerror})") from None
    return list(parse_gitdm(text, str(path)))
